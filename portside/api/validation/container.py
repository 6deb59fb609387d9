"""Container rules: name, image, ports, env, resources (requests <= limits), mounts, probes."""

from __future__ import annotations

from typing import Any

from ..names import is_dns1123_label, is_env_var_name, is_port_name, is_port_number, is_qualified_name
from ..quantity import parse_quantity
from .common import Errs, child, index

__all__ = ["validate_container", "validate_resources", "validate_port_ref", "PROTOCOLS"]

PROTOCOLS = ["SCTP", "TCP", "UDP"]
_PULL_POLICIES = ["Always", "IfNotPresent", "Never"]
_MESSAGE_POLICIES = ["File", "FallbackToLogsOnError"]
_STANDARD = {"cpu", "memory", "ephemeral-storage", "pods", "storage"}
_PROBE_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
_LIFECYCLE_HANDLERS = ("exec", "httpGet", "tcpSocket", "sleep")


def _resource_name(name: str, path: str, errs: Errs) -> None:
    if name in _STANDARD or name.startswith("hugepages-"):
        return
    if "/" not in name or is_qualified_name(name):
        errs.invalid(path, name, "must be a standard resource type or fully qualified")


def _overcommittable(name: str) -> bool:
    return name in _STANDARD


def validate_resources(res: dict[str, Any] | None, path: str, errs: Errs) -> None:
    """Names, non-negative amounts, and requests <= limits (== for hugepages and extended resources)."""
    res = res or {}
    limits, requests = res.get("limits") or {}, res.get("requests") or {}
    for part, amounts in (("limits", limits), ("requests", requests)):
        for name, amount in amounts.items():
            here = child(child(path, part), name)
            _resource_name(name, here, errs)
            if parse_quantity(amount) < 0:
                errs.invalid(here, amount, "must be greater than or equal to 0")
    for name, amount in requests.items():
        if name not in limits:
            continue
        request, limit = parse_quantity(amount), parse_quantity(limits[name])
        if request != limit and not _overcommittable(name):
            errs.invalid(child(path, "requests"), amount, f"must be equal to {name} limit of {limits[name]}")
        elif request > limit:
            errs.invalid(child(path, "requests"), amount, f"must be less than or equal to {name} limit of {limits[name]}")


def validate_port_ref(port: Any, path: str, errs: Errs) -> None:
    """A probe or service target port: a number in range or an IANA port name."""
    if isinstance(port, int):
        errs.each(path, port, is_port_number(port))
    else:
        errs.each(path, port, is_port_name(port))


def _ports(ports: list[dict[str, Any]], path: str, errs: Errs) -> None:
    names: set[str] = set()
    for i, port in enumerate(ports):
        here = index(path, i)
        if "name" in port:
            errs.each(child(here, "name"), port["name"], is_port_name(port["name"]))
            if port["name"] in names:
                errs.duplicate(child(here, "name"), port["name"])
            names.add(port["name"])
        if "containerPort" not in port:
            errs.required(child(here, "containerPort"))
        else:
            errs.each(child(here, "containerPort"), port["containerPort"], is_port_number(port["containerPort"]))
        if port.get("hostPort"):
            errs.each(child(here, "hostPort"), port["hostPort"], is_port_number(port["hostPort"]))
        errs.enum(child(here, "protocol"), port.get("protocol"), PROTOCOLS, required=True)


def _env(env: list[dict[str, Any]], path: str, errs: Errs) -> None:
    for i, var in enumerate(env):
        here = index(path, i)
        name = var.get("name", "")
        if not name:
            errs.required(child(here, "name"))
        else:
            errs.each(child(here, "name"), name, is_env_var_name(name))
        source = var.get("valueFrom")
        if source is None:
            continue
        if var.get("value"):
            errs.invalid(child(here, "valueFrom"), "", "may not be specified when `value` is not empty")
        if len(source) != 1:
            errs.invalid(child(here, "valueFrom"), "", "may not have more than one field specified at a time"
                         if source else "must specify one of: `fieldRef`, `resourceFieldRef`, "
                         "`configMapKeyRef` or `secretKeyRef`")


def _handler(obj: dict[str, Any], path: str, kinds: tuple[str, ...], errs: Errs) -> None:
    present = [k for k in kinds if k in obj]
    if not present:
        errs.required(path, "must specify a handler type")
    for extra in present[1:]:
        errs.forbidden(child(path, extra), "may not specify more than 1 handler type")
    for kind in ("httpGet", "tcpSocket"):
        if kind in obj:
            validate_port_ref(obj[kind].get("port", 0), child(child(path, kind), "port"), errs)
    if "exec" in obj and not obj["exec"].get("command"):
        errs.required(child(child(path, "exec"), "command"))


def _probe(probe: dict[str, Any] | None, path: str, errs: Errs, *, liveness: bool = False) -> None:
    if probe is None:
        return
    _handler(probe, path, _PROBE_HANDLERS, errs)
    for key in ("initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"):
        errs.nonnegative(child(path, key), probe.get(key))
    if liveness and probe.get("successThreshold", 1) != 1:
        errs.invalid(child(path, "successThreshold"), probe["successThreshold"], "must be 1")


def _mounts(mounts: list[dict[str, Any]], path: str, volumes: set[str], errs: Errs) -> None:
    seen: set[str] = set()
    for i, mount in enumerate(mounts):
        here = index(path, i)
        name, mount_path = mount.get("name", ""), mount.get("mountPath", "")
        if not name:
            errs.required(child(here, "name"))
        elif name not in volumes:
            errs.not_found(child(here, "name"), name)
        if not mount_path:
            errs.required(child(here, "mountPath"))
        elif mount_path in seen:
            errs.invalid(child(here, "mountPath"), mount_path, "must be unique")
        seen.add(mount_path)
        _sub_path(mount.get("subPath") or "", child(here, "subPath"), errs)


def _sub_path(value: str, path: str, errs: Errs) -> None:
    """A subPath stays inside its volume (Kubernetes' ``validateLocalDescendingPath``)."""
    if value.startswith("/"):
        errs.invalid(path, value, "must be a relative path")
    if ".." in value.split("/"):
        errs.invalid(path, value, "must not contain '..'")


def validate_container(c: dict[str, Any], path: str, volumes: set[str], errs: Errs) -> None:
    name = c.get("name", "")
    if not name:
        errs.required(child(path, "name"))
    else:
        errs.each(child(path, "name"), name, is_dns1123_label(name))
    if not c.get("image", "").strip():
        errs.required(child(path, "image"))
    errs.enum(child(path, "imagePullPolicy"), c.get("imagePullPolicy"), _PULL_POLICIES, required=True)
    errs.enum(child(path, "terminationMessagePolicy"), c.get("terminationMessagePolicy"), _MESSAGE_POLICIES,
              required=True)
    _ports(c.get("ports") or [], child(path, "ports"), errs)
    _env(c.get("env") or [], child(path, "env"), errs)
    validate_resources(c.get("resources"), child(path, "resources"), errs)
    _mounts(c.get("volumeMounts") or [], child(path, "volumeMounts"), volumes, errs)
    _probe(c.get("livenessProbe"), child(path, "livenessProbe"), errs, liveness=True)
    _probe(c.get("readinessProbe"), child(path, "readinessProbe"), errs)
    _probe(c.get("startupProbe"), child(path, "startupProbe"), errs, liveness=True)
    for hook in ("postStart", "preStop"):
        handler = (c.get("lifecycle") or {}).get(hook)
        if handler is not None:
            _handler(handler, child(child(path, "lifecycle"), hook), _LIFECYCLE_HANDLERS, errs)
