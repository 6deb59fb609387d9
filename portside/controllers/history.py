"""ControllerRevisions, pure: the revision history of a controller whose pods carry ``controller-revision-hash``
(a DaemonSet's, which puts the hash there, and a StatefulSet's, which puts the revision's name), as Kubernetes
keeps it, so ``kubectl rollout history|undo`` work.

A revision's ``data`` is a strategic merge patch that puts its pod template back
(``{"spec": {"template": {..., "$patch": "replace"}}}``): ``kubectl rollout undo`` sends exactly that patch to the
owner. The revision whose template equals the owner's is the current one; a template that comes back (an undo)
reuses its old revision, renumbered above every other, rather than making a new one.
"""

from __future__ import annotations

import copy
from typing import Any

from portside.api.models import ControllerRevision, ObjectMeta, OwnerReference, PodTemplateSpec
from portside.controllers.pods import is_terminating
from portside.controllers.rollout import template_hash

HASH_LABEL = "controller-revision-hash"
MAX_PREFIX = 223  # a revision's name is the owner's (cut to this) plus "-" and the hash: within 253


def patch_of(template: PodTemplateSpec) -> dict[str, Any]:
    """The ``data`` of a revision of ``template``."""
    return {"spec": {"template": {**template.to_dict(), "$patch": "replace"}}}


def template_of(revision: ControllerRevision) -> dict[str, Any] | None:
    """The pod template a revision records, as a wire dict (None when its data is not a template patch)."""
    data = revision.data or {}
    template = (data.get("spec") or {}).get("template") if isinstance(data, dict) else None
    if not isinstance(template, dict):
        return None
    return {k: v for k, v in template.items() if k != "$patch"}


def matches(template: PodTemplateSpec, revision: ControllerRevision) -> bool:
    return template_of(revision) == template.to_dict()


def number(revision: ControllerRevision) -> int:
    return revision.revision or 0


def hash_of(revision: ControllerRevision) -> str:
    return (revision.metadata.labels or {}).get(HASH_LABEL, "")


def split(template: PodTemplateSpec, revisions: list[ControllerRevision]
          ) -> tuple[ControllerRevision | None, list[ControllerRevision], list[ControllerRevision]]:
    """(current, duplicates of it, old): the highest-numbered match is current; the other matches (left by
    a race) are duplicates to delete."""
    same = sorted((r for r in revisions if matches(template, r) and not is_terminating(r)), key=number)
    current = same[-1] if same else None
    return current, same[:-1], [r for r in revisions if r not in same]


def next_number(revisions: list[ControllerRevision]) -> int:
    return max((number(r) for r in revisions), default=0) + 1


def new_revision(owner_name: str, namespace: str, template: PodTemplateSpec, ref: OwnerReference,
                 revision: int, collisions: int) -> ControllerRevision:
    """A revision of ``template``, named ``<owner>-<hash>``, labelled like its pods so the owner's selector
    finds it (``kubectl rollout history`` lists revisions by that selector)."""
    hash_ = template_hash(template, collisions)
    labels = {**copy.copy((template.metadata.labels if template.metadata else None) or {}), HASH_LABEL: hash_}
    meta = ObjectMeta(name=f"{owner_name[:MAX_PREFIX]}-{hash_}", namespace=namespace, labels=labels,
                      owner_references=[ref])
    return ControllerRevision(api_version="apps/v1", kind="ControllerRevision", metadata=meta,
                              data=patch_of(template), revision=revision)


def to_delete(old: list[ControllerRevision], live_hashes: set[str], limit: int | None) -> list[ControllerRevision]:
    """Old revisions beyond ``limit`` (10 when unset), lowest number first; one a live pod still runs stays."""
    idle = sorted((r for r in old if hash_of(r) not in live_hashes and not is_terminating(r)), key=number)
    keep = 10 if limit is None else limit
    return idle[:max(0, len(idle) - keep)]
