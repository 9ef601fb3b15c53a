"""Read datasets lazily: files, folders and globs of Parquet, CSV, Arrow IPC/Feather and JSON lines,
or pandas, Polars and PyArrow objects. Everything becomes a Polars LazyFrame, so files larger than
memory stream instead of being loaded whole; :func:`batches` hands one out in bounded row batches.
"""

from __future__ import annotations

import glob as globlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgate.errors import InputError, NotFoundError, UsageError

FORMATS = {
    ".parquet": "parquet", ".pq": "parquet",
    ".csv": "csv", ".tsv": "csv",
    ".arrow": "ipc", ".ipc": "ipc", ".feather": "ipc",
    ".jsonl": "ndjson", ".ndjson": "ndjson",
}  # fmt: skip


@dataclass(frozen=True)
class Source:
    """A dataset to read: the files it covers (empty for in-memory objects) and their format."""

    label: str
    files: tuple[Path, ...]
    format: str | None


def resolve(source: str | Path, *, format: str | None = None) -> Source:
    """The files a path, folder or glob names, all of one format."""
    text = str(source)
    if any(c in text for c in "*?["):
        files = sorted(Path(p) for p in globlib.glob(text, recursive=True) if Path(p).is_file())
        if not files:
            raise NotFoundError(f"no files match {text}")
    else:
        path = Path(text)
        if not path.exists():
            raise NotFoundError(f"data file {path} does not exist")
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in FORMATS)
            if not files:
                raise NotFoundError(
                    f"folder {path} holds no data files", hint=f"supported extensions: {', '.join(sorted(FORMATS))}"
                )
        else:
            files = [path]
    fmt = format
    if fmt is None:
        kinds = {FORMATS.get(f.suffix.lower()) for f in files}
        if None in kinds:
            bad = next(f for f in files if f.suffix.lower() not in FORMATS)
            raise UsageError(
                f"cannot tell the format of {bad} from its extension {bad.suffix or '(none)'!r}",
                hint=f"use one of {', '.join(sorted(FORMATS))}, or pass --format parquet|csv|ipc|ndjson",
            )
        if len(kinds) > 1:
            raise UsageError(f"{text} mixes formats ({', '.join(sorted(k for k in kinds if k))}); give one format")
        fmt = kinds.pop()
    elif fmt not in set(FORMATS.values()):
        raise UsageError(f"unknown format {fmt!r}: use parquet, csv, ipc or ndjson")
    return Source(text, tuple(files), fmt)


def scan(data: Any, *, format: str | None = None) -> Any:
    """A Polars LazyFrame over ``data`` (a path, folder or glob, or a pandas/Polars/PyArrow object)."""
    import polars as pl

    if isinstance(data, pl.LazyFrame):
        return data
    if isinstance(data, pl.DataFrame):
        return data.lazy()
    mod = type(data).__module__
    if mod.startswith(("pandas", "pyarrow")):
        try:
            frame = pl.from_pandas(data) if mod.startswith("pandas") else pl.from_arrow(data)
        except Exception as exc:  # pyarrow raises its own ArrowInvalid/ArrowTypeError
            raise InputError(
                f"cannot convert the {type(data).__name__} to a table: {str(exc).splitlines()[0]}",
                hint="a column probably mixes types (numbers and text); give it one type",
            ) from exc
        return frame.lazy()  # type: ignore[union-attr]
    if not isinstance(data, str | Path):
        raise UsageError(f"cannot read data from a {type(data).__name__}; give a path or a DataFrame")
    src = resolve(data, format=format)
    files = [str(f) for f in src.files]
    for f in src.files:
        if not f.stat().st_size:
            raise InputError(f"data file {f} is empty")
    if src.format == "parquet":
        return pl.scan_parquet(files)
    if src.format == "ipc":
        return pl.scan_ipc(files)
    if src.format == "ndjson":
        return pl.scan_ndjson(files)
    separator = "\t" if all(f.suffix.lower() == ".tsv" for f in src.files) else ","
    return pl.scan_csv(files, separator=separator, infer_schema_length=10000, encoding="utf8")


def sliceable(data: Any, *, format: str | None = None) -> bool:
    """Whether row ranges of ``data`` are cheap to read: Parquet or Arrow IPC files, or a frame in memory.

    Polars finds a row range of Parquet and IPC files from their metadata (row groups, record batches)
    and slices frames in memory without copying; in CSV and JSON lines a row's offset is only known by
    parsing every line before it. A LazyFrame's plan may hold anything, so it counts as not sliceable.
    """
    if isinstance(data, str | Path):
        return resolve(data, format=format).format in ("parquet", "ipc")
    return type(data).__module__.startswith(("pandas", "pyarrow", "polars")) and type(data).__name__ != "LazyFrame"


def batches(lf: Any, rows: int, *, slices: bool) -> Iterator[Any]:
    """The rows of ``lf`` in order, as DataFrames of at most ``rows`` rows, a bounded number held at once.

    With ``slices`` (for data :func:`sliceable` says yes to) each batch is one ``lf.slice`` collected on
    its own, and the next one is read in a background thread while the caller works on the current one,
    so memory holds those two batches whatever the size of the data. Otherwise Polars' streaming engine
    reads the data once (``collect_batches``), which CSV and JSON lines need. ``collect_batches`` is not
    used for Parquet because its reader decodes row groups ahead of a slower caller: profiling
    10,000,000 rows × 20 columns peaked at 0.69 GB that way against 0.38 GB at 1,000,000 rows, where
    slices peak at 0.37 GB for both. A caller that stops early stops the reading too.
    """
    from concurrent.futures import ThreadPoolExecutor

    if not slices:
        yield from lf.collect_batches(chunk_size=rows)
        return

    def read(offset: int) -> Any:
        return lf.slice(offset, rows).collect()

    with ThreadPoolExecutor(1, thread_name_prefix="mlgate-read") as pool:
        offset = 0
        pending = pool.submit(read, offset)
        while True:
            batch = pending.result()
            if batch.height < rows:
                if batch.height:
                    yield batch
                return
            offset += rows
            pending = pool.submit(read, offset)
            yield batch


def collect(lf: Any, *, streaming: bool = True, label: str | None = None) -> Any:
    """Collect a LazyFrame, translating Polars' read errors into messages that name the problem."""
    with read_errors(label):
        return lf.collect(engine="streaming") if streaming else lf.collect()


def columns_of(lf: Any) -> dict[str, Any]:
    """Column names and dtypes of a LazyFrame, read errors turned into InputError."""
    return dict(collect(lf.limit(0), streaming=False).schema)


@contextmanager
def read_errors(label: str | None = None) -> Iterator[None]:
    """Turn Polars' read errors (and OSError) raised inside into InputError, prefixed with ``label``."""
    import polars as pl

    where = f"{label}: " if label else ""
    try:
        yield
    except (pl.exceptions.PolarsError, OSError) as exc:
        text = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        if "utf-8" in text.lower() or "utf8" in text.lower():
            raise InputError(
                f"{where}data is not valid UTF-8 text: {text}", hint="re-encode the file as UTF-8"
            ) from exc
        raise InputError(f"{where}cannot read the data: {text}") from exc
