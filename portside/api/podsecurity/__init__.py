"""The Pod Security Standards (privileged, baseline, restricted) as pure functions: a namespace's policy from
its labels, a pod's violations at a level and version, in Kubernetes' words. The API server's admission applies
them (``portside.apiserver.podsecurity``)."""

from .baseline import Violation
from .evaluate import TEMPLATE_KINDS, evaluate, forbidden_detail, forbidden_reason, pod_template
from .policy import (
    LABEL_PREFIX,
    LATEST_MINOR,
    LEVELS,
    Config,
    ConfigError,
    LevelVersion,
    Policy,
    Version,
    compare_levels,
    load_config,
    policy_from_labels,
)

__all__ = [
    "Violation", "evaluate", "forbidden_detail", "forbidden_reason", "pod_template", "TEMPLATE_KINDS",
    "LABEL_PREFIX", "LATEST_MINOR", "LEVELS", "Config", "ConfigError", "LevelVersion", "Policy", "Version",
    "compare_levels", "load_config", "policy_from_labels",
]
