"""Delayed labels: added from files, joined to the prediction log by request id (and row), scored per window.

A label file (CSV, Parquet, JSON lines) holds ``request_id`` and ``label``, and optionally ``row`` (the
row's position in its request, default 0), ``time`` (when the outcome was known) and ``value`` (a number
that a business event carries, such as a purchase's amount: ``mlgate abtest --metric value``). ``add_labels``
checks every row before anything is written (a missing column, a null, a ``row`` that is not a whole
number, a ``value`` that is not a number, a repeated (request_id, row), a label outside the model's
classes, and, when the log is given, request ids it never logged: every wrong row named in one message,
exit 2; ``skip_unknown`` stores the others instead, ``allow_new_classes`` takes labels outside the
classes) and stores the labels as one Parquet file in the labels folder. A later file that labels the
same (request_id, row) again wins.

Realized metrics per window (:func:`realized`): the log's scored rows that have a label, by the
window of their prediction. Classifiers (an integer, text or boolean ``prediction``) get accuracy with
its 95 % Wilson interval and, for two classes with probabilities, ROC AUC with Hanley and McNeil's
interval (more classes: the one-vs-rest macro ROC AUC, without an interval); regressors (a float
``prediction``) get MAE and RMSE. The gate's critical slices (:mod:`mlgate.monitor.slices`) get the
same metrics on the labelled rows their filters select (``slices``, by slice key).
"""

from __future__ import annotations

import datetime as dt
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.errors import InputError, UsageError

if TYPE_CHECKING:
    from collections.abc import Callable

    import polars as pl

    from mlgate.monitor.slices import CriticalSlice
    from mlgate.monitor.windows import Window

UTC = dt.UTC
Z95 = 1.959963984540054


@dataclass(frozen=True)
class LabelsAdded:
    """What :func:`add_labels` stored: the file, its labels, the unknown request ids skipped, new classes."""

    file: Path
    labels: int
    skipped: int = 0  # labels left out (``skip_unknown``): their request ids the log never answered
    skipped_ids: list[str] = field(default_factory=list)
    new_classes: dict[str, int] = field(default_factory=dict)  # label -> count, outside the model's classes

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "file": str(self.file),
            "labels": self.labels,
            "skipped": self.skipped,
            "skipped_ids": self.skipped_ids,
            "new_classes": self.new_classes,
        }


MAX_PROBLEMS = 10


def add_labels(
    source: str | Path,
    folder: str | Path,
    *,
    log: str | Path | None = None,
    skip_unknown: bool = False,
    allow_new_classes: bool = False,
) -> LabelsAdded:
    """Check the labels in ``source`` and store them in ``folder``.

    ``log`` checks the request ids exist (``skip_unknown`` leaves the unknown ones out instead of refusing)
    and gives the model's classes (the log's ``proba_<class>`` columns): a label outside them is refused
    unless ``allow_new_classes``.
    """

    from mlgate.data.io import collect, scan

    source = Path(source)
    if not source.exists():
        raise UsageError(f"label file {source} does not exist")
    frame = collect(scan(source), label=str(source))
    suffix = source.suffix.lower()
    # where a user finds a row: the CSV line (the header is line 1), the JSON line, else the row's number
    offset, unit = (
        (2, "line") if suffix in (".csv", ".tsv") else (1, "line") if suffix in (".jsonl", ".ndjson") else (1, "row")
    )
    return store_labels(
        frame,
        folder,
        log=log,
        what=f"label file {source}",
        place=lambda i: f"{unit} {i + offset}",
        skip_unknown=skip_unknown,
        allow_new_classes=allow_new_classes,
    )


