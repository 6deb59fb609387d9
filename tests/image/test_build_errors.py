"""Bad Dockerfiles and failing steps: one line-numbered error, and nothing left behind."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from leftovers import TEST_CGROUP_PARENT

from portside.image import Image, ImageError, ImageStore
from portside.image.build import BuildOptions, DockerfileError, build

BAD = {
    "unknown": ("FROM busybox\nFOO bar\n", "Dockerfile:2: unknown instruction: FOO"),
    "json": ('FROM busybox\nCMD ["a",]\n', "Dockerfile:2: CMD: malformed JSON form"),
    "json-type": ('FROM busybox\nENTRYPOINT ["a", 1]\n', "Dockerfile:2: ENTRYPOINT: the JSON form must be an array"),
    "missing": ("FROM busybox\nRUN true\nCOPY x.txt /\n",
                'Dockerfile:3: COPY source "x.txt" not found in the build context'),
    "ignored": ("FROM busybox\nCOPY secret /\n", 'Dockerfile:2: COPY source "secret" not found'),
    "outside": ("FROM busybox\nCOPY ../../etc/passwd /\n", 'Dockerfile:2: COPY source "../../etc/passwd" is outside'),
    "from-stage": ("FROM busybox AS a\nFROM busybox\nCOPY --from=b /x /y\n",
                   "Dockerfile:3: COPY --from=b: no build stage of that name"),
    "from-later": ("FROM busybox AS a\nCOPY --from=c /x /y\nFROM busybox AS c\nCOPY --from=a /x /y\n", "Dockerfile:2: COPY --from=c"),
    "before-from": ("RUN true\nFROM busybox\n", "Dockerfile:1: RUN before the first FROM"),
    "no-from": ("ARG X=1\n", "Dockerfile:1: no FROM instruction"),
    "port": ("FROM busybox\n\n# comment\nEXPOSE 99999\n", "Dockerfile:4: EXPOSE: invalid port '99999'"),
    "flag": ("FROM busybox\nCOPY --form=x a /b\n", "Dockerfile:2: COPY does not take the flag --form"),
    "duration": ("FROM busybox\nHEALTHCHECK --interval=abc CMD true\n", "Dockerfile:2: HEALTHCHECK --interval"),
    "shell": ("FROM busybox\nSHELL /bin/bash -c\n", "Dockerfile:2: SHELL requires the JSON form"),
    "signal": ("FROM busybox\nSTOPSIGNAL SIGNOPE\n", "Dockerfile:2: STOPSIGNAL: unknown signal"),
    "many-to-file": ("FROM busybox\nCOPY a b /dest\n", "Dockerfile:2: COPY with more than one source"),
    "no-image": ("FROM nosuchimage:1\n", "Dockerfile:1: FROM nosuchimage:1: no such image"),
    "continued": ("FROM busybox\nRUN echo \\\n  one \\\n  two\nBAD x\n", "Dockerfile:5: unknown instruction: BAD"),
    "stage-name": ("FROM busybox AS 1abc\n", "Dockerfile:1: FROM: invalid stage name"),
    "env": ("FROM busybox\nENV =x\n", "Dockerfile:2: ENV: expected KEY=VALUE"),
    "chown": ("FROM busybox\nCOPY --chown=nosuchuser a /a\n",
              "Dockerfile:2: COPY --chown=nosuchuser: no 'nosuchuser' in the image's /etc/passwd"),
    "chmod": ("FROM busybox\nCOPY --chmod=999 a /a\n", "Dockerfile:2: COPY --chmod=999: expected an octal mode"),
    "add-url": ("FROM busybox\nADD https://example.com/x.tar /x\n", "Dockerfile:2: ADD https://example.com/x.tar: URLs"),
    "run-mount": ("FROM busybox\nRUN --mount=type=cache,target=/x true\n", "Dockerfile:2: RUN does not take the flag --mount"),
    "run-network": ("FROM busybox\nRUN --network=bridge true\n", "Dockerfile:2: RUN --network=bridge: expected"),
}


def leftovers(store: ImageStore) -> list[str]:
    tmp = store.root / "tmp"
    found = [str(p) for p in tmp.iterdir()] if tmp.exists() else []
    mounts = Path("/proc/mounts").read_text()
    return found + [line for line in mounts.splitlines() if str(store.root) in line]


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_dockerfile_names_the_line_and_builds_nothing(store: ImageStore, busybox: Image, tmp_path: Path,
                                                          case: str) -> None:
    text, message = BAD[case]
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    for name in ("a", "b", "secret"):
        (ctx / name).write_text(name)
    (ctx / ".dockerignore").write_text("secret\n")
    (ctx / "Dockerfile").write_text(text)
    with pytest.raises(ImageError) as err:
        build(store, BuildOptions(cgroup_parent=TEST_CGROUP_PARENT, context=ctx, tags=["bad"]), io.StringIO())
    assert str(err.value).startswith(message), str(err.value)
    assert [image.names for image in store.list()] == [["busybox:latest"]]
    assert leftovers(store) == []
    assert not (store.root / "cache").exists() or not [p for p in (store.root / "cache").iterdir()
                                                        if not p.name.startswith(".")]


def test_failing_run_reports_step_command_and_code(store: ImageStore, busybox: Image, tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN echo before > /f\nRUN echo failing; exit 3\n")
    out = io.StringIO()
    with pytest.raises(DockerfileError) as err:
        build(store, BuildOptions(cgroup_parent=TEST_CGROUP_PARENT, context=ctx, tags=["bad"]), out)
    assert str(err.value) == ("Dockerfile:3: step 3/3: The command '/bin/sh -c echo failing; exit 3' "
                              "returned a non-zero code: 3")
    assert "failing" in out.getvalue()
    assert leftovers(store) == []
    assert [image.names for image in store.list()] == [["busybox:latest"]]


def test_missing_dockerfile_and_context(store: ImageStore, tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="is not a directory"):
        build(store, BuildOptions(cgroup_parent=TEST_CGROUP_PARENT, context=tmp_path / "nothing"), io.StringIO())
    with pytest.raises(ImageError, match="Dockerfile does not exist"):
        build(store, BuildOptions(cgroup_parent=TEST_CGROUP_PARENT, context=tmp_path), io.StringIO())


def test_bad_tag_is_refused_before_building(store: ImageStore, busybox: Image, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM busybox\nRUN touch /x\n")
    with pytest.raises(ImageError, match="invalid reference 'Bad:tag'"):
        build(store, BuildOptions(cgroup_parent=TEST_CGROUP_PARENT, context=tmp_path, tags=["Bad:tag"]), io.StringIO())
    assert leftovers(store) == [] and not (store.root / "cache").exists()


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_interrupted_run_leaves_no_mount_container_or_work_dir(store: ImageStore, busybox: Image, tmp_path: Path,
                                                              signame: str) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    marker = f"marker-{os.getpid()}-{signame}-{time.time_ns()}"
    (tmp_path / "Dockerfile").write_text(f"FROM busybox\nRUN echo started && sleep 60 && echo {marker}\n")
    proc = subprocess.Popen([sys.executable, "-m", "portside.cli.main", "--root", str(store.root.parent), "build",
                             "-t", "never", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if "started" in line:
            break
    proc.send_signal(getattr(signal, signame))
    assert proc.wait(timeout=30) != 0
    assert leftovers(store) == []
    assert [image.names for image in store.list()] == [["busybox:latest"]]
    assert subprocess.run(["pgrep", "-f", marker], capture_output=True).stdout == b""
