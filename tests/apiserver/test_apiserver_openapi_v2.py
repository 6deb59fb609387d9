"""``kubectl apply -f`` of a ``kind: List``: kubectl validates it on the client with ``/openapi/v2`` as protobuf.

A List has no endpoint whose OpenAPI operation takes ``fieldValidation``, so kubectl checks its items against the
v2 document itself, parsed as gnostic's protobuf ``Document``; these tests drive the stock kubectl through that
path and through the documents it still reads for ordinary manifests, and check the endpoint's negotiation.
"""

import json
import ssl
import urllib.error
import urllib.request
from pathlib import Path

import yaml
from support.cluster import only

UP_FLAGS = only("garbage-collector")
SEED = "examples/seed/"
PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"


def v1_list(*items):
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": list(items)})


def configmap(name, **extra):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": name}, **extra}


def seed(name):
    return yaml.safe_load(Path(SEED, name).read_text())


def names(cluster, ns, kind):
    out = cluster.kubectl("get", "-n", ns, kind, "-o", "json").stdout
    return sorted(o["metadata"]["name"] for o in json.loads(out)["items"])


def test_list_of_configmaps_is_created(cluster):
    ns = cluster.namespace("list-cms")
    out = cluster.kubectl("apply", "-n", ns, "-f", "-", input=v1_list(configmap("a"), configmap("b"))).stdout
    assert "configmap/a created" in out and "configmap/b created" in out
    assert {"a", "b"} <= set(names(cluster, ns, "configmaps"))


def test_list_of_deployment_and_service_is_created(cluster):
    ns = cluster.namespace("list-mixed")
    out = cluster.kubectl("apply", "-n", ns, "-f", "-", input=v1_list(seed("deployment.yaml"),
                                                                         seed("service.yaml"))).stdout
    assert "deployment.apps/my-app created" in out and "service/my-app created" in out
    assert names(cluster, ns, "deployments") == ["my-app"] and names(cluster, ns, "services") == ["my-app"]


def test_unknown_field_in_a_list_item_is_refused_naming_it(cluster):
    ns = cluster.namespace("list-unknown")
    container_typo = seed("deployment.yaml")
    container_typo["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Never"
    body = v1_list(configmap("good"), configmap("bad", bogus=1), container_typo)
    proc = cluster.kubectl("apply", "-n", ns, "-f", "-", input=body, check=False)
    assert proc.returncode != 0
    assert 'unknown field "bogus" in io.k8s.api.core.v1.ConfigMap' in proc.stderr, proc.stderr
    assert 'unknown field "imagePullPolicyy" in io.k8s.api.core.v1.Container' in proc.stderr, proc.stderr
    # the List is checked as a whole before any item is sent: its valid items are not created either
    assert "good" not in names(cluster, ns, "configmaps") and names(cluster, ns, "deployments") == []


def test_unknown_field_in_a_list_item_only_warns_with_validate_warn(cluster):
    ns = cluster.namespace("list-warn")
    body = v1_list(configmap("lenient", bogus=1))
    proc = cluster.kubectl("apply", "-n", ns, "--validate=warn", "-f", "-", input=body)
    assert "configmap/lenient created" in proc.stdout
    assert 'Warning: unknown field "bogus"' in proc.stderr, proc.stderr


def test_missing_required_field_in_a_list_item_is_refused(cluster):
    ns = cluster.namespace("list-required")
    deployment = seed("deployment.yaml")
    del deployment["spec"]["template"]["spec"]["containers"][0]["name"]
    proc = cluster.kubectl("apply", "-n", ns, "-f", "-", input=v1_list(deployment), check=False)
    assert proc.returncode != 0 and 'missing required field "name"' in proc.stderr, proc.stderr


def test_get_yaml_then_apply_round_trips(cluster):
    ns = cluster.namespace("list-roundtrip")
    cluster.kubectl("apply", "-n", ns, "-f", SEED)
    one = cluster.kubectl("get", "-n", ns, "deploy", "my-app", "-o", "yaml").stdout
    assert yaml.safe_load(one)["kind"] == "Deployment"
    assert "deployment.apps/my-app configured" in cluster.kubectl("apply", "-n", ns, "-f", "-", input=one).stdout
    several = cluster.kubectl("get", "-n", ns, "deploy,svc", "-o", "yaml").stdout
    assert yaml.safe_load(several)["kind"] == "List"
    out = cluster.kubectl("apply", "-n", ns, "-f", "-", input=several).stdout
    assert "deployment.apps/my-app" in out and "service/my-app" in out
    dep = json.loads(cluster.kubectl("get", "-n", ns, "deploy", "my-app", "-o", "json").stdout)
    assert dep["spec"]["replicas"] == 3 and dep["metadata"]["generation"] == 1


def test_explain_and_plain_apply_keep_working(cluster):
    ns = cluster.namespace("list-plain")
    explained = cluster.kubectl("explain", "deployment.spec.strategy").stdout
    assert "KIND:       Deployment" in explained and "rollingUpdate" in explained
    typo = Path(SEED, "deployment.yaml").read_text().replace("imagePullPolicy:", "imagePullPolicyy:")
    proc = cluster.kubectl("apply", "-n", ns, "-f", "-", input=typo, check=False)
    assert proc.returncode != 0 and "imagePullPolicyy" in proc.stderr
    assert "deployment.apps/my-app created" in cluster.kubectl("apply", "-n", ns, "-f", SEED).stdout


def fetch(cluster, accept=None, etag=None):
    headers = {"Authorization": f"Bearer {cluster.tokens()['admin']}"}
    if accept is not None:
        headers["Accept"] = accept
    if etag is not None:
        headers["If-None-Match"] = etag
    request = urllib.request.Request(cluster.url + "/openapi/v2", headers=headers)
    context = ssl.create_default_context(cafile=cluster.ca)
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def test_endpoint_negotiates_protobuf_json_and_etag(cluster):
    status, headers, body = fetch(cluster, PROTOBUF)
    assert status == 200 and headers["Content-Type"].startswith("application/com.github.proto-openapi.spec.v2")
    assert body[:5] == b"\x0a\x032.0"  # Document.swagger (field 1, length 3) leads, as the .proto numbers it
    status, json_headers, json_body = fetch(cluster)
    assert status == 200 and json.loads(json_body)["swagger"] == "2.0"
    assert json_headers["ETag"] != headers["ETag"] and headers["Vary"] == "Accept"
    status, _, body = fetch(cluster, f"application/json;q=0.5, {PROTOBUF}")
    assert status == 200 and body[:5] == b"\x0a\x032.0"
    assert fetch(cluster, PROTOBUF, etag=headers["ETag"])[0] == 304
    assert fetch(cluster, PROTOBUF, etag=json_headers["ETag"])[0] == 200
    assert fetch(cluster, "text/html")[0] == 406
