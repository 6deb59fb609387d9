"""Push and pull against a real registry: round trips keep digests, blobs are checked, mounted, chunked."""

import io
import os

import pytest

from portside.image.errors import ImageNotFound
from portside.image.registry import DigestMismatch, ManifestUnknown, RegistryUnreachable, pull, push, run
from portside.image.store import ImageStore

from .helpers import add_test_image


def _pull(root, text, **kw):
    out = io.StringIO()
    return run(pull(ImageStore(root / "image"), root, text, out, insecure=True, tty=False, **kw)), out.getvalue()


def _push(store, root, text, **kw):
    out = io.StringIO()
    return run(push(store, root, text, out, insecure=True, tty=False, **kw)), out.getvalue()


def test_round_trip_keeps_digests_and_content(registry, store, engine_root, tmp_path):
    name = f"{registry.host}/team/app:v1"
    image = add_test_image(store, name, [{"etc/a": b"alpha\n"}, {"srv/b.txt": b"beta" * 1000}])
    digest, lines = _push(store, engine_root, name)
    assert digest == image.digest
    assert lines.count("Pushed") == 3  # config and both layers

    other = tmp_path / "other"
    result, pulled_lines = _pull(other, name)
    assert (result.digest, result.image_id, result.name) == (image.digest, image.id, name)
    assert pulled_lines.count("Pull complete") == 2
    copy = ImageStore(other / "image").resolve(name)
    dirs = ImageStore(other / "image").layer_dirs(copy)
    assert (dirs[0] / "etc/a").read_bytes() == b"alpha\n"
    assert (dirs[1] / "srv/b.txt").read_bytes() == b"beta" * 1000

    # Pushed back from the copy to a new repository: same bytes, same manifest digest.
    again = f"{registry.host}/team/again:v1"
    ImageStore(other / "image").tag(name, again)
    assert _push(ImageStore(other / "image"), other, again)[0] == image.digest


def test_second_push_finds_blobs_and_sibling_repository_mounts_them(registry, store, engine_root):
    first = f"{registry.host}/one/app:v1"
    add_test_image(store, first, [{"x": os.urandom(2048)}])
    _push(store, engine_root, first)
    assert _push(store, engine_root, first)[1].count("Already exists") == 2
    second = f"{registry.host}/two/app:v1"
    store.tag(first, second)
    lines = _push(store, engine_root, second)[1]
    assert lines.count("Mounted from one/app") == 2, lines


def test_large_blob_goes_in_chunks(registry, store, engine_root, tmp_path):
    name = f"{registry.host}/big/app:v1"
    payload = os.urandom(300_000)
    add_test_image(store, name, [{"blob": payload}])
    digest = _push(store, engine_root, name, chunk_size=64 * 1024)[0]
    result, _ = _pull(tmp_path / "other", name)
    assert result.digest == digest
    store2 = ImageStore(tmp_path / "other/image")
    assert (store2.layer_dirs(store2.resolve(name))[0] / "blob").read_bytes() == payload


def test_pull_twice_reuses_blobs(registry, store, engine_root, tmp_path):
    name = f"{registry.host}/again/app:v1"
    add_test_image(store, name, [{"x": b"1"}])
    _push(store, engine_root, name)
    first, _ = _pull(tmp_path / "o", name)
    second, lines = _pull(tmp_path / "o", name)
    assert first.fresh and not second.fresh
    assert "Already exists" in lines


def test_pull_by_digest_stores_an_unnamed_image(registry, store, engine_root, tmp_path):
    name = f"{registry.host}/bydigest/app:v1"
    image = add_test_image(store, name, [{"x": b"1"}])
    _push(store, engine_root, name)
    result, _ = _pull(tmp_path / "o", f"{registry.host}/bydigest/app@{image.digest}")
    assert result.name is None
    assert ImageStore(tmp_path / "o/image").resolve(image.digest).names == []


def test_unknown_manifest_is_one_clear_line(registry, engine_root):
    with pytest.raises(ManifestUnknown) as err:
        _pull(engine_root, f"{registry.host}/nothing/here:v9")
    assert str(err.value) == f"manifest unknown: {registry.host}/nothing/here:v9"


def test_unreachable_registry(engine_root):
    from support.net import free_port

    host = f"127.0.0.1:{free_port()}"
    with pytest.raises(RegistryUnreachable, match=f"registry {host} is unreachable"):
        _pull(engine_root, f"{host}/app:v1")


def test_tls_to_a_plain_http_registry_says_to_use_insecure(registry, engine_root):
    out = io.StringIO()
    with pytest.raises(RegistryUnreachable, match="--insecure"):
        run(pull(ImageStore(engine_root / "image"), engine_root, f"{registry.host}/app:v1", out, tty=False))


def test_corrupted_blob_is_refused_and_nothing_is_stored(registry, store, engine_root, tmp_path):
    name = f"{registry.host}/bad/app:v1"
    image = add_test_image(store, name, [{"file": b"good content"}])
    _push(store, engine_root, name)
    layer = store.manifest(image)["layers"][0]["digest"]
    data = registry.blob_data(layer)
    data.write_bytes(data.read_bytes().replace(b"good", b"evil"))

    other = ImageStore(tmp_path / "o/image")
    with pytest.raises(DigestMismatch, match=f"expected {layer}"):
        _pull(tmp_path / "o", name)
    with pytest.raises(ImageNotFound):
        other.resolve(name)
    stored = [p.name for p in other.layout.blobs.iterdir()]
    assert layer.removeprefix("sha256:") not in stored
    assert not [n for n in stored if n.startswith(".tmp")]


def test_layer_whose_content_is_not_its_diff_id_is_refused(registry, store, engine_root, tmp_path):
    import gzip

    from portside.image.layout import LAYER_GZIP
    from portside.image.store import LayerRef

    from .helpers import layer_tar

    digest, size = store.layout.write_blob(gzip.compress(layer_tar({"f": b"real"}), mtime=0))
    lying = "sha256:" + "0" * 64
    config = {"architecture": "amd64", "os": "linux", "config": {},
              "rootfs": {"type": "layers", "diff_ids": [lying]}}
    name = f"{registry.host}/liar/app:v1"
    store.add_image(config, [LayerRef(digest, LAYER_GZIP, size, lying)], names=[name])
    _push(store, engine_root, name)
    with pytest.raises(DigestMismatch, match=f"uncompressed layer {digest}: expected {lying}"):
        _pull(tmp_path / "o", name)
    with pytest.raises(ImageNotFound):
        ImageStore(tmp_path / "o/image").resolve(name)
    assert not (tmp_path / "o/image/layers").exists() or not any((tmp_path / "o/image/layers").iterdir())


def test_pull_if_missing_prefers_the_local_store(registry, store, engine_root, tmp_path):
    from support.net import free_port

    from portside.image.registry import pull_if_missing

    local = add_test_image(store, f"127.0.0.1:{free_port()}/only/local:v1", [{"x": b"1"}])
    found = run(pull_if_missing(store, engine_root, local.names[0], io.StringIO()))
    assert found.id == local.id  # no registry listens there: it was never asked

    name = f"{registry.host}/remote/app:v1"
    remote = add_test_image(store, name, [{"y": b"2"}])
    _push(store, engine_root, name)
    other = ImageStore(tmp_path / "o/image")
    assert run(pull_if_missing(other, tmp_path / "o", name, io.StringIO(), insecure=True)).id == remote.id
