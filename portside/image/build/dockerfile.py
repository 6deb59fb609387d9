"""Dockerfile parsing: logical lines with their line numbers, instructions, flags and the JSON (exec) form.

Follows docker's reader: parser directives (``# escape=``) only at the very top; comment lines dropped even inside
a continuation; a line ending in the escape character continues on the next; the instruction word is
case-insensitive.  Every error names ``FILE:LINE`` so the author can go straight to it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from portside.image.errors import ImageError

KNOWN = frozenset({"FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
                   "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL"})
JSON_FORMS = frozenset({"RUN", "CMD", "ENTRYPOINT", "SHELL", "COPY", "ADD", "VOLUME"})
FLAGS = {"FROM": {"platform"}, "COPY": {"from", "chown", "chmod", "link"}, "ADD": {"chown", "chmod", "link"},
         "RUN": {"network"}, "HEALTHCHECK": {"interval", "timeout", "start-period",
                                                                   "start-interval", "retries"}}
DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9_-]*)\s*=\s*(.*?)\s*$")


class DockerfileError(ImageError):
    """A Dockerfile problem; the message starts with ``FILE:LINE:``."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where


@dataclass
class Instruction:
    """One instruction. ``args`` is the text after the flags; ``form`` is the parsed JSON list for exec form."""

    cmd: str
    args: str
    line: int
    where: str
    original: str
    flags: dict[str, str] = field(default_factory=dict)
    form: list[str] | None = None

    def error(self, message: str) -> DockerfileError:
        return DockerfileError(self.where, message)


def directives(lines: list[str]) -> tuple[dict[str, str], int]:
    """Leading ``# key=value`` directives and the index of the first line after them."""
    found: dict[str, str] = {}
    for n, line in enumerate(lines):
        match = DIRECTIVE.match(line.strip())
        if not match or match.group(1).lower() in found:
            return found, n
        found[match.group(1).lower()] = match.group(2)
    return found, len(lines)


def logical_lines(text: str, escape: str, start: int) -> list[tuple[int, str]]:
    """(first line number, joined text) for each instruction, continuations folded and comments removed."""
    out, pending, first = [], "", 0
    for n, raw in enumerate(text.splitlines()[start:], start + 1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and pending):
            continue
        if not stripped:
            continue
        if not pending:
            first = n
        body = raw.rstrip()
        if body.endswith(escape):
            pending += body[:-1]
            continue
        out.append((first, (pending + raw).strip()))
        pending = ""
    if pending.strip():
        out.append((first, pending.strip()))
    return out


def split_flags(inst: Instruction) -> None:
    """Peel ``--name=value`` flags off the front of the arguments, refusing ones the instruction lacks."""
    allowed = FLAGS.get(inst.cmd, set())
    while inst.args.startswith("--"):
        word, _, rest = inst.args.partition(" ")
        name, eq, value = word[2:].partition("=")
        if name not in allowed:
            raise inst.error(f"{inst.cmd} does not take the flag --{name}"
                             + (f" (it takes {', '.join('--' + f for f in sorted(allowed))})" if allowed else ""))
        inst.flags[name] = value if eq else "true"
        inst.args = rest.strip()


def parse_json_form(inst: Instruction) -> None:
    """Arguments that look like a JSON array must be one, of strings (docker would quietly run them in a shell)."""
    text = inst.args
    if inst.cmd not in JSON_FORMS or not text.startswith("["):
        return
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise inst.error(f"{inst.cmd}: malformed JSON form {text!r} ({exc.msg} at column {exc.colno})") from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise inst.error(f"{inst.cmd}: the JSON form must be an array of strings, got {text!r}")
    inst.form = value


def parse_instruction(where: str, line: int, text: str) -> Instruction:
    word, _, rest = text.partition(" ") if " " in text else text.partition("\t")
    cmd = word.upper()
    inst = Instruction(cmd, rest.strip(), line, where, text)
    if cmd not in KNOWN:
        raise inst.error(f"unknown instruction: {word}")
    split_flags(inst)
    parse_json_form(inst)
    if not inst.args and cmd not in ("RUN", "CMD", "ENTRYPOINT"):
        raise inst.error(f"{cmd} requires at least one argument")
    return inst


def parse(text: str, name: str = "Dockerfile") -> tuple[list[Instruction], str]:
    """All instructions of a Dockerfile, and its escape character."""
    lines = text.splitlines()
    found, start = directives(lines)
    escape = found.get("escape", "\\")
    if escape not in ("\\", "`"):
        raise DockerfileError(f"{name}:1", f"escape directive must be '\\' or '`', got {escape!r}")
    instructions = [parse_instruction(f"{name}:{n}", n, t) for n, t in logical_lines(text, escape, start)]
    if not instructions:
        raise DockerfileError(f"{name}:1", "the Dockerfile has no instructions")
    return instructions, escape
