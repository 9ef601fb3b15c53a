"""Read datasets lazily: files, folders and globs of Parquet, CSV, Arrow IPC/Feather and JSON lines,
or pandas, Polars and PyArrow objects. Everything becomes a Polars LazyFrame, so files larger than
memory stream instead of being loaded whole.
"""

from __future__ import annotations

import glob as globlib
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


def collect(lf: Any, *, streaming: bool = True, label: str | None = None) -> Any:
    """Collect a LazyFrame, translating Polars' read errors into messages that name the problem."""
    import polars as pl

    where = f"{label}: " if label else ""
    try:
        return lf.collect(engine="streaming") if streaming else lf.collect()
    except pl.exceptions.ComputeError as exc:
        text = str(exc).strip().splitlines()[0]
        if "utf-8" in text.lower() or "utf8" in text.lower():
            raise InputError(
                f"{where}data is not valid UTF-8 text: {text}", hint="re-encode the file as UTF-8"
            ) from exc
        raise InputError(f"{where}cannot read the data: {text}") from exc
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"{where}cannot read the data: {str(exc).strip().splitlines()[0]}") from exc
    except OSError as exc:
        raise InputError(f"{where}cannot read the data: {exc}") from exc
