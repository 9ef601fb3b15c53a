"""``drift``: read both sides (raw data or profiles), pick the exact or the sketch path, compare every column.

A side is data :func:`mlgate.data.io.scan` reads, a profile JSON file or a
:class:`~mlgate.data.profile.Profile`. A model reference (``fraud@production``) is resolved above the data
layer, by :func:`mlgate.reference.resolve_reference` (the CLI, the quickstart), into the model's
training profile: this package never imports the model layer.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.data.drift import config as _config
from mlgate.data.drift.config import PROFILE_FORMAT_PREFIX, SMALL_SAMPLE, DriftConfig
from mlgate.data.drift.report import ColumnDrift, DriftReport
from mlgate.data.drift.statistics import _column_from_profile, _column_from_series, _compare
from mlgate.errors import InputError, UsageError

if TYPE_CHECKING:
    from mlgate.data.profile import Profile


@dataclass
class _Side:
    label: str
    profile: Profile | None = None
    lazy: Any = None  # Polars LazyFrame
    head: Any = None  # the first SMALL_SAMPLE + 1 rows, read once to tell small references


def resolve_source(source: Any) -> Any:
    """What a reference or current argument stands for: a Profile, or data :func:`mlgate.data.io.scan` reads.

    A ``.json`` file whose ``format`` starts with ``mlgate.profile/`` is loaded as a profile. A model
    reference (``fraud@production``) that names no file is refused here: resolve it to the model's training
    profile first, with :func:`mlgate.reference.resolve_reference`.
    """
    from mlgate.data.profile import Profile

    if isinstance(source, Profile) or not isinstance(source, str | Path):
        return source
    path = Path(source)
    if path.suffix.lower() == ".json" and path.is_file():
        try:
            head = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"{path} is not valid JSON: {exc}", hint="give a data file or an mlgate profile") from exc
        fmt_ = head.get("format") if isinstance(head, dict) else None
        if not (isinstance(fmt_, str) and fmt_.startswith(PROFILE_FORMAT_PREFIX)):
            raise InputError(
                f"{path} is a JSON file but not an mlgate profile (its 'format' is {fmt_!r})",
                hint="make one with `mlgate data profile`, or give the data itself (parquet, csv, ipc, jsonl)",
            )
        return Profile.load(path)
    if not path.exists() and looks_like_model_ref(str(source)):
        raise UsageError(
            f"{source} names a model, and drift compares data or profiles",
            hint="pass mlgate.reference.resolve_reference(ref) (the model's training profile) instead",
        )
    return source


def looks_like_model_ref(text: str) -> bool:
    """Whether ``text`` parses as a model reference (``fraud@production``, ``fraud:7``) rather than a path."""
    from mlgate.refs import parse_ref

    if "@" not in text and ":" not in text:
        return False
    try:
        parse_ref(text)
    except UsageError:
        return False
    return True


def _side(source: Any, label: str) -> _Side:
    from mlgate.data.io import scan
    from mlgate.data.profile import Profile

    resolved = resolve_source(source)
    if isinstance(resolved, Profile):
        if resolved.rows == 0:
            raise InputError(f"the {label} profile covers no rows")
        return _Side(label, profile=resolved)
    return _Side(label, lazy=scan(resolved))


def _named(source: Any) -> str:
    return str(source) if isinstance(source, str | Path) else type(source).__name__


def _no_rows(label: str, source: Any) -> InputError:
    return InputError(f"the {label} data ({_named(source)}) has no rows", hint="drift needs values on both sides")


def drift(reference: Any, current: Any, *, config: DriftConfig | None = None) -> DriftReport:
    """Compare ``current`` with ``reference`` column by column (see the module docstring for the rules).

    Each side is a dataset (path, folder, glob, or a pandas/Polars/PyArrow object), a profile JSON file,
    or a :class:`~mlgate.data.profile.Profile`.
    """
    import polars as pl

    from mlgate.data.io import collect
    from mlgate.data.profile import profile

    config = config or DriftConfig()
    ref, cur = _side(reference, "reference"), _side(current, "current")
    ref_schema = _schema(ref)
    cur_schema = _schema(cur)
    _check_names(config, ref_schema, cur_schema)
    ignored = [c for c in config.ignore if c in ref_schema or c in cur_schema]
    common = [c for c in ref_schema if c in cur_schema and c not in ignored]
    if not common:
        raise InputError(
            "reference and current have no column in common"
            + (" (after --ignore)" if ignored else "")
            + f"; reference columns: {list(ref_schema)}; current columns: {list(cur_schema)}",
            hint="compare datasets that share column names",
        )

    exact = False
    rows_ref = rows_cur = 0
    if ref.lazy is not None and cur.lazy is not None and config.engine != "sketch":
        if config.engine == "exact":
            ref.head = collect(ref.lazy.select(common))
        else:
            ref.head = collect(ref.lazy.select(common).head(SMALL_SAMPLE + 1))
        rows_ref = ref.head.height
        if rows_ref == 0:
            raise _no_rows("reference", reference)
        if config.engine == "exact" or rows_ref <= SMALL_SAMPLE:
            rows_cur = int(collect(cur.lazy.select(pl.len())).item())
            exact = config.engine == "exact" or rows_cur <= _config.EXACT_MAX_ROWS
    elif config.engine == "exact":
        raise UsageError("the exact drift engine needs raw data on both sides, not profiles")

    if exact:
        if rows_cur == 0:
            raise _no_rows("current", current)
        cur_df = collect(cur.lazy.select(common))
        ref_cols = {c: _column_from_series(ref.head[c]) for c in common}
        cur_cols = {c: _column_from_series(cur_df[c]) for c in common}
    else:
        if ref.profile is None:
            # a small reference already read whole is profiled from memory, not read again
            whole = ref.head is not None and ref.head.height <= SMALL_SAMPLE
            ref.profile = profile(ref.head if whole else ref.lazy, columns=common, allow_empty=True)
        if cur.profile is None:
            cur.profile = profile(cur.lazy, columns=common, allow_empty=True)
        rows_ref, rows_cur = ref.profile.rows, cur.profile.rows
        if rows_ref == 0:
            raise _no_rows("reference", reference)
        if rows_cur == 0:
            raise _no_rows("current", current)
        ref_cols = {c: _column_from_profile(ref.profile.columns[c]) for c in common}
        cur_cols = {c: _column_from_profile(cur.profile.columns[c]) for c in common}

    results = [_compare(c, ref_cols[c], cur_cols[c], config, exact) for c in common]
    results += [
        ColumnDrift(c, _side_kind(ref, c), "missing", True, math.inf, 0, 0, exact, reason="not in the current data")
        for c in ref_schema
        if c not in cur_schema and c not in ignored
    ]
    results.sort(key=lambda r: (-r.severity, r.column))
    return DriftReport(
        columns=results,
        rows_ref=rows_ref,
        rows_cur=rows_cur,
        share=float(config.share),
        engine="exact" if exact else "sketch",
        only_in_reference=[c for c in ref_schema if c not in cur_schema and c not in ignored],
        only_in_current=[c for c in cur_schema if c not in ref_schema and c not in ignored],
        ignored=ignored,
    )


def _side_kind(side: _Side, column: str) -> str:
    """The kind of one column of a side (numeric, categorical …), without reading data."""
    from mlgate.data.profile import kind_of

    if side.lazy is not None:  # a profile made here covers only the common columns
        return kind_of(side.lazy.collect_schema()[column])
    return side.profile.columns[column].kind  # type: ignore[union-attr]


def _schema(side: _Side) -> dict[str, str]:
    """Column name → dtype string, without reading data."""
    if side.profile is not None:
        return {name: col.dtype for name, col in side.profile.columns.items()}
    import polars as pl

    try:
        schema = side.lazy.collect_schema()
    except pl.exceptions.PolarsError as exc:
        raise InputError(f"cannot read the {side.label} data: {str(exc).strip().splitlines()[0]}") from exc
    return {name: str(dtype) for name, dtype in schema.items()}


def _check_names(config: DriftConfig, ref_schema: dict[str, str], cur_schema: dict[str, str]) -> None:
    both = [c for c in ref_schema if c in cur_schema]
    for name in config.columns:
        if name not in both or name in config.ignore:
            raise UsageError(
                f"drift settings name column {name!r}, which is not in both datasets"
                + (" (it is also ignored)" if name in config.ignore else ""),
                hint=f"columns in both: {', '.join(both) or '(none)'}",
            )
    for name in config.ignore:
        if name not in ref_schema and name not in cur_schema:
            raise UsageError(
                f"ignored column {name!r} is in neither dataset",
                hint=f"columns in both: {', '.join(both) or '(none)'}",
            )
