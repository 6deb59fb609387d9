"""Entry point of the ``portside`` command.

Start-up time matters: ``portside run --rm IMG true`` is measured against raw ``runc run``. So this module imports
nothing beyond ``os`` and ``sys``; each command's module is imported only when that command is called, and each
command parses its own arguments.
"""

import os
import sys

USAGE = """usage: portside [--root DIR] COMMAND [ARG...]

Containers:  run create start stop kill restart rm ps logs exec attach wait inspect port stats cp diff export
             rename pause unpause update container (top, prune, and docker's aliases) volume network
Images:      build images image tag rmi history save load import commit pull push login logout bootstrap builder
Cluster:     up down top agent kubeconfig
Engine:      daemon (serves the container and image commands from a warm process)
             events (what happened to containers, images, volumes and networks)
             system service (serves the Docker Engine API)
Scheduling:  sim capacity

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
         "run", "create", "start", "stop", "kill", "restart", "rm", "ps", "logs", "exec", "attach", "wait",
         "inspect", "port", "stats", "cp", "diff", "export", "container", "volume", "network", "rename", "pause",
         "unpause", "update")
register("portside.cli.images", "builder")
register("portside.cli.images", "import", "images", "rmi", "tag", "image", "history", "save", "load", "build",
         "commit")
register("portside.cli.registries", "pull", "push", "login", "logout", "bootstrap")
register("portside.cli.cluster", "up", "down")
register("portside.cli.agent", "agent")
register("portside.cli.sim", "sim")
register("portside.cli.daemon", "daemon")
register("portside.cli.top", "top")
register("portside.cli.kubeconfig", "kubeconfig")
register("portside.cli.capacity", "capacity")
register("portside.cli.system", "system")
register("portside.cli.events", "events")

DEFAULT_ROOT = "/var/lib/portside"

# The commands a running ``portside daemon`` serves: the engine's. The cluster's always run in this process.
SERVED_MODULES = ("portside.cli.containers", "portside.cli.images", "portside.cli.registries")


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
    if args[0] not in COMMANDS:
        return fail(f"unknown command {args[0]!r}; run 'portside --help' for the list", 2)
    root = os.path.abspath(root)
    if _served(args[0]) and not os.environ.get("PORTSIDE_NO_DAEMON"):
        from portside.cli import remote

        code = remote.call(root, args)
        if code is not None:
            return exit_now(code)
    return serve(args, root)


def _served(name: str) -> bool:
    return COMMANDS[name][0] in SERVED_MODULES


def own_process() -> bool:
    """True when this process is the portside command itself, never when ``main`` or a command was called from
    other Python code (which keeps its interpreter teardown and its garbage collector)."""
    main_module = sys.modules.get("__main__")
    spec = getattr(main_module, "__spec__", None)
    return (spec is not None and spec.name == "portside.__main__") or \
        os.path.basename(getattr(main_module, "__file__", None) or "") == "portside"


# Set in a daemon's child: tells the waiting client the exit code before this process ends (a callable with a
# ``fileno``, which a foreground run hands its container's monitor: see ``daemon_wire.ExitTeller``).
report_exit = None


def exit_now(code: int) -> int:
    """End the portside command without the interpreter's teardown, which costs a few milliseconds and has
    nothing to do (no atexit work; files are closed). Called from other Python code, it just returns ``code``."""
    if own_process():
        sys.stdout.flush()
        sys.stderr.flush()
        if report_exit is not None:
            report_exit(code)
        os._exit(code)
    return code


def serve(args: list[str], root: str) -> int:
    """Run one command (``args[0]``) in this process; the daemon's children call this too."""
    module_name, function = COMMANDS[args[0]]
    import importlib
    module = importlib.import_module(module_name)
    try:
        return getattr(module, function)(args[1:], root)
    except BrokenPipeError:  # `portside ps | head`: the reader left; end quietly, as a shell pipeline expects
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    raise SystemExit(main())
