"""PodSpec rules: containers (unique names across init and app containers), volumes, policies, placement."""

from __future__ import annotations

import ipaddress
from typing import Any

from ..names import is_dns1123_label, is_dns1123_subdomain
from ..quantity import parse_quantity
from .common import Errs, child, index, validate_meta
from .container import validate_container
from .placement import validate_placement

__all__ = ["validate_pod_spec", "validate_pod", "RESTART_POLICIES"]

RESTART_POLICIES = ["Always", "OnFailure", "Never"]
_DNS_POLICIES = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]
_VOLUME_SOURCES = ("emptyDir", "hostPath", "configMap", "secret", "persistentVolumeClaim", "downwardAPI")
_HOST_PATH_TYPES = ["", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice",
                    "BlockDevice"]


def _mode(value: int | None, path: str, errs: Errs) -> None:
    if value is not None and not 0 <= value <= 0o777:
        errs.invalid(path, value, "must be a number between 0 and 0777 (octal), both inclusive")


def _volume_source(vol: dict[str, Any], path: str, errs: Errs) -> None:
    present = [k for k in _VOLUME_SOURCES if k in vol]
    if not present:
        errs.required(path, "must specify a volume type")
    for extra in present[1:]:
        errs.forbidden(child(path, extra), "may not specify more than 1 volume type")
    if "hostPath" in vol:
        host = vol["hostPath"]
        if not host.get("path"):
            errs.required(child(child(path, "hostPath"), "path"))
        errs.enum(child(child(path, "hostPath"), "type"), host.get("type"), _HOST_PATH_TYPES)
    if "configMap" in vol and not vol["configMap"].get("name"):
        errs.required(child(child(path, "configMap"), "name"))
    if "secret" in vol and not vol["secret"].get("secretName"):
        errs.required(child(child(path, "secret"), "secretName"))
    if "emptyDir" in vol:
        errs.enum(child(child(path, "emptyDir"), "medium"), vol["emptyDir"].get("medium"), ["", "Memory"])
    for kind in ("configMap", "secret", "downwardAPI"):
        if kind in vol:
            _mode(vol[kind].get("defaultMode"), child(child(path, kind), "defaultMode"), errs)


def _volumes(volumes: list[dict[str, Any]], path: str, errs: Errs) -> set[str]:
    names: set[str] = set()
    for i, vol in enumerate(volumes):
        here, name = index(path, i), vol.get("name", "")
        if not name:
            errs.required(child(here, "name"))
        else:
            errs.each(child(here, "name"), name, is_dns1123_label(name))
        if name in names:
            errs.duplicate(child(here, "name"), name)
        names.add(name)
        _volume_source(vol, here, errs)
    return names


def _containers(spec: dict[str, Any], path: str, volumes: set[str], errs: Errs) -> None:
    if not spec.get("containers"):
        errs.required(child(path, "containers"))
    names: set[str] = set()
    for key in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(key) or []):
            here = index(child(path, key), i)
            validate_container(c, here, volumes, errs)
            if c.get("name") in names:
                errs.duplicate(child(here, "name"), c["name"])
            names.add(c.get("name", ""))


def _optional_names(spec: dict[str, Any], path: str, errs: Errs) -> None:
    for key in ("nodeName", "schedulerName", "priorityClassName", "serviceAccountName"):
        if spec.get(key):
            errs.each(child(path, key), spec[key], is_dns1123_subdomain(spec[key]))
    for key in ("hostname", "subdomain"):
        if spec.get(key):
            errs.each(child(path, key), spec[key], is_dns1123_label(spec[key]))


MAX_DNS_NAMESERVERS, MAX_DNS_SEARCHES, MAX_DNS_SEARCH_CHARS = 3, 32, 2048


def _dns_config(spec: dict[str, Any], path: str, errs: Errs) -> None:
    """``dnsConfig`` as Kubernetes checks it: required (with a nameserver) under ``dnsPolicy: None``, at most 3
    nameservers that are IP addresses, at most 32 search domains of 2048 characters in all, named options."""
    config, here = spec.get("dnsConfig"), child(path, "dnsConfig")
    if spec.get("dnsPolicy") == "None":
        if config is None:
            errs.required(here, "must provide `dnsConfig` when `dnsPolicy` is None")
            return
        if not config.get("nameservers"):
            errs.required(child(here, "nameservers"), "must provide at least one DNS nameserver when `dnsPolicy` "
                                                       "is None")
    if config is None:
        return
    servers = config.get("nameservers") or []
    if len(servers) > MAX_DNS_NAMESERVERS:
        errs.invalid(child(here, "nameservers"), servers, f"must not have more than {MAX_DNS_NAMESERVERS} "
                                                          f"nameservers")
    for i, server in enumerate(servers):
        try:
            ipaddress.ip_address(server)
        except ValueError:
            errs.invalid(index(child(here, "nameservers"), i), server, "must be a valid IP address")
    searches = config.get("searches") or []
    if len(searches) > MAX_DNS_SEARCHES:
        errs.invalid(child(here, "searches"), searches, f"must not have more than {MAX_DNS_SEARCHES} search paths")
    if sum(len(s) for s in searches) + max(0, len(searches) - 1) > MAX_DNS_SEARCH_CHARS:
        errs.invalid(child(here, "searches"), searches, f"must not have more than {MAX_DNS_SEARCH_CHARS} "
                                                        f"characters (including spaces) in the search list")
    for i, search in enumerate(searches):
        name = search[:-1] if search.endswith(".") else search
        if search != ".":
            errs.each(index(child(here, "searches"), i), search, is_dns1123_subdomain(name))
    for i, option in enumerate(config.get("options") or []):
        if not option.get("name"):
            errs.required(child(index(child(here, "options"), i), "name"), "Option.Name must not be empty")


def validate_pod_spec(spec: dict[str, Any], path: str, errs: Errs) -> None:
    volumes = _volumes(spec.get("volumes") or [], child(path, "volumes"), errs)
    _containers(spec, path, volumes, errs)
    errs.enum(child(path, "restartPolicy"), spec.get("restartPolicy"), RESTART_POLICIES, required=True)
    errs.enum(child(path, "dnsPolicy"), spec.get("dnsPolicy"), _DNS_POLICIES, required=True)
    _dns_config(spec, path, errs)
    errs.nonnegative(child(path, "terminationGracePeriodSeconds"), spec.get("terminationGracePeriodSeconds"))
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None and not 1 <= deadline <= 2**31 - 1:
        errs.invalid(child(path, "activeDeadlineSeconds"), deadline, "must be between 1 and 2147483647, inclusive")
    _optional_names(spec, path, errs)
    validate_placement(spec, path, errs)
    for name, amount in (spec.get("overhead") or {}).items():
        if parse_quantity(amount) < 0:
            errs.invalid(child(child(path, "overhead"), name), amount, "must be greater than or equal to 0")


def validate_pod(obj: dict[str, Any], errs: Errs) -> None:
    validate_meta(obj, True, is_dns1123_subdomain, errs)
    validate_pod_spec(obj.get("spec") or {}, "spec", errs)
