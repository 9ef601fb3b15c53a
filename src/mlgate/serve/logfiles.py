"""The prediction log's files: layout, listing, reading, compaction, retention and converting old logs.

Layout (:mod:`mlgate.serve.predlog` writes it)::

    <folder>/model=<name>/version=<n>/hour=<YYYY-MM-DDTHH>/part-<time>-<pid>-<n>.parquet

Compaction merges the part files of an hour that has ended (plus ``GRACE``, for late writers) into one
file: a temporary file, a rename, then the parts are removed, under a lock file in the hour's folder so
two server workers never compact the same hour. A reader listing the folder between the rename and the
removal sees the rows twice; the window is one ``unlink`` per part. Retention deletes whole hours that
ended before ``now - retention``.

Logs written before the typed layout (``date=YYYY-MM-DD/hour=HH/part-*.parquet`` with the inputs and
outputs as JSON text) are refused by the readers with a pointer to :func:`convert_legacy`
(``mlgate logs --convert``), which rewrites them in place into the typed layout.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.errors import ConfigError, InputError, UsageError

if TYPE_CHECKING:
    import polars as pl

    from mlgate.config import Settings

UTC = dt.UTC
HOUR_FORMAT = "%Y-%m-%dT%H"
GRACE = dt.timedelta(minutes=5)
STALE_LOCK_S = 600.0
_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


# -- durations and times ----------------------------------------------------------------------------


def parse_duration(text: str, *, what: str = "a duration") -> dt.timedelta:
    """``30s``, ``15m``, ``2h``, ``1d``, ``1w``; a UsageError naming ``what`` otherwise."""
    m = _RELATIVE.match(str(text))
    if not m or float(m.group(1)) <= 0:
        raise UsageError(f"{what} must be a positive duration (30s, 15m, 2h, 30d, 1w), got {text!r}")
    return dt.timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])


def parse_since(text: str, now: dt.datetime | None = None, *, option: str = "--since") -> dt.datetime:
    """``15m``, ``2h``, ``1d`` ago, or an ISO date or time (UTC unless it names a zone)."""
    now = now or dt.datetime.now(UTC)
    m = _RELATIVE.match(text)
    if m:
        return now - dt.timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"{option} must be a duration (30s, 15m, 2h, 1d, 1w) or an ISO time (2024-05-01T12:00), got {text!r}"
        ) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def retention_from_settings(settings: Settings | None) -> dt.timedelta | None:
    """``monitor.retention`` of ``mlgate.yaml`` (``30d``), None when unset; a ConfigError naming the line.

    The ``monitor:`` section is checked whole on the way (``settings.monitor``), so a server does not start
    on a configuration whose rules are wrong.
    """
    if settings is None:
        return None
    value = settings.monitor.options.get("retention")
    if value is None:
        return None
    try:
        return parse_duration(str(value), what="'monitor.retention'")
    except UsageError as exc:
        raise ConfigError(f"{settings.line_of('monitor', 'retention')}: {exc.message}") from None


# -- layout -----------------------------------------------------------------------------------------


def hour_folder(folder: Path, model: str, version: int, hour: str) -> Path:
    """The folder of one model version's hour (``hour`` as ``YYYY-MM-DDTHH``)."""
    return Path(folder) / f"model={model}" / f"version={version}" / f"hour={hour}"


def write_part(folder: Path, model: str, version: int, hour: str, frame: pl.DataFrame, name: str) -> Path:
    """Write one part file of an hour: a temporary name, then a rename (a reader never sees half a file)."""
    target = hour_folder(folder, model, version, hour)
    target.mkdir(parents=True, exist_ok=True)
    tmp = target / f".{name}.tmp"
    frame.write_parquet(tmp, compression="zstd", statistics=True)
    os.replace(tmp, target / name)
    return target / name


@dataclass(frozen=True)
class Hour:
    """One hour folder of the log."""

    path: Path
    model: str
    version: int
    start: dt.datetime

    @property
    def end(self) -> dt.datetime:
        """When the hour ends."""
        return self.start + dt.timedelta(hours=1)

    def parts(self) -> list[Path]:
        """Its finished Parquet files (temporary and hidden files left out)."""
        return sorted(p for p in self.path.glob("*.parquet") if not p.name.startswith("."))


def _legacy(folder: Path) -> bool:
    return any(p.is_dir() for p in folder.glob("date=*"))


