"""Services as environment variables, as the kubelet sets them in every container it starts.

For each Service with a ClusterIP (headless and ExternalName ones have none), with its name upper-cased and
dashes made underscores (``my-app`` -> ``MY_APP``):

    MY_APP_SERVICE_HOST=10.96.4.2          MY_APP_PORT=tcp://10.96.4.2:80
    MY_APP_SERVICE_PORT=80                 MY_APP_PORT_80_TCP=tcp://10.96.4.2:80
    MY_APP_SERVICE_PORT_HTTP=80            MY_APP_PORT_80_TCP_PROTO=tcp
                                           MY_APP_PORT_80_TCP_PORT=80
                                           MY_APP_PORT_80_TCP_ADDR=10.96.4.2

(``SERVICE_PORT`` is the first port, one ``SERVICE_PORT_<NAME>`` per named port; the right column is docker's
link variables, ``MY_APP_PORT`` for the first port and the four others for each.) The Services are those of the
pod's namespace when ``enableServiceLinks`` is true (the default), and always the ``kubernetes`` Service of the
default namespace. They are the defaults of the container's environment: its own ``env`` and ``envFrom`` win,
and may refer to them with ``$(MY_APP_SERVICE_HOST)``.

``ServiceCache`` keeps every Service through a watch, so that starting a container asks the API nothing more.
"""

from __future__ import annotations

import asyncio

from portside.api.models import Pod, Service
from portside.client import Client

__all__ = ["ServiceCache", "pod_services", "service_env"]

MASTER_SERVICES = ("default", "kubernetes")


def _env_name(name: str) -> str:
    return name.upper().replace("-", "_")


def _cluster_ip(service: Service) -> str:
    spec = service.spec
    ip = spec.cluster_ip if spec else ""
    return "" if not ip or ip == "None" else ip


def _host_port(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _one(service: Service) -> dict[str, str]:
    ip, ports = _cluster_ip(service), service.spec.ports or []
    if not ip or not ports:
        return {}
    prefix = _env_name(service.metadata.name)
    env = {f"{prefix}_SERVICE_HOST": ip, f"{prefix}_SERVICE_PORT": str(ports[0].port)}
    env.update({f"{prefix}_SERVICE_PORT_{_env_name(p.name)}": str(p.port) for p in ports if p.name})
    for i, p in enumerate(ports):
        proto = (p.protocol or "TCP").lower()
        url = f"{proto}://{_host_port(ip, p.port)}"
        if i == 0:
            env[f"{prefix}_PORT"] = url
        base = f"{prefix}_PORT_{p.port}_{proto.upper()}"
        env.update({base: url, f"{base}_PROTO": proto, f"{base}_PORT": str(p.port), f"{base}_ADDR": ip})
    return env


def pod_services(pod: Pod, services: list[Service]) -> list[Service]:
    """The Services whose variables the pod gets, by name (one of the pod's namespace wins over a master one)."""
    namespace = pod.metadata.namespace or "default"
    links = pod.spec.enable_service_links is not False
    chosen: dict[str, Service] = {}
    for service in services:
        meta = service.metadata
        if (meta.namespace, meta.name) == MASTER_SERVICES:
            chosen.setdefault(meta.name, service)
        if links and meta.namespace == namespace:
            chosen[meta.name] = service
    return [chosen[name] for name in sorted(chosen)]


def service_env(pod: Pod, services: list[Service]) -> dict[str, str]:
    env: dict[str, str] = {}
    for service in pod_services(pod, services):
        env.update(_one(service))
    return env


class ServiceCache:
    """Every Service, kept current by list + watch; ``synced`` once the first list is in."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.services: dict[tuple[str, str], Service] = {}
        self.synced = asyncio.Event()

    async def run(self) -> None:
        listed = await self.client.list("services")
        self.services = {(s.metadata.namespace, s.metadata.name): s for s in listed.items}
        self.synced.set()
        async for event in self.client.watch("services", resource_version=listed.resource_version,
                                             known=listed.items):
            key = (event.object.metadata.namespace, event.object.metadata.name)
            if event.type == "DELETED":
                self.services.pop(key, None)
            else:
                self.services[key] = event.object

    async def env(self, pod: Pod) -> dict[str, str]:
        await self.synced.wait()
        return service_env(pod, list(self.services.values()))
