"""The engine reclaims a pod sandbox whose owner is gone (the pod's directory, or the cluster's data directory):
namespace, veth, address lease and the namespace's bind mount, once no container runs in it; never before.

Real runc containers join the sandbox with ``--network ns:PATH``, as the agent's do; the sandbox is made by the
agent's own ``Sandboxes``.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from portside.agent.sandbox import Sandboxes
from portside.engine import Engine
from portside.engine.records import remove_tree
from tests.agent.conftest import cleanup, engine_root

UID = "0b4c6a7e-reclaim-test"


class Pod:
    """One sandbox of cluster ``c1``, owned by its pod directory and by ``data``, plus the test's engine CLI."""

    def __init__(self, tmp_path: Path, root: Path) -> None:
        self.root, self.data = root, tmp_path / "data"
        self.data.mkdir()
        self.engine = Engine(root)
        self.sandboxes = Sandboxes(self.engine, root / "pods" / "c1", owners=(str(self.data),))
        self.attachment = self.sandboxes.ensure(UID)

    def portside(self, *args: str) -> subprocess.CompletedProcess:
        proc = subprocess.run([sys.executable, "-m", "portside", "--root", str(self.root), *args],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return proc

    def join(self, name: str) -> None:
        self.portside("run", "-d", "--name", name, "--network", f"ns:{self.attachment.netns_path}", "busybox",
                      "sleep", "600")

    def left(self) -> list[str]:
        """What of the sandbox is still on the machine, named."""
        path = str(self.attachment.netns_path)
        found = [f"lease {cid}" for cid in self.engine.network.attached()]
        found += ["netns pin"] if Path(path).exists() else []
        with open("/proc/self/mounts") as f:
            found += [f"mount {line.split()[1]}" for line in f if line.split()[1] == path]
        found += [f"veth {self.attachment.veth}"] if Path("/sys/class/net", self.attachment.veth).exists() else []
        return found


@pytest.fixture
def pod(needs_root, tmp_path: Path, busybox_rootfs_tar: Path):
    root, settings = engine_root(tmp_path, busybox_rootfs_tar)
    try:
        yield Pod(tmp_path, root)
    finally:
        Engine(root).network.detach(UID)
        left = cleanup(root, settings)
    assert not left, f"left behind: {left}"


def test_removing_the_last_container_of_a_sandbox_whose_data_dir_is_gone_reclaims_it(pod) -> None:
    pod.join("first")
    pod.join("second")
    assert pod.left() == [f"lease {UID}", "netns pin", f"mount {pod.attachment.netns_path}",
                          f"veth {pod.attachment.veth}"]
    remove_tree(pod.data)
    pod.portside("rm", "-f", "first")
    assert len(pod.left()) == 4, "reclaimed while a container still ran in it"
    pod.portside("rm", "-f", "second")
    assert pod.left() == []


def test_a_sandbox_whose_owner_is_there_is_kept_when_its_containers_go(pod) -> None:
    pod.join("only")
    pod.portside("rm", "-f", "only")
    assert len(pod.left()) == 4
    assert pod.sandboxes.ensure(UID).ip == pod.attachment.ip


def test_the_daemon_reclaims_at_its_start_a_sandbox_whose_pod_directory_is_gone(pod) -> None:
    remove_tree(pod.root / "pods" / "c1" / UID)
    daemon = subprocess.Popen([sys.executable, "-m", "portside", "--root", str(pod.root), "daemon"],
                              stderr=subprocess.PIPE, text=True)
    try:
        lines = iter(daemon.stderr.readline, "")
        assert any("serving" in line for line in lines), "the daemon ended before it served"
        assert pod.left() == []  # reclaimed before it serves
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(30)


def test_attachment_owners_must_exist(pod, tmp_path) -> None:
    from portside.runtime.errors import InvalidArgument
    with pytest.raises(InvalidArgument, match=f'attachment owner "{tmp_path}/nowhere" must be an absolute path'):
        pod.engine.network.attach("other", [], owners=[str(tmp_path / "nowhere")])
    assert pod.engine.network.attached().keys() == {UID}
