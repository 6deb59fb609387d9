"""A pod's sandbox: one network namespace with one address, shared by all its containers (through the engine's
``ns:PATH`` network mode), plus the pod's volume directories.

The namespace is the bridge network's attachment for the pod's uid, so it outlives every container run and
survives an agent restart: ``lookup`` finds it again from the network's lease table.

Ownership. The pod's directory (``PODS_DIR/UID``) marks the sandbox as this cluster's, and it is the
attachment's owner path, with the cluster's data directory when the agent runs in ``portside up``: if either is
deleted behind the agent's back, the engine reclaims the namespace, veth and address once no container runs in
it (see ``portside.engine.sandboxes``). The data directory is also written beside, to ``PODS_DIR.owners``, so
that ``purge`` finds a cluster's pods on the node from its data directory alone, even once that is gone.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from portside.agent.model import LABEL_CLUSTER
from portside.api.models import Pod, Secret, Volume
from portside.engine.records import remove_tree
from portside.runtime.errors import ContainerNotFound

OWNERS_SUFFIX = ".owners"


class Sandboxes:
    def __init__(self, engine, pods_dir: Path, owners: tuple[str, ...] = ()) -> None:
        """``owners``: absolute paths whose deletion means the whole cluster is gone (its data directory)."""
        self.engine, self.pods_dir, self.owners = engine, Path(pods_dir), tuple(owners)

    def ensure(self, uid: str):
        """The pod's attachment (netns_path, ip), made when missing; idempotent."""
        self.record_owners()
        marker = self.pods_dir / uid
        marker.mkdir(parents=True, exist_ok=True)  # marks the sandbox as this cluster's, and owns it
        network = self.engine.network
        found = network.lookup(uid)
        if found is not None and found.netns_path.exists():
            return found
        if found is not None:
            network.detach(uid)
        attachment = network.attach(uid, [], owners=[str(marker), *self.owners])
        for sock in attachment.reserved:
            sock.close()
        return attachment

    def record_owners(self) -> None:
        """``PODS_DIR.owners``: at the agent's start too, so that pods adopted from an older agent are found."""
        if self.owners and owners_of(self.pods_dir) != list(self.owners):
            self.pods_dir.mkdir(parents=True, exist_ok=True)
            tmp = self.pods_dir.with_name(f"{self.pods_dir.name}{OWNERS_SUFFIX}.tmp")
            tmp.write_text(json.dumps(list(self.owners)))
            tmp.rename(_owners_file(self.pods_dir))

    def remove(self, uid: str) -> None:
        """Namespace, address and volume directories; idempotent."""
        self.engine.network.detach(uid)
        remove_tree(self.pods_dir / uid)

    def known(self) -> list[str]:
        """Pod uids with a sandbox on this node (for cleaning up after pods deleted while the agent was down)."""
        return pod_uids(self.pods_dir)

    def address(self, uid: str) -> str:
        """The pod's address when its sandbox exists (an adopted pod), else ""."""
        found = self.engine.network.lookup(uid) if (self.pods_dir / uid).exists() else None
        return found.ip if found is not None else ""

    def netns(self, uid: str) -> Path | None:
        """The pod's network namespace (its pinned file) when its sandbox exists, else None."""
        found = self.engine.network.lookup(uid) if (self.pods_dir / uid).exists() else None
        return found.netns_path if found is not None and found.netns_path.exists() else None

    def etc_files(self, uid: str, files: dict[str, str]) -> dict[str, str]:
        """Write the pod's own /etc files (``resolv.conf``, ``hosts``), shared by its containers as the kubelet
        shares them; returns each file's path in a container -> its path on the host."""
        base = self.pods_dir / uid / "etc"
        base.mkdir(parents=True, exist_ok=True)
        out = {}
        for name, text in files.items():
            target = base / name
            tmp = target.with_name(f".{name}.tmp")
            tmp.write_text(text)
            tmp.rename(target)
            out[f"/etc/{name}"] = str(target)
        return out

    def volumes(self, pod: Pod, config_maps: dict, secrets: dict, claims: dict | None = None,
                tokens: dict | None = None) -> dict[str, str]:
        """Volume name -> host directory, with ConfigMap, Secret, downward API and token contents written out as
        files; a claim's is its volume's directory (``claims``: volume name -> ``claims.Mount``, resolved
        beforehand); ``tokens``: (volume, path) -> a ServiceAccount token, for projected volumes."""
        return {v.name: self._volume(pod, v, config_maps, secrets, claims or {}, tokens or {})
                for v in pod.spec.volumes or []}

    def _volume(self, pod: Pod, v: Volume, config_maps: dict, secrets: dict, claims: dict, tokens: dict) -> str:
        if v.persistent_volume_claim is not None:
            if v.name not in claims:  # never a scratch directory in its place: that would lose the data
                raise LookupError(f"volume {v.name!r}: claim {v.persistent_volume_claim.claim_name!r} is not mounted")
            return claims[v.name].path
        base = self.pods_dir / pod.metadata.uid / "volumes" / v.name
        if v.host_path is not None:
            if v.host_path.type in ("DirectoryOrCreate", "", None):
                os.makedirs(v.host_path.path, exist_ok=True)
            return v.host_path.path
        base.mkdir(parents=True, exist_ok=True)
        if v.config_map is not None:
            _write_items(base, config_maps.get(v.config_map.name) or {}, v.config_map.items)
        elif v.secret is not None:
            _write_items(base, secrets.get(v.secret.secret_name) or {}, v.secret.items)
        elif v.downward_api is not None:
            _write_files(base, downward_files(pod, v.downward_api.items), v.downward_api.default_mode)
        elif v.projected is not None:
            _write_files(base, projected_files(pod, v, config_maps, secrets, tokens), v.projected.default_mode)
        return str(base)


    @staticmethod
    def has_contents(pod: Pod) -> bool:
        """The pod has a volume whose files come from the API (ConfigMap, Secret, downward API, projected)."""
        return any(_has_contents(v) for v in pod.spec.volumes or [])

    def refresh(self, pod: Pod, config_maps: dict, secrets: dict, tokens: dict) -> list[str]:
        """A running pod's ConfigMap, Secret, downward API and projected volumes brought up to date, as the
        kubelet's periodic sync does: each file replaced whole, a key that went away removed. A volume whose
        ConfigMap or Secret is missing now (and not optional) keeps the files it has; its name is returned.
        Only volumes already written (a container was prepared with them) are touched."""
        kept = []
        for v in pod.spec.volumes or []:
            base = self.pods_dir / pod.metadata.uid / "volumes" / v.name
            if not _has_contents(v) or not base.is_dir():
                continue
            try:
                files, mode = _contents(pod, v, config_maps, secrets, tokens)
            except LookupError:
                kept.append(v.name)
                continue
            _write_files(base, files, mode)
            _remove_others(base, files)
        return kept