def store_labels(
    frame: pl.DataFrame,
    folder: str | Path,
    *,
    log: str | Path | None = None,
    what: str = "the labels",
    place: Callable[[int], str] | None = None,
    classes: list[str] | None = None,
    skip_unknown: bool = False,
    allow_new_classes: bool = False,
) -> LabelsAdded:
    """Check the labels in ``frame`` (columns as in a label file) and store them in ``folder``.

    ``what`` names the labels in messages (``label file labels.csv``, ``the POST /labels body``) and
    ``place`` a row (``line 3``; default ``row 1`` for the first). Every wrong row is collected and named
    in one message (the first ``MAX_PROBLEMS``); nothing is stored when one row is wrong. ``log`` checks
    the request ids exist (``skip_unknown``: stores the others, counting the skipped) and, without
    ``classes``, gives the model's classes from its ``proba_<class>`` columns; a label outside ``classes``
    is refused unless ``allow_new_classes`` (then counted in ``new_classes``).
    """
    import polars as pl

    where = place or (lambda i: f"row {i + 1}")
    for required in ("request_id", "label"):
        if required not in frame.columns:
            raise InputError(
                f"{what} has no {required!r} column; its columns are {frame.columns}",
                hint="a label file holds request_id and label, and optionally row, time and value",
            )
    extra = [c for c in frame.columns if c not in ("request_id", "label", "row", "time", "value")]
    if extra:
        raise InputError(
            f"{what} has column(s) {extra} besides request_id, label, row, time and value",
            hint="remove them, or rename the column that holds the labels to 'label'",
        )
    if frame.is_empty():
        raise InputError(f"{what} holds no labels")
    if frame["label"].dtype.is_nested() or frame["request_id"].dtype.is_nested():
        raise InputError(f"{what}: 'request_id' and 'label' must hold single values, not lists")
    problems: list[tuple[int, str, str]] = []  # (row index, column, what is wrong)
    hints: list[str] = []
    for name in ("request_id", "label", "row", "time", "value"):
        if name in frame.columns:
            problems += [(int(i), name, "is empty") for i in frame[name].is_null().arg_true()]
    row = frame["row"] if "row" in frame.columns else pl.Series("row", [0] * frame.height)
    if not row.dtype.is_integer():
        cast = row.cast(pl.Int64, strict=False)
        wrong = row.is_not_null() & (cast.is_null() | (cast.cast(pl.Float64) != row.cast(pl.Float64, strict=False)))
        problems += [
            (int(i), "row", f"holds {row[int(i)]!r}, not a whole number (the row's position in its request)")
            for i in wrong.arg_true()
        ]
        row = cast
    times = _times(frame, problems)
    if any(c == "time" for _, c, _ in problems):
        hints.append("write times as 2024-05-01T12:00:00Z")
    labels = pl.DataFrame(
        {
            "request_id": frame["request_id"].cast(pl.String),
            "row": row.cast(pl.Int32, strict=False),
            "label": frame["label"].cast(pl.String),
            "time": times,
        }
    )
    if "value" in frame.columns:
        labels = labels.with_columns(_values(frame, problems))
    keyed = labels.with_row_index("_i").filter(pl.col("request_id").is_not_null() & pl.col("row").is_not_null())
    first = keyed.group_by("request_id", "row", maintain_order=True).agg(pl.col("_i").min().alias("_first"))
    again = keyed.join(first, on=["request_id", "row"]).filter(pl.col("_i") != pl.col("_first"))
    for i, rid, r, f in again.select("_i", "request_id", "row", "_first").iter_rows():
        problems.append((i, "request_id", f"labels request {rid!r} row {r} again (first on {where(f)})"))
    if again.height:
        hints.append("keep one label per request and row (add a 'row' column for requests of several rows)")
    unknown: list[int] = []
    if log is not None:
        ids, logged_classes = _logged(labels, Path(log))
        if classes is None:
            classes = logged_classes
        unknown = [i for i, r in enumerate(labels["request_id"].to_list()) if r is not None and r not in ids]
        if unknown and not skip_unknown:
            problems += [
                (i, "request_id", f"request {labels['request_id'][i]!r} was never answered (log {log})")
                for i in unknown
            ]
            hints.append("label only logged requests (x-request-id), or pass --skip-unknown to store the others")
    new_classes: dict[str, int] = {}
    if classes:
        known = {_class_text(c) for c in classes}
        skip = set(unknown) if skip_unknown else set()
        outside = [
            (i, v)
            for i, v in enumerate(labels["label"].to_list())
            if v is not None and i not in skip and _class_text(v) not in known
        ]
        for _, v in outside:
            new_classes[v] = new_classes.get(v, 0) + 1
        if outside and not allow_new_classes:
            shown = ", ".join(classes)
            problems += [(i, "label", f"{v!r} is not one of the model's classes ({shown})") for i, v in outside]
            hints.append(
                f"the model predicts {shown}: write labels as those values, "
                "or allow a real new class (mlgate labels add --allow-new-classes; POST /labels?allow_new_classes=true)"
            )
    if problems:
        problems.sort(key=lambda p: p[0])
        lines = [f"{where(i)}, column {c!r}: {text}" for i, c, text in problems[:MAX_PROBLEMS]]
        if len(problems) > MAX_PROBLEMS:
            lines.append(f"and {len(problems) - MAX_PROBLEMS} more")
        raise InputError(
            f"{what} has {len(problems)} problem(s); nothing was stored:\n    " + "\n    ".join(lines),
            hint="; ".join(dict.fromkeys(hints)) or None,
        )
    skipped_ids: list[str] = []
    if unknown:
        skipped_ids = list(dict.fromkeys(labels["request_id"][i] for i in unknown))
        labels = labels.with_row_index("_i").filter(~pl.col("_i").is_in(unknown)).drop("_i")
        if labels.is_empty():
            raise InputError(
                f"{what}: every label names a request id the log in {log} never answered; nothing was stored",
                hint="label only logged requests (x-request-id)",
            )
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    name = f"labels-{dt.datetime.now(UTC):%Y%m%dT%H%M%S%f}-{os.urandom(3).hex()}.parquet"
    tmp = folder / f".{name}.tmp"
    labels.write_parquet(tmp)
    os.replace(tmp, folder / name)
    return LabelsAdded(folder / name, labels.height, len(unknown), skipped_ids, new_classes)


