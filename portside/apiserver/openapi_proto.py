"""The ``/openapi/v2`` document in the protobuf form kubectl asks for: gnostic's ``openapi.v2.Document``.

kubectl validates on the client what it cannot hand to the server's field validation - a ``kind: List`` above all,
which ``kubectl get -o yaml`` of several objects produces. For that it requests ``/openapi/v2`` as
``application/com.github.proto-openapi.spec.v2@v1.0+protobuf`` and parses the answer as the ``Document`` message of
gnostic's published ``OpenAPIv2.proto`` (field numbers below follow it); a JSON answer fails there with "proto:
cannot parse invalid wire-format data". It then finds each item's schema by ``x-kubernetes-group-version-kind`` and
checks unknown fields, required fields and JSON types against ``definitions``.

Vendor extensions (``x-`` keys) become ``NamedAny`` entries whose value is YAML text: kubectl parses that text to
read the group-version-kinds and the patch merge keys. Every other key of the JSON document must be described here:
an unknown key raises instead of vanishing, because a dropped ``required`` or ``properties`` would silently change
what kubectl accepts (the test suite encodes the whole served document).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

from portside.apiserver import protobuf as pb

__all__ = ["MEDIA_TYPES", "UnsupportedKey", "encode"]

# What clients send in Accept: kube-openapi serves both names, kubectl 1.32 asks for the first.
MEDIA_TYPES = ("application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
               "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")

S, B, I, D, STRINGS = "string", "bool", "int", "double", "strings"
Fields = dict[str, tuple[int, str]]

# The parameter sub-schemas come in two numberings: header and path put ``type`` at 5, query and formData (which
# have ``allowEmptyValue`` at 5) put it at 6.
_HEADER_OR_PATH: Fields = {"required": (1, B), "in": (2, S), "description": (3, S), "name": (4, S),
                           "type": (5, S), "format": (6, S), "uniqueItems": (19, B)}
_QUERY_OR_FORM: Fields = {"required": (1, B), "in": (2, S), "description": (3, S), "name": (4, S),
                          "allowEmptyValue": (5, B), "type": (6, S), "format": (7, S), "uniqueItems": (20, B)}

# message -> ({json key: (field number, type)}, vendor extension field); a type is a scalar (S, B, I, D), STRINGS
# (repeated string), a message name, or "[Name]" for a repeated message.
MESSAGES: dict[str, tuple[Fields, int]] = {
    "Document": ({"swagger": (1, S), "info": (2, "Info"), "host": (3, S), "basePath": (4, S),
                  "schemes": (5, STRINGS), "consumes": (6, STRINGS), "produces": (7, STRINGS),
                  "paths": (8, "Paths"), "definitions": (9, "Definitions")}, 16),
    "Info": ({"title": (1, S), "version": (2, S), "description": (3, S)}, 7),
    "PathItem": ({"$ref": (1, S), "get": (2, "Operation"), "put": (3, "Operation"), "post": (4, "Operation"),
                  "delete": (5, "Operation"), "options": (6, "Operation"), "head": (7, "Operation"),
                  "patch": (8, "Operation"), "parameters": (9, "[ParametersItem]")}, 10),
    "Operation": ({"tags": (1, STRINGS), "summary": (2, S), "description": (3, S), "operationId": (5, S),
                   "produces": (6, STRINGS), "consumes": (7, STRINGS), "parameters": (8, "[ParametersItem]"),
                   "responses": (9, "Responses"), "schemes": (10, STRINGS), "deprecated": (11, B)}, 13),
    "Response": ({"description": (1, S), "schema": (2, "SchemaItem")}, 5),
    "Schema": ({"$ref": (1, S), "format": (2, S), "title": (3, S), "description": (4, S), "default": (5, "Any"),
                "maximum": (7, D), "minimum": (9, D), "maxLength": (11, I), "minLength": (12, I),
                "pattern": (13, S), "uniqueItems": (16, B), "required": (19, STRINGS), "enum": (20, "[Any]"),
                "additionalProperties": (21, "AdditionalPropertiesItem"), "type": (22, "TypeItem"),
                "items": (23, "ItemsItem"), "allOf": (24, "[Schema]"), "properties": (25, "Properties"),
                "readOnly": (27, B), "example": (30, "Any")}, 31),
    "BodyParameter": ({"description": (1, S), "name": (2, S), "in": (3, S), "required": (4, B),
                       "schema": (5, "Schema")}, 6),
    "HeaderParameterSubSchema": (_HEADER_OR_PATH, 22),
    "PathParameterSubSchema": (_HEADER_OR_PATH, 22),
    "QueryParameterSubSchema": (_QUERY_OR_FORM, 23),
    "FormDataParameterSubSchema": (_QUERY_OR_FORM, 23),
}
# JSON objects of named things -> (field of the Named* entries, entry value type, vendor extension field or 0)
MAPS: dict[str, tuple[int, str, int]] = {
    "Definitions": (1, "Schema", 0), "Properties": (1, "Schema", 0), "Paths": (2, "PathItem", 1),
    "Responses": (1, "ResponseValue", 2),
}
# NonBodyParameter's oneof, by the parameter's ``in``
_NON_BODY = {"header": (1, "HeaderParameterSubSchema"), "formData": (2, "FormDataParameterSubSchema"),
             "query": (3, "QueryParameterSubSchema"), "path": (4, "PathParameterSubSchema")}


class UnsupportedKey(ValueError):
    """A key of the JSON document this encoder has no field for; the message names its JSON path."""


def encode(document: dict[str, Any]) -> bytes:
    """The serialized ``openapi.v2.Document`` of a Swagger 2.0 document in its JSON form."""
    return _body("Document", document, "")


def _body(kind: str, value: Any, path: str) -> bytes:
    """The encoded body of one message of type ``kind``."""
    if kind in _SPECIAL:
        return _SPECIAL[kind](value, path)
    if kind in MAPS:
        return _named(kind, value, path)
    return _message(kind, value, path)


def _message(kind: str, obj: dict[str, Any], path: str) -> bytes:
    fields, vendor = MESSAGES[kind]
    out = []
    for key, value in obj.items():
        if key.startswith("x-"):
            out.append(pb.field(vendor, _named_any(key, value)))
        elif key in fields:
            number, type_ = fields[key]
            out.append(_field(number, type_, value, f"{path}.{key}"))
        else:
            raise UnsupportedKey(f"{path or '.'}: no {kind} field for {key!r}")
    return b"".join(out)


def _field(number: int, type_: str, value: Any, path: str) -> bytes:
    """A field of any type; repeated ones are one field per element, as proto3 does for messages and strings."""
    if type_ == STRINGS:
        return b"".join(pb.field(number, str(item)) for item in value)
    if type_.startswith("["):
        return b"".join(pb.field(number, _body(type_[1:-1], item, f"{path}[{i}]")) for i, item in enumerate(value))
    if type_ == S:
        return pb.field(number, str(value))
    if type_ == D:
        return pb.field(number, float(value))
    if type_ in (B, I):
        return pb.field(number, int(value))
    return pb.field(number, _body(type_, value, path))


def _named(kind: str, obj: dict[str, Any], path: str) -> bytes:
    """A JSON object of named entries: each one a ``Named*`` message (name 1, value 2); ``x-`` keys aside."""
    entry_field, value_type, vendor = MAPS[kind]
    out = []
    for name, value in obj.items():
        if vendor and name.startswith("x-"):
            out.append(pb.field(vendor, _named_any(name, value)))
            continue
        entry = pb.field(1, name) + pb.field(2, _body(value_type, value, f"{path}[{name!r}]"))
        out.append(pb.field(entry_field, entry))
    return b"".join(out)


def _yaml(value: Any) -> str:
    """YAML text of an extension's value, block style and in key order as gnostic writes it (no ``...`` end)."""
    text = yaml.safe_dump(value, default_flow_style=False, sort_keys=False)
    return text.removesuffix("...\n")


