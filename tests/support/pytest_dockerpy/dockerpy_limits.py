"""A pytest plugin for running docker-py's own integration tests (under Debian's python3 and pytest, which have
no pytest-timeout): a time limit per test phase, and each test's outcome written as it ends.

The limit is SIGALRM raising in the test (a read that blocks on a socket is interrupted, and the exception
propagates out of it), so an endpoint that never answers fails its test instead of hanging the run. The outcome
file (``DOCKERPY_RESULTS``, one JSON object a line) is written test by test, so a run that is killed still says
what had finished.
"""

import json
import os
import signal
import time

import pytest

LIMIT = float(os.environ.get("DOCKERPY_TEST_TIMEOUT", "60"))
RESULTS = os.environ.get("DOCKERPY_RESULTS")


class PhaseTimeout(Exception):
    pass


def pytest_configure(config):
    # the tests carry pytest-timeout's marks; a shorter limit of their own is honoured below
    config.addinivalue_line("markers", "timeout(seconds): the longest this test may run")


def _limit_for(item):
    mark = item.get_closest_marker("timeout")
    if mark and mark.args:
        return min(LIMIT, float(mark.args[0]) * 3)  # the tests' own limits assume a quiet machine
    return LIMIT


def _alarm(seconds, what):
    def expire(signum, frame):
        raise PhaseTimeout(f"{what} took longer than {seconds:.0f} s")

    signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    _alarm(_limit_for(item), "setup")
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    _alarm(_limit_for(item), "the test")
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item):
    _alarm(LIMIT, "teardown")
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


_outcomes = {}
_messages = {}
_started = {}


def pytest_runtest_logstart(nodeid, location):
    _started[nodeid] = time.monotonic()


def pytest_runtest_logreport(report):
    """A test passed when every phase passed; a failure in any phase (setup, call, teardown) fails it."""
    previous = _outcomes.get(report.nodeid)
    if report.failed:
        outcome = "failed"
        _messages.setdefault(report.nodeid, _short(report))
    elif report.skipped:
        outcome = "failed" if previous == "failed" else "skipped"
        if hasattr(report, "wasxfail"):  # an expected failure: still say what failed
            _messages.setdefault(report.nodeid, "xfail " + _short(report))
    else:
        outcome = previous or "passed"
    _outcomes[report.nodeid] = outcome


def _short(report):
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(report.longrepr)
    return f"{report.when}: {text.splitlines()[0] if text else ''}"[:300]


def pytest_runtest_logfinish(nodeid, location):
    if not RESULTS:
        return
    record = {"id": nodeid, "outcome": _outcomes.get(nodeid, "failed"),
              "seconds": round(time.monotonic() - _started.get(nodeid, time.monotonic()), 2)}
    if nodeid in _messages:
        record["message"] = _messages[nodeid]
    with open(RESULTS, "a") as out:
        out.write(json.dumps(record) + "\n")
