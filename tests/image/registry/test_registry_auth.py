"""Basic auth (htpasswd) and bearer tokens (the token spec, with a real registry verifying our signer's JWTs)."""

import io

import pytest

from portside.image.registry import Credentials, CredentialStore, Unauthorized, login, pull, push, run
from portside.image.store import ImageStore

from .helpers import PASSWORD, USER, add_test_image


def _push(store, root, name):
    return run(push(store, root, name, io.StringIO(), insecure=True, tty=False))


def _pull(root, name):
    return run(pull(ImageStore(root / "image"), root, name, io.StringIO(), insecure=True, tty=False))


def test_htpasswd_registry_needs_login_then_works(htpasswd_registry, store, engine_root, tmp_path):
    host = htpasswd_registry.host
    name = f"{host}/private/app:v1"
    image = add_test_image(store, name, [{"f": b"private"}])
    with pytest.raises(Unauthorized) as err:
        _push(store, engine_root, name)
    assert str(err.value) == f"{host}: authentication required; run 'portside login {host}'"

    run(login(engine_root, host, Credentials(USER, PASSWORD), insecure=True))
    assert _push(store, engine_root, name) == image.digest
    other = tmp_path / "other"
    with pytest.raises(Unauthorized, match="portside login"):
        _pull(other, name)
    CredentialStore(other).save(host, Credentials(USER, PASSWORD))
    assert _pull(other, name).digest == image.digest


def test_wrong_saved_password_says_credentials_were_refused(htpasswd_registry, engine_root):
    host = htpasswd_registry.host
    CredentialStore(engine_root).save(host, Credentials(USER, "wrong"))
    with pytest.raises(Unauthorized, match=f"{host}: credentials were refused"):
        _pull(engine_root, f"{host}/private/app:v1")


def test_bearer_tokens_from_the_realm(token_registry, store, engine_root, tmp_path):
    registry, server = token_registry
    host = registry.host
    name = f"{host}/tokens/app:v1"
    image = add_test_image(store, name, [{"f": b"one"}, {"g": b"two"}])
    with pytest.raises(Unauthorized, match="authentication required"):
        _push(store, engine_root, name)

    run(login(engine_root, host, Credentials(USER, PASSWORD), insecure=True))
    server.scopes_seen.clear()
    assert _push(store, engine_root, name) == image.digest
    # The lock in the transport: one token for the whole push, not one per parallel layer.
    assert server.scopes_seen == [["repository:tokens/app:pull,push"]]

    second = f"{host}/tokens/copy:v1"
    store.tag(name, second)
    server.scopes_seen.clear()
    _push(store, engine_root, second)
    # A mount from another repository needs pull on it too: the challenge asks, the new token covers both.
    assert any("repository:tokens/app:pull" in scopes for scopes in server.scopes_seen)

    other = tmp_path / "other"
    CredentialStore(other).save(host, Credentials(USER, PASSWORD))
    assert _pull(other, name).digest == image.digest


def test_login_with_a_wrong_password_saves_nothing(token_registry, engine_root):
    registry, _ = token_registry
    with pytest.raises(Unauthorized, match="credentials were refused"):
        run(login(engine_root, registry.host, Credentials(USER, "nope"), insecure=True))
    assert CredentialStore(engine_root).get(registry.host) is None


def test_challenge_parsing_and_scope_merging():
    from portside.image.registry.auth import merge_scope, parse_challenge

    challenge = parse_challenge('Bearer realm="http://a/token",service="reg, one",scope="repository:x:pull"')
    assert challenge.scheme == "bearer"
    assert challenge.params == {"realm": "http://a/token", "service": "reg, one", "scope": "repository:x:pull"}
    assert parse_challenge('Basic realm="r"').scheme == "basic"
    scopes = merge_scope(["repository:x:pull,push"], "repository:x:pull")
    assert merge_scope(scopes, "repository:y:pull") == ["repository:x:pull,push", "repository:y:pull"]
