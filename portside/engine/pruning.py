"""``container prune``'s filters (docker's: ``until`` and ``label``/``label!``) and its size words, shared by the
CLI and the Docker API."""

from __future__ import annotations

import time
from collections.abc import Callable

from portside.runtime.errors import InvalidArgument

PRUNE_FILTERS = ("until", "label", "label!")


def prune_filter(filters: dict[str, list[str]], now: float | None = None) -> Callable[[object], bool]:
    """The containers a prune must keep (a predicate over ``model.Container``): those created after ``until``,
    those without every ``label`` asked for, those with any ``label!`` named."""
    for key in filters:
        if key not in PRUNE_FILTERS:
            raise InvalidArgument(f"invalid filter '{key}' (container prune takes until, label and label!)")
    now = time.time() if now is None else now
    until = min((parse_until(v, now) for v in filters.get("until", ())), default=None)
    wanted, unwanted = filters.get("label", ()), filters.get("label!", ())

    def keep(container) -> bool:
        from portside.engine.listing import unix

        labels = container.record.config.labels
        if until is not None and unix(container.record.created) >= until:
            return True
        if wanted and not all(_has(labels, w) for w in wanted):
            return True
        return any(_has(labels, u) for u in unwanted)
    return keep


def _has(labels: dict[str, str], wanted: str) -> bool:
    key, eq, value = wanted.partition("=")
    return key in labels and (not eq or labels[key] == value)


def parse_until(text: str, now: float) -> float:
    """docker's ``until``: a Unix time (``1700000000[.5]``), an RFC 3339 date or time, or a duration before now
    (``10m``, ``1h30m``)."""
    from portside.runtime import durations

    try:
        return float(text)
    except ValueError:
        pass
    try:
        return now - durations.parse(text) / 1e9
    except ValueError:
        pass
    for form in ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"):
        try:
            import calendar

            return calendar.timegm(time.strptime(text.rstrip("Z")[:19], form))
        except ValueError:
            continue
    raise InvalidArgument(f"invalid filter 'until={text}': expected a Unix time, an RFC 3339 time or a duration "
                          "like 10m")


def human_size(size: float) -> str:
    """go-units' HumanSize (decimal units, four significant digits): what docker prints for reclaimed space."""
    units = ("B", "kB", "MB", "GB", "TB", "PB")
    i = 0
    while size >= 1000 and i < len(units) - 1:
        size /= 1000
        i += 1
    return f"{size:.4g}{units[i]}"
