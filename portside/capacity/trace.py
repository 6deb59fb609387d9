"""Workload usage traces: the CSV format ``report``, ``forecast`` and ``plan`` read in place of live metrics.

One row per workload per sample::

    timestamp,workload,cpu,memory[,replicas,cpu_request,memory_request,oom_kills]

- ``timestamp``: ISO-8601 (``2026-11-01T00:05:00Z``; no zone means UTC) or epoch seconds.
- ``workload``: ``NAMESPACE/NAME`` or ``NAME`` (namespace ``default``).
- ``cpu``: the workload's usage summed over its replicas, in cores (``0.25``) or as a quantity (``250m``).
- ``memory``: the same for memory, in bytes or as a quantity (``512Mi``).
- ``replicas``: replicas running (default 1); usage per replica is usage / replicas.
- ``cpu_request``, ``memory_request``: the current request of one replica, if known.
- ``oom_kills``: containers OOM-killed during the interval (default 0).

Parsing is vectorised (pandas' C reader) because a month of 5-minute samples for 1,000 workloads is 8 million
rows; a value that is not a plain number goes through the project's one quantity parser. Every refusal names the
file, the line and the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from portside.api.quantity import QuantityError, cpu_millis, to_bytes

__all__ = ["REQUIRED", "OPTIONAL", "Trace", "TraceError", "WorkloadSeries", "parse_trace"]

REQUIRED = ("timestamp", "workload", "cpu", "memory")
OPTIONAL = ("replicas", "cpu_request", "memory_request", "oom_kills")
_EXPECT = {
    "cpu": "cores (a number such as 0.25, or a quantity such as 250m)",
    "cpu_request": "cores (a number such as 0.25, or a quantity such as 250m)",
    "memory": "bytes (a number, or a quantity such as 512Mi)",
    "memory_request": "bytes (a number, or a quantity such as 512Mi)",
    "replicas": "a whole number of replicas >= 1",
    "oom_kills": "a whole number >= 0",
}


class TraceError(ValueError):
    """A trace the planner cannot use; the message names the file, line and field."""


@dataclass
class WorkloadSeries:
    """One workload's samples, sorted by time: usage summed over replicas (cores, bytes); requests per replica
    (NaN where the trace does not say)."""

    name: str
    t: np.ndarray
    cpu: np.ndarray
    memory: np.ndarray
    replicas: np.ndarray
    cpu_request: np.ndarray
    memory_request: np.ndarray
    oom_kills: np.ndarray

    @property
    def namespace(self) -> str:
        return self.name.split("/", 1)[0] if "/" in self.name else "default"

    def window(self, start: float, end: float) -> WorkloadSeries:
        """The samples with ``start <= t < end``."""
        keep = (self.t >= start) & (self.t < end)
        return WorkloadSeries(self.name, *(getattr(self, f)[keep] for f in
                                           ("t", "cpu", "memory", "replicas", "cpu_request", "memory_request",
                                            "oom_kills")))


@dataclass
class Trace:
    workloads: dict[str, WorkloadSeries] = field(default_factory=dict)
    step_s: float = 300.0
    notes: list[str] = field(default_factory=list)  # what the source could not read, for the user

    @property
    def start(self) -> float:
        return min(float(s.t[0]) for s in self.workloads.values())

    @property
    def end(self) -> float:
        """One step past the last sample."""
        return max(float(s.t[-1]) for s in self.workloads.values()) + self.step_s

    def window(self, start: float, end: float) -> Trace:
        out = {n: s.window(start, end) for n, s in self.workloads.items()}
        return Trace({n: s for n, s in out.items() if len(s.t)}, self.step_s, self.notes)

    def namespace(self, ns: str | None) -> Trace:
        if not ns:
            return self
        return Trace({n: s for n, s in self.workloads.items() if s.namespace == ns}, self.step_s, self.notes)


def _fail(source: str, index: int, column: str, raw: object, expected: str) -> TraceError:
    return TraceError(f"{source}: line {index + 2}: field {column}: expected {expected}, got {raw!r}")


def _numbers(frame, column: str, source: str, parse_one, optional: bool = False) -> np.ndarray:
    """A column as float64: plain numbers in C, anything else through ``parse_one`` (the quantity parser).
    An empty field is NaN in an optional column and an error in a required one."""
    import pandas as pd

    col = frame[column]
    empty = col.isna().to_numpy()
    if not optional and empty.any():
        raise _fail(source, int(np.flatnonzero(empty)[0]), column, "", _EXPECT[column])
    if pd.api.types.is_numeric_dtype(col.dtype):
        return np.array(col.to_numpy(dtype=float, na_value=np.nan))
    text = col.astype(str).str.strip()
    values = np.array(pd.to_numeric(text, errors="coerce").to_numpy(dtype=float))
    cache: dict[str, float] = {}
    for i in np.flatnonzero(np.isnan(values) & ~empty):
        raw = text.iat[i]
        if raw not in cache:
            try:
                cache[raw] = parse_one(raw)
            except (QuantityError, ValueError):
                raise _fail(source, int(i), column, raw, _EXPECT[column]) from None
        values[i] = cache[raw]
    return values


def _cores(text: str) -> float:
    return cpu_millis(text) / 1000.0


def _bytes(text: str) -> float:
    return float(to_bytes(text))


def _timestamps(frame, source: str) -> np.ndarray:
    import pandas as pd

    col = frame["timestamp"]
    if pd.api.types.is_numeric_dtype(col.dtype):
        values = col.to_numpy(dtype=float)
    else:
        text = col.astype(str).str.strip()
        values = np.array(pd.to_numeric(text, errors="coerce").to_numpy(dtype=float))
        if np.isnan(values).any():
            stamps = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
            epoch = (stamps - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
            values = np.where(np.isnan(values), epoch.to_numpy(dtype=float, na_value=np.nan), values)
    bad = np.flatnonzero(np.isnan(values))
    if len(bad):
        raise _fail(source, int(bad[0]), "timestamp", col.iat[int(bad[0])],
                    "ISO-8601 (2026-11-01T00:05:00Z) or epoch seconds")
    return values


def _check(values: np.ndarray, frame, column: str, source: str, minimum: float, whole: bool = False) -> None:
    bad = values < minimum
    if whole:
        bad |= values != np.floor(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise _fail(source, i, column, frame[column].iat[i], _EXPECT[column] + " (must not be negative)"
                    if not whole else _EXPECT[column])


def _read(path: Path):
    import pandas as pd

    try:
        frame = pd.read_csv(path, skip_blank_lines=False, skipinitialspace=True, keep_default_na=False,
                            na_values=[""], low_memory=False)
    except pd.errors.ParserError as err:
        raise TraceError(f"{path}: {err}".replace("\n", " ")) from None
    except pd.errors.EmptyDataError:
        raise TraceError(f"{path}: line 1: empty file (expected the header {','.join(REQUIRED)})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise TraceError(f"{path}: line 1: header lacks column(s) {', '.join(missing)} "
                         f"(required: {','.join(REQUIRED)}; optional: {','.join(OPTIONAL)})")
    unknown = [c for c in frame.columns if c not in REQUIRED + OPTIONAL]
    if unknown:
        raise TraceError(f"{path}: line 1: unknown column(s) {', '.join(unknown)} "
                         f"(known: {','.join(REQUIRED + OPTIONAL)})")
    return frame


def parse_trace(path: str | Path) -> Trace:
    """Read and check a trace file; see the module docstring for the format."""
    path = Path(path)
    frame = _read(path)
    source = str(path)
    if not len(frame):
        raise TraceError(f"{source}: no rows after the header")
    names = frame["workload"].astype(str).str.strip()
    empty = np.flatnonzero((frame["workload"].isna() | (names == "")).to_numpy())
    if len(empty):
        raise _fail(source, int(empty[0]), "workload", "", "a workload name (NAMESPACE/NAME or NAME)")
    cols = {"t": _timestamps(frame, source)}
    for column, parse_one, minimum in (("cpu", _cores, 0), ("memory", _bytes, 0)):
        cols[column] = _numbers(frame, column, source, parse_one)
        _check(cols[column], frame, column, source, minimum)
    for column, parse_one, default in (("replicas", float, 1.0), ("cpu_request", _cores, np.nan),
                                       ("memory_request", _bytes, np.nan), ("oom_kills", float, 0.0)):
        if column not in frame.columns:
            cols[column] = np.full(len(frame), default)
            continue
        values = _numbers(frame, column, source, parse_one, optional=True)
        values[np.isnan(values)] = default
        cols[column] = values
        if column in ("replicas", "oom_kills"):
            _check(values, frame, column, source, 1 if column == "replicas" else 0, whole=True)
        else:
            _check(np.nan_to_num(values), frame, column, source, 0)
    return _assemble(names.to_numpy(dtype=object), cols, source)


def _assemble(names: np.ndarray, cols: dict[str, np.ndarray], source: str) -> Trace:
    order = np.lexsort((cols["t"], names))
    names, cols = names[order], {k: v[order] for k, v in cols.items()}
    dup = np.flatnonzero((names[1:] == names[:-1]) & (cols["t"][1:] == cols["t"][:-1]))
    if len(dup):
        line = int(order[dup[0] + 1]) + 2
        raise TraceError(f"{source}: line {line}: field timestamp: a second row for workload {names[dup[0]]!r} "
                         "at the same timestamp")
    starts = np.flatnonzero(np.r_[True, names[1:] != names[:-1]])
    bounds = list(starts) + [len(names)]
    trace = Trace()
    steps = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        series = WorkloadSeries(str(names[a]), **{k: v[a:b] for k, v in cols.items()})
        trace.workloads[series.name] = series
        if b - a > 1:
            steps.append(float(np.median(np.diff(series.t))))
    trace.step_s = float(np.median(steps)) if steps else 300.0
    return trace
