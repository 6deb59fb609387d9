"""``portside bootstrap debian:SUITE``: a base image made from a Debian package mirror, for machines that reach a
mirror but no image registry.

debootstrap (``--variant=minbase``: essential packages plus apt) builds the root filesystem in a temporary
directory inside the store, apt's caches are emptied as Debian's own images do, the tree is tarred and imported
as a one-layer image. The mirror is the host's own (the first ``deb`` source carrying the main archive, read from
``/etc/apt/sources.list`` and ``sources.list.d``), so the image comes from where the host's packages come from;
Debian's default ``deb.debian.org`` is the fallback. Whatever happens, the temporary tree goes, after any
``/proc`` or ``/sys`` mount debootstrap left inside it is unmounted (removing files through a live ``/sys``
mount would reach the host's).
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from pathlib import Path

from portside.image.errors import ImageError, InvalidReference
from portside.image.reference import normalize

DEFAULT_MIRROR = "http://deb.debian.org/debian"
APT_SOURCES = Path("/etc/apt")
_SUITE = re.compile(r"[a-z][a-z0-9-]*\Z")
_PACKAGE = re.compile(r"[a-z0-9][a-z0-9+.-]+\Z")
_APT_CACHES = ("var/cache/apt/archives", "var/lib/apt/lists")


@dataclasses.dataclass(frozen=True)
class BootstrapSpec:
    suite: str
    include: tuple[str, ...]
    name: str
    mirror: str


def make_spec(source: str, include: str = "", name: str | None = None, mirror: str | None = None) -> BootstrapSpec:
    """Check the command's inputs before anything is created; each error names the flag at fault."""
    distro, _, suite = source.partition(":")
    if distro != "debian" or not _SUITE.match(suite):
        raise InvalidReference(f"bootstrap source {source!r}: expected debian:SUITE, e.g. debian:bookworm")
    packages = tuple(p.strip() for p in include.split(",") if p.strip())
    bad = [p for p in packages if not _PACKAGE.match(p)]
    if bad:
        raise InvalidReference(f"--include: {bad[0]!r} is not a Debian package name (comma-separated list)")
    return BootstrapSpec(suite, packages, normalize(name or source), mirror or host_mirror())


def host_mirror(apt_dir: Path = APT_SOURCES) -> str:
    """The host's Debian mirror: the first enabled ``deb`` source of a main suite (not -security/-updates)."""
    for uri, suites in _deb_sources(apt_dir):
        if any("-" not in suite for suite in suites) and "security" not in uri:
            return uri.rstrip("/")
    return DEFAULT_MIRROR


def _deb_sources(apt_dir: Path) -> list[tuple[str, list[str]]]:
    found = []
    files = [apt_dir / "sources.list"] + sorted((apt_dir / "sources.list.d").glob("*"))
    for path in files:
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError):
            continue
        if path.name.endswith(".list"):
            found += _one_line_sources(text)
        elif path.name.endswith(".sources"):
            found += _deb822_sources(text)
    return found


def _one_line_sources(text: str) -> list[tuple[str, list[str]]]:
    found = []
    for line in text.splitlines():
        words = re.sub(r"\[[^\]]*\]", " ", line.split("#", 1)[0]).split()
        if len(words) >= 3 and words[0] == "deb":
            found.append((words[1], [words[2]]))
    return found


def _deb822_sources(text: str) -> list[tuple[str, list[str]]]:
    found = []
    for stanza in re.split(r"\n\s*\n", text):
        fields = dict(_field(line) for line in stanza.splitlines() if ":" in line and not line.startswith("#"))
        if "deb" in fields.get("types", "").split() and fields.get("enabled", "yes") != "no":
            found += [(uri, fields.get("suites", "").split()) for uri in fields.get("uris", "").split()]
    return found


def _field(line: str) -> tuple[str, str]:
    key, _, value = line.partition(":")
    return key.strip().lower(), value.strip()


def bootstrap(store, spec: BootstrapSpec, log=None):
    """Build and import the image; return it. ``log`` (a binary file) receives debootstrap's output."""
    if shutil.which("debootstrap") is None:
        raise ImageError("debootstrap is not installed (apt-get install debootstrap)")
    work = store.temp_dir("bootstrap")
    try:
        rootfs = work / "rootfs"
        _debootstrap(spec, rootfs, work / "debootstrap.log", log)
        _unmount_below(work)
        for cache in _APT_CACHES:
            _empty(rootfs / cache)
        tarball = work / "rootfs.tar"
        _tar(rootfs, tarball)
        return store.import_rootfs(tarball, spec.name)
    finally:
        _unmount_below(work)
        shutil.rmtree(work, ignore_errors=True)


def _debootstrap(spec: BootstrapSpec, rootfs: Path, log_path: Path, log) -> None:
    argv = ["debootstrap", "--variant=minbase"]
    if spec.include:
        argv.append("--include=" + ",".join(spec.include))
    argv += [spec.suite, str(rootfs), spec.mirror]
    with open(log_path, "w+b") as own_log:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=log or own_log, stderr=subprocess.STDOUT)
        if proc.returncode != 0:
            raise ImageError(f"debootstrap {spec.suite} from {spec.mirror} failed (exit {proc.returncode}): "
                             f"{_last_error(rootfs, own_log)}")


def _last_error(rootfs: Path, own_log) -> str:
    """debootstrap's own reason: its last ``E:`` line, from its output or the log it keeps in the target."""
    own_log.seek(0)
    lines = own_log.read().decode(errors="replace").splitlines()
    extra = rootfs / "debootstrap" / "debootstrap.log"
    if extra.is_file():
        lines += extra.read_text(errors="replace").splitlines()
    errors = [line for line in lines if line.startswith("E:")]
    return (errors or [line for line in lines if line.strip()] or ["no output"])[-1].strip()


def _tar(rootfs: Path, tarball: Path) -> None:
    argv = ["tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "-C", str(rootfs), "-cf", str(tarball), "."]
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        raise ImageError(f"tar of the bootstrapped tree failed: {proc.stderr.strip().splitlines()[-1:]}")


def _empty(directory: Path) -> None:
    if not directory.is_dir():
        return
    for entry in directory.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        elif entry.name != "lock":
            entry.unlink()


def _unmount_below(path: Path) -> None:
    """Lazily unmount everything mounted at or under ``path``, deepest first."""
    prefix = str(path.resolve()) + "/"
    with open("/proc/self/mountinfo") as info:
        points = [_unescape(line.split()[4]) for line in info]
    for point in sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)


def _unescape(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


__all__ = ["BootstrapSpec", "DEFAULT_MIRROR", "bootstrap", "host_mirror", "make_spec"]
