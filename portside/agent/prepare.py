"""Everything a container run needs before the engine can create it: the image (by pull policy), the pod's
sandbox, the ConfigMaps and Secrets it refers to, its volume directories, and the translated configuration.

Each failure becomes ``Waiting``: the reason the container's status shows (ErrImagePull, ImagePullBackOff,
CreateContainerConfigError, CreateContainerError) and when the worker tries again.
"""

from __future__ import annotations

from dataclasses import dataclass

from portside.agent import events, poddns, translate
from portside.agent.claims import ClaimError, failed_mount
from portside.agent.images import PullError, Report, default_policy, ensure
from portside.agent.sandbox import check_sub_paths
from portside.api.models import Container, Pod
from portside.engine import ContainerConfig
from portside.runtime.errors import PortsideError

PULL_RETRY_S, PULL_BACKOFF_S, CONFIG_RETRY_S, CLAIM_RETRY_S = 1.0, 5.0, 2.0, 1.0


class Waiting(Exception):
    """A container cannot start yet: the reason its status shows, and when to try again. ``said`` is the Event
    to record instead of the usual one; ``silent`` records none (a wait that is part of the normal course)."""

    def __init__(self, reason: str, message: str, retry: float, said: events.Said | None = None,
                 silent: bool = False) -> None:
        super().__init__(message)
        self.reason, self.retry, self.said, self.silent = reason, retry, said, silent


@dataclass
class Prepared:
    config: ContainerConfig
    ip: str


async def image(node, container: Container, last_reason: str, report: Report) -> None:
    """A repeated pull failure is ImagePullBackOff, as the kubelet reports it."""
    try:
        await ensure(node.engine.engine, container.image,
                     container.image_pull_policy or default_policy(container.image), report)
    except PullError as exc:
        again = last_reason in ("ErrImagePull", "ImagePullBackOff")
        if again:
            report(events.pull_back_off(container.image))
        raise Waiting("ImagePullBackOff" if again else exc.reason, str(exc),
                      PULL_BACKOFF_S if again else PULL_RETRY_S) from None


async def claim_mounts(node, pod: Pod) -> dict:
    """The pod's claims, mounted once for the pod; while one cannot be, the container waits in
    ContainerCreating (as the kubelet's pods wait for their volumes) and a FailedMount Event says why."""
    try:
        return await node.claims.mounts(pod)
    except ClaimError as exc:
        names = [v.name for v in pod.spec.volumes or [] if v.persistent_volume_claim is not None]
        raise Waiting("ContainerCreating", str(exc), CLAIM_RETRY_S, failed_mount(names, str(exc)),
                      silent=node.claims.quiet(pod, exc)) from None
    except OSError as exc:
        raise Waiting("CreateContainerError", f"preparing a volume's directory: {exc}", CONFIG_RETRY_S) from None


def etc_files(node, pod: Pod, ip: str, report: Report) -> dict[str, str]:
    """The pod's resolv.conf (its DNS policy against this node's DNS) and hosts file; what the DNS settings had
    to drop is reported as the kubelet reports it."""
    dns = node.pod_dns()
    resolv, warnings = poddns.resolv_conf(pod, dns)
    for warning in warnings:
        report(events.Said(events.WARNING, "DNSConfigForming", warning))
    return {"resolv.conf": resolv, "hosts": poddns.hosts_file(pod, ip, dns.domain)}


async def prepare(node, pod: Pod, container: Container, attempt: int, last_reason: str,
                  report: Report) -> Prepared:
    """``report`` gets the image's Events (pulled, already present, failed), as they happen."""
    await image(node, container, last_reason, report)
    claims = await claim_mounts(node, pod)
    try:
        attachment = await node.engine.call(node.sandboxes.ensure, pod.metadata.uid)
        maps, secrets = await node.references(pod)
        volumes = await node.engine.call(node.sandboxes.volumes, pod, maps, secrets, claims)
        await node.engine.call(check_sub_paths, container, volumes)
        etc = await node.engine.call(node.sandboxes.etc_files, pod.metadata.uid, etc_files(node, pod, attachment.ip,
                                                                                            report))
        read_only = frozenset(name for name, mount in claims.items() if mount.read_only)
        ctx = translate.Context(pod, attachment.ip, str(attachment.netns_path), node.host_ip, attempt,
                                node.cluster, maps, secrets, volumes, etc, await node.services.env(pod), read_only)
        return Prepared(translate.config(container, ctx), attachment.ip)
    except (translate.ConfigError, LookupError) as exc:
        raise Waiting("CreateContainerConfigError", str(exc), CONFIG_RETRY_S) from None
    except PortsideError as exc:
        raise Waiting("CreateContainerError", str(exc), CONFIG_RETRY_S) from None