def _has_contents(v: Volume) -> bool:
    return any(s is not None for s in (v.config_map, v.secret, v.downward_api, v.projected))


def _contents(pod: Pod, v: Volume, config_maps: dict, secrets: dict, tokens: dict) -> tuple[dict[str, str], int | None]:
    """(path -> text, file mode) of a content volume as its sources are now; LookupError: a source it needs is
    missing."""
    if v.config_map is not None or v.secret is not None:
        ref, pool, name, kind = ((v.config_map, config_maps, v.config_map.name, "configmap") if v.config_map
                                 else (v.secret, secrets, v.secret.secret_name, "secret"))
        data = pool.get(name)
        if data is None and not ref.optional:
            raise LookupError(f'{kind} "{name}" not found in namespace {pod.metadata.namespace}')
        return _selected(data or {}, ref.items), ref.default_mode
    if v.downward_api is not None:
        return downward_files(pod, v.downward_api.items), v.downward_api.default_mode
    return projected_files(pod, v, config_maps, secrets, tokens), v.projected.default_mode


def _remove_others(base: Path, files: dict[str, str]) -> None:
    """Files under ``base`` that are not (or no longer) among ``files``; directories left empty go too."""
    wanted = {str(base / rel) for rel in files}
    for directory, _subdirs, names in os.walk(base, topdown=False):
        for name in names:
            path = os.path.join(directory, name)
            if path not in wanted:
                os.unlink(path)
        if directory != str(base) and not os.listdir(directory):
            os.rmdir(directory)


def check_sub_paths(container, volumes: dict[str, str]) -> None:
    """Every subPath of the container resolves inside its volume: a symlink a pod left in a volume (which
    outlives it, for a claim) must not bind-mount a host directory outside it into the next pod."""
    for vm in container.volume_mounts or []:
        if not vm.sub_path or vm.name not in volumes:
            continue
        base = os.path.realpath(volumes[vm.name])
        target = os.path.realpath(os.path.join(base, vm.sub_path))
        if os.path.commonpath([base, target]) != base:
            raise LookupError(f"failed to prepare subPath for volumeMount {vm.name!r} of container "
                              f"{container.name!r}: {vm.sub_path!r} leads outside the volume")


def _owners_file(pods_dir: Path) -> Path:
    return pods_dir.with_name(pods_dir.name + OWNERS_SUFFIX)


def owners_of(pods_dir: Path) -> list[str]:
    try:
        return json.loads(_owners_file(pods_dir).read_text())
    except (FileNotFoundError, ValueError):
        return []


def pod_uids(pods_dir: Path) -> list[str]:
    return sorted(p.name for p in pods_dir.iterdir()) if pods_dir.exists() else []


@dataclass
class Purged:
    """What ``purge`` removed, by name, for the user."""

    containers: list[str] = field(default_factory=list)
    sandboxes: list[str] = field(default_factory=list)  # "UID (IP)"
    pod_dirs: list[str] = field(default_factory=list)


