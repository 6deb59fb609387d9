"""docker-py's own integration tests, run against any Docker Engine API socket: the acceptance yardstick.

The tests are those of docker-py 5.0.3, the version Debian ships (``python3-docker``, under docker-compose 1.29);
``scripts/setup.sh`` (with PORTSIDE_SETUP_TESTS=1) fetches its source distribution once into ``.cache/``
(checksum-verified) and unpacks its ``tests/``. They run under Debian's python3 and pytest, which import Debian's
docker-py and requests 2.28 (docker-py 5.0.3 does not work with the venv's newer requests).

The tests expect images ``alpine:3.10``, ``alpine:latest`` and ``busybox:latest`` (older docker-py releases used
``busybox:buildroot-2014.02``) and pull what is missing from Docker Hub, which is out of reach here.
``test_image_archive`` makes one image from the test suite's busybox root filesystem (with alpine's
``CMD ["/bin/sh"]``) in docker's save format, tagged with all those names, for ``docker load``: the same image,
with the same ID, on any engine.

    scripts/dockerpy-suite run --host unix:///run/docker.sock --files containers,exec --load-images
    scripts/dockerpy-suite baseline --write   # against a real dockerd started here; rewrites the list of passes
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VERSION = "5.0.3"
CACHE = REPO / ".cache" / f"docker-py-{VERSION}"
PLUGIN_DIR = Path(__file__).resolve().parent / "pytest_dockerpy"
DEBIAN_PYTHON = "/usr/bin/python3"
DOCKER_CLI = "/usr/bin/docker"
PASSES = REPO / "tests" / "dockerapi" / "dockerpy_dockerd_passes.txt"
KNOWN_FAILURES = REPO / "tests" / "dockerapi" / "dockerpy_known_failures.txt"

# The areas, each the docker-py test files that exercise it (low-level API and the models over it)
GROUPS = {
    "containers": ["api_container_test.py", "models_containers_test.py", "api_healthcheck_test.py"],
    "exec": ["api_exec_test.py"],
    "images": ["api_image_test.py", "models_images_test.py"],
    "build": ["api_build_test.py"],
    "volumes": ["api_volume_test.py", "models_volumes_test.py"],
    "networks": ["api_network_test.py", "models_networks_test.py"],
    "errors": ["errors_test.py"],
}
API_VERSION = "1.41"  # docker-py 5.0.3's own default, and dockerd 20.10's newest
TEST_TAGS = ["busybox:latest", "busybox:buildroot-2014.02", "alpine:3.10", "alpine:latest"]


def suite_dir() -> Path:
    """The unpacked tests, with a pytest.ini of their own (so the checkout's pytest settings stay out)."""
    if not (CACHE / "tests" / "integration" / "conftest.py").exists():
        raise RuntimeError(f"docker-py {VERSION}'s tests are not in {CACHE}: run "
                           "PORTSIDE_SETUP_TESTS=1 scripts/setup.sh")
    ini = CACHE / "pytest.ini"
    if not ini.exists():
        ini.write_text("[pytest]\n")
    return CACHE


def missing() -> list[str]:
    """What the suite needs and this machine lacks, each with where it comes from; empty when all is there."""
    reasons = []
    try:
        suite_dir()
    except RuntimeError as exc:
        reasons.append(str(exc))
    probe = subprocess.run([DEBIAN_PYTHON, "-c", "import docker, paramiko, pytest; print(docker.__version__)"],
                           capture_output=True, text=True) if os.path.exists(DEBIAN_PYTHON) else None
    if probe is None or probe.returncode != 0:
        reasons.append("Debian's python3 cannot import docker, paramiko and pytest "
                       "(apt-get install python3-docker python3-paramiko python3-pytest)")
    elif probe.stdout.strip() != VERSION:
        reasons.append(f"Debian's python3-docker is {probe.stdout.strip()}, the tests are {VERSION}'s")
    return reasons


def test_files(groups: list[str]) -> list[str]:
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        raise ValueError(f"unknown group(s) {unknown}: expected some of {sorted(GROUPS)}")
    return [f"tests/integration/{name}" for g in groups for name in GROUPS[g]]


def test_image_archive(rootfs_tar: Path, dest: Path, tags: list[str] = TEST_TAGS) -> Path:
    """A docker-archive (``docker save``'s format) of one image: the root filesystem tarball as its one layer,
    ``CMD ["/bin/sh"]`` and a fixed creation time (so its ID is the same wherever it is made), tagged ``tags``."""
    layer = rootfs_tar.read_bytes()
    diff_id = hashlib.sha256(layer).hexdigest()
    created = "2014-02-01T00:00:00Z"
    config = {
        "architecture": "amd64", "os": "linux", "created": created,
        "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]},
        "history": [{"created": created, "created_by": "busybox-static root filesystem (portside test image)"}],
    }
    config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    manifest = [{"Config": config_name, "RepoTags": tags, "Layers": [f"{diff_id}/layer.tar"]}]
    with tarfile.open(dest, "w") as tar:
        _add(tar, f"{diff_id}/layer.tar", layer)
        _add(tar, config_name, config_bytes)
        _add(tar, "manifest.json", json.dumps(manifest).encode())
    return dest


def archive_image_id(archive: Path) -> str:
    """The ID any engine gives the archive's image: the digest of its config."""
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    return "sha256:" + manifest[0]["Config"].removesuffix(".json")


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = 1391212800
    tar.addfile(info, io.BytesIO(data))


def busybox_rootfs_tar(dest: Path) -> Path:
    """The test suite's busybox root filesystem (tests/conftest.py) as a tarball, with the two things of alpine's
    that the tests rely on: a ``postgres`` user (``exec --user``) and a ``/var/opt`` directory (``exec -w``)."""
    sys.path.insert(0, str(REPO))
    from examples.busybox import make_rootfs

    rootfs = make_rootfs(dest / "rootfs")
    (rootfs / "var" / "opt").mkdir(parents=True, exist_ok=True)
    with open(rootfs / "etc" / "passwd", "a") as passwd:
        passwd.write("postgres:x:70:70:postgres:/var/lib/postgresql:/bin/sh\n")
    with open(rootfs / "etc" / "group", "a") as group:
        group.write("postgres:x:70:\n")
    tar_path = dest / "rootfs.tar"
    with tarfile.open(tar_path, "w") as tar:
        tar.add(rootfs, arcname=".", filter=_fixed)
    return tar_path


def _fixed(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """The same bytes on every run (so the same layer digest and image ID): fixed times and owners."""
    info.mtime = 1391212800
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def docker_load(host: str, archive: Path) -> None:
    """Load the archive through the Engine API (``docker load``)."""
    with tempfile.TemporaryDirectory() as config:
        env = {**os.environ, "DOCKER_HOST": host, "DOCKER_CONFIG": config}
        subprocess.run([DOCKER_CLI, "load", "-i", str(archive)], env=env, check=True, capture_output=True,
                       timeout=120)


def run(host: str, targets: list[str], results: Path, junit: Path | None = None, per_test: float = 60,
        total: float = 3600, log: Path | None = None, api_version: str = API_VERSION) -> dict[str, dict]:
    """Run ``targets`` (files or test ids) against ``host`` under Debian's python3; each test's record (outcome
    passed/failed/skipped, seconds, a line of the failure) by id. A run killed at ``total`` seconds still
    reports what had finished; the tests it did not reach are "failed" with that said.

    The tests' clients speak ``api_version`` (``DOCKER_TEST_API_VERSION``, which the suite reads): left to
    negotiate they would speak the newest version the engine offers, and what changed after 1.41 (volume prune
    keeps named volumes from 1.42 on, say) would fail tests written for 1.41 against any newer engine."""
    cwd = suite_dir()
    results.unlink(missing_ok=True)
    config = Path(tempfile.mkdtemp(prefix="dockerpy-config-"))  # no user's credentials, proxies or detach keys
    env = {**os.environ, "DOCKER_HOST": host, "DOCKER_CONFIG": str(config), "PYTHONPATH": str(PLUGIN_DIR), "DOCKERPY_RESULTS": str(results),
           "DOCKERPY_TEST_TIMEOUT": str(per_test), "PYTHONDONTWRITEBYTECODE": "1",
           # the tests turn warnings into errors; setuptools' distutils warns on every StrictVersion (docker-py's
           # version compare), the standard library's only once, on import (before the tests begin)
           "SETUPTOOLS_USE_DISTUTILS": "stdlib"}
    for name in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
        env.pop(name, None)
    env["DOCKER_TEST_API_VERSION"] = api_version
    argv = [DEBIAN_PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "-p", "dockerpy_limits", "-rA", "-q",
            "--tb=short", *([f"--junitxml={junit}"] if junit else []), *targets]
    out = open(log, "wb") if log else subprocess.DEVNULL
    try:
        subprocess.run(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=total, check=False)
        killed = False
    except subprocess.TimeoutExpired:
        killed = True
    finally:
        if log:
            out.close()
        shutil.rmtree(config, ignore_errors=True)
    records = {}
    if results.exists():
        for line in results.read_text().splitlines():
            record = json.loads(line)
            records[record["id"]] = record
    if killed:
        for target in targets:
            if "::" in target and target not in records:
                records[target] = {"id": target, "outcome": "failed", "seconds": 0,
                                   "message": f"not reached: the run was stopped after {total:.0f} s"}
    return records


def read_ids(path: Path) -> dict[str, str]:
    """Test ids from a list file (``#`` comments; text after an id's ``#`` is its note), each with its note."""
    ids = {}
    for line in path.read_text().splitlines():
        body, _, note = line.partition("#")
        if body.strip():
            ids[body.strip()] = note.strip()
    return ids


def summarize(records: dict[str, dict]) -> dict[str, dict[str, int]]:
    by_file: dict[str, dict[str, int]] = {}
    for test_id, record in records.items():
        counts = by_file.setdefault(test_id.split("::")[0].rsplit("/", 1)[-1], {})
        counts[record["outcome"]] = counts.get(record["outcome"], 0) + 1
        counts["seconds"] = round(counts.get("seconds", 0) + record["seconds"], 1)
    return by_file


def baseline(groups: list[str], workdir: Path, write: bool, per_test: float, runs: int) -> int:
    """Start a real dockerd, load the test image, run the groups' files ``runs`` times and the compose scenario,
    and (``write``) record in PASSES the ids that passed in any run (those that did not pass in every run marked
    flaky); then stop dockerd and remove all it made (also when something failed)."""
    from support.dockerd import Dockerd

    workdir.mkdir(parents=True, exist_ok=True)
    archive = test_image_archive(busybox_rootfs_tar(workdir / "image"), workdir / "test-image.tar")
    dockerd_dir = Path(f"/tmp/dpy-dockerd-{os.urandom(3).hex()}")  # short: a unix socket's path has 107 bytes
    rounds, took = [], []
    with Dockerd.started(dockerd_dir) as dockerd:
        version = dockerd.docker("version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})").stdout
        docker_load(dockerd.url, archive)
        for n in range(runs):
            started = time.monotonic()
            rounds.append(run(dockerd.url, test_files(groups), workdir / f"results-{n}.jsonl",
                              workdir / f"junit-{n}.xml", per_test=per_test, log=workdir / f"pytest-{n}.log"))
            took.append(round(time.monotonic() - started))
        compose = _compose_against(dockerd)
    for name, counts in sorted(summarize(rounds[0]).items()):
        print(f"{name:32} {json.dumps(counts)}")
    passed = [{i for i, record in records.items() if record["outcome"] == "passed"} for records in rounds]
    ever, always = set.union(*passed), set.intersection(*passed)
    total = len(rounds[0])
    print(f"dockerd {version.strip()}: {len(ever)} of {total} passed in some run, {len(always)} in all {runs} "
          f"(runs took {took} s); logs in {workdir}")
    print(f"compose scenario against dockerd: {compose}")
    if write:
        python = subprocess.run([DEBIAN_PYTHON, "--version"], capture_output=True, text=True).stdout.split()[-1]
        header = [
            f"# docker-py {VERSION}'s integration tests that pass against a real dockerd on this kind of machine.",
            f"# Made {datetime.date.today().isoformat()} by `scripts/dockerpy-suite baseline --write --runs {runs}`"
            f" (groups: {', '.join(groups)}):",
            f"# dockerd {version.strip()} (Debian docker.io 20.10), Debian python3 {python} with python3-docker"
            f" {VERSION}, requests 2.28;",
            f"# the tests' clients at API {API_VERSION}; overlay2, cgroupfs, a bridge of its own, no iptables,",
            "# nothing reachable beyond this machine (so every test that pulls from Docker Hub fails there and is not",
            "# here); the test image from support.dockerpy.test_image_archive.",
            f"# {len(ever)} of {total} tests passed in some run ({len(always)} in all {runs}, {took} s a run); those"
            " that did not pass in every run say so.",
            "# tests/dockerapi/test_dockerpy_suite.py requires each of these to pass against portside.",
        ]
        lines = [i if i in always else f"{i}  # flaky on dockerd: passed {sum(i in p for p in passed)} of {runs}"
                 for i in sorted(ever)]
        PASSES.write_text("\n".join(header + lines) + "\n")
        print(f"wrote {PASSES}")
    return 0 if compose.startswith("passed") else 1


def _compose_against(dockerd) -> str:
    """The compose scenario (support.composeapp) against this dockerd: "passed" with its timings, or why not."""
    from support.composeapp import ComposeRun
    from support.net import free_port

    scenario = ComposeRun(dockerd.url, f"baseline{dockerd.tag}", free_port())
    try:
        scenario.scenario()
    except AssertionError as exc:
        return f"FAILED: {exc}"
    return f"passed {json.dumps(scenario.seconds)}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="dockerpy-suite", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run the tests against a socket")
    r.add_argument("--host", required=True, help="DOCKER_HOST, e.g. unix:///run/docker.sock")
    r.add_argument("--files", default=",".join(GROUPS), help=f"groups, comma-separated (of {','.join(GROUPS)})")
    r.add_argument("--ids", type=Path, help="run the test ids listed in this file instead")
    r.add_argument("--load-images", action="store_true", help="docker load the test image first")
    r.add_argument("--out", type=Path, default=Path("dockerpy-results"), help="directory for results and logs")
    r.add_argument("--per-test", type=float, default=60, help="seconds a test phase may take")
    b = sub.add_parser("baseline", help="the same against a real dockerd started here, and stopped")
    b.add_argument("--files", default=",".join(GROUPS))
    b.add_argument("--out", type=Path, default=Path("/tmp/dockerd-baseline"))
    b.add_argument("--write", action="store_true", help=f"rewrite {PASSES.relative_to(REPO)}")
    b.add_argument("--per-test", type=float, default=60)
    b.add_argument("--runs", type=int, default=2, help="runs of the tests (a test that passes in some is listed)")
    args = p.parse_args(argv)
    if args.command == "baseline":
        return baseline(args.files.split(","), args.out, args.write, args.per_test, args.runs)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.load_images:
        archive = test_image_archive(busybox_rootfs_tar(args.out / "image"), args.out / "test-image.tar")
        docker_load(args.host, archive)
    targets = list(read_ids(args.ids)) if args.ids else test_files(args.files.split(","))
    records = run(args.host, targets, args.out / "results.jsonl", args.out / "junit.xml", per_test=args.per_test,
                  log=args.out / "pytest.log")
    for name, counts in sorted(summarize(records).items()):
        print(f"{name:32} {json.dumps(counts)}")
    failed = [r for r in records.values() if r["outcome"] == "failed"]
    for record in failed:
        print(f"FAILED {record['id']}: {record.get('message', '')}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
