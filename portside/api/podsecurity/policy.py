"""Which Pod Security level and version apply: a namespace's ``pod-security.kubernetes.io/*`` labels over the
server's defaults, and the server's configuration (defaults and exemptions).

A level is ``privileged``, ``baseline`` or ``restricted``; a version is ``latest`` or ``v1.N`` (the standards as
Kubernetes 1.N defined them). Each of the three modes - ``enforce`` (refuse), ``warn`` (a warning to the client),
``audit`` (a line in the server's log) - has a level and a version. An invalid enforce label fails closed (it
reads as ``restricted:latest``), an invalid warn or audit level fails open (``privileged``), and since
Kubernetes 1.26 a namespace that sets only ``enforce`` is warned at that level too (so a Deployment whose pods
would be refused says so when it is created).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import FieldError, invalid

__all__ = [
    "LEVELS", "LATEST_MINOR", "LABEL_PREFIX", "MODES", "Version", "LevelVersion", "Policy", "Config", "ConfigError",
    "policy_from_labels", "load_config", "compare_levels",
]

LEVELS = ("privileged", "baseline", "restricted")
MODES = ("enforce", "audit", "warn")
LABEL_PREFIX = "pod-security.kubernetes.io/"
LATEST_MINOR = 32  # ``latest`` is the standards of the Kubernetes version this server speaks (discovery's 1.32)
_LEVEL_MESSAGE = "must be one of " + ", ".join(LEVELS)
_VERSION_MESSAGE = 'must be "latest" or "v1.x"'
_VERSION = re.compile(r"v1\.(0|[1-9][0-9]*)")


@dataclass(frozen=True)
class Version:
    """``minor`` None is ``latest``."""

    minor: int | None = None

    def __str__(self) -> str:
        return "latest" if self.minor is None else f"v1.{self.minor}"

    @property
    def effective(self) -> int:
        """The minor version whose standards apply (latest, and anything newer than it, is LATEST_MINOR)."""
        return LATEST_MINOR if self.minor is None else min(self.minor, LATEST_MINOR)


@dataclass(frozen=True)
class LevelVersion:
    level: str = "privileged"
    version: Version = Version()

    def __str__(self) -> str:
        return f"{self.level}:{self.version}"


@dataclass(frozen=True)
class Policy:
    enforce: LevelVersion = LevelVersion()
    audit: LevelVersion = LevelVersion()
    warn: LevelVersion = LevelVersion()


def compare_levels(a: str, b: str) -> int:
    """-1, 0 or 1 as ``a`` is less strict than, as strict as, or stricter than ``b``."""
    return (LEVELS.index(a) > LEVELS.index(b)) - (LEVELS.index(a) < LEVELS.index(b))


def parse_level(text: str) -> str | None:
    return text if text in LEVELS else None


def parse_version(text: str) -> Version | None:
    if text == "latest":
        return Version()
    match = _VERSION.fullmatch(text)
    return Version(int(match[1])) if match else None


def _label_error(label: str, value: str, message: str) -> FieldError:
    return invalid(f"metadata.labels[{label}]", value, message)


def _mode(labels: dict[str, str], mode: str, current: LevelVersion, fail_level: str,
          errs: list[FieldError]) -> LevelVersion:
    level, version = current.level, current.version
    key = LABEL_PREFIX + mode
    if key in labels:
        level = parse_level(labels[key]) or fail_level
        if parse_level(labels[key]) is None:
            errs.append(_label_error(key, labels[key], _LEVEL_MESSAGE))
    if key + "-version" in labels:
        version = parse_version(labels[key + "-version"]) or Version()
        if parse_version(labels[key + "-version"]) is None:
            errs.append(_label_error(key + "-version", labels[key + "-version"], _VERSION_MESSAGE))
    return LevelVersion(level, version)


def policy_from_labels(labels: dict[str, str] | None, defaults: Policy = Policy()) -> tuple[Policy, list[FieldError]]:
    """The namespace's policy, and what is wrong with its labels (the policy is usable either way)."""
    if not labels or not any(k.startswith(LABEL_PREFIX) for k in labels):
        return defaults, []  # the common case, on every pod create: no Pod Security labels
    errs: list[FieldError] = []
    enforce = _mode(labels, "enforce", defaults.enforce, "restricted", errs)
    audit = _mode(labels, "audit", defaults.audit, "privileged", errs)
    warn = _mode(labels, "warn", defaults.warn, "privileged", errs)
    enforce_set = parse_level(labels.get(LABEL_PREFIX + "enforce", "")) is not None
    if enforce_set and LABEL_PREFIX + "warn" not in labels and compare_levels(enforce.level, warn.level) > 0:
        keep_version = LABEL_PREFIX + "warn-version" in labels
        warn = LevelVersion(enforce.level, warn.version if keep_version else enforce.version)
    return Policy(enforce, audit, warn), errs


# -- the server's configuration --------------------------------------------------------------------------------

class ConfigError(ValueError):
    """A PodSecurityConfiguration that cannot be used; the message names the field."""


@dataclass(frozen=True)
class Config:
    """Defaults for unlabelled namespaces and what is exempt (checked by user name, namespace, runtime class).
    Kubernetes' defaults: everything privileged, nothing exempt."""

    defaults: Policy = Policy()
    usernames: frozenset[str] = field(default_factory=frozenset)
    namespaces: frozenset[str] = field(default_factory=frozenset)
    runtime_classes: frozenset[str] = field(default_factory=frozenset)


def _config_body(doc: dict[str, Any]) -> dict[str, Any]:
    """A PodSecurityConfiguration, alone or as the PodSecurity plugin's configuration in an AdmissionConfiguration."""
    if doc.get("kind") == "AdmissionConfiguration":
        for plugin in doc.get("plugins") or []:
            if plugin.get("name") == "PodSecurity":
                return plugin.get("configuration") or {}
        raise ConfigError("plugins: the AdmissionConfiguration has no PodSecurity plugin")
    if doc.get("kind", "PodSecurityConfiguration") != "PodSecurityConfiguration":
        raise ConfigError(f'kind: expected PodSecurityConfiguration or AdmissionConfiguration, not "{doc["kind"]}"')
    return doc


def _config_mode(defaults: dict[str, Any], mode: str) -> LevelVersion:
    level, version = str(defaults.get(mode, "privileged")), str(defaults.get(f"{mode}-version", "latest"))
    if parse_level(level) is None:
        raise ConfigError(f'defaults.{mode}: Invalid value: "{level}": {_LEVEL_MESSAGE}')
    if parse_version(version) is None:
        raise ConfigError(f'defaults.{mode}-version: Invalid value: "{version}": {_VERSION_MESSAGE}')
    return LevelVersion(level, parse_version(version))


def _names(exemptions: dict[str, Any], key: str) -> frozenset[str]:
    values = exemptions.get(key) or []
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise ConfigError(f"exemptions.{key}: expected a list of non-empty names")
    return frozenset(values)


def load_config(doc: dict[str, Any]) -> Config:
    """The configuration in a parsed YAML or JSON document; raises ConfigError."""
    if not isinstance(doc, dict):
        raise ConfigError("expected a PodSecurityConfiguration object")
    body = _config_body(doc)
    defaults = body.get("defaults") or {}
    exemptions = body.get("exemptions") or {}
    policy = Policy(*(_config_mode(defaults, mode) for mode in MODES))
    return replace(Config(policy), usernames=_names(exemptions, "usernames"),
                   namespaces=_names(exemptions, "namespaces"), runtime_classes=_names(exemptions, "runtimeClasses"))
