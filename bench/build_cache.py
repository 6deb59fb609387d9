"""Layer-cache speed: rebuilds of examples/seed with portside and with buildah, same context, same base.

Times (medians) of a no-change rebuild and of a rebuild after one file changed, each through the real
``portside build`` command, then the same with the distribution's ``buildah bud --isolation chroot --layers``
(overlay storage in a temporary root, the base copied in with skopeo from portside's own docker-archive).
The bootstrapped base is kept as an archive in bench/out/ so later runs skip debootstrap.
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
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = HERE.parent / "examples" / "seed"
BASE = "portside/python:3.11-bookworm"
BASE_ARCHIVE = HERE / "out" / "seed-base.tar"
PORTSIDE = [sys.executable, "-m", "portside.cli.main"]
# Measure an installed portside as users have it: with its bytecode cached (some shells set this variable).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run(argv: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV, **kw)


def timed(argv: list[str]) -> float:
    start = time.perf_counter()
    run(argv)
    return time.perf_counter() - start


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


def rebuild_times(build: list[str], context: Path, runs: int) -> tuple[float, float]:
    """(median no-change rebuild, median one-file-change rebuild); the first, cold build is not timed."""
    run(build)
    nochange = [timed(build) for _ in range(runs)]
    onefile = []
    for n in range(runs):
        with open(context / "app.py", "a") as f:
            f.write(f"# change {n} {time.time()}\n")
        onefile.append(timed(build))
    return statistics.median(nochange), statistics.median(onefile)


def fresh_context(work: Path) -> Path:
    context = work / "context"
    shutil.copytree(SEED, context)
    return context


def bench_portside(root: Path, work: Path, runs: int) -> tuple[float, float]:
    context = fresh_context(work / "portside")
    return rebuild_times(PORTSIDE + ["--root", str(root), "build", "-t", "seed-bench", str(context)], context, runs)


def buildah_argv(store: Path) -> list[str]:
    return ["buildah", "--root", str(store / "root"), "--runroot", str(store / "run"), "--storage-driver", "overlay"]


def bench_buildah(root: Path, work: Path, runs: int) -> tuple[float, float] | None:
    if shutil.which("buildah") is None or shutil.which("skopeo") is None:
        print("buildah or skopeo missing: buildah skipped", file=sys.stderr)
        return None
    archive, store = work / "base.tar", work / "buildah"
    run(PORTSIDE + ["--root", str(root), "save", "-o", str(archive), BASE])
    target = f"containers-storage:[overlay@{store / 'root'}+{store / 'run'}]localhost/{BASE}"
    run(["skopeo", "copy", "-q", f"docker-archive:{archive}", target])
    context = fresh_context(work / "buildah-ctx")
    (context / "Dockerfile").write_text((context / "Dockerfile").read_text().replace(
        f"FROM {BASE}", f"FROM localhost/{BASE}"))
    build = buildah_argv(store) + ["bud", "--isolation", "chroot", "--layers", "--pull-never",
                                   "--cgroup-manager", "cgroupfs", "-t", "seed-bench", str(context)]
    try:
        return rebuild_times(build, context, runs)
    finally:
        subprocess.run(buildah_argv(store) + ["rmi", "--all", "--force"], capture_output=True)
        unmount_under(store)


def unmount_under(path: Path) -> None:
    """buildah's overlay driver leaves its storage mounted; unmount (deepest first) before deleting."""
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for target in sorted((m for m in mounts if m.startswith(str(path))), key=len, reverse=True):
        subprocess.run(["umount", "-l", target], capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="portside-bench-build-"))
    root = work / "engine"
    try:
        ensure_base(root)
        nochange, onefile = bench_portside(root, work, args.runs)
        theirs = bench_buildah(root, work, args.runs)
    finally:
        unmount_under(work)
        shutil.rmtree(work, ignore_errors=True)
    result = {"nochange_s": round(nochange, 4), "onefile_s": round(onefile, 4),
              "buildah_nochange_s": round(theirs[0], 4) if theirs else None,
              "buildah_onefile_s": round(theirs[1], 4) if theirs else None,
              "ratio_vs_buildah": round(nochange / theirs[0], 3) if theirs else None}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
