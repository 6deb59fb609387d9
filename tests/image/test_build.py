"""``portside build`` end to end: real runc for RUN, real overlay mounts, the real CLI for ``run``."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from leftovers import TEST_CGROUP_PARENT

from portside.image import Image, ImageStore
from portside.image.build import BuildOptions, DockerfileError, build
from portside.image.build.rootfs import View

EVERYTHING = """\
# syntax and comments are ignored
ARG BASE=busybox
FROM ${BASE} AS builder
ARG GREETING=hello
WORKDIR /src
COPY hello.txt ./
RUN echo "$GREETING from build" > /src/out.txt && \\
    # a comment inside a continuation
    cat hello.txt >> out.txt

FROM busybox
LABEL org.example.name="demo app" version=1
MAINTAINER someone@example.com
ENV APP_HOME=/app \\
    MODE=prod
WORKDIR $APP_HOME
COPY --from=builder /src/out.txt ./
COPY --chown=nobody:nogroup data/ data/
ADD archive.tar.gz /opt/
RUN ["/bin/sh", "-c", "rm /etc/group && mkdir -p /data"]
USER nobody
EXPOSE 8080 9000/udp
VOLUME ["/data"]
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s --retries=2 CMD cat /app/out.txt
SHELL ["/bin/sh", "-c"]
ONBUILD RUN echo triggered
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat /app/out.txt; id -u"]
"""


def write_context(ctx: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = ctx / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return ctx


def make_archive(ctx: Path) -> None:
    with tarfile.open(ctx / "archive.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("arch/a.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"a\n"))


def do_build(store: ImageStore, ctx: Path, **kw) -> tuple[Image, str]:
    out = io.StringIO()
    image = build(store, BuildOptions(context=ctx, cgroup_parent=TEST_CGROUP_PARENT, **kw), out)
    return image, out.getvalue()


@pytest.fixture
def demo_ctx(tmp_path: Path) -> Path:
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": EVERYTHING, "hello.txt": "hi\n", "data/d.txt": "d\n",
                                           "secret.key": "no", ".dockerignore": "secret.key\n"})
    make_archive(ctx)
    return ctx


def test_multistage_build_with_every_instruction(store: ImageStore, busybox: Image, demo_ctx: Path) -> None:
    image, out = do_build(store, demo_ctx, tags=["demo:1"])
    assert image.names == ["demo:1"]
    assert image.config == {
        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "APP_HOME=/app", "MODE=prod"],
        "Cmd": ["cat /app/out.txt; id -u"], "Entrypoint": ["/bin/sh", "-c"], "WorkingDir": "/app",
        "User": "nobody", "ExposedPorts": {"8080/tcp": {}, "9000/udp": {}}, "Volumes": {"/data": {}},
        "Labels": {"org.example.name": "demo app", "version": "1"}, "StopSignal": "SIGINT",
        "Healthcheck": {"Test": ["CMD-SHELL", "cat /app/out.txt"], "Interval": 5_000_000_000, "Retries": 2},
        "Shell": ["/bin/sh", "-c"], "OnBuild": ["RUN echo triggered"],
    }
    assert image.full_config["author"] == "someone@example.com"
    assert out.startswith("Step 1/23 : FROM ${BASE} AS builder\n")
    view = View(store.layer_dirs(image))
    assert view.find("app/out.txt").read_text() == "hello from build\nhi\n"
    data = view.find("app/data/d.txt").stat()
    assert (data.st_uid, data.st_gid) == (65534, 65534)
    assert view.find("opt/arch/a.txt").read_text() == "a\n"
    assert view.find("etc/group") is None and view.find("src") is None
    empty = [h.get("empty_layer", False) for h in image.history]
    assert empty == [False, True, True, True, False, False, False, False, False] + [True] * 9


def test_built_image_runs_under_portside_run(store: ImageStore, busybox: Image, demo_ctx: Path) -> None:
    do_build(store, demo_ctx, tags=["demo"])
    result = subprocess.run([sys.executable, "-m", "portside.cli.main", "--root", str(store.root.parent),
                             "run", "--rm", "--network", "none", "demo"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "hello from build\nhi\n65534\n"


def test_onbuild_triggers_run_in_the_child(store: ImageStore, busybox: Image, demo_ctx: Path,
                                           tmp_path: Path) -> None:
    do_build(store, demo_ctx, tags=["parent"])
    child = write_context(tmp_path / "child", {"Dockerfile": "FROM parent\nUSER root\nRUN test -f /app/out.txt\n"})
    image, out = do_build(store, child)
    assert "triggered" in out
    assert image.config.get("OnBuild") is None and image.config["Cmd"] == ["cat /app/out.txt; id -u"]


def test_unchanged_rebuild_is_all_cached(store: ImageStore, busybox: Image, demo_ctx: Path) -> None:
    first, _ = do_build(store, demo_ctx, tags=["demo"])
    second, out = do_build(store, demo_ctx, tags=["demo"])
    assert second.id == first.id
    assert out.count(" ---> Using cache") == 20 and "Running" not in out


def test_one_changed_file_rebuilds_from_its_copy(store: ImageStore, busybox: Image, tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", {"a.txt": "a", "b.txt": "b", "Dockerfile": (
        "FROM busybox\nCOPY a.txt /a\nRUN cat /a > /a2\nCOPY b.txt /b\nRUN cat /b > /b2\nCMD [\"cat\", \"/b2\"]\n")})
    do_build(store, ctx, tags=["x"])
    (ctx / "b.txt").write_text("B")
    image, out = do_build(store, ctx, tags=["x"])
    steps = out.split("Step ")[1:]
    assert [" ---> Using cache" in s for s in steps] == [False, True, True, False, False, False]
    assert View(store.layer_dirs(image)).find("b2").read_text() == "B"
    (ctx / "a.txt").touch()  # a new mtime, same content: still cached
    _, out = do_build(store, ctx, tags=["x"])
    assert out.count("Using cache") == 5


def test_no_cache_rebuilds_everything(store: ImageStore, busybox: Image, tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nRUN echo x > /x\n"})
    do_build(store, ctx)
    _, out = do_build(store, ctx, no_cache=True)
    assert "Using cache" not in out


def test_identical_inputs_give_identical_layer_digests(busybox_rootfs_tar: Path, tmp_path: Path,
                                                        needs_root: None) -> None:
    files = {"Dockerfile": "FROM busybox\nWORKDIR /app\nCOPY . .\nRUN echo built > /app/out && rm /etc/group\n",
             "app.py": "print('hi')\n", "lib/util.py": "x = 1\n"}
    ids = []
    for n in range(2):
        store = ImageStore(tmp_path / f"store{n}")
        store.import_rootfs(busybox_rootfs_tar, "busybox")
        ctx = write_context(tmp_path / f"ctx{n}", files)
        os.utime(ctx / "app.py", (n * 5000, n * 5000))
        image, _ = do_build(store, ctx)
        ids.append(image.diff_ids)
    assert ids[0] == ids[1] and len(ids[0]) == 4


def test_run_deletion_is_a_whiteout_in_the_layer(store: ImageStore, busybox: Image, tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nRUN rm /etc/group && rm -r /var/www\n"})
    image, _ = do_build(store, ctx)
    top = store.layers(image)[-1]
    names = tarfile.open(store.layout.blob_path(top.digest)).getnames()
    assert "etc/.wh.group" in names and "var/.wh.www" in names


def test_build_args_and_arg_scoping(store: ImageStore, busybox: Image, tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": (
        "ARG TAG=latest\nARG WHO=global\nFROM busybox:$TAG\nARG WHO\nARG LEVEL=1\nENV SHADOW=env\nARG SHADOW=arg\n"
        "RUN echo $WHO $LEVEL $SHADOW > /args\n")})
    image, out = do_build(store, ctx, build_args={"LEVEL": "9", "UNUSED": "u"})
    assert View(store.layer_dirs(image)).find("args").read_text() == "global 9 env\n"
    assert "RUN |2 LEVEL=9 WHO=global /bin/sh -c" in image.history[-1]["created_by"]
    assert "not consumed" in out and "UNUSED" in out
    assert not any(e.startswith(("WHO=", "LEVEL=")) for e in image.config["Env"])


def test_target_builds_only_the_stages_it_needs(store: ImageStore, busybox: Image, tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": (
        "FROM busybox AS one\nRUN echo one > /one\nFROM busybox AS two\nRUN exit 7\n"
        "FROM busybox AS three\nCOPY --from=one /one /copied\n")})
    image, out = do_build(store, ctx, target="three", tags=["t"])
    assert "exit 7" not in out
    assert View(store.layer_dirs(image)).find("copied").read_text() == "one\n"


def test_run_network_none_has_only_loopback(store: ImageStore, busybox: Image, tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": (
        "FROM busybox\nRUN --network=none ls /sys/class/net > /none\nRUN ls /sys/class/net > /host\n")})
    view = View(store.layer_dirs(do_build(store, ctx)[0]))
    assert view.find("none").read_text().split() == ["lo"]
    assert len(view.find("host").read_text().split()) > 1


def test_entrypoint_drops_the_inherited_cmd(store: ImageStore, busybox: Image, tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": 'FROM busybox\nCMD ["sh"]\nFROM 0\nENTRYPOINT ["top"]\n'})
    image, _ = do_build(store, ctx)
    assert image.config["Entrypoint"] == ["top"] and image.config["Cmd"] is None


def test_quiet_cli_build_prints_only_the_id(store: ImageStore, busybox: Image, tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nRUN echo noisy\n"})
    result = subprocess.run([sys.executable, "-m", "portside.cli.main", "--root", str(store.root.parent), "build",
                             "-q", "-t", "q", str(ctx)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == store.resolve("q").id + "\n"


def test_copy_follows_symlinked_directories_in_the_image(store: ImageStore, busybox: Image,
                                                         tmp_path: Path) -> None:
    """A merged-/usr image has /bin -> usr/bin: COPY into /bin must land in /usr/bin and keep the link."""
    ctx = write_context(tmp_path / "ctx", {"rootfs/bin/tool": "#!/bin/sh\n", "Dockerfile": (
        "FROM busybox\nRUN mkdir -p /usr/bin && mv /bin/* /usr/bin/ && rmdir /bin && ln -s usr/bin /bin\n"
        "COPY rootfs /\nCOPY rootfs/bin/tool /bin/other\n")})
    view = View(store.layer_dirs(do_build(store, ctx)[0]))
    assert view.find("bin").is_symlink()
    assert view.find("usr/bin/tool").read_text() == "#!/bin/sh\n" and view.find("usr/bin/other").is_file()
    assert view.find("usr/bin/busybox").is_file()


def test_a_symlink_source_is_copied_as_its_target(store: ImageStore, busybox: Image, tmp_path: Path) -> None:
    ctx = write_context(tmp_path / "ctx", {"real.txt": "real\n", "dir/inner.txt": "inner\n",
                                           "Dockerfile": "FROM busybox\nCOPY link.txt linkdir /dst/\n"})
    os.symlink("real.txt", ctx / "link.txt")
    os.symlink("dir", ctx / "linkdir")
    os.symlink("../real.txt", ctx / "dir" / "kept")
    view = View(store.layer_dirs(do_build(store, ctx)[0]))
    assert not view.find("dst/link.txt").is_symlink() and view.find("dst/link.txt").read_text() == "real\n"
    assert view.find("dst/inner.txt").read_text() == "inner\n"
    assert os.readlink(view.find("dst/kept")) == "../real.txt"
    (ctx / "outside").symlink_to("/etc/passwd")
    (ctx / "Dockerfile").write_text("FROM busybox\nCOPY outside /x\n")
    with pytest.raises(DockerfileError, match='Dockerfile:2: COPY source "outside" is a symlink'):
        do_build(store, ctx)


def test_many_layers_fit_in_one_overlay_mount(busybox_rootfs_tar: Path, needs_root: None) -> None:
    """45 full layer paths under a root as short as /var/lib/portside (~96 bytes each) would overflow
    overlayfs's one-page option string; the store's short links keep it well inside."""
    import shutil
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="ps-"))
    try:
        store = ImageStore(root / "image")
        store.import_rootfs(busybox_rootfs_tar, "busybox")
        files = {f"f{n}": f"{n}\n" for n in range(44)}
        copies = "".join(f"COPY f{n} /f{n}\n" for n in range(44))
        ctx = write_context(root / "ctx", {**files, "Dockerfile": f"FROM busybox\n{copies}RUN cat /f0 /f43 > /all\n"})
        image, _ = do_build(store, ctx)
        assert len(image.diff_ids) == 46
        assert View(store.layer_dirs(image)).find("all").read_text() == "0\n43\n"
    finally:
        shutil.rmtree(root)
