"""Pure pieces: platform choice from an index, manifest parsing, saved credentials' file format."""

import json

import pytest

from portside.image.registry import Credentials, CredentialStore, PlatformNotFound, RegistryError
from portside.image.registry import manifest as mf
from portside.runtime.errors import InvalidArgument


def _index(*platforms: dict) -> bytes:
    return json.dumps({"schemaVersion": 2, "mediaType": mf.OCI_INDEX, "manifests": [
        {"mediaType": mf.OCI_MANIFEST, "digest": f"sha256:{i:064x}", "size": 10 + i, "platform": p}
        for i, p in enumerate(platforms)]}).encode()


def test_index_picks_the_host_platform(monkeypatch):
    monkeypatch.setattr(mf, "host_platform", lambda: ("linux", "arm64", "v8"))
    body = _index({"os": "linux", "architecture": "amd64"}, {"os": "windows", "architecture": "arm64"},
                  {"os": "linux", "architecture": "arm64", "variant": "v8"})
    assert mf.select_platform(body, "x").digest == f"sha256:{2:064x}"


def test_index_without_the_host_platform_lists_what_it_has(monkeypatch):
    monkeypatch.setattr(mf, "host_platform", lambda: ("linux", "amd64", ""))
    body = _index({"os": "linux", "architecture": "s390x"}, {"os": "linux", "architecture": "ppc64le"})
    with pytest.raises(PlatformNotFound) as err:
        mf.select_platform(body, "reg/app:v1")
    assert str(err.value) == ("reg/app:v1: no manifest for platform linux/amd64 "
                              "(available: linux/ppc64le, linux/s390x)")


def test_malformed_manifest_is_a_registry_error():
    with pytest.raises(RegistryError, match="not JSON"):
        mf.parse_image_manifest(b"{", mf.OCI_MANIFEST)
    with pytest.raises(RegistryError, match="malformed"):
        mf.parse_image_manifest(b'{"config": {}}', mf.OCI_MANIFEST)


def test_media_type_prefers_the_documents_own():
    body = json.dumps({"mediaType": mf.DOCKER_MANIFEST}).encode()
    assert mf.media_type_of(body, "application/json") == mf.DOCKER_MANIFEST
    assert mf.media_type_of(b"{}", f"{mf.OCI_INDEX}; charset=utf-8") == mf.OCI_INDEX


def test_credentials_file_is_dockers_shape(tmp_path):
    store = CredentialStore(tmp_path)
    store.save("127.0.0.1:5000", Credentials("u", "p:with:colons"))
    doc = json.loads((tmp_path / "auth.json").read_text())
    assert doc == {"auths": {"127.0.0.1:5000": {"auth": "dTpwOndpdGg6Y29sb25z"}}}
    assert store.get("127.0.0.1:5000") == Credentials("u", "p:with:colons")
    assert store.get("elsewhere") is None


@pytest.mark.parametrize("content, fragment", [
    ("{", "not a readable JSON credentials file"),
    ('{"auths": []}', 'expected an object with an "auths" object'),
    ('{"auths": {"h": {"auth": "!!"}}}', "auths.h.auth must be base64 of USER:PASSWORD"),
])
def test_a_broken_credentials_file_is_named(tmp_path, content, fragment):
    (tmp_path / "auth.json").write_text(content)
    with pytest.raises(InvalidArgument) as err:
        CredentialStore(tmp_path).get("h")
    assert str(tmp_path / "auth.json") in str(err.value) and fragment in str(err.value)
