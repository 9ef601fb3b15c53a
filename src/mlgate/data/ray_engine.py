"""Profile a dataset on Ray: partitions are profiled in parallel Ray tasks and their profiles merged.

Each partition is profiled inside a task by the local engine (:func:`mlgate.data.profile.profile` with
``allow_empty=True``), so both engines share one code path, and the driver merges the partial profiles
with :func:`mlgate.data.profile.merge_all`. Exact statistics (counts, nulls, NaN, ±inf, min, max, mean,
M2) come out the same as the local engine's; the sketches merge, within their error bounds.

Partitions: one per file for a folder or glob of several files; row ranges of a single file (Polars
pushes the slice down to Parquet row groups); slices of an in-memory frame, which is shipped to the
workers through Ray's object store. The driver reads the schema once and every partition is cast to
it, so a CSV file whose own inference differs (an all-null column, integers in one file and floats in
another) is profiled with the dataset's types, as the local engine does.

This uses plain ``@ray.remote`` tasks, not Ray Data: Ray Data reads files with PyArrow, whose type
inference (CSV above all) differs from Polars', so its blocks would not give the same profile as the
local engine, and its block sizes are not the partitions we choose. The workers need mlgate installed
(true on a local Ray; on a cluster, put it in the runtime environment).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgate.data.profile import Profile, merge_all
from mlgate.errors import InputError, MissingDependency, MlgateError, UsageError

LOCAL_CPUS = 2


@dataclass(frozen=True)
class _Part:
    """One partition: a file (with a row range, or all of it) or an in-memory frame slice."""

    file: str | None = None
    offset: int = 0
    length: int | None = None
    frame: Any = None


def profile_ray(
    data: Any,
    *,
    columns: Sequence[str] | None = None,
    batch_rows: int = 250_000,
    format: str | None = None,
    allow_empty: bool = False,
    address: str | None = None,
    partitions: int | None = None,
) -> Profile:
    """Profile ``data`` on Ray; the same arguments and result as :func:`mlgate.data.profile.profile`.

    ``address`` names a running Ray cluster (None: reuse the Ray this process has initialized, or
    start a local one with two CPUs). ``partitions`` is how many row ranges a single file or an
    in-memory frame is cut into (default: the cluster's CPUs); several files go one task per file.
    """
    import polars as pl

    from mlgate.data.io import resolve, scan
    from mlgate.data.profile import _read_errors

    if partitions is not None and partitions < 1:
        raise UsageError(f"partitions must be at least 1, not {partitions}")
    if batch_rows < 1:
        raise UsageError(f"batch_rows must be at least 1, not {batch_rows}")
    label = str(data) if isinstance(data, str | Path) else None
    lf = scan(data, format=format)
    with _read_errors():
        schema = lf.collect_schema()
    if columns is not None:
        unknown = [c for c in columns if c not in schema]
        if unknown:
            raise InputError(
                f"column {unknown[0]!r} is not in the data", hint=f"its columns are: {', '.join(schema.names())}"
            )
        schema = pl.Schema({c: schema[c] for c in columns})
    ray = _connect(address)  # after the checks above, so that a bad call does not wait for Ray to start
    count = partitions or max(1, int(ray.cluster_resources().get("CPU", 1)))
    fmt = None
    if label is not None:
        source = resolve(data, format=format)
        fmt = source.format
        if len(source.files) > 1:
            parts = [_Part(file=str(f.resolve())) for f in source.files]  # workers may run elsewhere
        else:
            with _read_errors():
                rows = int(lf.select(pl.len()).collect().item())
            file = str(source.files[0].resolve())
            parts = [_Part(file=file, offset=o, length=n) for o, n in _ranges(rows, count)]
    else:
        with _read_errors():
            frame = lf.select(list(schema.names())).collect()
        parts = [_Part(frame=frame.slice(o, n)) for o, n in _ranges(frame.height, count)]
    task = ray.remote(_profile_part)
    futures = [task.remote(p, dict(schema), fmt, batch_rows) for p in parts]
    try:
        results = ray.get(futures)
    except ray.exceptions.RayTaskError as exc:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, MlgateError):
            raise cause from exc
        raise
    merged = merge_all(Profile.from_dict(r) for r in results)
    if merged.rows == 0 and not allow_empty:
        raise InputError(f"dataset {label or '(the given data)'} is empty: it has no rows to profile")
    merged.source = label
    return merged


def _connect(address: str | None) -> Any:
    """The ``ray`` module, initialized: connected to ``address``, or reusing or starting a local Ray."""
    try:
        import ray
    except ImportError as exc:
        raise MissingDependency("ray", "ray", "profiling with --engine ray") from exc
    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            # "local" starts a new Ray here even when RAY_ADDRESS is set: mlgate's settings choose the address
            ray.init(address="local", num_cpus=LOCAL_CPUS, include_dashboard=False, log_to_driver=False)
    return ray


def _ranges(rows: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous (offset, length) ranges covering ``rows`` rows; one empty range for none."""
    parts = max(1, min(parts, rows))
    size, extra = divmod(rows, parts)
    out, offset = [], 0
    for i in range(parts):
        length = size + (i < extra)
        out.append((offset, length))
        offset += length
    return out


def _profile_part(part: _Part, schema: dict[str, Any], fmt: str | None, batch_rows: int) -> dict[str, Any]:
    """Runs in a Ray task: the local engine's profile of one partition, cast to the dataset's schema."""
    from mlgate.data.io import scan
    from mlgate.data.profile import profile

    if part.frame is not None:
        lf = part.frame.lazy()
    else:
        lf = scan(part.file, format=fmt).select(list(schema)).cast(schema)
        if part.length is not None:
            lf = lf.slice(part.offset, part.length)
    try:
        return profile(lf, batch_rows=batch_rows, allow_empty=True).to_dict()
    except InputError as exc:  # name the file: a worker's partition is not obvious from the message alone
        if part.file is None:
            raise
        raise InputError(f"data file {part.file}: {exc.message}", hint=exc.hint) from exc
