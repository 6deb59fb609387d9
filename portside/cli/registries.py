"""Registry and base-image commands: pull, push, login, logout, bootstrap (delegating to ``portside.image``)."""

from __future__ import annotations

import sys

from portside.cli.images import command, parser, store_at
from portside.cli.main import fail


def progress_out(quiet: bool):
    import io

    return io.StringIO() if quiet else sys.stdout


@command
def cmd_pull(argv: list[str], root: str) -> int:
    from portside.image.registry import pull, run

    p = parser("pull", "Download an image from a registry")
    p.add_argument("--insecure", action="store_true", help="plain HTTP (see also ROOT/registries.json)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the image's name or digest")
    p.add_argument("reference", metavar="NAME[:TAG|@DIGEST]")
    args = p.parse_args(argv)
    result = run(pull(store_at(root), root, args.reference, progress_out(args.quiet), insecure=args.insecure))
    shown = result.name or str(result.reference)
    if args.quiet:
        print(shown)
        return 0
    print(f"Digest: {result.digest}")
    print(f"Status: {'Downloaded newer image' if result.fresh else 'Image is up to date'} for {shown}")
    return 0


@command
def cmd_push(argv: list[str], root: str) -> int:
    from portside.image.registry import push, run

    p = parser("push", "Upload an image to the registry its name points at")
    p.add_argument("--insecure", action="store_true", help="plain HTTP (see also ROOT/registries.json)")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("reference", metavar="NAME[:TAG]")
    args = p.parse_args(argv)
    digest = run(push(store_at(root), root, args.reference, progress_out(args.quiet), insecure=args.insecure))
    print(f"{args.reference}: digest: {digest}")
    return 0


@command
def cmd_login(argv: list[str], root: str) -> int:
    from portside.image.registry import Credentials, login, run

    p = parser("login", "Check and save credentials for a registry (ROOT/auth.json)")
    p.add_argument("-u", "--username")
    p.add_argument("-p", "--password")
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    p.add_argument("--insecure", action="store_true", help="plain HTTP (see also ROOT/registries.json)")
    p.add_argument("server", nargs="?", default="docker.io")
    args = p.parse_args(argv)
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else args.password
    username = args.username
    if not username or password is None:
        if args.password_stdin or not sys.stdin.isatty():
            return fail("login: give --username and a password (-p PASSWORD or --password-stdin), or run it on a "
                        "terminal to be asked", 2)
        username = username or ask("Username: ")
        password = password if password is not None else ask("Password: ", echo=False)
    registry = run(login(root, args.server, Credentials(username, password), insecure=args.insecure))
    print(f"Login Succeeded ({registry})")
    return 0


@command
def cmd_logout(argv: list[str], root: str) -> int:
    from portside.image.registry import logout

    p = parser("logout", "Forget the saved credentials for a registry")
    p.add_argument("server", nargs="?", default="docker.io")
    registry, existed = logout(root, p.parse_args(argv).server)
    print(f"Removing login credentials for {registry}" if existed else f"Not logged in to {registry}")
    return 0


@command
def cmd_bootstrap(argv: list[str], root: str) -> int:
    from portside.image.bootstrap import bootstrap, make_spec

    p = parser("bootstrap", "Make a base image from a Debian package mirror with debootstrap")
    p.add_argument("--include", default="", metavar="PKG,...", help="extra packages, comma-separated")
    p.add_argument("-t", "--tag", metavar="NAME[:TAG]", help="the image's name (default: the source, e.g. "
                   "debian:bookworm)")
    p.add_argument("--mirror", metavar="URL", help="default: the host's apt mirror, else deb.debian.org")
    p.add_argument("-q", "--quiet", action="store_true", help="hide debootstrap's output")
    p.add_argument("source", metavar="debian:SUITE")
    args = p.parse_args(argv)
    spec = make_spec(args.source, args.include, args.tag, args.mirror)
    sys.stdout.flush()
    image = bootstrap(store_at(root), spec, None if args.quiet else sys.stdout.buffer)
    print(image.id)
    return 0


def ask(prompt: str, echo: bool = True) -> str:
    """One line from the terminal on stdin (which, through the daemon, is the client's): the prompt on stderr,
    and for a password with echo off, on that descriptor itself rather than the process's controlling terminal.
    Echo goes off before the prompt shows, so that nothing typed after it is echoed, and nothing typed ahead is
    thrown away (TCSADRAIN, not TCSAFLUSH)."""
    import termios

    saved = termios.tcgetattr(0)
    if not echo:
        quiet = list(saved)
        quiet[3] &= ~termios.ECHO
        termios.tcsetattr(0, termios.TCSADRAIN, quiet)
    try:
        sys.stderr.write(prompt)
        sys.stderr.flush()
        return sys.stdin.readline().rstrip("\n")
    finally:
        if not echo:
            termios.tcsetattr(0, termios.TCSADRAIN, saved)
            sys.stderr.write("\n")
