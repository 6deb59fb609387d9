"""Small manifests for the API tests, and a helper that returns validation messages as kubectl prints them."""

from __future__ import annotations

import copy
from typing import Any

from portside import api

KINDS = {r.kind: r for r in api.RESOURCES}


def pod(**spec: Any) -> dict[str, Any]:
    base = {"containers": [{"name": "app", "image": "busybox:1.36"}]}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "default"},
            "spec": {**base, **spec}}


def deployment(**spec: Any) -> dict[str, Any]:
    base = {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "my-app"}},
        "template": {"metadata": {"labels": {"app": "my-app"}},
                     "spec": {"containers": [{"name": "my-app", "image": "my-app:latest"}]}},
    }
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "my-app", "namespace": "default"},
            "spec": {**base, **spec}}


def job(**spec: Any) -> dict[str, Any]:
    template = {"spec": {"restartPolicy": "Never", "containers": [{"name": "work", "image": "busybox"}]}}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "batch", "namespace": "default"},
            "spec": {"template": template, **spec}}


def service(**spec: Any) -> dict[str, Any]:
    base = {"selector": {"app": "my-app"}, "ports": [{"port": 80, "targetPort": 5000}]}
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "my-app", "namespace": "default"},
            "spec": {**base, **spec}}


def messages(obj: dict[str, Any]) -> list[str]:
    """Every cause of the Invalid error creating ``obj`` raises, as ``path: message`` strings ([] when valid)."""
    try:
        api.prepare_create(KINDS[obj["kind"]], copy.deepcopy(obj))
    except api.Invalid as exc:
        return [str(c) for c in exc.causes]
    return []


def update_messages(new: dict[str, Any], old: dict[str, Any]) -> list[str]:
    info = KINDS[new["kind"]]
    stored = api.prepare_create(info, copy.deepcopy(old))
    try:
        api.prepare_update(info, copy.deepcopy(new), stored)
    except api.Invalid as exc:
        return [str(c) for c in exc.causes]
    return []


def container(obj: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """``obj`` with its first container's fields updated (pods and pod templates)."""
    spec = obj["spec"]["template"]["spec"] if "template" in obj["spec"] else obj["spec"]
    spec["containers"][0].update(fields)
    return obj
