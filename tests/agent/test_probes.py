"""Probe accounting with Kubernetes semantics, on data; and the probe handlers against real sockets."""

import asyncio

from portside.agent import probes
from portside.agent.probes import Kind, Timing, record
from portside.agent.probing import Outcome, probe, run_handler
from portside.api.models import Container, Probe


def feed(kind: Kind, results: str, timing: Timing) -> list[bool]:
    tally, out = probes.start(kind), []
    for r in results:
        tally = record(tally, r == "+", timing)
        out.append(tally.verdict)
    return out


def test_initial_verdicts():
    assert [probes.start(k).verdict for k in Kind] == [False, True, False]


def test_thresholds_need_consecutive_results():
    t = Timing(success_threshold=2, failure_threshold=3)
    assert feed(Kind.READINESS, "+-++--+---", t) == [False, False, False, True, True, True, True, True, True,
                                                      False]


def test_liveness_restarts_only_after_failure_threshold():
    t = Timing(failure_threshold=2)
    tally = probes.start(Kind.LIVENESS)
    tally = record(tally, False, t)
    assert not probes.restarts_container(Kind.LIVENESS, tally, t)
    tally = record(tally, False, t)
    assert probes.restarts_container(Kind.LIVENESS, tally, t)
    assert not probes.restarts_container(Kind.READINESS, tally, t)


def test_timing_defaults_are_kubernetes():
    assert Timing.of(Probe.from_dict({"exec": {"command": ["true"]}})) == Timing(0, 10, 1, 1, 3)
    assert Timing.of(Probe.from_dict({"periodSeconds": 2, "failureThreshold": 1})).period == 2


def test_handlers_against_real_sockets():
    async def main():
        async def http(reader, writer):
            line = await reader.readline()
            code = 200 if b"/ok" in line else 500
            writer.write(f"HTTP/1.0 {code} X\r\n\r\n".encode())
            await writer.drain()
            writer.close()
        server = await asyncio.start_server(http, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        c = Container.from_dict({"name": "c", "ports": [{"name": "web", "containerPort": port}]})
        check = lambda spec: run_handler(Probe.from_dict(spec), "127.0.0.1", c, 1, None)  # noqa: E731
        got = [await check({"httpGet": {"path": "/ok", "port": "web"}}),
               await check({"httpGet": {"path": "/bad", "port": port}}),
               await check({"tcpSocket": {"port": port}})]
        server.close()
        await server.wait_closed()
        got.append(await check({"tcpSocket": {"port": port}}))
        got.append(await check({"httpGet": {"path": "/ok", "port": "nope"}}))
        return got
    assert asyncio.run(main()) == [True, False, True, False, False]


def test_failed_probes_say_what_the_kubelet_says():
    """The Unhealthy Event's text: the status code, or Go's dial error for a refused or silent port."""
    async def main():
        async def http(reader, writer):
            await reader.readline()
            writer.write(b"HTTP/1.0 503 X\r\n\r\n")
            await writer.drain()
            writer.close()
        server = await asyncio.start_server(http, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        c = Container.from_dict({"name": "c"})
        check = lambda spec: probe(Probe.from_dict(spec), "127.0.0.1", c, 1, None)  # noqa: E731
        got = [await check({"httpGet": {"path": "/", "port": port}})]
        server.close()
        await server.wait_closed()
        got += [await check({"tcpSocket": {"port": port}}), await check({"httpGet": {"path": "/x", "port": port}})]
        return port, got
    port, got = asyncio.run(main())
    assert got == [Outcome(False, "HTTP probe failed with statuscode: 503"),
                   Outcome(False, f"dial tcp 127.0.0.1:{port}: connect: connection refused"),
                   Outcome(False, f'Get "http://127.0.0.1:{port}/x": dial tcp 127.0.0.1:{port}: connect: '
                                  f'connection refused')]


def test_exec_probe_output_is_the_message():
    async def exec_(argv, timeout):
        if argv == ["slow"]:
            raise TimeoutError
        return 1, "not ready yet\n"
    c = Container.from_dict({"name": "c"})
    check = lambda argv: probe(Probe.from_dict({"exec": {"command": argv}}), "", c, 1, exec_)  # noqa: E731
    assert asyncio.run(check(["cat", "/x"])) == Outcome(False, "not ready yet\n")
    assert asyncio.run(check(["slow"])) == Outcome(False, 'command "slow" timed out')
