"""A pod's container spec to the engine's ``ContainerConfig``: the Kubernetes meaning of each field in docker's
terms. Pure: ConfigMaps and Secrets are fetched beforehand and handed in through ``Context``.

- ``command`` replaces the image's Entrypoint (and then its Cmd is dropped); ``args`` replaces its Cmd. This is
  exactly the engine's docker rule with entrypoint=command, cmd=args.
- ``$(VAR)`` in command and args expands from the container's environment; ``$$`` escapes.
- limits.memory and limits.cpu become the cgroup memory limit and CPU quota; requests.cpu (or the limit, when
  no request is given) becomes CPU shares, 1024 per core, as the kubelet computes them.
- ``stdin``, ``stdinOnce`` and ``tty`` are the engine's open_stdin, stdin_once and tty: a stdin kept open for
  ``kubectl attach``, and a terminal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from portside.agent.model import LABEL_ATTEMPT, LABEL_CLUSTER, LABEL_CONTAINER, LABEL_NAMESPACE, LABEL_POD, LABEL_UID
from portside.agent.poddns import hostname
from portside.api import cpu_millis, to_bytes
from portside.api.models import Container, EnvVar, Pod
from portside.engine import ContainerConfig

_VAR = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


class ConfigError(Exception):
    """The spec refers to something missing: the container waits with ``CreateContainerConfigError``."""


@dataclass(frozen=True)
class Context:
    pod: Pod
    pod_ip: str
    netns: str
    host_ip: str = ""
    attempt: int = 0
    cluster: str = ""
    config_maps: dict[str, dict[str, str]] = field(default_factory=dict)
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)  # values decoded
    volumes: dict[str, str] = field(default_factory=dict)  # volume name -> host path
    etc_files: dict[str, str] = field(default_factory=dict)  # /etc/resolv.conf, /etc/hosts -> the pod's copy
    service_env: dict[str, str] = field(default_factory=dict)  # the Services' variables (``servicelinks``)
    read_only: frozenset[str] = frozenset()  # volumes every mount of which is read-only (a claim's readOnly)


def field_value(path: str, ctx: Context) -> str:
    pod, m = ctx.pod, ctx.pod.metadata
    simple = {"metadata.name": m.name, "metadata.namespace": m.namespace, "metadata.uid": m.uid,
              "status.podIP": ctx.pod_ip, "status.hostIP": ctx.host_ip, "spec.nodeName": pod.spec.node_name,
              "spec.serviceAccountName": pod.spec.service_account_name}
    if path in simple:
        return simple[path] or ""
    found = re.fullmatch(r"metadata\.(labels|annotations)\['([^']+)'\]", path)
    if found:
        return (getattr(m, found.group(1)) or {}).get(found.group(2), "")
    raise ConfigError(f"unsupported fieldRef fieldPath {path!r}")


def _key(source: dict[str, dict[str, str]], kind: str, ref, ns: str) -> str | None:
    data = source.get(ref.name)
    if data is None:
        if ref.optional:
            return None
        raise ConfigError(f'{kind} "{ref.name}" not found in namespace {ns}')
    if ref.key not in data:
        if ref.optional:
            return None
        raise ConfigError(f'couldn\'t find key {ref.key} in {kind} {ns}/{ref.name}')
    return data[ref.key]


def env_value(var: EnvVar, ctx: Context, env: dict[str, str]) -> str | None:
    src, ns = var.value_from, ctx.pod.metadata.namespace
    if src is None:
        return expand(var.value or "", env)
    if src.field_ref is not None:
        return field_value(src.field_ref.field_path, ctx)
    if src.config_map_key_ref is not None:
        return _key(ctx.config_maps, "configmap", src.config_map_key_ref, ns)
    if src.secret_key_ref is not None:
        return _key(ctx.secrets, "secret", src.secret_key_ref, ns)
    raise ConfigError(f"env {var.name}: unsupported valueFrom")


def _env_from(container: Container, ctx: Context) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in container.env_from or []:
        ref, source, kind = ((item.config_map_ref, ctx.config_maps, "configmap") if item.config_map_ref else
                             (item.secret_ref, ctx.secrets, "secret"))
        data = source.get(ref.name)
        if data is None and not ref.optional:
            raise ConfigError(f'{kind} "{ref.name}" not found in namespace {ctx.pod.metadata.namespace}')
        out.update({(item.prefix or "") + k: v for k, v in (data or {}).items()})
    return out


def environment(container: Container, ctx: Context) -> dict[str, str]:
    """The Services' variables, then envFrom, then env in order, each overriding what came before (a later entry
    may refer to an earlier one, or to a Service's variable, with ``$(NAME)``)."""
    env = {**ctx.service_env, **_env_from(container, ctx)}
    for var in container.env or []:
        value = env_value(var, ctx, env)
        if value is not None:
            env[var.name] = value
    return env