def check_folder(folder: Path) -> Path:
    """``folder`` if it holds a prediction log in the current layout; a UsageError saying what to do otherwise."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"the prediction-log folder {folder} does not exist", hint="pass the folder given to --log")
    if _legacy(folder):
        raise UsageError(
            f"{folder} holds a prediction log written by an older mlgate (inputs as JSON text, date=/hour= folders)",
            hint=f"convert it once with `mlgate logs {folder} --convert`",
        )
    return folder


def hours(
    folder: Path,
    *,
    model: str | None = None,
    version: int | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> list[Hour]:
    """The hour folders under ``folder`` (oldest first) that may hold rows in ``[since, until)``."""
    folder = check_folder(folder)
    out = []
    for mdir in sorted(folder.glob("model=*")):
        name = mdir.name[len("model=") :]
        if model is not None and name != model:
            continue
        for vdir in sorted(mdir.glob("version=*")):
            text = vdir.name[len("version=") :]
            if not text.isdigit() or (version is not None and int(text) != version):
                continue
            for hdir in vdir.glob("hour=*"):
                try:
                    start = dt.datetime.strptime(hdir.name[len("hour=") :], HOUR_FORMAT).replace(tzinfo=UTC)
                except ValueError:
                    continue  # not a folder the log wrote
                if since is not None and start + dt.timedelta(hours=1) <= since:
                    continue
                if until is not None and start >= until:
                    continue
                out.append(Hour(hdir, name, int(text), start))
    out.sort(key=lambda h: (h.start, h.model, h.version))
    return out


def log_files(folder: Path, since: dt.datetime | None = None, until: dt.datetime | None = None) -> list[Path]:
    """The finished Parquet files under ``folder``, skipping hours wholly outside ``[since, until)``."""
    return [p for h in hours(folder, since=since, until=until) for p in h.parts()]


def read_log(
    folder: Path, *, since: dt.datetime | None = None, until: dt.datetime | None = None, limit: int | None = None
) -> pl.DataFrame:
    """The logged rows in ``[since, until)`` (all when None), oldest first, the last ``limit`` of them.

    Files of different versions may have different input columns: the frame holds them all, null where
    a version has no such column.
    """
    import polars as pl

    from mlgate.serve.logschema import meta_schema

    if limit is not None and limit < 1:
        raise UsageError(f"--limit must be at least 1, got {limit}")
    files = log_files(folder, since, until)
    frames: list[pl.DataFrame] = []
    rows = 0
    for path in reversed(files):  # newest first, so --limit reads only the last files
        try:
            frame = pl.read_parquet(path)
        except Exception as exc:  # a truncated or foreign file is named, not a traceback
            raise InputError(f"cannot read log file {path}: {str(exc).strip().splitlines()[0]}") from None
        if since is not None:
            frame = frame.filter(pl.col("time") >= since)
        if until is not None:
            frame = frame.filter(pl.col("time") < until)
        frames.append(frame)
        rows += frame.height
        if limit is not None and since is None and rows >= limit * 4 and len(frames) > 1:
            break
    if not frames:
        return pl.DataFrame(schema=meta_schema())
    frame = pl.concat(list(reversed(frames)), how="diagonal_relaxed").sort("time", maintain_order=True)
    return frame.tail(limit) if limit is not None else frame


# -- housekeeping -----------------------------------------------------------------------------------


@dataclass
class Maintenance:
    """What one housekeeping pass did."""

    compacted: list[str] = field(default_factory=list)  # hour folders, relative to the log folder
    merged_files: int = 0
    deleted: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for people."""
        return (
            f"compacted {len(self.compacted)} hour(s) ({self.merged_files} files into {len(self.compacted)}), "
            f"deleted {len(self.deleted)} hour(s) past the retention"
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {"compacted": self.compacted, "merged_files": self.merged_files, "deleted": self.deleted}


def maintain(
    folder: Path, *, retention: dt.timedelta | None = None, now: dt.datetime | None = None, compact: bool = True
) -> Maintenance:
    """Delete the hours past ``retention``, then compact every ended hour with more than one file."""
    folder = Path(folder)
    now = now or dt.datetime.now(UTC)
    done = Maintenance()
    if not folder.is_dir() or _legacy(folder):
        return done
    for h in hours(folder):
        rel = str(h.path.relative_to(folder))
        if retention is not None and h.end <= now - retention:
            shutil.rmtree(h.path, ignore_errors=True)
            done.deleted.append(rel)
            _remove_empty(h.path.parent, stop=folder)
            continue
        if compact and h.end + GRACE <= now:
            merged = compact_hour(h)
            if merged:
                done.compacted.append(rel)
                done.merged_files += merged
    return done


def compact_hour(h: Hour) -> int:
    """Merge the part files of one hour into one; the number of files merged (0: nothing to do or locked)."""
    import polars as pl

    parts = h.parts()
    if len(parts) < 2:
        return 0
    lock = h.path / ".compact.lock"
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        try:
            if time.time() - lock.stat().st_mtime < STALE_LOCK_S:
                return 0  # another worker compacts this hour
            lock.unlink()  # its holder died
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except OSError:
            return 0
    try:
        os.close(fd)
        parts = h.parts()  # what is there now that the lock is held
        if len(parts) < 2:
            return 0
        frame = pl.concat([pl.read_parquet(p) for p in parts], how="diagonal_relaxed").sort("time", maintain_order=True)
        name = f"part-{h.start.strftime('%Y%m%dT%H')}-compact-{os.getpid()}-{time.time_ns()}.parquet"
        tmp = h.path / f".{name}.tmp"
        frame.write_parquet(tmp, compression="zstd", statistics=True)
        os.replace(tmp, h.path / name)
        for p in parts:
            p.unlink(missing_ok=True)
        return len(parts)
    finally:
        lock.unlink(missing_ok=True)


def _remove_empty(path: Path, *, stop: Path) -> None:
    while path != stop and path.is_dir() and not any(path.iterdir()):
        path.rmdir()
        path = path.parent


# -- converting logs of the JSON layout ----------------------------------------------------------------


@dataclass
class Conversion:
    """What :func:`convert_legacy` rewrote."""

    files: int = 0
    requests: int = 0
    rows: int = 0

    def to_dict(self) -> dict[str, int]:
        """JSON-ready fields."""
        return {"files": self.files, "requests": self.requests, "rows": self.rows}


def convert_legacy(folder: Path) -> Conversion:
    """Rewrite a log of the JSON layout (``date=/hour=`` folders) into the typed layout, file by file.

    Each old file becomes one new file with a name derived from it (so a conversion cut short and run
    again rewrites, never duplicates), then the old file is removed. Input types come from the JSON
    values; probabilities are named by their position (``proba_0`` …): the old log did not keep class
    names.
    """
    import polars as pl

    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"the prediction-log folder {folder} does not exist", hint="pass the folder given to --log")
    done = Conversion()
    for path in sorted(folder.glob("date=*/hour=*/*.parquet")):
        if path.name.startswith("."):
            continue
        try:
            old = pl.read_parquet(path)
        except Exception as exc:
            raise InputError(f"cannot read old log file {path}: {str(exc).strip().splitlines()[0]}") from None
        if "inputs" not in old.columns or "variant" not in old.columns:
            raise InputError(
                f"{path} is not a log file of the old layout (no 'inputs' and 'variant' columns)",
                hint="move foreign files out of the log folder and run the conversion again",
            )
        groups: dict[tuple[str, int, str], list[pl.DataFrame]] = {}
        for rec in old.iter_rows(named=True):
            frame = _legacy_rows(rec, path)
            hour = rec["time"].astimezone(UTC).strftime(HOUR_FORMAT)
            groups.setdefault((rec["model"], frame["version"][0], hour), []).append(frame)
            done.requests += 1
            done.rows += frame.height
        for (model, version, hour), frames in groups.items():
            merged = pl.concat(frames, how="diagonal_relaxed")
            write_part(folder, model, version, hour, merged, f"part-legacy-{path.parent.parent.name[5:]}-{path.name}")
        path.unlink()
        done.files += 1
        _remove_empty(path.parent, stop=folder)
    return done


