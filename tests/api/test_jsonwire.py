"""The hot path's JSON: what the standard library takes is taken, and errors read as the standard library's."""

from __future__ import annotations

import dataclasses
import json

import pytest

from portside.api import jsonwire
from portside.api.models import ConfigMap, ObjectMeta


def test_round_trip_is_compact_and_keeps_utf8_and_key_order() -> None:
    obj = {"metadata": {"name": "é", "labels": {"b": "1", "a": "2"}}, "n": [1, 2.5, None, True]}
    out = jsonwire.dumps(obj)
    assert out == '{"metadata":{"name":"é","labels":{"b":"1","a":"2"}},"n":[1,2.5,null,true]}'.encode()
    assert jsonwire.loads(out) == obj


def test_what_orjson_refuses_falls_back_to_the_standard_library() -> None:
    assert jsonwire.dumps({"big": 2**70}) == b'{"big":1180591620717411303424}'
    assert jsonwire.dumps({1: "x"}) == b'{"1":"x"}'  # a non-string key, as json.dumps writes it
    assert jsonwire.loads("NaN") != jsonwire.loads("NaN")  # json's extension, accepted as before


def test_a_malformed_document_raises_the_standard_librarys_error() -> None:
    with pytest.raises(json.JSONDecodeError, match="Expecting property name enclosed in double quotes"):
        jsonwire.loads(b"{bad")


def test_models_and_other_dataclasses_go_through_default_as_with_json() -> None:
    cm = ConfigMap(metadata=ObjectMeta(name="a"), data={"k": "v"})
    assert jsonwire.loads(jsonwire.dumps({"body": cm}, default=lambda m: m.to_dict())) == \
        {"body": {"metadata": {"name": "a"}, "data": {"k": "v"}}}

    @dataclasses.dataclass
    class Plain:
        x: int

    with pytest.raises(TypeError):
        jsonwire.dumps(Plain(1))  # json.dumps refuses it too: no silent rendering of attributes
