"""The build driver: parse, pick the stages the target needs, run each step through the cache, name the result.

Output follows docker's classic builder (``Step n/N : INSTRUCTION``, `` ---> Using cache``, `` ---> ID``).  The
whole Dockerfile is checked before the first step (syntax, stage references, context sources that need no
variables), so most mistakes are reported before anything is built.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from io import IOBase as IO
from pathlib import Path

from portside.image.build import steps
from portside.image.build.cache import Cache, State
from portside.image.build.context import Context
from portside.image.build.dockerfile import Instruction, parse, parse_instruction
from portside.image.build.expand import word
from portside.image.build.stages import Stage, find, needed, split, target_stage
from portside.image.errors import ImageError, ImageNotFound
from portside.image.layout import host_arch
from portside.image.reference import normalize, short_id
from portside.image.store import Image, ImageStore

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@dataclass
class BuildOptions:
    context: Path
    dockerfile: Path | None = None
    tags: list[str] = field(default_factory=list)
    build_args: dict[str, str] = field(default_factory=dict)
    target: str | None = None
    no_cache: bool = False
    quiet: bool = False
    fetch: Callable[[str], Image] | None = None  # FROM fallback when the store lacks the image (a registry pull)
    cgroup_parent: str = "portside"  # where RUN steps' cgroups go: the engine's, so cleanup finds them
    labels: dict[str, str] = field(default_factory=dict)  # set on the final image, as a last LABEL step
    pull: bool = False  # FROM images are pulled even when the store has them (docker build --pull)
    network: str = "host"  # RUN's network unless the step says otherwise: host or none
    built: Callable[[str], None] | None = None  # told the image id just before "Successfully built"
    run_errors: IO | None = None  # where RUN's stderr goes, when not with its stdout into the build's output
    extra_hosts: list[tuple[str, str]] = field(default_factory=list)  # (name, address) for RUN's /etc/hosts


@dataclass
class StageRun:
    """One stage in progress: its ARG values, whether it set CMD, its current state."""

    stage: Stage
    state: State
    args: dict[str, str] = field(default_factory=dict)
    global_args: dict[str, str] = field(default_factory=dict)
    cmd_set: bool = False


def platform_args() -> dict[str, str]:
    arch = host_arch()
    return {f"{side}{key}": value for side in ("TARGET", "BUILD")
            for key, value in (("PLATFORM", f"linux/{arch}"), ("OS", "linux"), ("ARCH", arch), ("VARIANT", ""))}


def scratch() -> State:
    return State({"architecture": host_arch(), "os": "linux", "config": {"Env": [DEFAULT_PATH]},
                  "rootfs": {"type": "layers", "diff_ids": []}, "history": []})


class Builder:
    """One build: the parsed Dockerfile, the states of finished stages, the step counter for progress lines."""

    def __init__(self, store: ImageStore, opts: BuildOptions, out: IO) -> None:
        self.store, self.opts, self.out = store, opts, out
        self.cache = Cache(store)
        self.context = Context(opts.context, store.root / "cache" / ".context.json")
        self.step, self.total = 0, 0
        self.states: dict[int, State] = {}
        self.consumed: set[str] = set()
        self.escape = "\\"
        self.stages: list[Stage] = []
        self.null: IO | None = None

    def say(self, line: str) -> None:
        if not self.opts.quiet:
            self.out.write(line + "\n")
            self.out.flush()

    def build(self) -> Image:
        names = [normalize(tag) for tag in self.opts.tags]
        dockerfile = self.opts.dockerfile or self.opts.context / "Dockerfile"
        instructions, self.escape = parse(read_dockerfile(dockerfile), dockerfile.name)
        head, self.stages = split(instructions)
        global_args = self.global_args(head)
        bases = {s.index: word(s.start, s.base, global_args, self.escape) for s in self.stages}
        todo = needed(self.stages, target_stage(self.stages, self.opts.target), bases)
        if self.opts.labels:
            todo[-1].instructions.append(label_step(self.opts.labels))
        steps.validate(self, todo, bases)
        self.total = sum(1 + len(s.instructions) for s in todo)
        with self.store.layout.writing(), self.closing():
            for stage in todo:
                self.states[stage.index] = self.build_stage(stage, bases[stage.index], global_args)
            self.context.save_memo()
            self.warn_unused()
            return self.finish(self.states[todo[-1].index], names)

    @contextmanager
    def closing(self) -> Iterator[None]:
        try:
            yield
        finally:
            if self.null is not None:
                self.null.close()

    def global_args(self, head: list[Instruction]) -> dict[str, str]:
        values: dict[str, str] = {}
        for inst in head:
            for name, default in steps.arg_items(self, inst, values):
                value = self.opts.build_args.get(name, default)
                self.consumed.add(name)
                if value is not None:
                    values[name] = value
        return values

    def base_state(self, stage: Stage, base: str) -> State:
        if base.lower() == "scratch":
            return scratch()
        earlier = find(self.stages, base, stage.index)
        if earlier is not None:
            return self.states[earlier.index]
        image = self.base_image(stage.start, base)
        return State(image.full_config, self.store.layers(image), image.id, image.digest)

    def base_image(self, inst: Instruction, ref: str) -> Image:
        try:
            if self.opts.pull and self.opts.fetch is not None:
                raise ImageNotFound(ref)  # --pull: the registry's copy, whatever the store holds
            return self.store.resolve(ref)
        except ImageNotFound:
            if self.opts.fetch is None:
                raise inst.error(f"FROM {ref}: no such image in the local store") from None
        try:
            return self.opts.fetch(ref)
        except ImageError as exc:
            raise inst.error(f"FROM {ref}: not in the local store, and pulling it failed: {exc}") from None

    def build_stage(self, stage: Stage, base: str, global_args: dict[str, str]) -> State:
        self.announce(stage.start)
        run = StageRun(stage, self.base_state(stage, base), global_args=global_args)
        self.say(f" ---> {short_id(run.state.id) if run.state.id != 'scratch' else 'scratch'}")
        queue = self.onbuild_triggers(run) + stage.instructions
        for inst in queue:
            self.announce(inst)
            steps.HANDLERS.get(inst.cmd, steps.config_step)(self, run, inst)
        return run.state

    def onbuild_triggers(self, run: StageRun) -> list[Instruction]:
        """The base image's ONBUILD triggers run first in the stage; the new image does not inherit them."""
        triggers = run.state.inner.get("OnBuild") or []
        if not triggers:
            return []
        config = {**run.state.config, "config": {**run.state.inner, "OnBuild": None}}
        run.state = State(config, run.state.layers, run.state.id, run.state.digest)
        where = f"{run.stage.start.where} (ONBUILD of {run.stage.base})"
        return [parse_instruction(where, run.stage.start.line, text) for text in triggers]

    def run_output(self) -> IO:
        """Where RUN output goes: the build's output, or nowhere under -q."""
        if self.opts.quiet:
            self.null = self.null or open(os.devnull, "w")
            return self.null
        return self.out

    def announce(self, inst: Instruction) -> None:
        self.step += 1
        self.say(f"Step {self.step}/{self.total} : {inst.original}")

    def warn_unused(self) -> None:
        unused = sorted(set(self.opts.build_args) - self.consumed - steps.PROXY_ARGS)
        if unused and not self.opts.quiet:
            self.out.write(f"[Warning] One or more build-args {unused} were not consumed\n")

    def finish(self, final: State, names: list[str]) -> Image:
        if not final.digest:  # FROM scratch and nothing else
            from portside.image.build.cache import load_state
            final = load_state(self.store, self.store.write_image(final.config, final.layers)[0])
        size = self.store.layout.blob_path(final.digest).stat().st_size
        self.store.set_names(final.digest, size, final.id, names)
        if self.opts.built is not None:
            self.opts.built(final.id)
        self.say(f"Successfully built {short_id(final.id)}")
        for name in names:
            self.say(f"Successfully tagged {name}")
        return self.store.resolve(final.digest)


def label_step(labels: dict[str, str]) -> Instruction:
    """The labels a build was asked to set, as the LABEL instruction docker appends to the last stage."""
    def quoted(text: str) -> str:
        return '"' + "".join("\\" + c if c in '"\\$' else c for c in text) + '"'

    text = "LABEL " + " ".join(f"{quoted(k)}={quoted(v)}" for k, v in labels.items())
    return parse_instruction("build options", 0, text)


def read_dockerfile(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        raise ImageError(f"cannot read the Dockerfile: {path} does not exist") from None
    except (IsADirectoryError, UnicodeDecodeError) as exc:
        raise ImageError(f"cannot read the Dockerfile {path}: {exc}") from None