def purge(engine, data_dir: str) -> Purged:
    """Remove from this node everything of the clusters whose data directory is ``data_dir``: their pods'
    containers (killed), sandboxes (namespace, veth, address) and directories. Idempotent; needs no API, since
    the cluster may be stopped for good. The caller stops the agent first, or it would start them again."""
    clusters = _clusters(engine.root / "pods", data_dir)
    network = engine.network
    uids = {uid for c in clusters for uid in pod_uids(c)}
    uids |= {uid for uid, owners in network.owned().items() if data_dir in owners}
    attached = network.attached() if uids else {}  # before the removals below, which may reclaim some
    out = Purged(_remove_containers(engine, {c.name for c in clusters}, {str(network.netns_path(u)) for u in uids}))
    for uid in sorted(uids):
        if uid in attached:
            out.sandboxes.append(f"{uid} ({attached[uid]})")
        network.detach(uid)  # the netns pin too, when its lease was lost
    for cluster in clusters:
        if cluster.exists():
            remove_tree(cluster)
            out.pod_dirs.append(str(cluster))
        _owners_file(cluster).unlink()
    if network.state_dir.exists():
        network.teardown()  # the bridge and its nftables table, when no other container is attached
    return out


def _clusters(pods: Path, data_dir: str) -> list[Path]:
    """The pods directories of the clusters ``data_dir`` owns (one per ``up`` that started afresh there)."""
    dirs = [pods / f.name.removesuffix(OWNERS_SUFFIX) for f in sorted(pods.glob(f"*{OWNERS_SUFFIX}"))]
    return [d for d in dirs if data_dir in owners_of(d)]


def _remove_containers(engine, clusters: set[str], netns: set[str]) -> list[str]:
    """Kill and remove the containers labelled with one of ``clusters`` or inside one of ``netns``."""
    removed = []
    for c in engine.containers(all=True):
        mode = c.record.host.network_mode
        if (c.record.config.labels or {}).get(LABEL_CLUSTER) in clusters or \
                (mode.startswith("ns:") and mode[3:] in netns):
            try:
                engine.remove(c.record.id, force=True)
            except (ContainerNotFound, FileNotFoundError):  # removed meanwhile
                continue
            removed.append(f"{c.record.name.lstrip('/')} ({c.record.id[:12]})")
    return removed


def _write_items(base: Path, data: dict[str, str], items) -> None:
    """Each key as a file (or only the listed keys, at their paths), replaced whole."""
    wanted = {i.key: i.path for i in items} if items else {k: k for k in data}
    for key, rel in wanted.items():
        if key in data:
            target = base / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.tmp")
            tmp.write_text(data[key])
            tmp.rename(target)


def _selected(data: dict[str, str], items) -> dict[str, str]:
    """A ConfigMap's or Secret's keys as files: all of them, or only the listed ones at their paths."""
    wanted = {i.key: i.path for i in items} if items else {k: k for k in data}
    return {rel: data[k] for k, rel in wanted.items() if k in data}


def _pairs(values: dict[str, str] | None) -> str:
    return "".join(f'{k}="{v}"\n' for k, v in sorted((values or {}).items()))


def downward_files(pod: Pod, items) -> dict[str, str]:
    """Path -> content of downward API files: pod fields (labels and annotations whole, as ``key="value"``
    lines, or one of them)."""
    from portside.agent.translate import Context, field_value
    out = {}
    for item in items or []:
        if item.field_ref is None:
            raise LookupError(f"downward API file {item.path}: only fieldRef is supported")
        path = item.field_ref.field_path
        if path in ("metadata.labels", "metadata.annotations"):
            out[item.path] = _pairs(getattr(pod.metadata, path.split(".")[1]))
        else:
            out[item.path] = field_value(path, Context(pod, "", ""))
    return out


def projected_files(pod: Pod, v: Volume, config_maps: dict, secrets: dict, tokens: dict) -> dict[str, str]:
    """Path -> content of every source of a projected volume; a missing ConfigMap or Secret that is not
    optional is a LookupError (the container waits for it)."""
    out: dict[str, str] = {}
    for source in v.projected.sources or []:
        if source.service_account_token is not None:
            out[source.service_account_token.path] = tokens[(v.name, source.service_account_token.path)]
        elif source.config_map is not None or source.secret is not None:
            ref, pool, kind = ((source.config_map, config_maps, "configmap") if source.config_map is not None
                               else (source.secret, secrets, "secret"))
            data = pool.get(ref.name)
            if data is None and not ref.optional:
                raise LookupError(f'{kind} "{ref.name}" not found in namespace {pod.metadata.namespace}')
            out.update(_selected(data or {}, ref.items))
        elif source.downward_api is not None:
            out.update(downward_files(pod, source.downward_api.items))
    return out


def _write_files(base: Path, files: dict[str, str], mode: int | None) -> None:
    """Each file replaced whole (a reader never sees half a token), with the volume's mode."""
    for rel, text in files.items():
        target = base / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(text)
        os.chmod(tmp, mode if mode is not None else 0o644)
        tmp.rename(target)


def decode_secret(secret: Secret) -> dict[str, str]:
    data = {k: base64.b64decode(v).decode(errors="replace") for k, v in (secret.data or {}).items()}
    data.update(secret.string_data or {})
    return data
