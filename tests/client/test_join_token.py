"""The join token: k3s' shape, the CA's DER hash, and clear refusals of malformed tokens."""

from __future__ import annotations

import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from portside.client.join import JoinError, ca_hash, new_token, parse_token


def _ca_pem(tmp_path) -> bytes:
    from portside.apiserver import pki
    return open(pki.ensure(str(tmp_path)).ca_cert, "rb").read()


def test_a_new_token_round_trips_and_pins_the_ca_der(tmp_path):
    pem = _ca_pem(tmp_path)
    token = new_token(pem)
    assert parse_token(str(token)) == token and str(token).startswith("K10")
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    assert token.ca_hash == ca_hash(pem) == hashlib.sha256(der).hexdigest()
    assert token.bootstrap == f"{token.token_id}.{token.secret}" and len(token.secret) == 16


@pytest.mark.parametrize("text", ["", "K10abc::abcdef.0123456789abcdef", "K10" + "0" * 64 + "::ABCDEF.0123456789abcdef",
                                  "K10" + "0" * 64 + ":abcdef.0123456789abcdef"])
def test_malformed_tokens_are_refused_without_echoing_the_secret(text):
    with pytest.raises(JoinError, match="invalid join token") as err:
        parse_token(text)
    assert "0123456789abcdef" not in str(err.value)
