"""A small docker-style flag parser for the container commands.

Hand-written rather than argparse for two reasons: ``portside run`` is timed against raw runc and argparse costs
about 10 ms to import, and docker's syntax has habits argparse does not share (``-dit`` bundles, ``-eK=V``,
options ending at the image name so that ``run IMG sh -c ...`` passes ``-c`` to the container). Errors name the
command and the flag, in one line.
"""

from __future__ import annotations

import sys

from portside.runtime.errors import InvalidArgument
from portside.runtime.plain import Plain


class Flag(Plain):
    __slots__ = ("names", "dest", "kind", "help", "metavar")

    def __init__(self, names: tuple[str, ...], dest: str, kind: str = "bool", help: str = "",
                 metavar: str = "") -> None:
        self.names, self.dest, self.help, self.metavar = names, dest, help, metavar
        self.kind = kind  # bool | value | list | optional (a value only with "=": --flag or --flag=VALUE)


class HelpRequested(Exception):
    """``--help`` was given: the usage text has been printed, the command exits 0."""


class Parser:
    def __init__(self, command: str, usage: str, flags: list[Flag], interspersed: bool = False) -> None:
        self.command = command
        self.usage = usage
        self.flags = flags
        self.by_name = {n: f for f in flags for n in f.names}
        self.interspersed = interspersed  # False: the first positional ends the options (run IMAGE CMD...)

    def parse(self, argv: list[str]) -> tuple[dict, list[str]]:
        opts: dict = {f.dest: [] if f.kind == "list" else (False if f.kind == "bool" else None) for f in self.flags}
        args: list[str] = []
        rest = list(argv)
        while rest:
            arg = rest.pop(0)
            if arg == "--":
                args += rest
                break
            if arg == "--help" or (arg == "-h" and "-h" not in self.by_name):
                sys.stdout.write(self.help())
                raise HelpRequested()
            if arg.startswith("-") and arg != "-":
                self._option(arg, rest, opts)
            else:
                args.append(arg)
                if not self.interspersed:
                    args += rest
                    break
        return opts, args

    def _option(self, arg: str, rest: list[str], opts: dict) -> None:
        if arg.startswith("--"):
            name, eq, value = arg.partition("=")
            self._set(self._flag(name), value if eq else None, rest, opts)
            return
        for i, letter in enumerate(arg[1:], 1):  # -dit, -eK=V, -p8080:80
            flag = self._flag("-" + letter)
            if flag.kind != "bool":
                inline = arg[i + 1:].removeprefix("=")
                self._set(flag, inline or None, rest, opts)
                return
            self._set(flag, None, rest, opts)

    def _flag(self, name: str) -> Flag:
        try:
            return self.by_name[name]
        except KeyError:
            raise InvalidArgument(f"{self.command}: unknown flag: {name}") from None

    def _set(self, flag: Flag, value: str | None, rest: list[str], opts: dict) -> None:
        if flag.kind == "bool":
            if value not in (None, "true", "false"):
                raise InvalidArgument(f"{self.command}: flag {flag.names[-1]} takes no value (got {value!r})")
            opts[flag.dest] = value != "false"
            return
        if flag.kind == "optional":
            opts[flag.dest] = value or ""  # given without a value: "" (not given at all stays None)
            return
        if value is None:
            if not rest:
                raise InvalidArgument(f"{self.command}: flag needs an argument: {flag.names[-1]}")
            value = rest.pop(0)
        if flag.kind == "list":
            opts[flag.dest].append(value)
        else:
            opts[flag.dest] = value

    def help(self) -> str:
        lines = [f"usage: portside {self.command} {self.usage}", "", "Options:"]
        for f in self.flags:
            value = f"[={f.metavar or f.dest.upper()}]" if f.kind == "optional" else f" {f.metavar or f.dest.upper()}"
            names = ", ".join(f.names) + (value if f.kind != "bool" else "")
            lines.append(f"  {names:<28} {f.help}")
        return "\n".join(lines) + "\n"


def flag(names: str, dest: str, kind: str = "bool", help: str = "", metavar: str = "") -> Flag:
    return Flag(tuple(names.split()), dest, kind, help, metavar)
