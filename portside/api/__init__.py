"""Portside's API objects: typed models, quantities, selectors, validation, defaults, patches, tables, OpenAPI.

This package is the bottom floor: it imports nothing else of portside. The API server calls
``prepare_create``/``prepare_update`` on every write and ``apply_patch`` for PATCH; controllers, the agent and the
scheduler read objects through the typed models (``api.models.Pod.from_dict(d)``) and quantities. ``quota``,
``limitrange`` and ``podsecurity`` are the tenancy rules (ResourceQuota arithmetic, LimitRange defaults and
bounds, the Pod Security Standards) that admission and the quota controller share.
"""

from . import limitrange, models, podsecurity, quantity, quota
from .conversion import from_stored, to_stored
from .errors import FieldError, Invalid
from .fieldselectors import FIELD_LABELS, FieldSelector, field_selector
from .openapi import openapi_v2, openapi_v3, openapi_v3_index
from .patch import PATCH_TYPES, PatchError, apply_patch, merge_patch
from .prepare import UnknownFields, decode, prepare_create, prepare_status_update, prepare_update, spec_changed
from .priority import SYSTEM_PRIORITY_CLASSES, PriorityRefused, resolve_priority
from .quantity import QuantityError, canonical, cpu_millis, parse_quantity, to_bytes
from .resources import NODE_METRICS, POD_METRICS, RESOURCES, ResourceInfo, by_kind, lookup
from .selectors import Requirement, Selector, SelectorError, format_label_selector, label_selector, selector_from_object
from .status import apply_scale, qos_class, scale_of
from .tables import table
from .validation import DEPENDS_ON, parse_depends_on

__all__ = [
    "models", "quantity", "quota", "limitrange", "podsecurity",
    "FieldError", "Invalid", "UnknownFields",
    "RESOURCES", "ResourceInfo", "lookup", "by_kind", "POD_METRICS", "NODE_METRICS",
    "from_stored", "to_stored",
    "decode", "prepare_create", "prepare_update", "prepare_status_update", "spec_changed",
    "parse_quantity", "canonical", "cpu_millis", "to_bytes", "QuantityError",
    "Selector", "Requirement", "SelectorError", "label_selector", "selector_from_object", "format_label_selector",
    "FieldSelector", "field_selector", "FIELD_LABELS",
    "scale_of", "apply_scale", "qos_class",
    "apply_patch", "merge_patch", "PatchError", "PATCH_TYPES",
    "table",
    "openapi_v2", "openapi_v3", "openapi_v3_index",
    "DEPENDS_ON", "parse_depends_on",
    "resolve_priority", "PriorityRefused", "SYSTEM_PRIORITY_CLASSES",
]
