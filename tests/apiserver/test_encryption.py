"""Secrets encrypted at rest: what the store's files hold, key rotation with an EncryptionConfiguration, and
Secrets' data kept out of logs and Events, on a real ``portside up``."""

import base64
import json
import sqlite3
import subprocess
import sys

import yaml
from support.cluster import Cluster, only

MARKER = "s3cr3t-marker-4af1c2"


def raw_files(data_dir) -> bytes:
    """Every byte of the SQLite store as it lies on disk: the database, its write-ahead log, its index."""
    return b"".join(p.read_bytes() for p in sorted(data_dir.glob("state.db*")))


def stored(data_dir, key: str) -> bytes:
    with sqlite3.connect(f"file:{data_dir / 'state.db'}?mode=ro", uri=True) as db:
        return db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()[0]


def config(path, keys: list[tuple[str, bytes]], resources=("secrets",)) -> str:
    doc = {"apiVersion": "apiserver.config.k8s.io/v1", "kind": "EncryptionConfiguration", "resources": [
        {"resources": list(resources), "providers": [
            {"aesgcm": {"keys": [{"name": n, "secret": base64.b64encode(k).decode()} for n, k in keys]}},
            {"identity": {}}]}]}
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def test_secrets_are_ciphertext_in_the_store_and_plaintext_to_clients(tmp_path):
    with Cluster(tmp_path / "data", extra=only()) as c:
        c.kubectl("create", "secret", "generic", "db", f"--from-literal=password={MARKER}")
        c.kubectl("patch", "secret", "db", "-p", json.dumps({"stringData": {"second": MARKER + "-2"}}))
        got = json.loads(c.kubectl("get", "secret", "db", "-o", "json").stdout)
        assert base64.b64decode(got["data"]["password"]).decode() == MARKER
        assert base64.b64decode(got["data"]["second"]).decode() == MARKER + "-2"
        listed = json.loads(c.kubectl("get", "secrets", "-o", "json").stdout)["items"]
        assert [s["metadata"]["name"] for s in listed] == ["db"]
        watched = c.kubectl("get", "secret", "db", "-w", "-o", "json", "--request-timeout=2s", check=False).stdout
        assert base64.b64encode(MARKER.encode()).decode() in watched
        refused = c.kubectl("create", "secret", "generic", "bad", "-o", "json", "--dry-run=client",
                            f"--from-literal=x={MARKER}").stdout.replace('"eHh', '"!!')  # not base64 any more
        doc = json.loads(refused)
        doc["data"]["x"] = "!" + MARKER
        proc = c.kubectl("apply", "-f", "-", input=json.dumps(doc), check=False)
        assert "illegal base64 data" in proc.stderr and MARKER not in proc.stderr
        events = c.kubectl("get", "events", "-A", "-o", "json").stdout
        log = c.log()
    value = stored(c.data_dir, "/registry/core/secrets/default/db")
    assert value.startswith(b"k8s:enc:aesgcm:v1:key1:")
    disk = raw_files(c.data_dir)
    for secret in (MARKER, base64.b64encode(MARKER.encode()).decode(), base64.b64encode(b"-" + MARKER.encode())
                   .decode()[4:]):
        assert secret.encode() not in disk
    assert MARKER not in events and MARKER not in log
    assert b"kind\":\"Secret" not in disk  # not even the object's outline is readable


def test_keys_rotate_with_the_configuration(tmp_path):
    old, new = b"o" * 32, b"n" * 32
    data = tmp_path / "data"
    with Cluster(data, extra=(*only(), "--encryption-provider-config",
                              config(tmp_path / "a.yaml", [("old", old)], ("secrets", "configmaps")))) as c:
        c.kubectl("create", "secret", "generic", "s", f"--from-literal=k={MARKER}")
        c.kubectl("create", "configmap", "m", f"--from-literal=k={MARKER}")
    assert stored(data, "/registry/core/secrets/default/s").startswith(b"k8s:enc:aesgcm:v1:old:")
    assert stored(data, "/registry/core/configmaps/default/m").startswith(b"k8s:enc:aesgcm:v1:old:")
    rotated = config(tmp_path / "b.yaml", [("new", new), ("old", old)], ("secrets", "configmaps"))
    with Cluster(data, extra=(*only(), "--encryption-provider-config", rotated)) as c:
        assert c.kubectl("get", "configmap", "m", "-o", "jsonpath={.data.k}").stdout == MARKER
        secrets = c.kubectl("get", "secrets", "-o", "json").stdout
        c.kubectl("replace", "-f", "-", input=secrets)  # rewrite every Secret with the first key
    assert stored(data, "/registry/core/secrets/default/s").startswith(b"k8s:enc:aesgcm:v1:new:")
    assert MARKER.encode() not in raw_files(data)


def test_a_bad_encryption_configuration_stops_the_start(tmp_path):
    bad = tmp_path / "bad.yaml"
    config(bad, [("k", b"short")])
    proc = subprocess.run([sys.executable, "-m", "portside", "up", "--data-dir", str(tmp_path / "d"),
                           "--encryption-provider-config", str(bad)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "resources[0].providers[0].aesgcm.keys[0].secret: expected a key of 16, 24 or 32 bytes, got 5" \
        in proc.stderr, proc.stderr
