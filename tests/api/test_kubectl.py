"""The stock kubectl against the API objects, served by a real ``portside up``: it must accept the OpenAPI
(validating on the server), send patches we apply correctly, print our validation messages and our tables.

``kubectl -v=8`` logs the requests it sends, which shows what it made of our OpenAPI (server-side validation,
strategic merge patches) without a stand-in server to record them."""

from __future__ import annotations

import json
import pathlib
import re

import pytest
import yaml
from support.cluster import only
from support.require import require

SEED = pathlib.Path(__file__).resolve().parents[2] / "examples" / "seed"
UP_FLAGS = only()  # the API server alone: no controller writes to the objects these tests read back


@pytest.fixture(scope="module")
def kubectl(cluster):  # type: ignore[no-untyped-def]
    require("kubectl")
    ns = cluster.namespace("kubectl")

    def run(*args: str, stdin: str | None = None, verbose: bool = False):  # type: ignore[no-untyped-def]
        return cluster.kubectl("-n", ns, *(["-v=8"] if verbose else []), *args, input=stdin, check=False)
    return run


def _manifest(name: str, **changes: object) -> dict:
    obj = yaml.safe_load((SEED / name).read_text())
    container = obj["spec"]["template"]["spec"]["containers"][0] if "template" in obj["spec"] else None
    if container is not None:
        container.update(changes)
    return obj


def _requests(log: str, verb: str) -> list[str]:
    """The URLs of the ``verb`` requests in a ``kubectl -v=8`` log."""
    return re.findall(rf'"Request" verb="{verb}" url="([^"]+)"', log) + re.findall(rf"\] {verb} (\S+)", log)


def test_apply_create_then_change(kubectl) -> None:  # type: ignore[no-untyped-def]
    first = kubectl("apply", "-f", "-", stdin=json.dumps(_manifest("deployment.yaml", env=[
        {"name": "A", "value": "1"}, {"name": "B", "value": "2"}])), verbose=True)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "deployment.apps/my-app created"
    posts = _requests(first.stderr, "POST")
    assert posts and "fieldValidation=Strict" in posts[-1]  # kubectl trusted our OpenAPI: the server validates

    changed = _manifest("deployment.yaml", image="my-app:v2", env=[{"name": "B", "value": "2"}])
    second = kubectl("apply", "-f", "-", stdin=json.dumps(changed), verbose=True)
    assert second.returncode == 0, second.stderr
    assert "warning" not in second.stderr.lower()  # the patch was computed from our OpenAPI v3 without trouble
    assert _requests(second.stderr, "PATCH"), second.stderr[-2000:]
    assert "application/strategic-merge-patch+json" in second.stderr
    assert "$setElementOrder/containers" in second.stderr

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
    obj["metadata"]["name"] = "strict"
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
    assert "LoadBalancer" in result.stdout and re.search(r"\b80:\d+/TCP\b", result.stdout), result.stdout


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
