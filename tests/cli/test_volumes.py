"""Copy-on-write root filesystems and volumes: what persists, and what never reaches the image."""

import os


def test_writes_do_not_change_the_image(portside) -> None:
    portside("run", "--rm", "--network", "none", "busybox", "sh", "-c", "echo hacked > /etc/passwd; rm /bin/ls")
    proc = portside("run", "--rm", "--network", "none", "busybox", "sh", "-c", "head -1 /etc/passwd; ls /")
    assert proc.stdout.startswith("root:x:0:0:")


def test_a_stopped_container_keeps_its_own_writes(portside) -> None:
    portside("run", "--name", "keeper", "--network", "none", "busybox", "sh", "-c",
             "test -f /state && cat /state; echo kept > /state")
    portside("start", "keeper")
    portside("wait", "keeper")
    assert portside("logs", "keeper").stdout == "kept\n"


def test_bind_mount_persists_and_read_only_binds_refuse_writes(portside, tmp_path) -> None:
    data = tmp_path / "data"
    portside("run", "--rm", "--network", "none", "-v", f"{data}:/data", "busybox", "sh", "-c",
             "echo first > /data/file")
    assert (data / "file").read_text() == "first\n"
    proc = portside("run", "--rm", "--network", "none", "-v", f"{data}:/data:ro", "busybox", "sh", "-c",
                    "cat /data/file; echo x > /data/file", check=False)
    assert proc.stdout == "first\n" and proc.returncode != 0 and "Read-only" in proc.stderr


def test_named_volume_persists_across_containers(portside) -> None:
    portside("volume", "create", "store")
    portside("run", "--rm", "--network", "none", "-v", "store:/store", "busybox", "sh", "-c",
             "echo saved > /store/f")
    proc = portside("run", "--rm", "--network", "none", "-v", "store:/store", "busybox", "cat", "/store/f")
    assert proc.stdout == "saved\n"
    assert "store" in portside("volume", "ls").stdout.split()
    assert (portside.root / "volumes" / "store" / "_data" / "f").exists()
    portside("run", "--name", "user", "--network", "none", "-v", "store:/store", "busybox", "true")
    refused = portside("volume", "rm", "store", check=False)
    assert refused.returncode == 1 and "volume is in use" in refused.stderr  # docker volume rm exits 1 too
    portside("rm", "user")
    portside("volume", "rm", "store")
    assert not os.path.exists(portside.root / "volumes" / "store")
