"""``docker stats`` through the Docker API: the columns Debian's docker CLI prints, docker-py's ``stats`` one-shot,
with the previous second's CPU, and streamed; a stopped container's empty sample."""

from __future__ import annotations

import itertools
import os

import pytest

pytestmark = pytest.mark.integration

ORDER = ["read", "preread", "pids_stats", "blkio_stats", "num_procs", "storage_stats", "cpu_stats", "precpu_stats",
         "memory_stats", "name", "id"]
ZERO = "0001-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def busy(docker_api) -> str:
    """A container that keeps a CPU busy, with a memory limit, on the default bridge (an eth0 to count)."""
    name = "stats-busy"
    docker_api.ps("run", "-d", "--name", name, "--memory", "64m", "busybox", "sh", "-c", "while :; do :; done")
    yield name
    docker_api.ps("rm", "-f", name)


def test_docker_stats_no_stream_prints_dockers_columns(docker_api, busy) -> None:
    out = docker_api.docker("stats", "--no-stream", "--format",
                            "{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.NetIO}}|{{.BlockIO}}|{{.PIDs}}", busy).stdout
    name, cpu, memory, net, block, pids = out.strip().split("|")
    assert name == busy and pids == "1"  # sh runs the loop itself
    assert float(cpu.rstrip("%")) > 5, cpu  # a busy loop, even on a loaded machine
    assert memory.endswith(" / 64MiB") and net.endswith("B") and " / " in net and block.count("B") == 2


def test_docker_stats_table_has_dockers_header(docker_api, busy) -> None:
    lines = docker_api.docker("stats", "--no-stream", busy).stdout.splitlines()
    assert lines[0].split() == ["CONTAINER", "ID", "NAME", "CPU", "%", "MEM", "USAGE", "/", "LIMIT", "MEM", "%",
                                "NET", "I/O", "BLOCK", "I/O", "PIDS"]
    assert lines[1].split()[1] == busy


def test_one_sample_carries_the_previous_seconds_cpu(docker_api, busy) -> None:
    sample = docker_api.client().stats(busy, stream=False)
    assert list(sample)[:len(ORDER)] == ORDER and "networks" in sample
    assert sample["name"] == f"/{busy}" and sample["preread"] != ZERO
    cpu, pre = sample["cpu_stats"], sample["precpu_stats"]
    assert cpu["cpu_usage"]["total_usage"] > pre["cpu_usage"]["total_usage"] > 0
    assert cpu["system_cpu_usage"] > pre["system_cpu_usage"] and cpu["online_cpus"] == os.cpu_count()
    assert set(cpu["throttling_data"]) == {"periods", "throttled_periods", "throttled_time"}
    memory = sample["memory_stats"]
    assert memory["limit"] == 64 << 20 and 0 < memory["usage"] < 64 << 20 and "inactive_file" in \
        {k.removeprefix("total_") for k in memory["stats"]}
    assert sample["networks"]["eth0"]["rx_packets"] >= 0 and set(sample["networks"]["eth0"]) == {
        "rx_bytes", "rx_packets", "rx_errors", "rx_dropped", "tx_bytes", "tx_packets", "tx_errors", "tx_dropped"}
    assert sample["pids_stats"]["current"] >= 1


def test_one_shot_skips_the_second_sample(docker_api, busy) -> None:
    sample = docker_api.client().stats(busy, stream=False, one_shot=True)
    assert sample["preread"] == ZERO and sample["precpu_stats"]["cpu_usage"]["total_usage"] == 0
    assert sample["cpu_stats"]["cpu_usage"]["total_usage"] > 0


def test_streamed_samples_follow_each_other(docker_api, busy) -> None:
    stream = docker_api.client().stats(busy, stream=True, decode=True)
    try:
        first, second = itertools.islice(stream, 2)
    finally:
        stream.close()
    assert first["preread"] == ZERO and second["preread"] == first["read"]
    assert second["precpu_stats"] == first["cpu_stats"]


def test_a_stopped_container_gives_dockers_empty_sample(docker_api) -> None:
    name = f"stats-stopped-{os.urandom(2).hex()}"
    docker_api.ps("run", "-d", "--name", name, "--network", "none", "busybox", "true")
    docker_api.ps("wait", name)
    try:
        sample = docker_api.client().stats(name, stream=False)
        assert list(sample) == ORDER and sample["read"] == ZERO and sample["memory_stats"] == {}
        assert sample["id"] == docker_api.ps.inspect(name)["Id"] and sample["name"] == f"/{name}"
        assert sample["cpu_stats"]["cpu_usage"] == {"total_usage": 0, "usage_in_kernelmode": 0,
                                                    "usage_in_usermode": 0}
    finally:
        docker_api.ps("rm", "-f", name)
