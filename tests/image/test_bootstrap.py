"""``portside bootstrap``: inputs checked before anything runs, the host's mirror found, failures cleaned up."""

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from portside.image import ImageError, ImageStore, InvalidReference
from portside.image.bootstrap import DEFAULT_MIRROR, bootstrap, host_mirror, make_spec


@pytest.mark.parametrize("source, include, name, fragment", [
    ("ubuntu:jammy", "", None, "expected debian:SUITE"),
    ("debian", "", None, "expected debian:SUITE"),
    ("debian:Bookworm", "", None, "expected debian:SUITE"),
    ("debian:bookworm", "python3,Flask", None, "--include: 'Flask'"),
    ("debian:bookworm", "a b", None, "--include: 'a b'"),
    ("debian:bookworm", "", "Bad/Name", "'Bad'"),
])
def test_bad_input_is_refused_before_anything_runs(source, include, name, fragment):
    with pytest.raises(InvalidReference) as err:
        make_spec(source, include, name, mirror="http://mirror.invalid/debian")
    assert fragment in str(err.value)


def test_spec_defaults():
    spec = make_spec("debian:bookworm", " python3 , python3-flask ", mirror="http://m/debian")
    assert (spec.suite, spec.include, spec.name) == ("bookworm", ("python3", "python3-flask"), "debian:bookworm")


def _apt_dir(tmp_path: Path, files: dict[str, str]) -> Path:
    (tmp_path / "sources.list.d").mkdir()
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_mirror_from_deb822_sources_skips_security_and_disabled(tmp_path):
    apt = _apt_dir(tmp_path, {"sources.list.d/debian.sources": (
        "Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nEnabled: no\n\n"
        "Types: deb\nURIs: http://sec.example/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb-src deb\n# comment\nURIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\n"
        "Components: main\n")})
    assert host_mirror(apt) == "http://mirror.example/debian"


def test_mirror_from_one_line_sources(tmp_path):
    apt = _apt_dir(tmp_path, {"sources.list": (
        "# deb http://commented.example/debian bookworm main\n"
        "deb-src http://src.example/debian bookworm main\n"
        "deb http://sec.example/debian-security bookworm-security main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://one.example/debian bookworm main\n")})
    assert host_mirror(apt) == "http://one.example/debian"


def test_no_sources_falls_back_to_debians_default(tmp_path):
    assert host_mirror(_apt_dir(tmp_path, {})) == DEFAULT_MIRROR == "http://deb.debian.org/debian"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_failed_debootstrap_is_one_line_and_leaves_nothing(tmp_path, needs_root):
    store = ImageStore(tmp_path / "image")
    spec = make_spec("debian:bookworm", mirror=f"http://127.0.0.1:{_closed_port()}/debian")
    with pytest.raises(ImageError) as err:
        bootstrap(store, spec)
    message = str(err.value)
    assert message.startswith("debootstrap bookworm from http://127.0.0.1:") and "failed (exit 1)" in message
    assert "Release" in message and "\n" not in message
    assert list((store.root / "tmp").iterdir()) == []
    assert store.list() == []
    assert str(tmp_path) not in Path("/proc/self/mountinfo").read_text()


def test_missing_debootstrap_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ImageError, match=r"debootstrap is not installed \(apt-get install debootstrap\)"):
        bootstrap(ImageStore(tmp_path / "image"), make_spec("debian:bookworm", mirror="http://m/debian"))
    assert not (tmp_path / "image").exists()


def test_cli_refuses_a_bad_source_in_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "portside", "--root", str(tmp_path), "bootstrap", "debian:"],
                          capture_output=True, text=True)
    assert proc.returncode == 125
    assert proc.stderr == "portside: bootstrap source 'debian:': expected debian:SUITE, e.g. debian:bookworm\n"
    assert list(tmp_path.iterdir()) == []
