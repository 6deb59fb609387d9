"""runc's failures become portside exceptions with docker's exit codes (real runc, real error text)."""

import json
from pathlib import Path

import pytest

from portside.runtime.errors import CommandNotExecutable, CommandNotFound, ContainerNotFound, OCIRuntimeError
from portside.runtime.runc import Runc, classify


@pytest.mark.parametrize("text,kind,code", [
    ('runc run failed: unable to start container process: exec: "x": executable file not found in $PATH',
     CommandNotFound, 127),
    ('unable to start container process: exec: "/x": stat /x: no such file or directory', CommandNotFound, 127),
    ('unable to start container process: exec: "/etc/passwd": permission denied', CommandNotExecutable, 126),
    ('exec failed: unable to start container process: chdir to cwd ("/gone") set in config.json failed: no such '
     'file or directory', CommandNotExecutable, 126),
    ("runc run failed: invalid rootfs: not an absolute path", OCIRuntimeError, 125),
])
def test_classify(text: str, kind: type, code: int) -> None:
    error = classify(text)
    assert type(error) is kind and error.exit_code == code
    assert not str(error).startswith("runc run failed")


def test_unknown_containers(needs_root: None, tmp_path: Path) -> None:
    runc = Runc(tmp_path / "state")
    assert runc.state("nope") is None
    assert runc.list() == []
    runc.delete("nope")  # idempotent
    with pytest.raises(ContainerNotFound, match="no such container: nope"):
        runc.kill("nope", "KILL")


def test_a_bad_bundle_is_an_oci_error(needs_root: None, tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"ociVersion": "1.0.2", "root": {"path": "relative"},
                                                      "process": {"args": ["true"], "cwd": "/"}}))
    with pytest.raises(OCIRuntimeError, match="rootfs"):
        Runc(tmp_path / "state").run("bad", tmp_path, detach=True, stdio=(0, 1, 2))
    assert not [p for p in (tmp_path / "state").iterdir() if p.name.startswith(".log")]