def _any(value: Any, path: str) -> bytes:
    return pb.field(2, _yaml(value))


def _named_any(name: str, value: Any) -> bytes:
    return pb.field(1, name) + pb.field(2, _any(value, name))


def _type_item(value: str | list[str], path: str) -> bytes:
    return _field(1, STRINGS, [value] if isinstance(value, str) else value, path)


def _items_item(value: dict[str, Any] | list[dict[str, Any]], path: str) -> bytes:
    return _field(1, "[Schema]", [value] if isinstance(value, dict) else value, path)


def _additional_properties(value: dict[str, Any] | bool, path: str) -> bytes:
    """A oneof: a schema for the values (field 1) or ``false``/``true`` (field 2)."""
    if isinstance(value, bool):
        return pb.field(2, value)
    return pb.field(1, _body("Schema", value, path))


def _parameters_item(value: dict[str, Any], path: str) -> bytes:
    """A oneof: a parameter (field 1) or a ``$ref`` to one in the document's ``parameters`` (field 2)."""
    if "$ref" in value:
        return pb.field(2, pb.field(1, value["$ref"]))
    return pb.field(1, _parameter(value, path))


def _parameter(value: dict[str, Any], path: str) -> bytes:
    """``in: body`` is a BodyParameter (field 1); the others a NonBodyParameter (field 2) chosen by ``in``."""
    where = value.get("in", "")
    if where == "body":
        return pb.field(1, _message("BodyParameter", value, path))
    if where not in _NON_BODY:
        raise UnsupportedKey(f"{path}: parameter in {where!r}")
    number, kind = _NON_BODY[where]
    return pb.field(2, pb.field(number, _message(kind, value, path)))


def _wrapped(number: int, kind: str) -> Callable[[Any, str], bytes]:
    """A oneof holder whose only used member is message ``kind`` at ``number`` (SchemaItem, ResponseValue)."""
    return lambda value, path: pb.field(number, _body(kind, value, path))


_SPECIAL: dict[str, Callable[[Any, str], bytes]] = {
    "Any": _any, "TypeItem": _type_item, "ItemsItem": _items_item,
    "AdditionalPropertiesItem": _additional_properties, "ParametersItem": _parameters_item,
    "SchemaItem": _wrapped(1, "Schema"), "ResponseValue": _wrapped(1, "Response"),
}
