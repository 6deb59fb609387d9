"""Service environment variables as the kubelet makes them (names, values, which Services). Pure."""

from __future__ import annotations

from portside.agent.servicelinks import service_env
from portside.api.models import Pod, Service


def svc(name: str, ns: str, ip: str, ports) -> Service:
    return Service.from_dict({"metadata": {"name": name, "namespace": ns}, "spec": {
        "clusterIP": ip, "ports": [{"port": p, "protocol": proto, **({"name": n} if n else {})}
                                   for n, p, proto in ports]}})


SERVICES = [svc("kubernetes", "default", "10.96.0.1", [("https", 443, "TCP")]),
            svc("my-app", "shop", "10.96.4.2", [("", 80, "TCP"), ("dns-udp", 53, "UDP")]),
            svc("headless", "shop", "None", [("http", 80, "TCP")]),
            svc("elsewhere", "other", "10.96.9.9", [("http", 80, "TCP")])]


def pod(**spec) -> Pod:
    return Pod.from_dict({"metadata": {"name": "p", "namespace": "shop"},
                          "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}})


def test_variables_of_the_namespaces_services_and_kubernetes():
    env = service_env(pod(), SERVICES)
    assert env["MY_APP_SERVICE_HOST"] == "10.96.4.2" and env["MY_APP_SERVICE_PORT"] == "80"
    assert env["MY_APP_SERVICE_PORT_DNS_UDP"] == "53" and "MY_APP_SERVICE_PORT_" not in env
    assert env["MY_APP_PORT"] == "tcp://10.96.4.2:80"
    assert env["MY_APP_PORT_80_TCP"] == "tcp://10.96.4.2:80" and env["MY_APP_PORT_80_TCP_PROTO"] == "tcp"
    assert env["MY_APP_PORT_80_TCP_PORT"] == "80" and env["MY_APP_PORT_80_TCP_ADDR"] == "10.96.4.2"
    assert env["MY_APP_PORT_53_UDP"] == "udp://10.96.4.2:53" and env["MY_APP_PORT_53_UDP_PROTO"] == "udp"
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1" and env["KUBERNETES_PORT_443_TCP_PORT"] == "443"
    assert not any(k.startswith(("HEADLESS_", "ELSEWHERE_")) for k in env)


def test_enable_service_links_false_keeps_only_kubernetes():
    env = service_env(pod(enableServiceLinks=False), SERVICES)
    assert {k.split("_")[0] for k in env} == {"KUBERNETES"}
