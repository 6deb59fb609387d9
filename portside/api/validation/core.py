"""Rules for Service, Endpoints, Namespace, Node, ConfigMap, Secret, Event, PriorityClass and Lease."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from typing import Any

from ..names import is_dns1035_label, is_dns1123_label, is_dns1123_subdomain, is_port_number, is_qualified_name
from .common import Errs, child, index, path_segment_name, validate_labels, validate_meta
from .container import PROTOCOLS, validate_port_ref

__all__ = [
    "validate_service", "validate_endpoints", "validate_namespace", "validate_node", "validate_configmap",
    "validate_secret", "validate_event", "validate_priorityclass", "validate_lease", "is_ip",
]

_SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
_CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]+")
_IP_EXAMPLE = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
HIGHEST_USER_PRIORITY = 1_000_000_000


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def _service_ports(ports: list[dict[str, Any]], path: str, service_type: str, errs: Errs) -> None:
    names: set[str] = set()
    keys: set[tuple[int, str]] = set()
    for i, port in enumerate(ports):
        here, name = index(path, i), port.get("name", "")
        if len(ports) > 1 and not name:
            errs.required(child(here, "name"))
        elif name:
            errs.each(child(here, "name"), name, is_dns1123_label(name))
            if name in names:
                errs.duplicate(child(here, "name"), name)
        names.add(name)
        errs.each(child(here, "port"), port.get("port", 0), is_port_number(port.get("port", 0)))
        errs.enum(child(here, "protocol"), port.get("protocol"), PROTOCOLS, required=True)
        if "targetPort" in port:
            validate_port_ref(port["targetPort"], child(here, "targetPort"), errs)
        if port.get("nodePort") and service_type == "ClusterIP":
            errs.forbidden(child(here, "nodePort"), "may not be used when `type` is 'ClusterIP'")
        key = (port.get("port", 0), port.get("protocol", "TCP"))
        if key in keys:
            errs.duplicate(here, {"port": key[0], "protocol": key[1]})
        keys.add(key)


def validate_service(obj: dict[str, Any], errs: Errs) -> None:
    validate_meta(obj, True, is_dns1035_label, errs)
    spec = obj.get("spec") or {}
    kind = spec.get("type", "ClusterIP")
    errs.enum("spec.type", kind, _SERVICE_TYPES)
    if kind == "ExternalName":
        if not spec.get("externalName"):
            errs.required("spec.externalName")
    elif not spec.get("ports"):
        errs.required("spec.ports")
    _service_ports(spec.get("ports") or [], "spec.ports", kind, errs)
    validate_labels(spec.get("selector"), "spec.selector", errs)
    errs.enum("spec.sessionAffinity", spec.get("sessionAffinity"), ["ClientIP", "None"])
    for i, ip in enumerate(spec.get("clusterIPs") or []):
        if ip != "None" and not is_ip(ip):
            errs.invalid(index("spec.clusterIPs", i), ip, _IP_EXAMPLE)
    ip = spec.get("clusterIP")
    if ip and ip != "None" and not is_ip(ip):
        errs.invalid("spec.clusterIP", ip, _IP_EXAMPLE)
    for i, ip in enumerate(spec.get("externalIPs") or []):
        if not is_ip(ip):
            errs.invalid(index("spec.externalIPs", i), ip, _IP_EXAMPLE)
    for key in ("externalTrafficPolicy", "internalTrafficPolicy"):
        errs.enum(child("spec", key), spec.get(key), ["Cluster", "Local"])


def validate_endpoints(obj: dict[str, Any], errs: Errs) -> None:
    validate_meta(obj, True, is_dns1123_subdomain, errs)
    for i, subset in enumerate(obj.get("subsets") or []):
        here = index("subsets", i)
        for key in ("addresses", "notReadyAddresses"):
            for j, address in enumerate(subset.get(key) or []):
                if not is_ip(address.get("ip", "")):
                    errs.invalid(child(index(child(here, key), j), "ip"), address.get("ip", ""), _IP_EXAMPLE)
        for j, port in enumerate(subset.get("ports") or []):
            there = index(child(here, "ports"), j)
            errs.each(child(there, "port"), port.get("port", 0), is_port_number(port.get("port", 0)))
            if port.get("name"):
                errs.each(child(there, "name"), port["name"], is_dns1123_label(port["name"]))
            errs.enum(child(there, "protocol"), port.get("protocol"), PROTOCOLS)


def validate_namespace(obj: dict[str, Any], errs: Errs) -> None:
    validate_meta(obj, False, is_dns1123_label, errs)


def validate_node(obj: dict[str, Any], errs: Errs) -> None:
    validate_meta(obj, False, is_dns1123_subdomain, errs)
    for i, taint in enumerate((obj.get("spec") or {}).get("taints") or []):
        here = index("spec.taints", i)
        errs.each(child(here, "key"), taint.get("key", ""), is_qualified_name(taint.get("key", "")))
        errs.enum(child(here, "effect"), taint.get("effect"), ["NoExecute", "NoSchedule", "PreferNoSchedule"],
                  required=True)


def _config_keys(obj: dict[str, Any], errs: Errs, fields: tuple[str, ...]) -> None:
    seen: set[str] = set()
    for field in fields:
        for key in obj.get(field) or {}:
            if not _CONFIG_KEY.fullmatch(key) or key in (".", ".."):
                errs.invalid(f"{field}[{key}]", key, "a valid config key must consist of alphanumeric characters, "
                             "'-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for "
                             "validation is '[-._a-zA-Z0-9]+')")
            if key in seen:
                errs.invalid(f"{field}[{key}]", key, "duplicate of key present in " + fields[0])
            seen.add(key)


def validate_configmap(obj: dict[str, Any], errs: Errs) -> None:
    validate_meta(obj, True, is_dns1123_subdomain, errs)
    _config_keys(obj, errs, ("data", "binaryData"))


def validate_secret(obj: dict[str, Any], errs: Errs) -> None:
    validate_meta(obj, True, is_dns1123_subdomain, errs)
    _config_keys(obj, errs, ("data",))
    for key, value in (obj.get("data") or {}).items():
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            errs.invalid(f"data[{key}]", "<secret contents redacted>", "illegal base64 data")


def validate_event(obj: dict[str, Any], errs: Errs) -> None:
    validate_meta(obj, True, path_segment_name, errs)
    involved = obj.get("involvedObject")
    if involved is None:
        errs.required("involvedObject")
    errs.enum("type", obj.get("type"), ["Normal", "Warning"])


def validate_priorityclass(obj: dict[str, Any], errs: Errs) -> None:
    validate_meta(obj, False, is_dns1123_subdomain, errs)
    name = (obj.get("metadata") or {}).get("name", "")
    value = obj.get("value")
    if value is None:
        errs.required("value")
    elif value > HIGHEST_USER_PRIORITY and not name.startswith("system-"):
        errs.forbidden("value", f"maximum allowed value of a user defined priority is {HIGHEST_USER_PRIORITY}")
    errs.enum("preemptionPolicy", obj.get("preemptionPolicy"), ["Never", "PreemptLowerPriority"])


def validate_lease(obj: dict[str, Any], errs: Errs) -> None:
    validate_meta(obj, True, is_dns1123_subdomain, errs)
    spec = obj.get("spec") or {}
    errs.positive("spec.leaseDurationSeconds", spec.get("leaseDurationSeconds"))
    errs.nonnegative("spec.leaseTransitions", spec.get("leaseTransitions"))