def _legacy_rows(rec: dict[str, Any], path: Path) -> pl.DataFrame:
    import polars as pl

    from mlgate.serve.logschema import META, PREDICTION, PROBA_PREFIX, ROUTES, input_column, meta_schema

    label = str(rec.get("version") or "")
    tail = label.rpartition(":")[2]
    version = int(tail) if tail.isdigit() else 0
    inputs = json.loads(rec["inputs"]) if rec.get("inputs") else None
    outputs = json.loads(rec["outputs"]) if rec.get("outputs") else {}
    columns: dict[str, Any] = {}
    if isinstance(inputs, list) and inputs and isinstance(inputs[0], dict):
        columns = {input_column(k): [r.get(k) for r in inputs] for k in inputs[0]}
        n = len(inputs)
    elif isinstance(inputs, list) and inputs:
        columns = {"input": [v if isinstance(v, list) else [v] for v in inputs]}
        n = len(inputs)
    else:
        n = 1
    pred = outputs.get("predict") if isinstance(outputs, dict) else None
    if isinstance(pred, list) and len(pred) == n and inputs:
        columns[PREDICTION] = pred
    proba = outputs.get("predict_proba") if isinstance(outputs, dict) else None
    if isinstance(proba, list) and len(proba) == n and proba and isinstance(proba[0], list):
        for j in range(len(proba[0])):
            columns[f"{PROBA_PREFIX}{j}"] = [row[j] for row in proba]
    meta = {
        "time": [rec["time"]] * n,
        "request_id": [rec["request_id"]] * n,
        "row": list(range(n)),
        "route": [ROUTES.get(rec["variant"], rec["variant"])] * n,
        "endpoint": [rec.get("route")] * n,
        "model": [rec["model"]] * n,
        "version": [version] * n,
        "status": [rec["status"]] * n,
        "latency_ms": [rec["latency_ms"]] * n,
        "error": [rec.get("error")] * n,
    }
    try:
        frame = pl.DataFrame(meta, schema=meta_schema()).hstack(pl.DataFrame(columns, strict=False))
    except Exception as exc:
        raise InputError(f"{path}: request {rec['request_id']!r} cannot be converted: {exc}") from None
    return frame.select([*META, *[c for c in frame.columns if c not in META]])
