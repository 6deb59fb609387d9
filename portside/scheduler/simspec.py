"""Inputs of ``portside sim``: the node SPEC (or a file of Node manifests) and the workload (a CSV or a file of
Pod manifests). Every refusal names where it happened: the group of the SPEC, the CSV line and column, the
manifest document and field.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from portside.api.selectors import SelectorError, selector_from_set
from portside.scheduler.model import NodeInfo, PodInfo, Selector
from portside.scheduler.wire import WireError, amount, node_from_wire, pod_from_wire

GPU = "nvidia.com/gpu"
REQUIRED_COLUMNS = ("name", "arrival_s", "duration_s", "cpu", "memory")
ARRIVAL_ANNOTATION = "portside.io/arrival-s"
DURATION_ANNOTATION = "portside.io/duration-s"
_GROUP = re.compile(r"(\d+)x(.+)")


class SimInputError(ValueError):
    """A SPEC or workload the simulator cannot use; the message says where and what was expected."""


@dataclass(slots=True)
class SimPod:
    pod: PodInfo
    arrival: float
    duration: float


def parse_node_spec(spec: str) -> list[NodeInfo]:
    """``COUNTxcpu=8,memory=32Gi[,nvidia.com/gpu=2]`` groups joined by ``+``, or a path to Node manifests."""
    if Path(spec).is_file():
        return load_nodes(Path(spec))
    nodes: list[NodeInfo] = []
    for g, group in enumerate(spec.split("+"), 1):
        count, alloc = _group(group.strip(), g)
        nodes += [NodeInfo(f"node-{len(nodes) + k + 1:05d}", dict(alloc), {"portside.io/node-group": str(g)})
                  for k in range(count)]
    return nodes


def _group(text: str, g: int) -> tuple[int, dict[str, int]]:
    where = f"--nodes: group {g} {text!r}"
    match = _GROUP.fullmatch(text)
    if match is None or int(match[1]) < 1:
        raise SimInputError(f"{where}: expected COUNTxRESOURCE=QUANTITY[,...] with COUNT >= 1, "
                            "e.g. 100xcpu=8,memory=32Gi,nvidia.com/gpu=2")
    alloc: dict[str, int] = {}
    for item in match[2].split(","):
        name, eq, value = item.partition("=")
        if not eq or not name or not value:
            raise SimInputError(f"{where}: {item!r} is not RESOURCE=QUANTITY")
        try:
            alloc[name] = amount(name, value, f"{where}: {name}")
        except WireError as err:
            raise SimInputError(str(err)) from None
    missing = [r for r in ("cpu", "memory") if r not in alloc]
    if missing:
        raise SimInputError(f"{where}: missing {' and '.join(missing)} (every node needs cpu and memory)")
    return int(match[1]), alloc


def _documents(path: Path) -> list[dict]:
    try:
        docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    except yaml.YAMLError as err:
        raise SimInputError(f"{path}: not valid YAML or JSON: {err}") from None
    out = []
    for doc in docs:
        out += doc.get("items") or [] if isinstance(doc, dict) and doc.get("kind", "").endswith("List") else [doc]
    return out


def load_nodes(path: Path) -> list[NodeInfo]:
    nodes = []
    for i, doc in enumerate(_documents(path)):
        if not isinstance(doc, dict) or doc.get("kind") != "Node":
            raise SimInputError(f"{path}: document {i + 1}: kind: expected Node")
        try:
            nodes.append(node_from_wire(doc, f"{path}: document {i + 1}"))
        except WireError as err:
            raise SimInputError(str(err)) from None
    if not nodes:
        raise SimInputError(f"{path}: no Node manifests found")
    return nodes


def load_workload(path: Path) -> list[SimPod]:
    """A CSV (by extension .csv, or a first line that is a CSV header) or a file of Pod manifests."""
    text = path.read_text()
    if path.suffix == ".csv" or text.split("\n", 1)[0].startswith("name,"):
        return parse_csv(text, str(path))
    return _pod_manifests(path)


def _pairs(text: str, where: str) -> dict[str, str]:
    out = {}
    for item in filter(None, (p.strip() for p in text.split(";"))):
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise SimInputError(f"{where}: {item!r} is not key=value (pairs are joined by ';')")
        out[key] = value
    return out


def _number(row: dict, column: str, where: str, default: str | None = None, kind: str = "column") -> float:
    raw = (row.get(column) or "").strip() or default
    try:
        value = float(raw)
    except (TypeError, ValueError):
        got = "nothing" if raw is None else repr(raw)
        raise SimInputError(f"{where}: {kind} {column}: expected a number, got {got}") from None
    if value < 0:
        raise SimInputError(f"{where}: {kind} {column}: must not be negative, got {raw!r}")
    return value


def _quantity(row: dict, column: str, resource: str, where: str) -> int:
    raw = (row.get(column) or "").strip() or "0"
    try:
        return amount(resource, raw, where)
    except WireError:
        raise SimInputError(f"{where}: column {column}: invalid quantity {raw!r} "
                            f"(expected e.g. {'0.5 or 500m' if resource == 'cpu' else '512Mi or 2Gi'})") from None


def _csv_pod(row: dict, where: str) -> SimPod:
    name = (row.get("name") or "").strip()
    if not name:
        raise SimInputError(f"{where}: column name: empty")
    requests = {"cpu": _quantity(row, "cpu", "cpu", where), "memory": _quantity(row, "memory", "memory", where)}
    gpus = _number(row, "gpu", where, "0")
    if gpus != int(gpus):
        raise SimInputError(f"{where}: column gpu: expected a whole number, got {row.get('gpu')!r}")
    if gpus:
        requests[GPU] = int(gpus)
    pod = PodInfo(name=name, requests=requests, priority=int(_number(row, "priority", where, "0")),
                  labels=_pairs(row.get("labels") or "", f"{where}: column labels"),
                  node_selector=_node_selector(row, where),
                  gang=(row.get("gang") or "").strip(), gang_min=int(_number(row, "gang_min", where, "0")))
    return SimPod(pod, _number(row, "arrival_s", where), _number(row, "duration_s", where))


def _node_selector(row: dict, where: str) -> Selector:
    pairs = _pairs(row.get("node_selector") or "", f"{where}: column node_selector")
    try:
        return selector_from_set(pairs, f"{where}: column node_selector")
    except SelectorError as err:
        raise SimInputError(str(err)) from None


def parse_csv(text: str, source: str = "workload") -> list[SimPod]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or ()]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise SimInputError(f"{source}: line 1: header lacks column(s) {', '.join(missing)} "
                            f"(required: {','.join(REQUIRED_COLUMNS)})")
    reader.fieldnames = header
    pods, seen = [], set()
    for row in reader:
        where = f"{source}: line {reader.line_num}"
        if None in row:
            raise SimInputError(f"{where}: more fields than the header has columns")
        item = _csv_pod(row, where)
        if item.pod.name in seen:
            raise SimInputError(f"{where}: column name: duplicate pod name {item.pod.name!r}")
        seen.add(item.pod.name)
        item.pod.created = item.arrival
        pods.append(item)
    return pods


def _pod_manifests(path: Path) -> list[SimPod]:
    pods = []
    for i, doc in enumerate(_documents(path)):
        where = f"{path}: document {i + 1}"
        if not isinstance(doc, dict) or doc.get("kind") != "Pod":
            raise SimInputError(f"{where}: kind: expected Pod (or give a CSV with a header line)")
        notes = (doc.get("metadata") or {}).get("annotations") or {}
        times = {}
        for key in (ARRIVAL_ANNOTATION, DURATION_ANNOTATION):
            times[key] = _number(notes, key, f"{where}: metadata.annotations", kind="annotation")
        try:
            pod = pod_from_wire(doc, where, created=times[ARRIVAL_ANNOTATION])
        except WireError as err:
            raise SimInputError(str(err)) from None
        pods.append(SimPod(pod, times[ARRIVAL_ANNOTATION], times[DURATION_ANNOTATION]))
    if not pods:
        raise SimInputError(f"{path}: no Pod manifests found")
    return pods
