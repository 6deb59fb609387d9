"""The stock kubectl against the API objects: it must accept the OpenAPI (validating on the server), send
patches we apply correctly, print our validation messages and our tables."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess

import pytest
import yaml
from support.require import require

from tests.api.kubectl_stub import StubServer

SEED = pathlib.Path(__file__).resolve().parents[2] / "examples" / "seed"


@pytest.fixture(scope="module")
def kubectl(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    require("kubectl")
    home = tmp_path_factory.mktemp("kubectl-home")
    stub = StubServer()
    config = {"apiVersion": "v1", "kind": "Config", "current-context": "stub",
              "clusters": [{"name": "stub", "cluster": {"server": stub.url}}],
              "users": [{"name": "u", "user": {"token": "t"}}],
              "contexts": [{"name": "stub", "context": {"cluster": "stub", "user": "u", "namespace": "default"}}]}
    (home / "kubeconfig").write_text(yaml.safe_dump(config))
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "KUBECONFIG": str(home / "kubeconfig")}

    def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["kubectl", *args], input=stdin, env=env, capture_output=True, text=True, timeout=60)

    run.stub = stub  # type: ignore[attr-defined]
    yield run
    stub.close()


def _manifest(name: str, **changes: object) -> dict:
    obj = yaml.safe_load((SEED / name).read_text())
    container = obj["spec"]["template"]["spec"]["containers"][0] if "template" in obj["spec"] else None
    if container is not None:
        container.update(changes)
    return obj


def test_apply_create_then_change(kubectl) -> None:  # type: ignore[no-untyped-def]
    first = kubectl("apply", "-f", "-", stdin=json.dumps(_manifest("deployment.yaml", env=[
        {"name": "A", "value": "1"}, {"name": "B", "value": "2"}])))
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "deployment.apps/my-app created"
    posts = [r for r in kubectl.stub.handler.requests if r[0] == "POST"]
    assert "fieldValidation=Strict" in posts[-1][1]  # kubectl trusted our OpenAPI: validation runs on the server

    changed = _manifest("deployment.yaml", image="my-app:v2", env=[{"name": "B", "value": "2"}])
    second = kubectl("apply", "-f", "-", stdin=json.dumps(changed))
    assert second.returncode == 0, second.stderr
    assert "warning" not in second.stderr.lower()  # the patch was computed from our OpenAPI v3 without trouble
    patch = json.loads([r for r in kubectl.stub.handler.requests if r[0] == "PATCH"][-1][2])
    assert "$setElementOrder/containers" in json.dumps(patch)

    live = json.loads(kubectl("get", "deployment", "my-app", "-o", "json").stdout)
    container = live["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "my-app:v2" and container["env"] == [{"name": "B", "value": "2"}]
    assert container["resources"]["limits"] == {"cpu": "100m", "memory": "128Mi"}
    assert live["metadata"]["generation"] == 2


def test_invalid_manifest_prints_field_and_reason(kubectl) -> None:  # type: ignore[no-untyped-def]
    bad = _manifest("deployment.yaml", resources={"limits": {"memory": "12x"}})
    bad["metadata"]["name"] = "broken"
    result = kubectl("apply", "-f", "-", stdin=json.dumps(bad))
    assert result.returncode == 1
    assert 'The Deployment "broken" is invalid: spec.template.spec.containers[0].resources.limits.memory: ' \
           'Invalid value: "12x": quantities must match the regular expression' in result.stderr
    assert kubectl("get", "deployment", "broken").returncode == 1  # nothing stored


def test_unknown_field_is_refused_under_strict_validation(kubectl) -> None:  # type: ignore[no-untyped-def]
    obj = _manifest("service.yaml")
    obj["spec"]["bogus"] = True
    result = kubectl("apply", "-f", "-", stdin=json.dumps(obj))
    assert result.returncode == 1
    assert 'strict decoding error: unknown field "spec.bogus"' in result.stderr
    warned = kubectl("apply", "--validate=warn", "-f", "-", stdin=json.dumps(obj))
    assert warned.returncode == 0, warned.stderr
    assert 'unknown field "spec.bogus"' in warned.stderr


def test_get_prints_table_columns(kubectl) -> None:  # type: ignore[no-untyped-def]
    kubectl("apply", "-f", "-", stdin=json.dumps(_manifest("service.yaml")))
    result = kubectl("get", "services")
    assert result.returncode == 0, result.stderr
    header = result.stdout.splitlines()[0].split()
    assert header == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    assert "LoadBalancer" in result.stdout and "80/TCP" in result.stdout


def test_label_and_annotate_patch(kubectl) -> None:  # type: ignore[no-untyped-def]
    kubectl("apply", "-f", "-", stdin=json.dumps(_manifest("service.yaml")))
    assert kubectl("label", "service", "my-app", "tier=web").returncode == 0
    assert kubectl("annotate", "service", "my-app", "note=hello").returncode == 0
    live = json.loads(kubectl("get", "service", "my-app", "-o", "json").stdout)
    assert live["metadata"]["labels"] == {"tier": "web"}
    assert live["metadata"]["annotations"]["note"] == "hello"


def test_explain_reads_the_schema(kubectl) -> None:  # type: ignore[no-untyped-def]
    result = kubectl("explain", "deployment.spec.strategy")
    assert result.returncode == 0, result.stderr
    assert "rollingUpdate" in result.stdout and "<RollingUpdateDeployment>" in result.stdout
