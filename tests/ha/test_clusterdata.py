"""What servers of one cluster share through the store: bootstrap data and node credentials (on SQLite here;
the two-server tests run the same code on etcd)."""

from __future__ import annotations

import asyncio
import hashlib
import json

from support.wait import eventually_async

from portside.apiserver import bootstrap, clusterdata, encryption, pki, satokens
from portside.store import open_store


def make_server_files(data_dir) -> None:
    """What a server makes before it opens the store (as ``APIServer.start`` does)."""
    creds = pki.ensure(str(data_dir))
    bootstrap.ensure_token(str(data_dir), creds.ca_cert)
    satokens.ensure_key(str(data_dir))
    encryption.ensure_default(str(data_dir))


def test_a_second_data_directory_takes_the_first_ones_ca_tokens_and_join_token(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    make_server_files(first)
    make_server_files(second)  # a CA of its own, which the store's replaces

    async def run():
        store = await open_store(f"sqlite://{tmp_path / 'state.db'}")
        try:
            assert await clusterdata.share_bootstrap(store, str(first)) is False
            assert await clusterdata.share_bootstrap(store, str(second)) is True
            assert await clusterdata.share_bootstrap(store, str(second)) is False  # now the same: nothing to do
        finally:
            await store.close()
    asyncio.run(run())
    for name in clusterdata.FILES:
        assert (second / name).read_bytes() == (first / name).read_bytes(), name
    for private in ("pki/ca.key", "pki/sa.key", "pki/encryption-config.yaml"):
        assert (second / private).stat().st_mode & 0o777 == 0o600, private
    assert not (second / "pki" / "server.crt").exists()  # signed by the replaced CA: issued anew at start
    make_server_files(second)
    from cryptography import x509
    ca = x509.load_pem_x509_certificate((first / "pki" / "ca.crt").read_bytes())
    served = x509.load_pem_x509_certificate((second / "pki" / "server.crt").read_bytes())
    served.verify_directly_issued_by(ca)


def test_a_store_from_before_the_signing_key_gets_it_from_the_next_server(tmp_path):
    """A cluster made before ServiceAccount tokens has no signing key (nor encryption key) in its bootstrap data:
    the first server to start after the upgrade adds its own, and the others take them."""
    first, second = tmp_path / "first", tmp_path / "second"
    make_server_files(first)
    make_server_files(second)

    async def run():
        store = await open_store(f"sqlite://{tmp_path / 'state.db'}")
        try:
            old = {n: (first / n).read_text() for n in clusterdata.FILES
                   if n not in ("pki/sa.key", "pki/encryption-config.yaml")}
            await store.create(clusterdata.BOOTSTRAP_KEY, json.dumps(old).encode())
            assert await clusterdata.share_bootstrap(store, str(first)) is False  # nothing of its own replaced
            assert await clusterdata.share_bootstrap(store, str(second)) is True
            shared = json.loads((await store.get(clusterdata.BOOTSTRAP_KEY)).value)
            assert shared["pki/sa.key"] == (first / "pki/sa.key").read_text()
        finally:
            await store.close()
    asyncio.run(run())
    assert (second / "pki/sa.key").read_bytes() == (first / "pki/sa.key").read_bytes()
    assert (second / "pki/encryption-config.yaml").read_bytes() == (first / "pki/encryption-config.yaml").read_bytes()


def test_node_credentials_issued_by_one_server_are_known_to_another_and_old_files_move_in(tmp_path):
    (tmp_path / "pki").mkdir()
    legacy = tmp_path / "pki" / "node-credentials.json"
    legacy.write_text(json.dumps({"old-node": hashlib.sha256(b"node.old").hexdigest()}))

    async def run():
        store = await open_store(f"sqlite://{tmp_path / 'state.db'}")
        one, two = clusterdata.NodeCredentials(store, str(tmp_path)), clusterdata.NodeCredentials(store)
        try:
            await one.start()
            await two.start()
            assert two.node("node.old") == "old-node" and not legacy.exists()
            token = await one.issue("n1")
            await eventually_async(lambda: two.node(token) == "n1", 5, what="the other server knows n1")
            again = await two.issue("n1")  # a new credential for the same node: the old one stops working
            await eventually_async(lambda: one.node(again) == "n1" and one.node(token) is None, 5,
                                   what="the first server follows the reissue")
            assert one.has("n1") and two.node("node.wrong") is None
        finally:
            await one.stop()
            await two.stop()
            await store.close()
    asyncio.run(run())
