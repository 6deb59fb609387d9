"""The ConfigMaps and Secrets a pod names, in one place: the agent fetches them, and the Node authorizer lets a
node read exactly these (and no others) for the pods bound to it."""

from __future__ import annotations

from .models import Pod


def referenced(pod: Pod) -> tuple[set[str], set[str]]:
    """(ConfigMap names, Secret names) from the containers' env and envFrom and the pod's volumes (projected
    ones too)."""
    maps, secrets = set(), set()
    for c in (pod.spec.init_containers or []) + pod.spec.containers:
        for var in c.env or []:
            src = var.value_from
            if src and src.config_map_key_ref:
                maps.add(src.config_map_key_ref.name)
            if src and src.secret_key_ref:
                secrets.add(src.secret_key_ref.name)
        for item in c.env_from or []:
            (maps if item.config_map_ref else secrets).add((item.config_map_ref or item.secret_ref).name)
    for v in pod.spec.volumes or []:
        if v.config_map:
            maps.add(v.config_map.name)
        if v.secret:
            secrets.add(v.secret.secret_name)
        for source in (v.projected.sources if v.projected else None) or []:
            if source.config_map:
                maps.add(source.config_map.name)
            if source.secret:
                secrets.add(source.secret.name)
    return maps, secrets


def service_account_of(pod: Pod) -> str | None:
    """The ServiceAccount whose tokens the pod's projected volumes carry, if any of them carries one."""
    for v in pod.spec.volumes or []:
        if any(s.service_account_token for s in (v.projected.sources if v.projected else None) or []):
            return pod.spec.service_account_name or "default"
    return None


__all__ = ["referenced", "service_account_of"]
