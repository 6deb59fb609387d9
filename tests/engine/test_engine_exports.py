"""Each package's ``__all__`` is its contract: every name resolves, and importing the package stays cheap."""

import subprocess
import sys

import pytest

import portside.engine
import portside.runtime


@pytest.mark.parametrize("package", [portside.engine, portside.runtime])
def test_every_exported_name_resolves(package) -> None:
    for name in package.__all__:
        assert getattr(package, name) is not None, name
    with pytest.raises(AttributeError):
        _ = package.no_such_thing


def test_the_contract_names_the_interfaces_others_use() -> None:
    assert {"Engine", "ContainerConfig", "containers_using_image"} <= set(portside.engine.__all__)
    assert {"run_oneshot", "mount_overlay", "unmount", "PortsideError", "InvalidArgument", "PortInUse",
            "ContainerNotFound", "NameInUse", "OCIRuntimeError"} <= set(portside.runtime.__all__)


def test_importing_the_packages_loads_no_submodule() -> None:
    code = "import sys, portside.engine, portside.runtime; print(sorted(m for m in sys.modules if m.startswith('portside.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['portside.engine', 'portside.runtime']"


def test_runc_is_the_engines_own(tmp_path) -> None:
    """Callers signal, wait for and read containers through Engine's methods; runc stays behind them."""
    from portside.engine import Engine

    engine = Engine(tmp_path)
    assert not any(hasattr(engine, name) for name in ("runc", "records", "lifecycle"))
    assert callable(engine.signal) and callable(engine.monitor_pid) and callable(engine.log_path)
