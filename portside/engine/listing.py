"""``ps``: docker's one-line status ("Up 3 seconds (healthy)", "Exited (0) 2 minutes ago"), its list entry and its
filters, over the inspect JSON (``inspect.py``), so the CLI's ``ps`` and the Docker API's list say the same.

Durations read as dockerd's (go-units' ``HumanDuration``): "Less than a second", "About a minute", "3 hours".
"""

from __future__ import annotations

import calendar
import re
import time
from collections.abc import Callable

from portside.runtime.errors import InvalidArgument

ZERO_TIME = "0001-01-01T00:00:00Z"
STATUSES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")
HEALTH = ("starting", "healthy", "unhealthy", "none")
FILTERS = ("id", "name", "label", "status", "ancestor", "exited", "network", "volume", "health", "before",
           "since", "publish", "expose", "is-task")


def unix(stamp: str) -> float:
    """An RFC 3339 time as the engine writes it (UTC, nanoseconds) in seconds since the epoch."""
    whole, _, frac = stamp.rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(whole[:19], "%Y-%m-%dT%H:%M:%S")) + float(f"0.{frac or 0}")


def human_duration(seconds: float) -> str:
    """go-units' HumanDuration, dockerd's words for an age."""
    if seconds < 1:
        return "Less than a second"
    if int(seconds) == 1:
        return "1 second"
    if seconds < 60:
        return f"{int(seconds)} seconds"
    minutes = int(seconds // 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds // 3600) // 24 // 365} years"


def status_text(state: dict, now: float | None = None) -> str:
    """dockerd's ``State.String()`` from inspect's State."""
    now = time.time() if now is None else now
    if state["Status"] == "paused":
        return f"Up {human_duration(now - unix(state['StartedAt']))} (Paused)"
    if state["Status"] == "restarting":
        return f"Restarting ({state['ExitCode']}) {human_duration(now - unix(state['FinishedAt']))} ago"
    if state["Status"] == "running":
        health = (state.get("Health") or {}).get("Status")
        suffix = {"starting": " (health: starting)", "healthy": " (healthy)", "unhealthy": " (unhealthy)"}
        return f"Up {human_duration(now - unix(state['StartedAt']))}{suffix.get(health, '')}"
    if state["StartedAt"] == ZERO_TIME:
        return "Created"
    if state["FinishedAt"] == ZERO_TIME:
        return ""
    return f"Exited ({state['ExitCode']}) {human_duration(now - unix(state['FinishedAt']))} ago"


def command_text(info: dict) -> str:
    """dockerd's Command column: the path, then each argument (quoted when it has a space)."""
    args = [f"'{a}'" if " " in a else a for a in info["Args"]]
    return " ".join([info["Path"], *args]) if args else info["Path"]


def summary(info: dict, now: float | None = None) -> dict:
    """The entry of ``GET /containers/json`` for one container, from its inspect JSON."""
    return {
        "Id": info["Id"], "Names": [info["Name"]], "Image": info["Config"]["Image"], "ImageID": info["Image"],
        "Command": command_text(info), "Created": int(unix(info["Created"])), "Ports": port_list(info),
        "Labels": info["Config"]["Labels"] or {}, "State": info["State"]["Status"],
        "Status": status_text(info["State"], now), "HostConfig": {"NetworkMode": info["HostConfig"]["NetworkMode"]},
        "NetworkSettings": {"Networks": info["NetworkSettings"]["Networks"]}, "Mounts": info["Mounts"],
    }


def port_list(info: dict) -> list[dict]:
    """dockerd's list shape: one entry per binding, and a bare entry for an exposed port that has none."""
    out = []
    for key, bindings in info["NetworkSettings"]["Ports"].items():
        port, _, proto = key.partition("/")
        if not bindings:
            out.append({"PrivatePort": int(port), "Type": proto})
        for b in bindings or ():
            out.append({"IP": b["HostIp"], "PrivatePort": int(port), "PublicPort": int(b["HostPort"]), "Type": proto})
    return out


# -- filters ------------------------------------------------------------------------------------------------

def check_filters(filters: dict[str, list[str]]) -> None:
    """docker's refusals: an unknown filter, a status or health that does not exist, a non-numeric exit code."""
    for key in filters:
        if key not in FILTERS:
            raise InvalidArgument(f"invalid filter '{key}'")
    for value in filters.get("status", ()):
        if value not in STATUSES:
            raise InvalidArgument(f"invalid filter 'status={value}': expected one of {', '.join(STATUSES)}")
    for value in filters.get("health", ()):
        if value not in HEALTH:
            raise InvalidArgument(f"invalid filter 'health={value}': expected one of {', '.join(HEALTH)}")
    for value in filters.get("exited", ()):
        if not value.lstrip("-").isdigit():
            raise InvalidArgument(f"invalid filter 'exited={value}': expected an exit code")
    for key in ("name",):
        for value in filters.get(key, ()):
            try:
                re.compile(value)
            except re.error as exc:
                raise InvalidArgument(f"invalid filter '{key}={value}': {exc}") from None


def matcher(filters: dict[str, list[str]], infos: list[dict],
            image_id: Callable[[str], str | None]) -> Callable[[dict], bool]:
    """A predicate over inspect JSON for docker's list filters: values of one filter are alternatives, filters
    all hold. ``infos``: every container (``before``/``since`` name one); ``image_id``: an image reference's id
    (None when there is no such image) for ``ancestor``."""
    check_filters(filters)
    tests = [_TESTS[key](values, infos, image_id) for key, values in filters.items() if values]
    return lambda info: all(test(info) for test in tests)


def _id(values, infos, image_id):
    return lambda info: any(info["Id"].startswith(v) for v in values)


def _name(values, infos, image_id):
    patterns = [re.compile(v) for v in values]
    return lambda info: any(p.search(info["Name"]) for p in patterns)


def _label(values, infos, image_id):
    def has(labels: dict, wanted: str) -> bool:
        key, eq, value = wanted.partition("=")
        return key in labels and (not eq or labels[key] == value)
    return lambda info: all(has(info["Config"]["Labels"] or {}, v) for v in values)


def _status(values, infos, image_id):
    return lambda info: info["State"]["Status"] in values


def _exited(values, infos, image_id):
    codes = {int(v) for v in values}
    return lambda info: info["State"]["Status"] == "exited" and info["State"]["ExitCode"] in codes


def _health(values, infos, image_id):
    return lambda info: ((info["State"].get("Health") or {}).get("Status") or "none") in values


def _ancestor(values, infos, image_id):
    ids = {i for i in (image_id(v) for v in values) if i}
    return lambda info: info["Image"] in ids or info["Config"]["Image"] in values


def _network(values, infos, image_id):
    def on(info: dict) -> bool:
        nets = info["NetworkSettings"]["Networks"]
        return any(v in nets or any(n["NetworkID"] and n["NetworkID"].startswith(v) for n in nets.values())
                   for v in values)
    return on


def _volume(values, infos, image_id):
    return lambda info: any(m.get("Name") in values or m["Destination"] in values or m["Source"] in values
                            for m in info["Mounts"])


def _created_of(ref: str, infos: list[dict]) -> str:
    for info in infos:
        if info["Id"] == ref or info["Name"] == "/" + ref.lstrip("/"):
            return info["Created"]
    found = [i for i in infos if i["Id"].startswith(ref)]
    if len(found) != 1:
        from portside.runtime.errors import ContainerNotFound

        raise ContainerNotFound(ref)
    return found[0]["Created"]


def _before(values, infos, image_id):
    limit = min(unix(_created_of(v, infos)) for v in values)
    return lambda info: unix(info["Created"]) < limit


def _since(values, infos, image_id):
    limit = max(unix(_created_of(v, infos)) for v in values)
    return lambda info: unix(info["Created"]) > limit


def _ports(key: str):
    def test(values, infos, image_id):
        wanted = {v if "/" in v else f"{v}/tcp" for v in values}

        def has(info: dict) -> bool:
            if key == "expose":
                return bool(wanted & set(info["Config"].get("ExposedPorts") or {}))
            published = {f"{b['HostPort']}/{port.partition('/')[2]}"
                         for port, binds in info["NetworkSettings"]["Ports"].items() for b in binds or ()}
            return bool(wanted & published)
        return has
    return test


def _is_task(values, infos, image_id):
    return lambda info: "false" in values  # no swarm: no container is a task


_TESTS = {"id": _id, "name": _name, "label": _label, "status": _status, "exited": _exited, "health": _health,
          "ancestor": _ancestor, "network": _network, "volume": _volume, "before": _before, "since": _since,
          "publish": _ports("publish"), "expose": _ports("expose"), "is-task": _is_task}
