"""Name, label and identifier checks with Kubernetes' exact wording.

Each ``is_*`` function returns a list of problems (empty when valid), as k8s.io/apimachinery's
``util/validation`` does, so callers can wrap them into field errors at the right path.
"""

from __future__ import annotations

import re

__all__ = [
    "is_dns1123_subdomain",
    "is_dns1123_label",
    "is_dns1035_label",
    "is_qualified_name",
    "is_label_value",
    "is_env_var_name",
    "is_port_name",
    "is_port_number",
]

_DNS1123_LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = _DNS1123_LABEL + r"(\." + _DNS1123_LABEL + ")*"
_DNS1035_LABEL = "[a-z]([-a-z0-9]*[a-z0-9])?"
_QUALIFIED_NAME = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_VALUE = "(" + _QUALIFIED_NAME + ")?"
_ENV_VAR = "[-._a-zA-Z][-._a-zA-Z0-9]*"
_COMPILED = {
    p: re.compile(p) for p in (_DNS1123_LABEL, _DNS1123_SUBDOMAIN, _DNS1035_LABEL, _QUALIFIED_NAME, _LABEL_VALUE, _ENV_VAR)
}


def _regex_error(what: str, pattern: str, examples: list[str]) -> str:
    shown = ",  or ".join(f"'{e}'" for e in examples)
    return f"{what} (e.g. {shown}, regex used for validation is '{pattern}')"


def _too_long(value: str, limit: int) -> list[str]:
    return [f"must be no more than {limit} characters"] if len(value) > limit else []


def is_dns1123_subdomain(value: str) -> list[str]:
    errs = _too_long(value, 253)
    if not _COMPILED[_DNS1123_SUBDOMAIN].fullmatch(value):
        what = (
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', "
            "and must start and end with an alphanumeric character"
        )
        errs.append(_regex_error(what, _DNS1123_SUBDOMAIN, ["example.com"]))
    return errs


def is_dns1123_label(value: str) -> list[str]:
    errs = _too_long(value, 63)
    if not _COMPILED[_DNS1123_LABEL].fullmatch(value):
        what = (
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
            "and must start and end with an alphanumeric character"
        )
        errs.append(_regex_error(what, _DNS1123_LABEL, ["my-name", "123-abc"]))
    return errs


def is_dns1035_label(value: str) -> list[str]:
    errs = _too_long(value, 63)
    if not _COMPILED[_DNS1035_LABEL].fullmatch(value):
        what = (
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', "
            "start with an alphabetic character, and end with an alphanumeric character"
        )
        errs.append(_regex_error(what, _DNS1035_LABEL, ["my-name", "abc-123"]))
    return errs


def _name_part(name: str) -> list[str]:
    if not name:
        return ["name part must be non-empty"]
    errs = ["name part must be no more than 63 characters"] if len(name) > 63 else []
    if not _COMPILED[_QUALIFIED_NAME].fullmatch(name):
        what = (
            "name part must consist of alphanumeric characters, '-', '_' or '.', "
            "and must start and end with an alphanumeric character"
        )
        errs.append(_regex_error(what, _QUALIFIED_NAME, ["MyName", "my.name", "123-abc"]))
    return errs


def is_qualified_name(value: str) -> list[str]:
    """A label or annotation key: an optional DNS subdomain prefix, '/', and a name part."""
    parts = value.split("/")
    if len(parts) > 2:
        what = (
            "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
            "with an alphanumeric character"
        )
        head = _regex_error(what, _QUALIFIED_NAME, ["MyName", "my.name", "123-abc"])
        return [head + " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"]
    if len(parts) == 1:
        return _name_part(value)
    if not parts[0]:
        return ["prefix part must be non-empty"] + _name_part(parts[1])
    return ["prefix part " + e for e in is_dns1123_subdomain(parts[0])] + _name_part(parts[1])


def is_label_value(value: str) -> list[str]:
    errs = _too_long(value, 63)
    if not _COMPILED[_LABEL_VALUE].fullmatch(value):
        what = (
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', "
            "and must start and end with an alphanumeric character"
        )
        errs.append(_regex_error(what, _LABEL_VALUE, ["MyValue", "my_value", "12345"]))
    return errs


def is_env_var_name(value: str) -> list[str]:
    if _COMPILED[_ENV_VAR].fullmatch(value) and value not in (".", ".."):
        return []
    what = (
        "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', "
        "and must not start with a digit"
    )
    return [_regex_error(what, _ENV_VAR, ["my.env-name", "MY_ENV.NAME", "MyEnvName1"])]


def is_port_name(value: str) -> list[str]:
    """An IANA service name (RFC 6335), which is what container and service port names must be."""
    errs = _too_long(value, 15)
    if not re.fullmatch("[-a-z0-9]+", value):
        errs.append("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")
    if "--" in value:
        errs.append("must not contain consecutive hyphens")
    if not re.search("[a-z]", value):
        errs.append("must contain at least one letter (a-z)")
    if value.startswith("-") or value.endswith("-"):
        errs.append("must not begin or end with a hyphen")
    return errs


def is_port_number(value: int) -> list[str]:
    return [] if 1 <= value <= 65535 else ["must be between 1 and 65535, inclusive"]
