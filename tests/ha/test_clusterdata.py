"""What servers of one cluster share through the store: bootstrap data and node credentials (on SQLite here;
the two-server tests run the same code on etcd)."""

from __future__ import annotations

import asyncio
import hashlib
import json

from support.wait import eventually_async

from portside.apiserver import bootstrap, clusterdata, pki
from portside.store import open_store


def make_server_files(data_dir) -> None:
    creds = pki.ensure(str(data_dir))
    bootstrap.ensure_token(str(data_dir), creds.ca_cert)


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
    assert (second / "pki" / "ca.key").stat().st_mode & 0o777 == 0o600
    assert not (second / "pki" / "server.crt").exists()  # signed by the replaced CA: issued anew at start
    make_server_files(second)
    from cryptography import x509
    ca = x509.load_pem_x509_certificate((first / "pki" / "ca.crt").read_bytes())
    served = x509.load_pem_x509_certificate((second / "pki" / "server.crt").read_bytes())
    served.verify_directly_issued_by(ca)


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
