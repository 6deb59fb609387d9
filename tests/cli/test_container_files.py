"""``portside cp``, ``diff``, ``export`` and ``container top`` against real containers, running and stopped."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile


def test_cp_both_ways_with_docker_naming_rules(portside, tmp_path) -> None:
    portside("run", "-d", "--name", "cpbox", "--network", "none", "busybox", "sh", "-c",
             "mkdir -p /srv/site/css && echo body > /srv/site/index && echo red > /srv/site/css/a; sleep 60")
    portside("exec", "cpbox", "test", "-f", "/srv/site/css/a")
    portside("cp", "cpbox:/srv/site", str(tmp_path))  # an existing directory receives it under its own name
    assert (tmp_path / "site/css/a").read_text() == "red\n"
    portside("cp", "cpbox:/srv/site", str(tmp_path / "copy"))  # a new name takes the content
    assert sorted(os.listdir(tmp_path / "copy")) == ["css", "index"]
    portside("cp", "cpbox:/srv/site/.", str(tmp_path / "site"))  # contents into an existing directory
    (tmp_path / "up").mkdir()
    (tmp_path / "up/conf").write_text("k=v\n")
    portside("cp", str(tmp_path / "up"), "cpbox:/etc/app")
    portside("cp", str(tmp_path / "up/conf"), "cpbox:/srv/")
    assert portside("exec", "cpbox", "cat", "/etc/app/conf", "/srv/conf").stdout == "k=v\nk=v\n"


def test_cp_tars_on_stdin_and_stdout_and_a_stopped_container(portside) -> None:
    portside("run", "--name", "cpdone", "--network", "none", "busybox", "sh", "-c", "echo done > /result")
    raw = subprocess.run([sys.executable, "-m", "portside", "--root", str(portside.root), "cp", "cpdone:/result",
                          "-"], capture_output=True, timeout=60, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        assert tar.getnames() == ["result"] and tar.extractfile("result").read() == b"done\n"
    upload = io.BytesIO()
    with tarfile.open(fileobj=upload, mode="w") as tar:
        info = tarfile.TarInfo("fed/in")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"in\n"))
    subprocess.run([sys.executable, "-m", "portside", "--root", str(portside.root), "cp", "-", "cpdone:/"],
                   input=upload.getvalue(), capture_output=True, timeout=60, check=True)
    assert "A /fed" in portside("diff", "cpdone").stdout.splitlines()


def test_cp_errors_are_one_line(portside, tmp_path) -> None:
    portside("create", "--name", "cperr", "--network", "none", "busybox", "true")
    missing = portside("cp", "cperr:/nope", str(tmp_path), check=False)
    assert (missing.returncode, missing.stderr) == (125, "portside: Could not find the file /nope in container "
                                                         "cperr\n")
    both = portside("cp", str(tmp_path), str(tmp_path), check=False)
    assert both.returncode == 125 and "at least one container source" in both.stderr
    (tmp_path / "dir").mkdir()
    onto_file = portside("cp", str(tmp_path / "dir"), "cperr:/etc/passwd", check=False)
    assert onto_file.returncode == 125 and "cannot copy a directory" in onto_file.stderr


def test_diff_and_export_of_a_container(portside) -> None:
    portside("run", "--name", "changed", "--network", "none", "busybox", "sh", "-c",
             "rm /etc/group; mkdir /work; echo x > /work/file")
    assert portside("diff", "changed").stdout.splitlines() == ["C /etc", "D /etc/group", "A /work", "A /work/file"]
    proc = subprocess.run([sys.executable, "-m", "portside", "--root", str(portside.root), "export", "changed"],
                          capture_output=True, timeout=60, check=True)
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        names = tar.getnames()
    assert "work/file" in names and "bin/busybox" in names and "etc/group" not in names


def test_container_top_lists_processes_and_refuses_a_stopped_container(portside) -> None:
    portside("run", "-d", "--name", "topped", "--network", "none", "busybox", "sleep", "60")
    out = portside("container", "top", "topped", "-o", "pid,args").stdout.splitlines()
    assert out[0].split() == ["PID", "COMMAND"] and out[1].split()[1:] == ["sleep", "60"]
    assert portside("container", "ls").stdout.splitlines()[1].endswith("topped")
    portside("stop", "-t", "0", "topped")
    stopped = portside("container", "top", "topped", check=False)
    assert stopped.returncode == 125 and stopped.stderr.endswith("is not running\n")


def test_cp_reaches_volumes_of_a_stopped_container_and_respects_read_only(portside, tmp_path) -> None:
    portside("create", "--name", "withvol", "--network", "none", "-v", "shared:/data", "-v",
             f"{tmp_path}:/ro:ro", "busybox", "true")
    (tmp_path / "f").write_text("payload\n")
    portside("cp", str(tmp_path / "f"), "withvol:/data/f")  # never started: the view mounts the volume itself
    reader = portside("run", "--rm", "--network", "none", "-v", "shared:/data", "busybox", "cat", "/data/f")
    assert reader.stdout == "payload\n"
    refused = portside("cp", str(tmp_path / "f"), "withvol:/ro/", check=False)
    assert (refused.returncode, refused.stderr) == (125, "portside: mounted volume is marked read-only\n")
    portside("cp", "withvol:/ro/f", str(tmp_path / "back"))  # reading it is fine
    assert (tmp_path / "back").read_text() == "payload\n"
    portside("create", "--name", "rofs", "--network", "none", "--read-only", "busybox", "true")
    refused = portside("cp", str(tmp_path / "f"), "rofs:/tmp/", check=False)
    assert refused.stderr == "portside: container rootfs is marked read-only\n"
