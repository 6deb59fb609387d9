"""A pod's sandbox: one network namespace with one address, shared by all its containers (through the engine's
``ns:PATH`` network mode), plus the pod's volume directories.

The namespace is the bridge network's attachment for the pod's uid, so it outlives every container run and
survives an agent restart: ``lookup`` finds it again from the network's lease table.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from portside.api.models import Pod, Secret, Volume
from portside.engine.records import remove_tree


class Sandboxes:
    def __init__(self, engine, pods_dir: Path) -> None:
        self.engine, self.pods_dir = engine, Path(pods_dir)

    def ensure(self, uid: str):
        """The pod's attachment (netns_path, ip), made when missing; idempotent."""
        (self.pods_dir / uid).mkdir(parents=True, exist_ok=True)  # marks the sandbox as this cluster's
        network = self.engine.network
        found = network.lookup(uid)
        if found is not None and found.netns_path.exists():
            return found
        if found is not None:
            network.detach(uid)
        attachment = network.attach(uid, [])
        for sock in attachment.reserved:
            sock.close()
        return attachment

    def remove(self, uid: str) -> None:
        """Namespace, address and volume directories; idempotent."""
        self.engine.network.detach(uid)
        remove_tree(self.pods_dir / uid)

    def known(self) -> list[str]:
        """Pod uids with a sandbox on this node (for cleaning up after pods deleted while the agent was down)."""
        return sorted(p.name for p in self.pods_dir.iterdir()) if self.pods_dir.exists() else []

    def address(self, uid: str) -> str:
        """The pod's address when its sandbox exists (an adopted pod), else ""."""
        found = self.engine.network.lookup(uid) if (self.pods_dir / uid).exists() else None
        return found.ip if found is not None else ""

    def volumes(self, pod: Pod, config_maps: dict, secrets: dict) -> dict[str, str]:
        """Volume name -> host directory, with ConfigMap and Secret contents written out as files."""
        return {v.name: self._volume(pod, v, config_maps, secrets) for v in pod.spec.volumes or []}

    def _volume(self, pod: Pod, v: Volume, config_maps: dict, secrets: dict) -> str:
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
        return str(base)


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


def decode_secret(secret: Secret) -> dict[str, str]:
    data = {k: base64.b64decode(v).decode(errors="replace") for k, v in (secret.data or {}).items()}
    data.update(secret.string_data or {})
    return data