def expand(text: str, env: dict[str, str]) -> str:
    """Kubernetes' ``$(VAR)``: known names expand, unknown ones stay as written, ``$$`` is a literal ``$``."""
    def sub(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))
    return _VAR.sub(sub, text)


def mounts(container: Container, ctx: Context) -> list[str]:
    """The pod's /etc files first, then its volumes (a volume mounted on one of those paths wins, as on
    Kubernetes)."""
    out = [f"{source}:{target}" for target, source in ctx.etc_files.items()]
    for vm in container.volume_mounts or []:
        if vm.name not in ctx.volumes:
            raise ConfigError(f"volumeMount {vm.name!r} names no volume of the pod")
        source = ctx.volumes[vm.name].rstrip("/") + ("/" + vm.sub_path.strip("/") if vm.sub_path else "")
        out.append(f"{source}:{vm.mount_path}" + (":ro" if vm.read_only or vm.name in ctx.read_only else ""))
    return out


def resources(container: Container) -> dict:
    r = container.resources
    limits, requests = (r.limits or {}, r.requests or {}) if r else ({}, {})
    cpu_request = requests.get("cpu", limits.get("cpu"))
    return {"memory": to_bytes(limits["memory"]) if "memory" in limits else None,
            "cpus": cpu_millis(limits["cpu"]) / 1000 if "cpu" in limits else None,
            "cpu_shares": max(2, cpu_millis(cpu_request) * 1024 // 1000) if cpu_request is not None else None}


def security(container: Container, pod: Pod) -> dict:
    sc, psc = container.security_context, pod.spec.security_context
    uid = (sc and sc.run_as_user) if sc and sc.run_as_user is not None else (psc.run_as_user if psc else None)
    gid = (sc.run_as_group if sc and sc.run_as_group is not None else (psc.run_as_group if psc else None))
    user = "" if uid is None else f"{uid}" + (f":{gid}" if gid is not None else "")
    caps = sc.capabilities if sc else None
    return {"user": user, "read_only": bool(sc and sc.read_only_root_filesystem),
            "privileged": bool(sc and sc.privileged),
            "cap_add": list(caps.add or []) if caps else [], "cap_drop": list(caps.drop or []) if caps else [],
            "security_opt": ["no-new-privileges"] if sc and sc.allow_privilege_escalation is False else []}


def labels(container: Container, ctx: Context) -> dict[str, str]:
    m = ctx.pod.metadata
    return {LABEL_CLUSTER: ctx.cluster, LABEL_UID: m.uid, LABEL_POD: m.name, LABEL_NAMESPACE: m.namespace,
            LABEL_CONTAINER: container.name, LABEL_ATTEMPT: str(ctx.attempt)}


def engine_name(container: Container, ctx: Context) -> str:
    """Readable in ``portside ps``; the pod name is cut so that the name stays a valid file name (the engine
    keeps names as symlinks) and the uid prefix keeps it unique."""
    m = ctx.pod.metadata
    return f"k8s_{container.name}_{m.name[:100]}_{m.namespace}_{m.uid[:8]}_{ctx.attempt}"


def config(container: Container, ctx: Context) -> ContainerConfig:
    """The engine's configuration for this run; ConfigError names what the spec lacks."""
    env = environment(container, ctx)
    command = [expand(a, env) for a in container.command] if container.command else None
    args = [expand(a, env) for a in container.args] if container.args else None
    return ContainerConfig(
        image=container.image, entrypoint=command, cmd=args if command is None else (args or []),
        env=[f"{k}={v}" for k, v in env.items()], workdir=container.working_dir or "",
        name=engine_name(container, ctx), hostname=hostname(ctx.pod),
        volumes=mounts(container, ctx), network=f"ns:{ctx.netns}", labels=labels(container, ctx),
        open_stdin=bool(container.stdin), stdin_once=bool(container.stdin and container.stdin_once),
        tty=bool(container.tty), **resources(container), **security(container, ctx.pod))