def _class_text(value: str) -> str:
    """A class as text, as a label holds it (Polars writes booleans as true/false, Python as True/False)."""
    return value.lower() if value in ("True", "False") else value


def _values(frame: pl.DataFrame, problems: list[tuple[int, str, str]]) -> pl.Series:
    """A business event's number per label (``value``): numbers only."""
    import polars as pl

    col = frame["value"]
    cast = col.cast(pl.Float64, strict=False)
    bad = (col.is_not_null() & (cast.is_null() | cast.is_nan())).arg_true()
    problems += [(int(i), "value", f"holds {col[int(i)]!r}, not a number (an amount)") for i in bad]
    return cast.alias("value")


def _times(frame: pl.DataFrame, problems: list[tuple[int, str, str]]) -> pl.Series:
    import polars as pl

    if "time" not in frame.columns:
        return pl.Series("time", [None] * frame.height, dtype=pl.Datetime("us", "UTC"))
    col = frame["time"]
    if col.dtype == pl.String:
        parsed = col.str.to_datetime(time_zone="UTC", strict=False)
        bad = (parsed.is_null() & col.is_not_null()).arg_true()
        problems += [(int(i), "time", f"is {col[int(i)]!r}, not an ISO time") for i in bad]
        return parsed.dt.cast_time_unit("us")
    if isinstance(col.dtype, pl.Datetime):
        col = col.dt.replace_time_zone("UTC") if col.dtype.time_zone is None else col.dt.convert_time_zone("UTC")
        return col.dt.cast_time_unit("us")
    problems.append((0, "time", f"must hold ISO times, got {col.dtype}"))
    return pl.Series("time", [None] * frame.height, dtype=pl.Datetime("us", "UTC"))


def _logged(labels: pl.DataFrame, log: Path) -> tuple[set[str], list[str] | None]:
    """The request ids ``log`` answered; the classes (``proba_<class>``) of the files holding labelled ones."""
    import polars as pl

    from mlgate.serve.logfiles import log_files
    from mlgate.serve.logschema import PROBA_PREFIX

    wanted = set(labels["request_id"].drop_nulls().to_list())
    ids: set[str] = set()
    classes: dict[str, None] = {}
    for path in log_files(log):
        try:
            got = set(pl.read_parquet(path, columns=["request_id"])["request_id"].to_list())
            names = pl.read_parquet_schema(path)
        except Exception:  # a file the monitor would skip cannot vouch for an id either
            continue
        ids |= got
        if got & wanted:
            classes.update({c.removeprefix(PROBA_PREFIX): None for c in names if c.startswith(PROBA_PREFIX)})
    return ids, list(classes) or None


def read_labels(folder: str | Path) -> pl.DataFrame | None:
    """Every label added to ``folder``, the latest for each (request_id, row); None when there are none."""
    import polars as pl

    folder = Path(folder)
    files = sorted(p for p in folder.glob("labels-*.parquet")) if folder.is_dir() else []
    if not files:
        return None
    # diagonal: files with a value column and files without one (null there) read as one table
    frame = pl.concat([pl.read_parquet(p) for p in files], how="diagonal_relaxed")
    return frame.unique(subset=["request_id", "row"], keep="last", maintain_order=True)


@dataclass(frozen=True)
class Realized:
    """Metrics of one window's labelled predictions."""

    labelled: int
    task: str  # classification or regression
    metrics: dict[str, float]
    intervals: dict[str, tuple[float, float]]
    # the gate's critical slices, by slice key: the same metrics on the labelled rows each filter selects
    slices: dict[str, Realized] = field(default_factory=dict)
    filter: str | None = None  # a slice's own filter (None for the whole window)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        out: dict[str, Any] = {
            "labelled": self.labelled,
            "task": self.task,
            "metrics": self.metrics,
            "intervals": {k: list(v) for k, v in self.intervals.items()},
            "slices": {k: v.to_dict() for k, v in self.slices.items()},
        }
        if self.filter is not None:
            out["filter"] = self.filter
        return out

    def describe(self) -> str:
        """``accuracy 0.93 [0.89, 0.95] (n=240); slice age_ge_65: accuracy 0.81 [0.67, 0.90] (n=40)``."""
        parts = []
        for name, value in self.metrics.items():
            low_high = self.intervals.get(name)
            parts.append(f"{name} {value:.3f}" + (f" [{low_high[0]:.3f}, {low_high[1]:.3f}]" if low_high else ""))
        text = (", ".join(parts) + " " if parts else "") + f"(n={self.labelled})"
        return "; ".join([text, *(f"slice {k}: {v.describe()}" for k, v in self.slices.items())])


