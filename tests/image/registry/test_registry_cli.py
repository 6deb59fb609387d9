"""The commands as a user types them: real ``portside`` processes against a real registry."""

import json
import subprocess
import sys

import pytest

from .helpers import PASSWORD, USER, add_test_image


def portside(root, *args, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "portside", "--root", str(root), *args], input=stdin,
                          capture_output=True, text=True, timeout=60)


def test_push_then_pull_with_plain_progress_lines(registry, store, engine_root, tmp_path):
    name = f"{registry.host}/cli/app:v1"
    image = add_test_image(store, name, [{"a": b"a"}, {"b": b"b"}])
    pushed = portside(engine_root, "push", "--insecure", name)
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.splitlines()[-1] == f"{name}: digest: {image.digest}"
    assert "\x1b[" not in pushed.stdout  # not a terminal: plain lines, no cursor movement

    other = tmp_path / "other"
    pulled = portside(other, "pull", "--insecure", name)
    assert pulled.returncode == 0, pulled.stderr
    assert f"Digest: {image.digest}" in pulled.stdout
    assert f"Status: Downloaded newer image for {name}" in pulled.stdout
    layer_lines = [line for line in pulled.stdout.splitlines() if line.endswith("Pull complete")]
    assert len(layer_lines) == 2
    assert "Image is up to date" in portside(other, "pull", "--insecure", name).stdout


def test_insecure_list_in_the_engine_root_replaces_the_flag(registry, store, engine_root, tmp_path):
    name = f"{registry.host}/cli/listed:v1"
    add_test_image(store, name, [{"a": b"a"}])
    (engine_root / "registries.json").write_text(json.dumps({"insecure": [registry.host]}))
    assert portside(engine_root, "push", "-q", name).returncode == 0


def test_errors_are_one_line(registry, engine_root):
    missing = portside(engine_root, "pull", "--insecure", f"{registry.host}/no/such:tag")
    assert missing.returncode == 125
    assert missing.stderr == f"portside: manifest unknown: {registry.host}/no/such:tag\n"
    bad = portside(engine_root, "pull", "Bad/Name")
    assert bad.returncode == 125 and bad.stderr.count("\n") == 1 and "'Bad'" in bad.stderr
    nothing = portside(engine_root, "push", "--insecure", f"{registry.host}/not/local:v1")
    assert nothing.stderr == f"portside: no such image: {registry.host}/not/local:v1\n"


def test_login_checks_saves_and_logout_forgets(htpasswd_registry, engine_root):
    host = htpasswd_registry.host
    wrong = portside(engine_root, "login", "--insecure", "-u", USER, "--password-stdin", host, stdin="nope\n")
    assert wrong.returncode == 125 and "credentials were refused" in wrong.stderr
    assert not (engine_root / "auth.json").exists()
    ok = portside(engine_root, "login", "--insecure", "-u", USER, "--password-stdin", host, stdin=PASSWORD + "\n")
    assert ok.returncode == 0, ok.stderr
    saved = json.loads((engine_root / "auth.json").read_text())
    assert set(saved["auths"]) == {host}
    assert (engine_root / "auth.json").stat().st_mode & 0o077 == 0
    assert portside(engine_root, "logout", host).stdout == f"Removing login credentials for {host}\n"
    assert json.loads((engine_root / "auth.json").read_text())["auths"] == {}


def test_on_a_terminal_progress_redraws_in_place(registry, store, engine_root, tmp_path):
    import os
    import pty

    name = f"{registry.host}/cli/tty:v1"
    add_test_image(store, name, [{"a": os.urandom(1000)}, {"b": os.urandom(1000)}])
    assert portside(engine_root, "push", "-q", "--insecure", name).returncode == 0
    leader, follower = pty.openpty()
    proc = subprocess.run([sys.executable, "-m", "portside", "--root", str(tmp_path / "o"), "pull", "--insecure",
                           name], stdout=follower, stderr=subprocess.PIPE, timeout=60)
    os.close(follower)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal's other end closed: everything has been read
            break
        if not chunk:
            break
        output += chunk
    os.close(leader)
    assert proc.returncode == 0, proc.stderr
    assert b"\x1b[2A" in output  # two layer lines, redrawn by moving the cursor up over them
    assert output.count(b"Pull complete") >= 2


@pytest.mark.parametrize("daemon", [False, True], ids=["alone", "through-the-daemon"])
def test_login_on_a_terminal_asks_and_does_not_echo_the_password(htpasswd_registry, engine_root, daemon):
    import os
    import pty
    import select
    import time

    served = subprocess.Popen([sys.executable, "-m", "portside", "--root", str(engine_root), "daemon"],
                              stderr=subprocess.PIPE, text=True) if daemon else None
    if served is not None:
        assert "serving" in served.stderr.readline()
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "portside", "--root", str(engine_root), "login", "--insecure",
                             htpasswd_registry.host], stdin=follower, stdout=follower, stderr=follower)
    os.close(follower)
    seen = b""

    def until(text: bytes) -> None:
        nonlocal seen
        deadline = time.monotonic() + 30
        while text not in seen:
            assert time.monotonic() < deadline, f"no {text!r} in {seen!r}"
            if select.select([leader], [], [], 1)[0]:
                seen += os.read(leader, 4096)

    try:
        until(b"Username: ")
        os.write(leader, USER.encode() + b"\n")
        until(b"Password: ")
        os.write(leader, PASSWORD.encode() + b"\n")
        until(b"Login Succeeded")
        assert proc.wait(30) == 0
    finally:
        proc.kill()
        proc.wait()
        os.close(leader)
        if served is not None:
            served.terminate()
            assert served.wait(30) == 0
            assert "serving login" in served.stderr.read()
    assert PASSWORD.encode() not in seen and USER.encode() in seen  # the name is echoed, the password is not
    assert set(json.loads((engine_root / "auth.json").read_text())["auths"]) == {htpasswd_registry.host}
