"""Layer-cache speed: rebuilds of examples/seed with portside and with buildah, same context, same base.

Times (medians) of a no-change rebuild and of a rebuild after one file changed, through the real ``portside build``
command and the distribution's ``buildah bud --isolation chroot --layers`` (overlay storage in a temporary root,
the base copied in with skopeo from portside's own docker-archive), taking turns run by run.
buildah and skopeo are installed from Debian when missing; without them the bench fails rather than print a
ratio of null. The bootstrapped base is kept as an archive in bench/out/ so later runs skip debootstrap.
Last line: {"nochange_s":..,"onefile_s":..,"buildah_nochange_s":..,"buildah_onefile_s":..,"ratio_vs_buildah":..}.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = HERE.parent / "examples" / "seed"
BASE = "portside/python:3.11-bookworm"
BASE_ARCHIVE = HERE / "out" / "seed-base.tar"
PORTSIDE = [sys.executable, "-m", "portside.cli.main"]
# Measure an installed portside as users have it: with its bytecode cached (some shells set this variable).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run(argv: list[str]) -> None:
    result = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({result.returncode}): {result.stderr.strip()[-2000:]}")


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    run(argv)
    return time.perf_counter() - start


def apt_install(packages: list[str]) -> subprocess.CompletedProcess:
    argv = ["apt-get", "install", "-y", "-q", "-o", "DPkg::Lock::Timeout=300", *packages]
    return subprocess.run(argv, capture_output=True, text=True, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})


def ensure_peer() -> None:
    """The peer is part of the measurement: install Debian's buildah (and skopeo, which loads the base into its
    storage) when missing, refreshing the package lists once if the first attempt fails, or stop with why."""
    missing = [tool for tool in ("buildah", "skopeo") if shutil.which(tool) is None]
    if not missing:
        return
    print(f"installing {' '.join(missing)} from Debian...", file=sys.stderr)
    result = apt_install(missing)
    if result.returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True)
        result = apt_install(missing)
    still = [tool for tool in missing if shutil.which(tool) is None]
    if still:
        why = (f"apt-get install exited {result.returncode}: {result.stderr.strip()[-1000:]}" if result.returncode
               else f"apt-get reports it installed, but it is not on PATH ({os.environ.get('PATH', '')})")
        raise SystemExit(f"build_cache needs {' and '.join(still)} as its peer and could not install it: {why}")


def ensure_base(root: Path) -> None:
    """Load the base from the kept archive, or bootstrap it (about a minute) and keep it for next time."""
    ps = PORTSIDE + ["--root", str(root)]
    if BASE_ARCHIVE.exists():
        run(ps + ["load", "-i", str(BASE_ARCHIVE)])
        return
    print(f"bootstrapping {BASE} from the Debian mirror (once)...", file=sys.stderr)
    run(ps + ["bootstrap", "--quiet", "debian:bookworm", "--include", "python3,python3-flask", "-t", BASE])
    BASE_ARCHIVE.parent.mkdir(parents=True, exist_ok=True)
    run(ps + ["save", "-o", str(BASE_ARCHIVE), BASE])


@dataclass
class Builder:
    """One tool under test: its build command line and its own copy of the context."""

    name: str
    argv: list[str]
    context: Path
    nochange: list[float] = field(default_factory=list)
    onefile: list[float] = field(default_factory=list)


def fresh_context(work: Path) -> Path:
    context = work / "context"
    shutil.copytree(SEED, context)
    return context


def portside_builder(root: Path, work: Path) -> Builder:
    context = fresh_context(work / "portside")
    return Builder("portside", PORTSIDE + ["--root", str(root), "build", "-t", "seed-bench", str(context)], context)


def buildah_argv(store: Path) -> list[str]:
    return ["buildah", "--root", str(store / "root"), "--runroot", str(store / "run"), "--storage-driver", "overlay"]


def buildah_builder(root: Path, work: Path) -> Builder:
    """buildah with the same base, copied into a temporary overlay storage through a docker-archive."""
    archive, store = work / "base.tar", work / "buildah"
    run(PORTSIDE + ["--root", str(root), "save", "-o", str(archive), BASE])
    target = f"containers-storage:[overlay@{store / 'root'}+{store / 'run'}]localhost/{BASE}"
    run(["skopeo", "copy", "-q", f"docker-archive:{archive}", target])
    context = fresh_context(work / "buildah-ctx")
    dockerfile = context / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace(f"FROM {BASE}", f"FROM localhost/{BASE}"))
    argv = buildah_argv(store) + ["bud", "--isolation", "chroot", "--layers", "--pull-never",
                                  "--cgroup-manager", "cgroupfs", "-t", "seed-bench", str(context)]
    return Builder("buildah", argv, context)


def measure(builders: list[Builder], runs: int) -> None:
    """Cold builds first (untimed), then the tools take turns, so that both see the same machine load."""
    for b in builders:
        run(b.argv)
    for _ in range(runs):
        for b in builders:
            b.nochange.append(timed(b.argv))
    for n in range(runs):
        for b in builders:
            with open(b.context / "app.py", "a") as f:
                f.write(f"# change {n} {time.time()}\n")
            b.onefile.append(timed(b.argv))


def unmount_under(path: Path) -> None:
    """buildah's overlay driver leaves its storage mounted; unmount (deepest first) before deleting."""
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for target in sorted((m for m in mounts if m.startswith(str(path))), key=len, reverse=True):
        subprocess.run(["umount", "-l", target], capture_output=True)


def report(ours: Builder, theirs: Builder) -> dict:
    med = statistics.median
    return {"nochange_s": round(med(ours.nochange), 4), "onefile_s": round(med(ours.onefile), 4),
            "buildah_nochange_s": round(med(theirs.nochange), 4), "buildah_onefile_s": round(med(theirs.onefile), 4),
            "ratio_vs_buildah": round(med(ours.nochange) / med(theirs.nochange), 3), "runs": len(ours.nochange)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    ensure_peer()
    work = Path(tempfile.mkdtemp(prefix="portside-bench-build-"))
    root = work / "engine"
    theirs = None
    try:
        ensure_base(root)
        ours = portside_builder(root, work)
        theirs = buildah_builder(root, work)
        measure([ours, theirs], args.runs)
    finally:
        if theirs is not None:
            subprocess.run(buildah_argv(work / "buildah") + ["rmi", "--all", "--force"], capture_output=True)
        unmount_under(work)
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(report(ours, theirs)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
