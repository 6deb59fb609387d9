"""Instructions that only change the image config (no layer): docker's fields, docker's validation.

Each handler takes the instruction, the stage's expansion environment and the config's ``config`` object (a
copy the caller owns), changes it, and returns the text recorded as the history entry's ``created_by`` (which is
also what the layer cache keys on, after expansion).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from portside.image.build.dockerfile import Instruction
from portside.image.build.expand import pairs, word, words

DEFAULT_SHELL = ["/bin/sh", "-c"]
PORT = re.compile(r"^(\d+)(?:-(\d+))?(?:/(tcp|udp|sctp))?$")


@dataclass
class Scope:
    """What an instruction sees: variables for expansion, the escape character, whether CMD was set here."""

    env: dict[str, str]
    escape: str
    cmd_set: bool = False


def command_form(inst: Instruction, config: dict) -> list[str]:
    """The exec form as written, or the shell form wrapped in the stage's SHELL."""
    if inst.form is not None:
        return list(inst.form)
    return list(config.get("Shell") or DEFAULT_SHELL) + [inst.args]


def set_env(config: dict, key: str, value: str) -> None:
    env = [e for e in config.get("Env") or [] if e.split("=", 1)[0] != key]
    config["Env"] = env + [f"{key}={value}"]


def do_env(inst: Instruction, scope: Scope, config: dict) -> str:
    items = pairs(inst, scope.env, scope.escape)
    for key, value in items:
        set_env(config, key, value)
    return "ENV " + " ".join(f"{k}={v}" for k, v in items)


def do_label(inst: Instruction, scope: Scope, config: dict) -> str:
    items = pairs(inst, scope.env, scope.escape)
    config["Labels"] = {**(config.get("Labels") or {}), **dict(items)}
    return "LABEL " + " ".join(f"{k}={v}" for k, v in items)


def do_expose(inst: Instruction, scope: Scope, config: dict) -> str:
    ports = dict(config.get("ExposedPorts") or {})
    added = []
    for item in words(inst, inst.args, scope.env, scope.escape):
        match = PORT.match(item)
        low, high = (int(match.group(1)), int(match.group(2) or match.group(1))) if match else (0, 0)
        if not match or not 0 < low <= high <= 65535:
            raise inst.error(f"EXPOSE: invalid port {item!r} (expected PORT[-PORT][/tcp|udp|sctp], 1-65535)")
        for port in range(low, high + 1):
            key = f"{port}/{match.group(3) or 'tcp'}"
            ports[key] = {}
            added.append(key)
    config["ExposedPorts"] = ports
    return "EXPOSE " + " ".join(added)


def do_user(inst: Instruction, scope: Scope, config: dict) -> str:
    config["User"] = word(inst, inst.args, scope.env, scope.escape)
    return f"USER {config['User']}"


def do_volume(inst: Instruction, scope: Scope, config: dict) -> str:
    paths = inst.form if inst.form is not None else words(inst, inst.args, scope.env, scope.escape)
    if not paths or any(not p.strip() for p in paths):
        raise inst.error("VOLUME: expected one or more non-empty paths")
    config["Volumes"] = {**(config.get("Volumes") or {}), **{p: {} for p in paths}}
    return "VOLUME " + json.dumps(paths)


def do_stopsignal(inst: Instruction, scope: Scope, config: dict) -> str:
    import signal

    sig = word(inst, inst.args, scope.env, scope.escape)
    name = sig.upper() if sig.upper().startswith("SIG") else "SIG" + sig.upper()
    valid = sig.isdigit() and 0 < int(sig) <= 64 or name in signal.Signals.__members__
    if not valid:
        raise inst.error(f"STOPSIGNAL: unknown signal {sig!r} (expected a name like SIGTERM or a number)")
    config["StopSignal"] = sig
    return f"STOPSIGNAL {sig}"


def do_shell(inst: Instruction, scope: Scope, config: dict) -> str:
    if not inst.form:
        raise inst.error('SHELL requires the JSON form, e.g. SHELL ["/bin/bash", "-c"]')
    config["Shell"] = inst.form
    return "SHELL " + json.dumps(inst.form)


def do_cmd(inst: Instruction, scope: Scope, config: dict) -> str:
    config["Cmd"] = command_form(inst, config)
    scope.cmd_set = True
    return "CMD " + json.dumps(config["Cmd"])


def do_entrypoint(inst: Instruction, scope: Scope, config: dict) -> str:
    config["Entrypoint"] = command_form(inst, config) if inst.args else None
    if not scope.cmd_set:
        config["Cmd"] = None  # docker: a new ENTRYPOINT drops the CMD inherited from the base image
    return "ENTRYPOINT " + json.dumps(config["Entrypoint"])


def do_onbuild(inst: Instruction, scope: Scope, config: dict) -> str:
    trigger = inst.args.split(None, 1)[0].upper()
    if trigger in ("ONBUILD", "FROM", "MAINTAINER"):
        raise inst.error(f"ONBUILD: {trigger} is not allowed as a trigger")
    config["OnBuild"] = list(config.get("OnBuild") or []) + [inst.args]
    return f"ONBUILD {inst.args}"


def duration(inst: Instruction, flag: str, text: str) -> int:
    from portside.runtime import durations

    try:
        return durations.parse(text)
    except ValueError:
        raise inst.error(f"HEALTHCHECK --{flag}: invalid duration {text!r} (expected e.g. 30s, 1m30s, 500ms)") from None


def do_healthcheck(inst: Instruction, scope: Scope, config: dict) -> str:
    kind, _, rest = inst.args.partition(" ")
    if kind.upper() == "NONE":
        config["Healthcheck"] = {"Test": ["NONE"]}
        return "HEALTHCHECK NONE"
    if kind.upper() != "CMD" or not rest.strip():
        raise inst.error("HEALTHCHECK: expected 'CMD command...' or 'NONE'")
    check: dict = {}
    for flag, key in (("interval", "Interval"), ("timeout", "Timeout"), ("start-period", "StartPeriod"),
                      ("start-interval", "StartInterval")):
        if flag in inst.flags:
            check[key] = duration(inst, flag, inst.flags[flag])
    if "retries" in inst.flags:
        if not inst.flags["retries"].isdigit():
            raise inst.error(f"HEALTHCHECK --retries: expected a whole number, got {inst.flags['retries']!r}")
        check["Retries"] = int(inst.flags["retries"])
    sub = Instruction("CMD", rest.strip(), inst.line, inst.where, inst.original)
    from portside.image.build.dockerfile import parse_json_form
    parse_json_form(sub)
    check["Test"] = ["CMD"] + sub.form if sub.form is not None else ["CMD-SHELL", sub.args]
    config["Healthcheck"] = check
    return "HEALTHCHECK " + json.dumps(check, sort_keys=True)


def do_maintainer(inst: Instruction, scope: Scope, config: dict) -> str:
    return f"MAINTAINER {inst.args}"  # the author field is set by the builder, outside ``config``


HANDLERS: dict[str, Callable[[Instruction, Scope, dict], str]] = {
    "ENV": do_env, "LABEL": do_label, "EXPOSE": do_expose, "USER": do_user, "VOLUME": do_volume,
    "STOPSIGNAL": do_stopsignal, "SHELL": do_shell, "CMD": do_cmd, "ENTRYPOINT": do_entrypoint,
    "ONBUILD": do_onbuild, "HEALTHCHECK": do_healthcheck, "MAINTAINER": do_maintainer,
}
