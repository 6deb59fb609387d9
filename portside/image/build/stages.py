"""Stages of a multi-stage Dockerfile: global ARGs, ``FROM image [AS name]`` and which stages a target needs."""

from __future__ import annotations

from dataclasses import dataclass, field

from portside.image.build.dockerfile import Instruction


@dataclass
class Stage:
    index: int
    base: str
    name: str | None
    start: Instruction
    instructions: list[Instruction] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.name or str(self.index)


def parse_from(inst: Instruction, index: int) -> Stage:
    parts = inst.args.split()
    if len(parts) == 3 and parts[1].lower() == "as":
        name = parts[2].lower()
        if not name[0].isalpha() or not all(c.isalnum() or c in "_.-" for c in name):
            raise inst.error(f"FROM: invalid stage name {parts[2]!r} (letters, digits, _ . - and a letter first)")
        return Stage(index, parts[0], name, inst)
    if len(parts) != 1:
        raise inst.error(f"FROM: expected 'FROM IMAGE [AS NAME]', got {inst.args!r}")
    return Stage(index, parts[0], None, inst)


def split(instructions: list[Instruction]) -> tuple[list[Instruction], list[Stage]]:
    """(ARGs before the first FROM, stages), refusing anything else before the first FROM."""
    head: list[Instruction] = []
    stages: list[Stage] = []
    for inst in instructions:
        if inst.cmd == "FROM":
            stage = parse_from(inst, len(stages))
            if stage.name and any(s.name == stage.name for s in stages):
                raise inst.error(f"FROM: stage name {stage.name!r} is already used")
            stages.append(stage)
        elif stages:
            stages[-1].instructions.append(inst)
        elif inst.cmd == "ARG":
            head.append(inst)
        else:
            raise inst.error(f"{inst.cmd} before the first FROM (only ARG may come before FROM)")
    if not stages:
        raise instructions[-1].error("no FROM instruction: a Dockerfile must start its first stage with FROM")
    return head, stages


def find(stages: list[Stage], ref: str, before: int) -> Stage | None:
    """The stage a FROM or --from names (by name or index), looking only at earlier stages, as docker does."""
    for stage in stages[:before]:
        if stage.name == ref.lower() or ref.isdigit() and int(ref) == stage.index:
            return stage
    return None


def target_stage(stages: list[Stage], target: str | None) -> Stage:
    from portside.image.errors import ImageError

    if target is None:
        return stages[-1]
    stage = find(stages, target, len(stages))
    if stage is None:
        raise ImageError(f"--target {target!r}: no stage of that name "
                         f"(stages: {', '.join(s.label for s in stages)})")
    return stage


def copy_from(inst: Instruction) -> str | None:
    return inst.flags.get("from") if inst.cmd == "COPY" else None


def needed(stages: list[Stage], target: Stage, base_of: dict[int, str]) -> list[Stage]:
    """The target and every stage it depends on (through FROM or COPY --from), in Dockerfile order."""
    want, todo = set(), [target]
    while todo:
        stage = todo.pop()
        if stage.index in want:
            continue
        want.add(stage.index)
        refs = [base_of[stage.index]] + [r for r in map(copy_from, stage.instructions) if r]
        todo += [dep for dep in (find(stages, ref, stage.index) for ref in refs) if dep is not None]
    return [s for s in stages if s.index in want]
