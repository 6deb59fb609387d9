"""The pure parts of identity and encryption: the token file, client certificates, JWT signing, the
EncryptionConfiguration and the encrypting store's transforms (over a real SQLite store)."""

import asyncio
import base64
import json
import time

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from portside.apiserver import encryption, pki, satokens, tokenfile, usercerts
from portside.store import Create, Delete, Event, open_store


def test_token_file_lines_become_users_and_mistakes_name_their_line() -> None:
    users = tokenfile.parse('t1,alice,u1,"devs,ops"\n\n# comment\nt2,bob,u2\n')
    assert (users["t1"].name, users["t1"].uid, users["t1"].groups) == ("alice", "u1",
                                                                        ("devs", "ops", "system:authenticated"))
    assert users["t2"].groups == ("system:authenticated",)
    with pytest.raises(tokenfile.TokenFileError, match="line 2: expected at least 3 columns"):
        tokenfile.parse("t1,alice,u1\nt2,bob\n", "f.csv")
    with pytest.raises(tokenfile.TokenFileError, match="line 1: the token and the user name may not be empty"):
        tokenfile.parse(",alice,u1\n")


def test_user_certificates_carry_user_and_groups_for_client_auth_only(tmp_path) -> None:
    pki.ensure(str(tmp_path))
    cert_pem, _ = usercerts.issue(tmp_path / "pki", "alice", ("devs", "ops"))
    cert = x509.load_pem_x509_certificate(cert_pem)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "alice"
    assert [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)] == ["devs", "ops"]
    usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    first = usercerts.component(str(tmp_path), "scheduler", "system:kube-scheduler")
    assert usercerts.component(str(tmp_path), "scheduler", "system:kube-scheduler") == first  # kept when current
    before = (tmp_path / "pki/components/scheduler.crt").read_bytes()
    usercerts.component(str(tmp_path), "scheduler", "someone-else")
    assert (tmp_path / "pki/components/scheduler.crt").read_bytes() != before  # another identity: issued anew


def test_service_account_tokens_are_signed_and_tamper_evident(tmp_path) -> None:
    signer = satokens.Signer(satokens.ensure_key(str(tmp_path)))
    claims = {"iss": satokens.ISSUER, "sub": "system:serviceaccount:ns:sa", "exp": int(time.time()) + 600}
    token = signer.sign(claims)
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"alg": "RS256", "kid": signer.kid} and signer.verify(token) == claims
    head, body, sig = token.split(".")
    forged = base64.urlsafe_b64encode(json.dumps({**claims, "sub": "system:serviceaccount:ns:admin"}).encode())
    assert signer.verify(f"{head}.{forged.rstrip(b'=').decode()}.{sig}") is None
    other = satokens.Signer(satokens.ensure_key(str(tmp_path / "other")))
    assert other.verify(token) is None


def test_validation_checks_issuer_audience_time_and_the_live_objects(tmp_path) -> None:
    async def run():
        store = await open_store(f"sqlite://{tmp_path / 's.db'}")
        tokens = satokens.ServiceAccountTokens(store, satokens.Signer(satokens.ensure_key(str(tmp_path))))
        account = {"metadata": {"name": "sa", "namespace": "ns", "uid": "u-1"}}
        await store.create("/registry/core/serviceaccounts/ns/sa", json.dumps(account).encode())
        token, _ = tokens.issue("ns", account, list(satokens.API_AUDIENCES), 600)
        user, audiences = await tokens.validate(token)
        assert user.name == "system:serviceaccount:ns:sa" and user.uid == "u-1" and audiences == [satokens.ISSUER]
        elsewhere, _ = tokens.issue("ns", account, ["vault"], 600)
        with pytest.raises(satokens.TokenError, match="audiences"):
            await tokens.validate(elsewhere)
        assert (await tokens.validate(elsewhere, ("vault",)))[1] == ["vault"]
        expired = tokens.signer.sign({"iss": satokens.ISSUER, "aud": [satokens.ISSUER], "nbf": 0, "exp": 10})
        with pytest.raises(satokens.TokenError, match="expired"):
            await tokens.validate(expired)
        await store.update("/registry/core/serviceaccounts/ns/sa",
                           json.dumps({"metadata": {**account["metadata"], "uid": "u-2"}}).encode())
        with pytest.raises(satokens.TokenError, match="does not match"):
            await tokens.validate(token)
        await store.close()
    asyncio.run(run())


def config(*keys: tuple[str, bytes], resources=("secrets",)) -> str:
    return json.dumps({"apiVersion": encryption.API_VERSION, "kind": encryption.KIND, "resources": [
        {"resources": list(resources), "providers": [
            {"aesgcm": {"keys": [{"name": n, "secret": base64.b64encode(k).decode()} for n, k in keys]}},
            {"identity": {}}]}]})


def test_encryption_configuration_mistakes_name_the_field() -> None:
    cases = {
        '{"kind": "Nope"}': "expected kind EncryptionConfiguration",
        config(("k", b"x" * 7)): "resources[0].providers[0].aesgcm.keys[0].secret: expected a key of 16, 24 or 32 "
                                 "bytes, got 7",
        config(("a:b", b"x" * 32)): "keys[0].name: a unique name without ':' is required",
        json.dumps({"apiVersion": encryption.API_VERSION, "kind": encryption.KIND,
                    "resources": [{"resources": ["secrets"], "providers": [{"kms": {}}]}]}):
            "provider 'kms' is not supported here",
    }
    for text, message in cases.items():
        with pytest.raises(encryption.ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
            encryption.parse(text)


def test_the_encrypting_store_seals_writes_opens_reads_and_marks_old_keys(tmp_path) -> None:
    async def run():
        raw = await open_store(f"sqlite://{tmp_path / 's.db'}")
        old = encryption.EncryptingStore(raw, encryption.parse(config(("old", b"o" * 32))))
        key, plain = "/registry/core/secrets/ns/s", b'{"data":{"k":"dg=="}}'
        await old.commit([Create(key, lambda rev: plain), Create("/registry/core/configmaps/ns/c", b"{}")])
        assert (await raw.get(key)).value.startswith(b"k8s:enc:aesgcm:v1:old:")
        assert (await raw.get("/registry/core/configmaps/ns/c")).value == b"{}"  # not configured: as it is
        assert (await old.get(key)).value == plain and (await old.list("/registry/core/secrets/")).items[0].value \
            == plain
        moved = (await raw.get(key)).value
        await raw.create("/registry/core/secrets/ns/other", moved)
        with pytest.raises(encryption.DecryptError):
            await old.get("/registry/core/secrets/ns/other")  # the store key is part of what is authenticated
        rotated = encryption.EncryptingStore(raw, encryption.parse(config(("new", b"n" * 32), ("old", b"o" * 32))))
        assert (await rotated.get(key)).value == plain and key in rotated.stale
        stream = await rotated.watch("/registry/core/secrets/ns/s", (await raw.current_revision()))
        await rotated.update(key, plain)
        assert key not in rotated.stale and (await raw.get(key)).value.startswith(b"k8s:enc:aesgcm:v1:new:")
        async for item in stream:
            assert isinstance(item, Event) and item.kv.value == plain
            break
        stream.close()
        await rotated.commit([Delete(key, 0, plain)])
        await raw.close()
    asyncio.run(run())
