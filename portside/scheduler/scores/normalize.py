"""Turning raw plugin scores into 0-100, as kube-scheduler's NormalizeScore does."""

from __future__ import annotations

import numpy as np


def to_max(raw: np.ndarray) -> np.ndarray:
    """Scale so the best node gets 100 (all zero stays zero)."""
    top = raw.max() if raw.size else 0
    return raw * (100.0 / top) if top > 0 else np.zeros(raw.shape)


def reverse(raw: np.ndarray) -> np.ndarray:
    """Fewer is better: the node with the least gets 100."""
    top = raw.max() if raw.size else 0
    return 100.0 - raw * (100.0 / top) if top > 0 else np.full(raw.shape, 100.0)


def min_max(raw: np.ndarray) -> np.ndarray:
    """Span the range: worst 0, best 100 (negative raw scores, as anti-affinity gives, included)."""
    if raw.size == 0:
        return raw.astype(float)
    lo, hi = raw.min(), raw.max()
    return (raw - lo) * (100.0 / (hi - lo)) if hi > lo else np.zeros(raw.shape)
