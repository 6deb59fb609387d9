"""Debian's ``prometheus`` scrapes a real API server's ``/metrics`` over TLS (the cluster CA) with the read-only
token, and its own HTTP API answers queries over what it scraped: request counts by verb/resource/code, store
latencies, and the exposition's content type and authorisation."""

from __future__ import annotations

import json
import subprocess
import urllib.parse
import urllib.request

import pytest
from support.net import free_port
from support.require import require
from support.wait import eventually

from portside.apiserver.exposition import classify

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def up_flags():
    from support.cluster import only
    return only()


def test_requests_are_classified_as_kube_apiserver_labels_them():
    assert classify("GET", "/api/v1/namespaces/default/pods", {}) == ("LIST", "", "pods")
    assert classify("GET", "/api/v1/namespaces/default/pods", {"watch": "true"}) == ("WATCH", "", "pods")
    assert classify("GET", "/apis/apps/v1/namespaces/d/deployments/web", {}) == ("GET", "apps", "deployments")
    assert classify("PATCH", "/api/v1/namespaces/d/pods/p/status", {}) == ("PATCH", "", "pods/status")
    assert classify("DELETE", "/api/v1/namespaces/d/configmaps", {}) == ("DELETECOLLECTION", "", "configmaps")
    assert classify("GET", "/api/v1/nodes", {}) == ("LIST", "", "nodes")
    assert classify("GET", "/apis", {}) == ("", "", "")
    assert classify("GET", "/metrics", {}) == ("", "", "")


def get(url: str, token: str = "", ca: str = "") -> tuple[int, str, str]:
    import ssl
    context = ssl.create_default_context(cafile=ca) if ca else None
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=5, context=context) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, "", exc.read().decode()


def test_metrics_needs_a_token_and_speaks_the_text_format(cluster):
    tokens = cluster.tokens()
    code, _, _ = get(f"{cluster.url}/metrics", ca=cluster.ca)
    assert code == 401
    cluster.kubectl("get", "configmaps", "-n", "default")
    code, content_type, text = get(f"{cluster.url}/metrics", tokens["readonly"], cluster.ca)
    assert code == 200 and content_type.startswith("text/plain; version=0.0.4")
    assert 'apiserver_request_total{code="200",group="",resource="configmaps",verb="LIST"}' in text
    assert "portside_store_operation_duration_seconds_bucket{" in text


@pytest.fixture
def prometheus(cluster, tmp_path):
    require("prometheus")
    token = tmp_path / "token"
    token.write_text(cluster.tokens()["readonly"])
    host_port = cluster.url.removeprefix("https://")
    config = tmp_path / "prometheus.yml"
    config.write_text(json.dumps({  # YAML is a superset of JSON
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [{"job_name": "portside", "scheme": "https",
                            "tls_config": {"ca_file": cluster.ca},
                            "authorization": {"credentials_file": str(token)},
                            "static_configs": [{"targets": [host_port]}]}]}))
    port = free_port()
    proc = subprocess.Popen(["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=open(tmp_path / "prometheus.log", "wb"))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def query(base: str, promql: str) -> list[dict]:
    try:
        with urllib.request.urlopen(f"{base}/api/v1/query?{urllib.parse.urlencode({'query': promql})}",
                                    timeout=5) as resp:
            body = json.loads(resp.read())
    except OSError:
        return []  # not listening yet
    assert body["status"] == "success", body
    return body["data"]["result"]


def test_prometheus_scrapes_and_answers_queries(cluster, prometheus):
    cluster.kubectl("create", "configmap", "scraped", "-n", "default", "--from-literal=k=v")
    up = eventually(lambda: query(prometheus, 'up{job="portside"} == 1'), timeout=30,
                    what="prometheus scraped /metrics successfully")
    assert up[0]["metric"]["job"] == "portside"
    created = eventually(lambda: query(prometheus, 'apiserver_request_total{verb="POST",resource="configmaps"}'),
                         timeout=15, what="the configmap create counted")
    assert created[0]["metric"]["code"] == "201" and float(created[0]["value"][1]) >= 1
    latency = eventually(lambda: query(prometheus, "histogram_quantile(0.99, sum by (le) "
                                                   "(portside_store_operation_duration_seconds_bucket))"),
                         timeout=15, what="store latency quantile")
    assert 0 < float(latency[0]["value"][1]) < 1


def test_scheduler_attempts_and_controller_queues_are_exposed(tmp_path):
    """With the scheduler and the workload controllers in ``up``'s process, their instruments appear too: an
    unschedulable pod (no nodes) is still an attempt, and each controller's queue has a depth."""
    from support.cluster import Cluster, only
    with Cluster(tmp_path / "data", extra=only("scheduler", "workload-controllers")) as c:
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "waits", "namespace": "default"},
               "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
        c.kubectl("apply", "-f", "-", input=json.dumps(pod))

        def attempts() -> float:
            text = get(f"{c.url}/metrics", c.tokens()["readonly"], c.ca)[2]
            line = next((x for x in text.splitlines() if x.startswith("scheduler_schedule_attempts_total ")), "")
            return float(line.split()[1]) if line else 0.0

        assert eventually(attempts, timeout=15, what="a scheduling attempt counted") >= 1
        text = get(f"{c.url}/metrics", c.tokens()["readonly"], c.ca)[2]
        assert 'workqueue_depth{name="deployment-controller"}' in text
        assert "scheduler_scheduling_attempt_duration_seconds_count" in text
