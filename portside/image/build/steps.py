"""The steps that need more than a config change (ARG, WORKDIR, RUN, COPY, ADD), and the pre-build check.

Each step computes its ``created_by`` text and input digest first, since those are the cache key; only on a miss
does it touch layers (unpack, mount, run, copy) and write a new layer.
"""

from __future__ import annotations

import copy
import json
import posixpath
from pathlib import Path

from portside.image.build import sources
from portside.image.build.cache import Cache, State
from portside.image.build.dockerfile import Instruction
from portside.image.build.expand import word, words
from portside.image.build.instructions import HANDLERS as CONFIG_HANDLERS
from portside.image.build.instructions import Scope, command_form
from portside.image.build.rootfs import View
from portside.image.store import LayerRef


def env_of(state: State) -> dict[str, str]:
    return dict(e.split("=", 1) for e in state.inner.get("Env") or [] if "=" in e)


def scope_env(run) -> dict[str, str]:
    """ENV wins over ARG of the same name, as in docker."""
    return {**run.args, **env_of(run.state)}


def commit(b, run, inst: Instruction, created_by: str, inputs: str, produce, author: str | None = None) -> None:
    """Look the step up in the cache; on a miss, ``produce()`` -> (inner config, layer or None) and record it."""
    key = Cache.key(run.state.id, created_by, inputs)
    hit = None if b.opts.no_cache else b.cache.get(key)
    if hit is not None:
        b.say(" ---> Using cache")
    else:
        inner, layer = produce()
        hit = b.cache.record(run.state, inner, created_by, layer, author)
        b.cache.put(key, hit.digest)
    run.state = hit
    b.say(f" ---> {hit.id.removeprefix('sha256:')[:12]}")


def config_step(b, run, inst: Instruction) -> None:
    inner = copy.deepcopy(run.state.inner)
    scope = Scope(scope_env(run), b.escape, run.cmd_set)
    created_by = CONFIG_HANDLERS[inst.cmd](inst, scope, inner)
    run.cmd_set = scope.cmd_set
    author = inst.args if inst.cmd == "MAINTAINER" else None
    commit(b, run, inst, created_by, "", lambda: (inner, None), author)


def arg_items(b, inst: Instruction, env: dict[str, str]) -> list[tuple[str, str | None]]:
    items = []
    for item in words(inst, inst.args, env, b.escape):
        name, eq, default = item.partition("=")
        if not name or not all(c.isalnum() or c == "_" for c in name):
            raise inst.error(f"ARG: invalid name {name!r}")
        items.append((name, default if eq else None))
    return items


def do_arg(b, run, inst: Instruction) -> None:
    """Declare build arguments for the rest of the stage: --build-arg, else the default, else the global value."""
    from portside.image.build.builder import platform_args

    for name, default in arg_items(b, inst, scope_env(run)):
        b.consumed.add(name)
        value = b.opts.build_args.get(name, default)
        if value is None:
            value = run.global_args.get(name, platform_args().get(name))
        if value is not None:
            run.args[name] = value


def publish(b, tree: Path) -> LayerRef:
    writer = b.store.layout.writer()
    try:
        from portside.image.diff import write_layer
        write_layer(tree, writer)
        return b.store.commit_layer(writer, tree)
    except BaseException:
        writer.discard()
        raise


def do_workdir(b, run, inst: Instruction) -> None:
    """WORKDIR sets the config and, as docker does, creates the directory (a small layer) when it is missing."""
    path = word(inst, inst.args, scope_env(run), b.escape)
    path = posixpath.normpath(posixpath.join(run.state.inner.get("WorkingDir") or "/", path))
    inner = {**copy.deepcopy(run.state.inner), "WorkingDir": path}

    def produce():
        view = View(b.store.dirs(run.state.layers))
        if view.is_dir(view.resolve(path)):
            return inner, None
        import shutil

        tree = b.store.temp_dir("workdir")
        try:
            from portside.image.build.copy import ensure_dir
            ensure_dir(tree, view, view.resolve(path), None)
            return inner, publish(b, tree)
        finally:
            shutil.rmtree(tree, ignore_errors=True)

    commit(b, run, inst, f"WORKDIR {path}", "", produce)


# docker's predefined build arguments: a RUN step sees them without an ARG, and neither the image's history nor
# the layer cache does (a proxy is the builder's machine's business, not the image's)
PROXY_ARGS = frozenset({"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
                        "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"})


def do_run(b, run, inst: Instruction) -> None:
    from portside.image.build.run import RunFailed, RunSpec, cleanup, run_in_layers

    inner = run.state.inner
    argv = command_form(inst, inner)
    network = run_network(inst, b.opts.network)
    env = env_of(run.state)
    build_args = {k: v for k, v in sorted(run.args.items()) if k not in env}
    proxies = {k: v for k, v in b.opts.build_args.items() if k in PROXY_ARGS and k not in build_args and k not in env}
    prefix = f"|{len(build_args)} " + "".join(f"{k}={v} " for k, v in build_args.items()) if build_args else ""
    shown = json.dumps(argv) if inst.form is not None else " ".join(argv)

    def produce():
        work = b.store.temp_dir("run")
        given = {**proxies, **build_args}
        spec = RunSpec(argv, list(inner.get("Env") or []) + [f"{k}={v}" for k, v in given.items()],
                       inner.get("WorkingDir") or "/", inner.get("User") or "0", network, tuple(b.opts.extra_hosts))
        try:
            upper = run_in_layers(b.store.dirs(run.state.layers), spec, work, b.run_output(), b.opts.cgroup_parent,
                                  None if b.opts.quiet else b.opts.run_errors)
            return copy.deepcopy(inner), publish(b, upper)
        except RunFailed as exc:
            # docker's own words after the location: scripts and docker-py look for them
            raise inst.error(f"step {b.step}/{b.total}: The command '{' '.join(argv)}' returned a non-zero code: "
                             f"{exc.code}") from None
        finally:
            cleanup(work)

    flag = f"--network={inst.flags['network']} " if "network" in inst.flags else ""
    commit(b, run, inst, f"RUN {flag}{prefix}{shown}", "", produce)


def run_network(inst: Instruction, default: str = "host") -> str:
    """``RUN --network=``: the host's (docker's default for builds here, since nothing else is reachable) or none;
    without the flag, the build's own setting."""
    value = inst.flags.get("network", default)
    if value not in ("default", "host", "none"):
        raise inst.error(f"RUN --network={value}: expected default, host or none")
    return "none" if value == "none" else "host"


def do_copy(b, run, inst: Instruction) -> None:
    plan = sources.plan(b, run, inst)
    commit(b, run, inst, plan.created_by, plan.inputs, lambda: (copy.deepcopy(run.state.inner), plan.execute(b, run.state)))


HANDLERS = {"ARG": do_arg, "WORKDIR": do_workdir, "RUN": do_run, "COPY": do_copy, "ADD": do_copy}


def validate(b, stages, bases: dict[int, str]) -> None:
    """Check what can be checked before building: COPY --from targets and variable-free instructions."""
    for stage in stages:
        for inst in stage.instructions:
            if inst.cmd in ("COPY", "ADD"):
                sources.check(b, stage, inst)
            elif inst.cmd == "RUN":
                run_network(inst, b.opts.network)
            elif inst.cmd in CONFIG_HANDLERS and "$" not in inst.args:
                CONFIG_HANDLERS[inst.cmd](inst, Scope({}, b.escape), {})
