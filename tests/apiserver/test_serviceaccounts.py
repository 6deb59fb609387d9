"""ServiceAccounts on a real ``portside up``: the default account and CA ConfigMap in every namespace, pod
admission, TokenRequest (``kubectl create token``), what a token proves and when it stops working, TokenReview."""

import json
import ssl
import urllib.error
import urllib.request

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from support.cluster import only
from support.wait import eventually

UP_FLAGS = only()
MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


@pytest.fixture(scope="module")
def core(cluster):
    api = config.new_client_from_config(config_file=cluster.kubeconfig)
    yield client.CoreV1Api(api)
    api.close()


@pytest.fixture
def ns(cluster, request):
    return cluster.namespace(request.node.name.replace("_", "-")[:50].strip("-").lower())


def pod(name: str, **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}}


def get(cluster, path: str, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(cluster.url + path, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, context=ssl.create_default_context(cafile=cluster.ca), timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def token(cluster, ns: str, account: str = "default", *args: str) -> str:
    return cluster.kubectl("create", "token", account, "-n", ns, *args).stdout.strip()


def test_every_namespace_gets_a_default_account_and_the_cluster_ca(cluster, core, ns):
    eventually(lambda: cluster.kubectl("get", "sa", "default", "-n", ns, check=False).returncode == 0,
               what="the controller to make the default ServiceAccount")
    ca = eventually(lambda: cluster.kubectl("get", "configmap", "kube-root-ca.crt", "-n", ns, "-o",
                                            "jsonpath={.data.ca\\.crt}", check=False).stdout,
                    what="the controller to publish the cluster CA")
    assert ca == open(cluster.ca).read()
    core.delete_namespaced_service_account("default", ns)
    eventually(lambda: cluster.kubectl("get", "sa", "default", "-n", ns, check=False).returncode == 0,
               what="the default ServiceAccount made again")


def test_pods_run_as_default_with_a_token_volume_unless_they_opt_out(cluster, core, ns):
    made = core.create_namespaced_pod(ns, pod("plain"))
    assert made.spec.service_account_name == "default"
    volume = next(v for v in made.spec.volumes if v.name.startswith("kube-api-access-"))
    sources = volume.projected.sources
    assert sources[0].service_account_token.path == "token" and sources[0].service_account_token.audience is None
    assert sources[1].config_map.name == "kube-root-ca.crt" and sources[2].downward_api.items[0].path == "namespace"
    mount = made.spec.containers[0].volume_mounts[0]
    assert (mount.name, mount.mount_path, mount.read_only) == (volume.name, MOUNT, True)
    assert not core.create_namespaced_pod(ns, pod("opted-out", automountServiceAccountToken=False)).spec.volumes
    core.create_namespaced_service_account(ns, {"metadata": {"name": "quiet"}, "automountServiceAccountToken": False})
    assert not core.create_namespaced_pod(ns, pod("quiet", serviceAccountName="quiet")).spec.volumes
    asks = core.create_namespaced_pod(ns, pod("asks", serviceAccountName="quiet", automountServiceAccountToken=True))
    assert asks.spec.volumes[0].name.startswith("kube-api-access-")
    with pytest.raises(ApiException) as missing:
        core.create_namespaced_pod(ns, pod("lost", serviceAccountName="nobody"))
    assert missing.value.status == 403 and json.loads(missing.value.body)["message"] == (
        f'pods "lost" is forbidden: error looking up service account {ns}/nobody: serviceaccount "nobody" not found')


def test_a_token_is_the_account_and_rbac_decides_what_it_may_do(cluster, ns):
    jwt = token(cluster, ns)
    who = json.loads(cluster.kubectl("auth", "whoami", "-o", "json", "--token", jwt).stdout)["status"]["userInfo"]
    assert who["username"] == f"system:serviceaccount:{ns}:default"
    assert who["groups"] == ["system:serviceaccounts", f"system:serviceaccounts:{ns}", "system:authenticated"]
    code, body = get(cluster, f"/api/v1/namespaces/{ns}/pods", jwt)
    assert code == 403 and body["message"] == (f'pods is forbidden: User "system:serviceaccount:{ns}:default" cannot '
                                               f'list resource "pods" in API group "" in the namespace "{ns}"')
    cluster.kubectl("create", "rolebinding", "reader", "--clusterrole=view", f"--serviceaccount={ns}:default",
                    "-n", ns)
    assert get(cluster, f"/api/v1/namespaces/{ns}/pods", jwt)[0] == 200
    assert get(cluster, "/api/v1/namespaces/default/pods", jwt)[0] == 403


def test_tokens_die_with_their_pod_and_their_account(cluster, core, ns):
    core.create_namespaced_pod(ns, pod("holder"))
    uid = core.read_namespaced_pod("holder", ns).metadata.uid
    bound = token(cluster, ns, "default", "--bound-object-kind", "Pod", "--bound-object-name", "holder")
    claims = json.loads(cluster.kubectl("auth", "whoami", "-o", "json", "--token", bound).stdout)
    assert ["holder"] == claims["status"]["userInfo"]["extra"]["authentication.kubernetes.io/pod-name"]
    assert [uid] == claims["status"]["userInfo"]["extra"]["authentication.kubernetes.io/pod-uid"]
    core.delete_namespaced_pod("holder", ns, grace_period_seconds=0)
    assert get(cluster, "/version", bound)[0] == 401
    unbound = token(cluster, ns)
    assert get(cluster, "/version", unbound)[0] == 200
    core.delete_namespaced_service_account("default", ns)
    assert get(cluster, "/version", unbound)[0] == 401
    eventually(lambda: cluster.kubectl("get", "sa", "default", "-n", ns, check=False).returncode == 0,
               what="the default ServiceAccount made again")
    assert get(cluster, "/version", unbound)[0] == 401  # a new account of that name is another account


def test_token_requests_are_checked_and_audiences_kept_apart(cluster, core, ns):
    short = cluster.kubectl("create", "token", "default", "-n", ns, "--duration=5m", check=False)
    assert "spec.expirationSeconds: Invalid value: 300: may not specify a duration less than 10 minutes" \
        in short.stderr, short.stderr
    missing = cluster.kubectl("create", "token", "nobody", "-n", ns, check=False)
    assert 'serviceaccounts "nobody" not found' in missing.stderr
    core.create_namespaced_pod(ns, pod("other", automountServiceAccountToken=False))
    core.create_namespaced_service_account(ns, {"metadata": {"name": "second"}})
    wrong = cluster.kubectl("create", "token", "second", "-n", ns, "--bound-object-kind", "Pod",
                            "--bound-object-name", "other", check=False)
    assert 'cannot bind token for serviceaccount "second" to pod running with different serviceaccount name' \
        in wrong.stderr, wrong.stderr
    vault = token(cluster, ns, "default", "--audience", "vault")
    assert get(cluster, "/version", vault)[0] == 401  # not for the API server
    authn = client.AuthenticationV1Api(config.new_client_from_config(config_file=cluster.kubeconfig))
    review = authn.create_token_review({"spec": {"token": vault, "audiences": ["vault"]}}).status
    assert review.authenticated and review.audiences == ["vault"]
    assert review.user.username == f"system:serviceaccount:{ns}:default"
    assert not authn.create_token_review({"spec": {"token": vault}}).status.authenticated
    assert authn.create_token_review({"spec": {"token": token(cluster, ns)}}).status.authenticated


def test_issuer_discovery_lets_anyone_with_the_key_set_verify_a_token(cluster, ns):
    """What a federation partner does: read the OpenID configuration and key set (any ServiceAccount may), then check
    a token's signature with the published key alone."""
    import base64

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    def unb64(text: str) -> bytes:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))

    reader = token(cluster, ns)  # for the API server: the documents are read as a ServiceAccount
    jwt = token(cluster, ns, "default", "--audience", "vault")  # for someone else, checked with the key set alone
    status, conf = get(cluster, "/.well-known/openid-configuration", reader)
    assert status == 200, conf
    assert conf["issuer"] == "https://kubernetes.default.svc.cluster.local"
    assert conf["jwks_uri"].endswith("/openid/v1/jwks") and conf["id_token_signing_alg_values_supported"] == ["RS256"]
    status, jwks = get(cluster, "/openid/v1/jwks", reader)
    assert status == 200, jwks
    header_b64, claims_b64, signature_b64 = jwt.split(".")
    header, claims = json.loads(unb64(header_b64)), json.loads(unb64(claims_b64))
    (jwk,) = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
    assert (jwk["kty"], jwk["alg"], jwk["use"]) == ("RSA", "RS256", "sig")
    public = rsa.RSAPublicNumbers(int.from_bytes(unb64(jwk["e"]), "big"),
                                  int.from_bytes(unb64(jwk["n"]), "big")).public_key()
    public.verify(unb64(signature_b64), f"{header_b64}.{claims_b64}".encode(), padding.PKCS1v15(), hashes.SHA256())
    assert claims["iss"] == conf["issuer"] and claims["aud"] == ["vault"]
    assert get(cluster, "/openid/v1/jwks", "not-a-token")[0] == 401  # not for anonymous callers
    assert json.loads(cluster.kubectl("get", "--raw", "/openid/v1/jwks").stdout) == jwks
