"""Profile a dataset with Ray Data: blocks are profiled in parallel and their profiles merged.

The driver reads the dataset's schema once, with Polars (:func:`mlgate.data.io.scan`), and builds a
Ray Dataset whose blocks together hold the data:

* Parquet files: ``ray.data.read_parquet``. Parquet stores its column types, so PyArrow reads the
  types Polars reads, and Ray Data splits the files into blocks and reads them in parallel;
* an in-memory frame: ``ray.data.from_arrow`` of ``partitions`` slices of it;
* CSV, JSON lines and Arrow IPC: ``ray.data.from_items`` of partition descriptors (one per file, or
  ``partitions`` row ranges of a single file), each read by Polars in the worker. CSV and JSON lines
  carry no types, and PyArrow's inference differs from Polars' (dates, all-empty columns, integers
  that later turn into floats), so Ray Data's own readers would not give the local engine's profile;
  Ray Data has no IPC reader.

``map_batches`` (``batch_format="pyarrow"``, one call per block) then casts each block to the dataset's
schema and profiles it with the local engine (:func:`mlgate.data.local_engine.profile_local` with
``allow_empty=True``), so both engines share one code path, and returns the partial profile as JSON;
the driver merges them with :func:`mlgate.data.profile_model.merge_all`. Exact statistics (counts, nulls,
NaN, ±inf, min, max, mean, M2) come out the same as the local engine's; the sketches merge, within
their error bounds.

The workers need mlgate installed (true on a local Ray; on a cluster, put it in the runtime
environment). Ray Data's progress bars and its log lines are silenced while mlgate runs a dataset.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mlgate.data.local_engine import profile_local, scan_columns
from mlgate.data.profile_model import Profile, merge_all
from mlgate.errors import InputError, MissingDependency, MlgateError, UsageError

LOCAL_CPUS = 2
# map_batches: one call per block, with the block as a PyArrow table
_PER_BLOCK: dict[str, Any] = {"batch_format": "pyarrow", "batch_size": None, "zero_copy_batch": True}
# descriptor columns of a partition read by Polars in the worker
_FILE, _OFFSET, _LENGTH = "file", "offset", "length"


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
    """Profile ``data`` with Ray Data; the same arguments and result as :func:`mlgate.data.profile.profile`.

    ``address`` names a running Ray cluster (None: reuse the Ray this process has initialized, or
    start a local one with two CPUs). ``partitions`` is how many blocks an in-memory frame, or row
    ranges a single CSV, JSON-lines or IPC file, is cut into (default: the cluster's CPUs), and how
    many blocks Parquet files are read as (default: Ray Data's choice); several CSV, JSON-lines or IPC
    files go one block per file.
    """
    import polars as pl

    from mlgate.data.io import resolve

    if partitions is not None and partitions < 1:
        raise UsageError(f"partitions must be at least 1, not {partitions}")
    if batch_rows < 1:
        raise UsageError(f"batch_rows must be at least 1, not {batch_rows}")
    label = str(data) if isinstance(data, str | Path) else None
    lf, schema = scan_columns(data, columns, format=format)
    ray = _connect(address)  # after the checks above, so that a bad call does not wait for Ray to start
    count = partitions or max(1, int(ray.cluster_resources().get("CPU", 1)))
    source = resolve(data, format=format) if label is not None else None
    files = [str(f.resolve()) for f in source.files] if source is not None else []  # workers may run elsewhere
    with _quiet_ray_data() as rd, _schema_errors(files if source is not None and source.format == "parquet" else []):
        blocks, profile_block, extra = _blocks(rd, lf, source, files, list(schema.names()), count, partitions)
        kwargs = {"schema": dict(schema), "batch_rows": batch_rows, **extra}
        results = blocks.map_batches(profile_block, fn_kwargs=kwargs, **_PER_BLOCK).take_all()
    _raise_errors(results)
    partial = [Profile.from_dict(json.loads(r["profile"])) for r in results]
    # Ray Data hands no call an empty block, so a dataset without rows has no partial profile
    merged = merge_all(partial) if partial else profile_local(pl.DataFrame(schema=schema), allow_empty=True)
    if merged.rows == 0 and not allow_empty:
        raise InputError(f"dataset {label or '(the given data)'} is empty: it has no rows to profile")
    merged.source = label
    return merged


def _blocks(
    rd: Any, lf: Any, source: Any, files: list[str], names: list[str], count: int, partitions: int | None
) -> tuple[Any, Any, dict[str, Any]]:
    """The Ray Dataset whose blocks hold the data, the function that profiles a block, and its extra arguments."""
    from mlgate.data.io import read_errors

    if source is None:
        with read_errors():
            frame = lf.select(names).collect()
        return rd.from_arrow([frame.slice(o, n).to_arrow() for o, n in _ranges(frame.height, count)]), _profile_rows, {}
    if source.format == "parquet":
        read = rd.read_parquet(files, partitioning=None, file_extensions=None, override_num_blocks=partitions)
        return read.select_columns(names), _profile_rows, {}
    parts = _parts(lf, files, count)
    return rd.from_items(parts, override_num_blocks=len(parts)), _profile_parts, {"fmt": source.format}


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


@contextmanager
def _quiet_ray_data() -> Iterator[Any]:
    """``ray.data``, with its progress bars off and its logger quiet until the block ends.

    Creating Ray Data's context emits a DeprecationWarning from Ray's own code (a deprecated field it
    sets itself), which callers running with warnings as errors would otherwise see.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"ray(\.|$)")
        import ray.data

        context = ray.data.DataContext.get_current()
    logger = logging.getLogger("ray.data")
    saved = context.enable_progress_bars, logger.level
    context.enable_progress_bars = False
    logger.setLevel(logging.CRITICAL)  # errors reach the caller as exceptions; Ray Data's log of them is noise
    try:
        yield ray.data
    finally:
        context.enable_progress_bars = saved[0]
        logger.setLevel(saved[1])


@contextmanager
def _schema_errors(parquet_files: list[str]) -> Iterator[None]:
    """A clash between Parquet files' column types, raised by read_parquet, as an error naming the file."""
    try:
        yield
    except Exception as exc:
        # read_parquet unifies the files' schemas first, and its error does not say which file differs
        mismatch = _schema_mismatch(parquet_files) if len(parquet_files) > 1 else None
        if mismatch is not None:
            raise mismatch from exc
        raise


def _raise_errors(results: list[dict[str, Any]]) -> None:
    """Raise again the first MlgateError a worker sent back (see :func:`_outcome`)."""
    from mlgate import errors

    for r in results:
        if r["error"] is not None:
            err = json.loads(r["error"])
            cls = getattr(errors, err["type"], None)
            if not (isinstance(cls, type) and issubclass(cls, MlgateError)):
                cls = MlgateError
            raise cls(err["message"], hint=err["hint"])


def _schema_mismatch(files: list[str]) -> InputError | None:
    """An error naming the first Parquet file whose column types differ from the first file's, if any."""
    import polars as pl

    first = pl.read_parquet_schema(files[0])
    for path in files[1:]:
        for name, dtype in pl.read_parquet_schema(path).items():
            if name in first and dtype != first[name] and pl.Null not in (dtype, first[name]):
                return InputError(
                    f"data file {path}: cannot read the data: column {name!r} is {dtype} here "
                    f"but {first[name]} in {files[0]}",
                    hint="give every file of the dataset the same column types",
                )
    return None


def _parts(lf: Any, files: list[str], count: int) -> list[dict[str, Any]]:
    """Partition descriptors: one per file, or ``count`` row ranges of a single file."""
    import polars as pl

    from mlgate.data.io import read_errors

    if len(files) > 1:
        return [{_FILE: f, _OFFSET: 0, _LENGTH: None} for f in files]
    with read_errors():
        rows = int(lf.select(pl.len()).collect().item())
    return [{_FILE: files[0], _OFFSET: o, _LENGTH: n} for o, n in _ranges(rows, count)]


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


# --- run in Ray Data's workers, one call per block ----------------------------------------------------


def _profile_rows(block: Any, *, schema: dict[str, Any], batch_rows: int) -> Any:
    """A block of rows: the local engine's profile of it, cast to the dataset's schema."""
    import polars as pl

    from mlgate.data.io import read_errors

    def profile_block() -> Profile:
        with read_errors():
            # from_arrow of a table is a DataFrame; polars types cast's mapping keys as str | selector | dtype,
            # and a Mapping's key type is invariant, so a dict[str, ...] does not match
            frame = pl.from_arrow(block).select(list(schema)).cast(schema)  # type: ignore[union-attr,arg-type]
        return profile_local(frame, batch_rows=batch_rows, allow_empty=True)

    return _results([_outcome(profile_block)])


def _profile_parts(block: Any, *, schema: dict[str, Any], batch_rows: int, fmt: str) -> Any:
    """A block of partition descriptors: each partition read by Polars, cast to the dataset's schema, profiled."""
    from mlgate.data.io import scan

    def profile_part(part: dict[str, Any]) -> Profile:
        lf = scan(part[_FILE], format=fmt).select(list(schema)).cast(schema)
        if part[_LENGTH] is not None:
            lf = lf.slice(part[_OFFSET], part[_LENGTH])
        try:
            return profile_local(lf, batch_rows=batch_rows, allow_empty=True)
        except InputError as exc:  # name the file: a worker's partition is not obvious from the message alone
            raise InputError(f"data file {part[_FILE]}: {exc.message}", hint=exc.hint) from exc

    return _results([_outcome(lambda p=part: profile_part(p)) for part in block.to_pylist()])


def _outcome(make: Any) -> tuple[str | None, str | None]:
    """(profile JSON, None), or (None, the MlgateError as JSON): Ray Data drops an exception's cause on its
    way to the driver, so an error travels back as data and is raised again there (:func:`_raise_errors`)."""
    try:
        return json.dumps(make().to_dict()), None
    except MlgateError as exc:
        return None, json.dumps({"type": type(exc).__name__, "message": exc.message, "hint": exc.hint})


def _results(outcomes: list[tuple[str | None, str | None]]) -> Any:
    import pyarrow as pa

    return pa.table(
        {
            "profile": pa.array([p for p, _ in outcomes], pa.string()),
            "error": pa.array([e for _, e in outcomes], pa.string()),
        }
    )
