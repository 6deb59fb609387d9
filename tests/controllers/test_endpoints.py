"""Endpoints: subsets computed on data, then the controller following pods and Services on a real API server."""

import json

from kubelet_double import template

from portside.api.models import Pod, Service, ServicePort
from portside.controllers import endpoints
from portside.controllers.endpoints import resolve

SERVICE = {"metadata": {"name": "web", "namespace": "ns"}, "spec": {"selector": {"app": "web"}, "ports": [
    {"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"},
    {"name": "metrics", "port": 9100, "targetPort": 9100, "protocol": "TCP"}]}}


def pod_data(name, ip, ready=True, http_port=8080, labels=None, phase="Running"):
    return Pod.from_dict({
        "metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}", "labels": labels or {"app": "web"}},
        "spec": {"nodeName": "n1", "containers": [{"name": "c", "ports": [
            {"name": "http", "containerPort": http_port, "protocol": "TCP"}]}]},
        "status": {"phase": phase, "podIP": ip, "conditions": [
            {"type": "Ready", "status": "True" if ready else "False"}]}})


def subsets(service, pods):
    """The subsets as wire dicts, the form the API server stores."""
    return [s.to_dict() for s in endpoints.subsets(Service.from_dict(service), pods)]


def test_named_target_port_resolves_per_pod_and_groups_subsets():
    pods = [pod_data("a", "10.0.0.1"), pod_data("b", "10.0.0.2", ready=False),
            pod_data("c", "10.0.0.3", http_port=8081), pod_data("x", "10.0.0.9", labels={"app": "db"}),
            pod_data("done", "10.0.0.4", phase="Succeeded")]
    got = subsets(SERVICE, pods)
    assert len(got) == 2
    first, second = got
    assert [a["ip"] for a in first["addresses"]] == ["10.0.0.1"]
    assert [a["ip"] for a in first["notReadyAddresses"]] == ["10.0.0.2"]
    assert first["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"},
                              {"name": "metrics", "port": 9100, "protocol": "TCP"}]
    assert [a["ip"] for a in second["addresses"]] == ["10.0.0.3"] and second["ports"][0]["port"] == 8081
    assert first["addresses"][0]["targetRef"] == {"kind": "Pod", "namespace": "ns", "name": "a", "uid": "uid-a"}


def test_unresolvable_named_port_drops_only_that_port():
    port = {"name": "admin", "port": 81, "targetPort": "admin", "protocol": "TCP"}
    assert resolve(ServicePort.from_dict(port), pod_data("a", "10.0.0.1")) is None
    service = {**SERVICE, "spec": {**SERVICE["spec"], "ports": [port]}}
    assert subsets(service, [pod_data("a", "10.0.0.1")]) == []


def test_publish_not_ready_addresses_lists_every_pod_as_ready():
    service = {**SERVICE, "spec": {**SERVICE["spec"], "publishNotReadyAddresses": True}}
    got = subsets(service, [pod_data("b", "10.0.0.2", ready=False)])
    assert [a["ip"] for a in got[0]["addresses"]] == ["10.0.0.2"] and "notReadyAddresses" not in got[0]


def service(name, target="http"):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": {"app": name}, "ports": [{"name": "web", "port": 80, "targetPort": target}]}}


def pod(name, app, port):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": app}},
            "spec": template({"app": app}, ports=[{"name": "http", "containerPort": port}])["spec"]}


def apply(cluster, ns, obj):
    cluster.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(obj))


def ips(endpoints, field="addresses"):
    return sorted(a["ip"] for s in endpoints.get("subsets") or [] for a in s.get(field) or [])


def set_ready(harness, ns, name, ready):
    harness.call(harness.client.patch("pods", name, {"status": {"conditions": [
        {"type": "Ready", "status": "True" if ready else "False"}]}}, ns, subresource="status"))


def test_endpoints_follow_readiness_ports_and_deletion(cluster, harness):
    ns = cluster.namespace("endpoints")
    kubelet = harness.kubelet(ns)
    apply(cluster, ns, service("web"))
    apply(cluster, ns, pod("web-1", "web", 8080))
    apply(cluster, ns, pod("web-2", "web", 8081))
    apply(cluster, ns, pod("db-1", "db", 5432))
    harness.wait("pods", ns, lambda o: len(kubelet.started) == 3)
    ep = harness.wait("endpoints", ns, lambda o: len(ips(o.get("web", {}))) == 2 and o["web"], what="2 addresses")
    pods = harness.wait("pods", ns, lambda o: o)
    assert ips(ep) == sorted(pods[n]["status"]["podIP"] for n in ("web-1", "web-2"))
    assert sorted(s["ports"][0]["port"] for s in ep["subsets"]) == [8080, 8081]
    assert all(s["ports"][0]["name"] == "web" for s in ep["subsets"])

    set_ready(harness, ns, "web-1", False)
    ep = harness.wait("endpoints", ns, lambda o: ips(o["web"], "notReadyAddresses") and o["web"])
    assert ips(ep) == [pods["web-2"]["status"]["podIP"]]
    assert ips(ep, "notReadyAddresses") == [pods["web-1"]["status"]["podIP"]]
    set_ready(harness, ns, "web-1", True)
    harness.wait("endpoints", ns, lambda o: len(ips(o["web"])) == 2, what="web-1 back in addresses")

    cluster.kubectl("delete", "-n", ns, "pod", "web-2")
    harness.wait("endpoints", ns, lambda o: ips(o["web"]) == [pods["web-1"]["status"]["podIP"]])
    table = cluster.kubectl("get", "-n", ns, "endpoints", "web").stdout
    assert f"{pods['web-1']['status']['podIP']}:8080" in table
    cluster.kubectl("delete", "-n", ns, "service", "web")
    harness.wait("endpoints", ns, lambda o: "web" not in o, what="endpoints removed with the service")


def test_service_without_selector_keeps_hand_written_endpoints(cluster, harness):
    ns = cluster.namespace("endpoints-manual")
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ext"},
           "spec": {"ports": [{"port": 80}]}}
    manual = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "ext"},
              "subsets": [{"addresses": [{"ip": "192.0.2.10"}], "ports": [{"port": 80}]}]}
    apply(cluster, ns, svc)
    apply(cluster, ns, manual)
    apply(cluster, ns, service("web"))
    harness.wait("endpoints", ns, lambda o: "web" in o, what="the selector Service's endpoints")
    assert ips(harness.get("endpoints", ns, "ext")) == ["192.0.2.10"]