def realized(
    scored: pl.DataFrame,
    labels: pl.DataFrame,
    windows: list[Window],
    *,
    slices: list[CriticalSlice] | None = None,
    inputs: dict[str, str] | None = None,
    notes: list[str] | None = None,
) -> dict[Window, Realized]:
    """Per window, the metrics of ``scored`` log rows (time, request_id, row, prediction, proba_*) with a label.

    ``slices`` are the gate's critical slices, evaluated on the log's input columns (``inputs`` maps a log
    column to the input it holds, as ``Columns.inputs``); a window's labelled rows in a slice get the same
    metrics under ``slices[key]`` (none when the slice holds none of them).
    """
    import polars as pl

    if not windows or scored.is_empty() or "prediction" not in scored.columns:
        return {}
    joined = scored.join(labels.select("request_id", "row", "label"), on=["request_id", "row"], how="inner")
    in_slice: dict[str, pl.Series] = {}
    if slices:
        from mlgate.monitor.slices import masks

        named = {c: n for c, n in (inputs or {}).items() if c in joined.columns}
        frame = joined.select([pl.col(c).alias(n) for c, n in named.items()])
        in_slice = masks(frame, slices, notes if notes is not None else [])
    filters = {s.key: s.filter for s in slices or []}
    out = {}
    classification = not scored.schema["prediction"].is_float()
    for w in windows:
        within = (joined["time"] >= w.start) & (joined["time"] < w.end)
        part = joined.filter(within)
        if part.is_empty():
            continue
        got = _metrics(part, classification)
        if got is None:
            continue
        for key, mask in in_slice.items():
            rows = joined.filter(within & mask)
            sub = _metrics(rows, classification) if rows.height else None
            if sub is not None:
                got.slices[key] = Realized(sub.labelled, sub.task, sub.metrics, sub.intervals, filter=filters[key])
        out[w] = got
    return out


def _metrics(part: pl.DataFrame, classification: bool) -> Realized | None:
    return _classification(part) if classification else _regression(part)


def _classification(part: pl.DataFrame) -> Realized:
    import polars as pl

    n = part.height
    hits = int((part["prediction"].cast(pl.String) == part["label"]).sum())
    acc = hits / n
    metrics = {"accuracy": acc}
    intervals = {"accuracy": wilson(hits, n)}
    probas = [c for c in part.columns if c.startswith("proba_")]
    if len(probas) == 2 and part[probas[1]].null_count() == 0:
        positive = probas[1].removeprefix("proba_")
        y = (part["label"] == positive).to_numpy()
        if 0 < y.sum() < n and set(part["label"].unique().to_list()) <= {p.removeprefix("proba_") for p in probas}:
            from sklearn.metrics import roc_auc_score

            auc = float(roc_auc_score(y, part[probas[1]].to_numpy()))
            metrics["roc_auc"] = auc
            intervals["roc_auc"] = hanley_mcneil(auc, int(y.sum()), int(n - y.sum()))
    elif len(probas) > 2:
        from mlgate.monitor.estimate import macro_auc

        auc_ovr = macro_auc(part, probas)  # one-vs-rest, macro, as the gate's roc_auc and the estimate
        if auc_ovr is not None:
            metrics["roc_auc"] = auc_ovr
    return Realized(n, "classification", metrics, intervals)


def _regression(part: pl.DataFrame) -> Realized | None:
    import numpy as np
    import polars as pl

    truth = part["label"].cast(pl.Float64, strict=False).to_numpy()
    pred = part["prediction"].cast(pl.Float64).to_numpy()
    ok = np.isfinite(truth) & np.isfinite(pred)
    if not ok.any():
        return None
    err = pred[ok] - truth[ok]
    return Realized(
        int(ok.sum()),
        "regression",
        {"mae": float(np.mean(np.abs(err))), "rmse": float(math.sqrt(np.mean(err**2)))},
        {},
    )


def hanley_mcneil(auc: float, positives: int, negatives: int, z: float = Z95) -> tuple[float, float]:
    """The 95 % interval of a ROC AUC from Hanley and McNeil's (1982) standard error."""
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (positives - 1) * (q1 - auc**2) + (negatives - 1) * (q2 - auc**2)) / (
        positives * negatives
    )
    half = z * math.sqrt(max(var, 0.0))
    return max(0.0, auc - half), min(1.0, auc + half)


def wilson(hits: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion."""
    if n == 0:
        return 0.0, 1.0
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # exact at the ends: all hits has 1 as its upper bound, none 0 as its lower (not 1 - 1e-16 from rounding)
    return (0.0 if hits == 0 else max(0.0, centre - half)), (1.0 if hits == n else min(1.0, centre + half))
