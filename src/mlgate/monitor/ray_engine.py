"""``mlgate monitor --engine ray``: the log files' partials computed by Ray tasks, merged on the driver.

The driver keeps what the local engine keeps: it lists the files, keys each one (path, size,
modification time, window length, columns, quality reference) and takes from its cache the partials of
the files it has seen. Only the other files go to Ray, one task per file; a task reads its file with
Polars and computes its partials with the local engine's code (:func:`mlgate.monitor.partials.compute`),
and sends them back as the JSON the cache stores. The driver writes them to its cache and merges them
window by window in file order, as the local engine does, so a window's statistics are the local
engine's whatever ran them (the profiles' exact fields equal, their sketches merged in the same order).

Ray is started as ``mlgate data profile --engine ray`` starts it (:mod:`mlgate.data.ray_engine`): the
cluster ``RAY_ADDRESS`` names, the Ray this process already runs, or a local one with two CPUs; a pass
whose files are all cached starts none. The workers read the log by its absolute path, so on a cluster
the log folder must be mounted at the same path everywhere, and mlgate installed in the workers.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.errors import MlgateError, require
from mlgate.monitor.partials import (
    BadLogFile,
    Columns,
    Partial,
    cached,
    compute,
    from_json,
    identity,
    read,
    store,
    to_json,
)

if TYPE_CHECKING:
    from mlgate.monitor.quality import QualityReference
    from mlgate.monitor.windows import Window

ENGINES = ("local", "ray")
PURPOSE = "mlgate monitor --engine ray"

FileResult = tuple[dict["Window", Partial], bool, str] | BadLogFile


def check_engine(engine: str) -> None:
    """A UsageError for an engine other than ``local`` or ``ray``; a MissingDependency (exit 3) for
    ``ray`` when Ray is not installed. Called before the log is read."""
    from mlgate.errors import UsageError

    if engine not in ENGINES:
        raise UsageError(
            f"unknown engine {engine!r} for mlgate monitor", hint="use --engine local (the default) or --engine ray"
        )
    if engine == "ray":
        require("ray", "ray", PURPOSE)


def ray_file_partials(
    files: list[Path],
    size: dt.timedelta,
    columns: Columns,
    quality: QualityReference | None,
    *,
    cache: Path | None,
    address: str | None = None,
) -> list[FileResult]:
    """For each file, in order: (its partials, whether they came from the cache, its identity), or the
    BadLogFile saying why it is not a readable log file; the files not in ``cache`` computed on Ray."""
    out: list[FileResult | None] = [None] * len(files)
    todo: list[tuple[int, Path, str]] = []
    for i, path in enumerate(files):
        try:
            ident = identity(path, size, columns, quality)
        except BadLogFile as exc:
            out[i] = exc
            continue
        parts = cached(cache, ident, size)
        if parts is not None:
            out[i] = (parts, True, ident)
        else:
            todo.append((i, path, ident))
    if todo:
        for (i, path, ident), (windows, error) in zip(todo, _run(todo, size, columns, quality, address), strict=True):
            if error is not None:
                out[i] = BadLogFile(error)
                continue
            parts = from_json(windows, size)
            store(cache, ident, path, parts)
            out[i] = (parts, False, ident)
    return [r for r in out if r is not None]


def _run(
    todo: list[tuple[int, Path, str]],
    size: dt.timedelta,
    columns: Columns,
    quality: QualityReference | None,
    address: str | None,
) -> list[tuple[dict[str, Any], str | None]]:
    """One Ray task per file; each answer is (the partials as JSON, None) or ({}, why the file is bad)."""
    from mlgate.data.ray_engine import _connect

    ray = _connect(address)
    task = ray.remote(num_cpus=1)(_file_task)
    shared = ray.put((size, columns, quality))  # sent once, not once per file
    # absolute paths: a worker's current folder is not the driver's
    answers = ray.get([task.remote(str(path.resolve()), shared) for _, path, _ in todo])
    out = []
    for answer in answers:
        if answer[0] == "error":  # an MlgateError in the worker, raised again here with its own class
            _, kind, message, hint = answer
            from mlgate import errors

            cls = getattr(errors, kind, None)
            raise (cls if isinstance(cls, type) and issubclass(cls, MlgateError) else MlgateError)(message, hint=hint)
        out.append((answer[1], answer[2]))
    return out


def _file_task(path: str, shared: tuple[dt.timedelta, Columns, QualityReference | None]) -> tuple[Any, ...]:
    """Run in a Ray worker: ("ok", the partials of one log file as JSON, None), ("ok", {}, why it is not a
    readable log file), or ("error", class name, message, hint) for an MlgateError (sent back as data, so
    the driver raises it as the user's error and not as Ray's)."""
    size, columns, quality = shared
    try:
        return "ok", to_json(compute(read(Path(path), columns), size, columns, quality)), None
    except BadLogFile as exc:
        return "ok", {}, str(exc)
    except MlgateError as exc:
        return "error", type(exc).__name__, exc.message, exc.hint
