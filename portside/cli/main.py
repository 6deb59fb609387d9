"""Entry point of the ``portside`` command.

Start-up time matters: ``portside run --rm IMG true`` is measured against raw ``runc run``. So this module imports
nothing beyond ``os`` and ``sys``; each command's module is imported only when that command is called, and each
command parses its own arguments.
"""

import os
import sys

USAGE = """usage: portside [--root DIR] COMMAND [ARG...]

Containers:  run create start stop kill restart rm ps logs exec wait inspect port stats volume
Images:      build images image tag rmi history save load import pull push login logout bootstrap builder
Cluster:     up down top
Scheduling:  sim

Global options:
  --root DIR    engine state (images, containers, volumes); default $PORTSIDE_ROOT or /var/lib/portside

Run 'portside COMMAND --help' for a command's options.
"""

# command name -> (module, function). Each function takes (argv: list[str], root: str) and returns an exit code.
COMMANDS: dict[str, tuple[str, str]] = {}


def register(module: str, *names: str) -> None:
    for name in names:
        COMMANDS[name] = (module, "cmd_" + name.replace("-", "_"))


register("portside.cli.containers",
         "run", "create", "start", "stop", "kill", "restart", "rm", "ps", "logs", "exec", "wait",
         "inspect", "port", "stats", "volume")
register("portside.cli.images", "builder")
register("portside.cli.images",
         "import", "images", "rmi", "tag", "image", "history", "save", "load", "build", "pull", "push",
         "login", "logout", "bootstrap")
register("portside.cli.cluster", "up", "down")
register("portside.cli.sim", "sim")
register("portside.cli.top", "top")

DEFAULT_ROOT = "/var/lib/portside"


def fail(message: str, code: int = 125) -> int:
    """Print one error line in the form every command uses and return the exit code docker uses (125)."""
    sys.stderr.write(f"portside: {message}\n")
    return code


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    root = os.environ.get("PORTSIDE_ROOT") or DEFAULT_ROOT
    while args and args[0].startswith("-"):
        opt = args.pop(0)
        if opt in ("-h", "--help"):
            sys.stdout.write(USAGE)
            return 0
        if opt == "--version":
            from portside import __version__
            sys.stdout.write(f"portside {__version__}\n")
            return 0
        if opt == "--root" and args:
            root = args.pop(0)
        elif opt.startswith("--root="):
            root = opt.split("=", 1)[1]
        else:
            return fail(f"unknown global option {opt!r} (expected --root DIR)", 2)
    if not args:
        sys.stderr.write(USAGE)
        return 2
    name, rest = args[0], args[1:]
    entry = COMMANDS.get(name)
    if entry is None:
        return fail(f"unknown command {name!r}; run 'portside --help' for the list", 2)
    import importlib
    module = importlib.import_module(entry[0])
    try:
        return getattr(module, entry[1])(rest, os.path.abspath(root))
    except BrokenPipeError:  # `portside ps | head`: the reader left; end quietly, as a shell pipeline expects
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    raise SystemExit(main())
