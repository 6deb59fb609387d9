"""Table output: the columns kubectl prints for each kind, and its STATUS/AGE logic."""

import datetime as dt

import pytest

from portside import api
from portside.api.printers_pod import pod_reason
from portside.api.timefmt import human_duration

NOW = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)


def _rows(plural: str, objs: list, group: str = "", include: str = "None") -> list:
    table = api.table(api.lookup(group, "v1", plural), objs, include, NOW)
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    return [r["cells"] for r in table["rows"]]


def _columns(plural: str, group: str = "") -> list[tuple[str, int]]:
    table = api.table(api.lookup(group, "v1", plural), [], "None", NOW)
    return [(c["name"], c["priority"]) for c in table["columnDefinitions"]]


def test_column_sets_match_kubectl() -> None:
    assert [n for n, p in _columns("pods") if p == 0] == ["Name", "Ready", "Status", "Restarts", "Age"]
    assert [n for n, p in _columns("pods") if p == 1] == ["IP", "Node", "Nominated Node", "Readiness Gates"]
    assert [n for n, p in _columns("deployments", "apps") if p == 0] == ["Name", "Ready", "Up-to-date", "Available",
                                                                          "Age"]
    assert [n for n, p in _columns("services") if p == 0] == ["Name", "Type", "Cluster-IP", "External-IP",
                                                               "Port(s)", "Age"]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(5, "5s"), (119, "119s"), (125, "2m5s"), (600, "10m"), (3 * 3600 + 120, "3h2m"), (10 * 3600, "10h"),
     (3 * 86400 + 3600, "3d1h"), (30 * 86400, "30d"), (3 * 365 * 86400, "3y"), (-5, "<invalid>")],
)
def test_human_duration(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


def _pod(status: dict, **meta: object) -> dict:
    return {"metadata": {"name": "p", "creationTimestamp": "2026-01-01T11:55:00Z", **meta},
            "spec": {"containers": [{"name": "a"}], "nodeName": "node-1"}, "status": status}


def test_running_pod_row() -> None:
    status = {"phase": "Running", "podIP": "10.0.0.2", "containerStatuses": [
        {"name": "a", "ready": True, "restartCount": 2, "state": {"running": {}},
         "lastState": {"terminated": {"exitCode": 1, "finishedAt": "2026-01-01T11:59:00Z"}}}]}
    assert _rows("pods", [_pod(status)]) == [["p", "1/1", "Running", "2 (60s ago)", "5m", "10.0.0.2", "node-1",
                                              "<none>", "<none>"]]


@pytest.mark.parametrize(
    ("status", "meta", "reason"),
    [
        ({"phase": "Pending"}, {}, "Pending"),
        ({"phase": "Pending", "containerStatuses": [{"name": "a", "state": {"waiting": {"reason": "ErrImagePull"}}}]},
         {}, "ErrImagePull"),
        ({"phase": "Succeeded", "containerStatuses": [{"name": "a", "state": {"terminated": {"exitCode": 0,
                                                                                           "reason": "Completed"}}}]},
         {}, "Completed"),
        ({"phase": "Failed", "containerStatuses": [{"name": "a", "state": {"terminated": {"exitCode": 137}}}]}, {},
         "ExitCode:137"),
        ({"phase": "Running"}, {"deletionTimestamp": "2026-01-01T12:00:00Z"}, "Terminating"),
        ({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
                                              "reason": "SchedulingGated"}]}, {}, "SchedulingGated"),
    ],
)
def test_pod_status_reason(status: dict, meta: dict, reason: str) -> None:
    assert pod_reason(_pod(status, **meta))[0] == reason


def test_init_container_progress() -> None:
    pod = _pod({"phase": "Pending", "initContainerStatuses": [{"name": "i", "state": {"running": {}}}]})
    pod["spec"]["initContainers"] = [{"name": "i"}, {"name": "j"}]
    assert pod_reason(pod)[0] == "Init:0/2"


def test_workload_rows() -> None:
    deployment = {"metadata": {"name": "web"}, "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                                                        "template": {"spec": {"containers": [{"name": "c",
                                                                                              "image": "i:1"}]}}},
                  "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}}
    assert _rows("deployments", [deployment], "apps") == [["web", "2/3", 3, 2, "<unknown>", "c", "i:1", "app=web"]]
    job = {"metadata": {"name": "j"}, "spec": {"completions": 2},
           "status": {"succeeded": 2, "startTime": "2026-01-01T11:00:00Z", "completionTime": "2026-01-01T11:00:30Z",
                      "conditions": [{"type": "Complete", "status": "True"}]}}
    assert _rows("jobs", [job], "batch")[0][:4] == ["j", "Complete", "2/2", "30s"]


def test_service_rows() -> None:
    lb = {"metadata": {"name": "my-app"}, "spec": {"type": "LoadBalancer", "clusterIP": "10.96.0.5",
                                                   "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}],
                                                   "selector": {"app": "my-app"}}}
    assert _rows("services", [lb]) == [["my-app", "LoadBalancer", "10.96.0.5", "<pending>", "80:30080/TCP",
                                        "<unknown>", "app=my-app"]]
    lb["status"] = {"loadBalancer": {"ingress": [{"ip": "127.0.0.50"}]}}
    assert _rows("services", [lb])[0][3] == "127.0.0.50"


def test_other_kinds_have_rows() -> None:
    node = {"metadata": {"name": "n", "labels": {"node-role.kubernetes.io/control-plane": ""}},
            "spec": {"unschedulable": True},
            "status": {"conditions": [{"type": "Ready", "status": "True"}], "nodeInfo": {"kubeletVersion": "v1.32"}}}
    assert _rows("nodes", [node])[0][:5] == ["n", "Ready,SchedulingDisabled", "control-plane", "<unknown>", "v1.32"]
    assert _rows("configmaps", [{"metadata": {"name": "c"}, "data": {"a": "1"}}]) == [["c", 1, "<unknown>"]]
    eps = {"metadata": {"name": "e"}, "subsets": [{"addresses": [{"ip": f"10.0.0.{i}"} for i in range(5)],
                                                   "ports": [{"port": 80}]}]}
    assert _rows("endpoints", [eps])[0][1] == "10.0.0.0:80,10.0.0.1:80,10.0.0.2:80 + 2 more..."


def test_include_object_modes() -> None:
    obj = {"metadata": {"name": "c", "uid": "u"}, "data": {}}
    info = api.lookup("", "v1", "configmaps")
    assert api.table(info, [obj], "Object", NOW)["rows"][0]["object"] == obj
    partial = api.table(info, [obj], "Metadata", NOW)["rows"][0]["object"]
    assert partial == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]}
    assert "object" not in api.table(info, [obj], "None", NOW)["rows"][0]
