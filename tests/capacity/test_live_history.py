"""The live source's assembly (pure): pods grouped into workloads by their controllers, old replicas of a rollout
still counted for their Deployment, workloads that are gone left out, requests from the current template, and
usage summed over the pods that ran at each step; the step follows the history's age."""

from __future__ import annotations

import numpy as np
import pytest

from portside.api import models
from portside.capacity.live import Objects, assemble, pick_step


def _meta(name: str, owner: tuple[str, str] | None = None, ns: str = "shop") -> dict:
    meta = {"name": name, "namespace": ns, "uid": f"uid-{name}"}
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "v1", "kind": owner[0], "name": owner[1], "uid": f"uid-{owner[1]}",
                                    "controller": True}]
    return meta


def _spec(cpu: str, memory: str) -> dict:
    return {"containers": [{"name": "app", "image": "busybox",
                            "resources": {"requests": {"cpu": cpu, "memory": memory}}}]}


def _objects() -> Objects:
    template = {"metadata": {"labels": {"app": "web"}}, "spec": _spec("250m", "128Mi")}
    oom = {"containerStatuses": [{"name": "app", "image": "busybox", "imageID": "", "ready": True,
                                  "restartCount": 1, "lastState": {"terminated": {"exitCode": 137,
                                                                                  "reason": "OOMKilled"}}}]}
    return Objects(
        pods=[models.Pod.from_dict({"metadata": _meta("web-7d9f-abcde", ("ReplicaSet", "web-7d9f")),
                                    "spec": _spec("250m", "128Mi"), "status": oom}),
              models.Pod.from_dict({"metadata": _meta("solo"), "spec": _spec("1", "1Gi")})],
        replicasets=[models.ReplicaSet.from_dict({"metadata": _meta("web-7d9f", ("Deployment", "web")),
                                                  "spec": {"selector": {}, "template": template}})],
        deployments=[models.Deployment.from_dict({"metadata": _meta("web"),
                                                  "spec": {"selector": {}, "template": template}})],
        jobs=[models.Job.from_dict({"metadata": _meta("batch"), "spec": {"template": {"spec": _spec("2", "2Gi")}}})])


def _pod(name: str, owner: tuple[str, str], t: list[int], cpu: float, memory: float, ns: str = "shop") -> dict:
    return {"namespace": ns, "name": name, "owner": {"kind": owner[0], "name": owner[1]}, "t": t,
            "cpu": [cpu] * len(t), "memory": [memory] * len(t)}


def test_pods_become_their_controllers_workloads():
    node_a = {"pods": [_pod("web-7d9f-abcde", ("ReplicaSet", "web-7d9f"), [0, 10, 20, 30], 0.2, 100.0),
                       _pod("web-5c4b-xyzwv", ("ReplicaSet", "web-5c4b"), [0, 10], 0.3, 50.0),  # an old revision
                       _pod("solo", ("", ""), [10, 20], 0.5, 10.0),
                       _pod("gone", ("", ""), [0, 10], 9.0, 9.0)]}  # a bare pod deleted since: not planned for
    node_b = {"pods": [_pod("batch-q7x2p", ("Job", "batch"), [20, 30], 1.0, 1000.0),
                       _pod("web-7d9f-fghij", ("ReplicaSet", "web-7d9f"), [0, 30], 0.2, 100.0),  # 10 and 20 missing
                       _pod("old-1234-abcde", ("ReplicaSet", "old-1234"), [0], 5.0, 5.0),  # a deleted Deployment
                       _pod("other", ("", ""), [0], 1.0, 1.0, ns="elsewhere")]}
    trace = assemble([node_a, node_b], _objects(), 10, namespace="shop")
    assert sorted(trace.workloads) == ["shop/batch", "shop/solo", "shop/web"] and trace.step_s == 10
    web = trace.workloads["shop/web"]
    assert web.t.tolist() == [0, 10, 20, 30]
    # two pods of the current revision throughout (the one with gaps carried across them), the old one at first
    assert web.cpu == pytest.approx([0.7, 0.7, 0.4, 0.4]) and web.replicas.tolist() == [3, 3, 2, 2]
    assert web.memory.tolist() == [250, 250, 200, 200]
    assert web.cpu_request.tolist() == [0.25] * 4 and web.memory_request[0] == 128 * 2**20
    assert web.oom_kills.tolist() == [0, 0, 0, 1]  # the current pod's last termination
    job = trace.workloads["shop/batch"]
    assert job.t.tolist() == [20, 30] and job.cpu_request[0] == 2 and job.memory_request[0] == 2 * 2**30
    solo = trace.workloads["shop/solo"]
    assert solo.cpu.tolist() == [0.5, 0.5] and solo.cpu_request[0] == 1


def test_names_clash_only_between_kinds():
    objects = _objects()
    objects.pods.append(models.Pod.from_dict({"metadata": _meta("web"), "spec": _spec("1", "1Gi")}))
    history = {"pods": [_pod("web-7d9f-abcde", ("ReplicaSet", "web-7d9f"), [0], 0.2, 1.0),
                        _pod("web", ("", ""), [0], 0.1, 1.0)]}
    assert sorted(assemble([history], objects, 10).workloads) == ["shop/web (Deployment)", "shop/web (Pod)"]


def test_young_histories_are_read_finer():
    assert pick_step(60) == 10 and pick_step(3600) == 15 and pick_step(12 * 3600) == 150
    assert pick_step(86_400) == 300 and pick_step(35 * 86_400) == 300
    assert np.all(np.diff([pick_step(s) for s in range(10, 200_000, 997)]) >= 0)
