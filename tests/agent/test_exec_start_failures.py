"""``kubectl exec`` of a command that cannot start says why and exits non-zero, as on Kubernetes: 127 when it is not
found, 126 when it cannot be invoked (not executable, its working directory gone); a command that runs reports
its own exit code."""

from __future__ import annotations

import shlex
import subprocess

from tests.agent.conftest import ready
from tests.agent.test_pods import pod


def exec_in(node, *argv: str) -> subprocess.CompletedProcess:
    return node.kubectl("exec", "failing", "--", *argv, check=False)


def test_kubectl_exec_reports_why_a_command_did_not_start(node):
    node.apply(pod("failing", "sleep 3600", workingDir="/work/here"))
    node.wait_pod("failing", ready, what="Ready")
    missing = exec_in(node, "no-such-binary")
    assert missing.returncode == 127, missing.stderr
    assert 'exec: "no-such-binary": executable file not found in $PATH' in missing.stderr
    assert "command terminated with exit code 127" in missing.stderr
    not_executable = exec_in(node, "/etc/passwd")
    assert not_executable.returncode == 126 and 'exec: "/etc/passwd": permission denied' in not_executable.stderr
    assert exec_in(node, "sh", "-c", "exit 3").returncode == 3
    # on a terminal runc's line comes through the terminal's one stream
    argv = node.cluster.kubectl_argv() + ["exec", "-it", "failing", "--", "no-such-binary"]
    on_tty = subprocess.run(["script", "-qec", shlex.join(argv), "/dev/null"], capture_output=True, text=True,
                            timeout=30, stdin=subprocess.DEVNULL)
    assert on_tty.returncode == 127 and "executable file not found" in on_tty.stdout, on_tty.stdout
    assert exec_in(node, "rmdir", "/work/here").returncode == 0  # the directory every exec starts in
    gone = exec_in(node, "pwd")
    assert gone.returncode == 126 and 'chdir to cwd ("/work/here")' in gone.stderr, gone.stderr
