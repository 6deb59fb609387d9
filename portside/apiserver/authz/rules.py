"""RBAC's rule semantics, pure: whether a rule allows a request, and whether one set of rules covers another.

A rule allows a resource request when it names the verb (or ``*``), the API group (or ``*``), the resource
(``*``, ``pods``, ``pods/log`` for a subresource, or ``*/scale`` for that subresource of anything) and, when it
lists ``resourceNames``, the object's name. A non-resource rule allows a path it names exactly, or any path
under a prefix it ends with ``*``. Rules only ever add: there is no deny.

``covers`` is the escalation check's question: does everything ``servant`` grants fall within ``owner``? Each
servant rule is split into its smallest parts (one verb, one group, one resource, one name or URL) and each
part must be allowed by one owner rule, as Kubernetes' ``validation.Covers`` does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

ALL = "*"


@dataclass(frozen=True, slots=True)
class Rule:
    verbs: frozenset[str]
    groups: frozenset[str]
    resources: frozenset[str]
    names: frozenset[str]
    urls: tuple[str, ...]

    @classmethod
    def of(cls, wire: dict[str, Any]) -> Rule:
        return cls(frozenset(wire.get("verbs") or ()), frozenset(wire.get("apiGroups") or ()),
                   frozenset(wire.get("resources") or ()), frozenset(wire.get("resourceNames") or ()),
                   tuple(wire.get("nonResourceURLs") or ()))

    def to_wire(self) -> dict[str, Any]:
        if self.urls:
            return {"verbs": sorted(self.verbs), "nonResourceURLs": list(self.urls)}
        out: dict[str, Any] = {"verbs": sorted(self.verbs), "apiGroups": sorted(self.groups),
                               "resources": sorted(self.resources)}
        if self.names:
            out["resourceNames"] = sorted(self.names)
        return out

    def verb(self, verb: str) -> bool:
        return verb in self.verbs or ALL in self.verbs

    def resource(self, group: str, resource: str, subresource: str) -> bool:
        if not self.resources or not (group in self.groups or ALL in self.groups):
            return False
        if ALL in self.resources:
            return True
        if not subresource:
            return resource in self.resources
        return f"{resource}/{subresource}" in self.resources or f"*/{subresource}" in self.resources

    def name(self, name: str) -> bool:
        return not self.names or name in self.names

    def url(self, path: str) -> bool:
        return any(u == ALL or u == path or (u.endswith(ALL) and path.startswith(u[:-1])) for u in self.urls)

    def allows_resource(self, verb: str, group: str, resource: str, subresource: str, name: str) -> bool:
        return self.verb(verb) and self.resource(group, resource, subresource) and self.name(name)

    def allows_path(self, verb: str, path: str) -> bool:
        return bool(self.urls) and self.verb(verb) and self.url(path)


def compile_rules(wire: Iterable[dict[str, Any]]) -> tuple[Rule, ...]:
    return tuple(Rule.of(r) for r in wire)


def _parts(rule: Rule) -> Iterable[tuple[str, str, str, str, str]]:
    """(verb, group, resource, name, url): the smallest grants a rule makes."""
    verbs = rule.verbs or {""}
    if rule.urls:
        for verb in verbs:
            for url in rule.urls:
                yield verb, "", "", "", url
        return
    for verb in verbs:
        for group in rule.groups or {""}:
            for resource in rule.resources or {""}:
                for name in rule.names or {""}:
                    yield verb, group, resource, name, ""


def _part_covered(owner: Rule, verb: str, group: str, resource: str, name: str, url: str) -> bool:
    if not (verb in owner.verbs or ALL in owner.verbs):
        return False
    if url:
        return owner.url(url) if owner.urls else False
    if owner.urls or not (group in owner.groups or ALL in owner.groups):
        return False
    if not (ALL in owner.resources or resource in owner.resources):
        base, slash, sub = resource.partition("/")
        if not (slash and base != ALL and f"*/{sub}" in owner.resources):
            return False
    return not owner.names or name in owner.names


def uncovered(owner: Iterable[Rule], servant: Iterable[Rule]) -> list[Rule]:
    """The smallest parts of ``servant`` that no ``owner`` rule allows (empty: ``owner`` covers ``servant``)."""
    owners = list(owner)
    missing = []
    for rule in servant:
        for verb, group, resource, name, url in _parts(rule):
            if not any(_part_covered(o, verb, group, resource, name, url) for o in owners):
                missing.append(Rule(frozenset({verb}), frozenset({group}) if not url else frozenset(),
                                    frozenset({resource}) if not url else frozenset(),
                                    frozenset({name}) if name else frozenset(), (url,) if url else ()))
    return sorted(missing, key=describe)


def describe(rule: Rule) -> str:
    """Kubernetes' compact form, as its escalation refusals list rules."""
    def quoted(values: Iterable[str]) -> str:
        return "[" + ", ".join(f'"{v}"' for v in sorted(values)) + "]"
    if rule.urls:
        return f"{{NonResourceURLs:{quoted(rule.urls)}, Verbs:{quoted(rule.verbs)}}}"
    out = f"{{APIGroups:{quoted(rule.groups)}, Resources:{quoted(rule.resources)}"
    if rule.names:
        out += f", ResourceNames:{quoted(rule.names)}"
    return out + f", Verbs:{quoted(rule.verbs)}}}"
