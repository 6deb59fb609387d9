"""The image commands through the real ``portside`` entry point, as a user types them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from leftovers import TEST_CGROUP_PARENT


class CLI:
    def __init__(self, root: Path) -> None:
        """An engine root whose containers go under the tests' own cgroup parent."""
        self.root = root
        root.mkdir()
        (root / "engine.json").write_text(json.dumps({"cgroup_parent": TEST_CGROUP_PARENT}))

    def __call__(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([sys.executable, "-m", "portside.cli.main", "--root", str(self.root), *args],
                                capture_output=True, text=True, timeout=120)
        if ok:
            assert result.returncode == 0, result.stderr
        return result


@pytest.fixture
def cli(tmp_path: Path, busybox_rootfs_tar: Path, needs_root: None) -> CLI:
    run = CLI(tmp_path / "engine")
    run("import", str(busybox_rootfs_tar), "busybox:1.0")
    return run


def test_images_table_json_and_quiet(cli: CLI) -> None:
    cli("tag", "busybox:1.0", "localhost:5000/bb")
    table = cli("images").stdout.splitlines()
    assert table[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    assert sorted(line.split()[0] for line in table[1:]) == ["busybox", "localhost:5000/bb"]
    rows = [json.loads(line) for line in cli("images", "--format", "json").stdout.splitlines()]
    assert {(r["Repository"], r["Tag"]) for r in rows} == {("busybox", "1.0"), ("localhost:5000/bb", "latest")}
    assert len(set(cli("images", "-q").stdout.split())) == 1


def test_inspect_history_and_aliases(cli: CLI) -> None:
    [doc] = json.loads(cli("image", "inspect", "busybox:1.0").stdout)
    assert doc["RepoTags"] == ["busybox:1.0"] and doc["Id"].startswith("sha256:")
    assert doc["RootFS"]["Type"] == "layers" and len(doc["RootFS"]["Layers"]) == 1
    history = cli("history", "busybox:1.0").stdout.splitlines()
    assert history[0].split()[:2] == ["IMAGE", "CREATED"] and "portside import" in history[1]
    assert cli("image", "ls", "-q").stdout.strip() == doc["Id"][7:19]
    bad = cli("image", "frobnicate", ok=False)
    assert bad.returncode == 2 and "expected a subcommand" in bad.stderr


def test_rmi_refuses_an_image_in_use_unless_forced(cli: CLI) -> None:
    cid = cli("create", "--network", "none", "--name", "user-of-bb", "busybox:1.0", "true").stdout.strip()
    try:
        refused = cli("rmi", "busybox:1.0", ok=False)
        assert refused.returncode == 1  # docker rmi exits 1
        image_id = cli("image", "ls", "-q").stdout.split()[0]
        assert refused.stderr.strip() == ('portside: conflict: unable to remove repository reference "busybox:1.0" '
                                          f"(must force) - container {cid[:12]} is using its referenced image "
                                          f"{image_id}")
        assert cli("rmi", "-f", "busybox:1.0").stdout == "Untagged: busybox:1.0\n"
        assert cli("images", "--format", "json").stdout.count('"<none>"') == 2
    finally:
        cli("rm", "-f", cid)


def test_rmi_unknown_and_prune(cli: CLI) -> None:
    missing = cli("rmi", "nosuch", ok=False)
    assert missing.returncode == 1 and missing.stderr == "portside: no such image: nosuch\n"
    stray = cli.root / "image" / "blobs" / "sha256" / ("ab" * 32)
    stray.write_bytes(b"unreferenced")
    out = cli("image", "prune").stdout
    assert f"deleted: sha256:{'ab' * 32}" in out and not stray.exists()
    assert "busybox" in cli("images").stdout
    assert cli("rmi", "busybox:1.0").stdout.splitlines()[0] == "Untagged: busybox:1.0"
    assert cli("images", "-q").stdout == ""


def test_save_load_and_build_commands(cli: CLI, tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text('FROM busybox:1.0\nCOPY . /ctx/\nCMD ["ls", "/ctx"]\n')
    out = cli("build", "-t", "app:v1", str(ctx)).stdout
    assert "Step 1/3 : FROM busybox:1.0" in out and "Successfully tagged app:v1" in out
    assert " ---> Using cache" in cli("build", "-t", "app:v1", str(ctx)).stdout
    cli("save", "-o", str(tmp_path / "app.tar"), "--format", "oci-archive", "app:v1")
    other = CLI(tmp_path / "other")
    assert other("load", "-i", str(tmp_path / "app.tar")).stdout == "Loaded image: app:v1\n"
    assert other("run", "--rm", "--network", "none", "app:v1").stdout == "Dockerfile\n"
    bad = cli("build", "-f", str(ctx / "nope"), str(ctx), ok=False)
    assert bad.returncode == 1 and "does not exist" in bad.stderr  # docker: a failed build exits 1
    (ctx / "Dockerfile").write_text("FROM busybox:1.0\nRUN exit 3\n")
    failed = cli("build", str(ctx), ok=False)
    assert failed.returncode == 1 and "returned a non-zero code: 3" in failed.stderr
    usage = cli("build", "-t", "Bad:Tag", str(ctx), ok=False)
    assert usage.returncode == 125, usage.stderr  # a malformed command line stays docker's 125


def test_builder_prune_frees_what_only_the_cache_kept(cli: CLI, tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox:1.0\nRUN echo x > /x\n")
    cli("build", str(ctx))
    cli("rmi", cli("images", "-q").stdout.split()[0])  # the untagged build result
    blobs = cli.root / "image" / "blobs" / "sha256"
    before = len(list(blobs.iterdir()))
    out = cli("builder", "prune").stdout
    assert out.startswith("build cache entries deleted: 1\n") and "deleted layer" in out
    assert len(list(blobs.iterdir())) < before
    assert " ---> Using cache" not in cli("build", str(ctx)).stdout
