"""Schema inference from a saved profile: the rules of :func:`~mlgate.data.schema.infer_schema`, without the data.

A reference is profiled once anyway (drift needs its profile), so inferring its schema from that profile
saves a pass over the data. Most rules come from exact fields of the profile; the rest are decided only
where the profile's sketches are exact, and left out, with a caveat naming the column, where they are not.

* ``dtype``, ``nullable`` / ``max_null_fraction``: exact (counts of rows, nulls and NaN).
* ``range`` of a numeric column: its exact min and max, which the profile takes over the finite values,
  widened by the spread of the ``TAIL`` most extreme values (:mod:`mlgate.data.schema.rules`), which the
  KLL sketch holds exactly while it holds every value (at most ``KLL_K`` values); beyond that they come
  from its weighted retained values, an approximation of that spread.
  When the column holds ±inf the profile does not record their sign, so no range is inferred (caveat).
  Integers are profiled as float64: beyond 2**53 a bound is rounded outwards by one step, so the data
  still passes.
* ``categories`` of a text column (or a text target): the frequent-items sketch keeps every item with
  its exact count until more distinct items than its capacity arrive (0.75 × 2**``FREQUENT_LG_MAX_MAP``
  = 768); only then does it purge, and its maximum error becomes positive (also after a merge that
  overflows). So a maximum error of 0 means the sketch lists every distinct value exactly, and the
  rule is the data rule, counts included (a closed set or ``max_unseen_fraction``). Otherwise there
  were more than 768 distinct values, more than any
  ``max_categories`` up to 768, so no categories, as from the data.
* ``categories`` of an integer target: the KLL sketch retains only real values of the column, so when
  its values cover every integer from the column's min to its max, those are all the classes; when it
  is not in estimation mode (at most ``KLL_K`` values) it holds every value. Otherwise: caveat.
* ``unique`` is not knowable from a sketch in general: a sketch cannot tell a million distinct ids from
  a million ids with one repeat. It is inferred exactly where a sketch holds every value (at most 768
  distinct strings, at most ``KLL_K`` integers). Elsewhere it is never set; repeats are proven when an
  item's lower bound in the frequent-items sketch is 2 or more, or when an integer column has more
  values than integers between its min and max; otherwise, when the HLL distinct-count estimate does
  not rule out that every value is distinct (the present rows lie within its 3-σ bounds), the column
  gets a caveat: add ``unique: true`` by hand, or infer from the data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.data.schema.dtypes import DTYPE_KINDS, NUMERIC_KINDS, dtype_kind
from mlgate.data.schema.model import ColumnSchema, Schema
from mlgate.data.schema.rules import ALPHA, TAIL, UNIQUE_MIN_ROWS, category_rule, null_rule, range_rule
from mlgate.errors import InputError

if TYPE_CHECKING:
    from mlgate.data.profile_model import ColumnProfile, Profile

_EXACT_INT = 2**53  # float64 holds every integer up to here


@dataclass(frozen=True)
class ProfileInference:
    """A schema inferred from a profile, and per column what the profile could not decide."""

    schema: Schema
    caveats: dict[str, str] = field(default_factory=dict)


def schema_from_profile(
    profile: Profile, *, slack: float = 0.0, max_categories: int = 50, target: str | None = None, alpha: float = ALPHA
) -> ProfileInference:
    """The schema ``infer_schema`` would infer from the profiled data, as far as the profile can tell.

    Where the profile's sketches are exact the schema equals the one inferred from the data; the
    module docstring lists the rules that are left out otherwise, and ``caveats`` names those columns.
    """
    label = f"profile of {profile.source}" if profile.source else "the profile"
    if slack < 0:
        raise InputError(f"slack must be zero or more, got {slack}")
    if not profile.columns:
        raise InputError(f"{label} has no columns; there is nothing to infer a schema from")
    if target is not None and target not in profile.columns:
        names = list(profile.columns)
        raise InputError(
            f"{label}: target column {target!r} is not in the profile",
            hint=f"columns are: {', '.join(names[:20])}{' …' if len(names) > 20 else ''}",
        )
    if profile.rows == 0:
        raise InputError(f"{label} covers no rows; there is nothing to infer a schema from")
    columns: dict[str, ColumnSchema] = {}
    caveats: dict[str, str] = {}
    has_nulls = any(_missing(col) for col in profile.columns.values())
    for name, col in profile.columns.items():
        schema_col, caveat = _column(
            col, profile.rows, slack, max_categories, wants_values=name == target, has_nulls=has_nulls, alpha=alpha
        )
        columns[name] = schema_col
        if caveat:
            caveats[name] = caveat
    schema = Schema(columns, rows_min=None, rows_max=None, target=target, alpha=alpha)
    return ProfileInference(schema, caveats)


def load_profile(path: str | Path) -> Profile:
    """A profile JSON file (``mlgate data profile -o``); any other JSON is an InputError saying so."""
    import json

    from mlgate.data.profile_model import FORMAT, Profile

    source = Path(path)
    try:
        head = json.loads(source.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{source} is not valid JSON: {exc}", hint="give a data file or an mlgate profile") from exc
    fmt = head.get("format") if isinstance(head, dict) else None
    if not (isinstance(fmt, str) and fmt.startswith(FORMAT.split("/")[0] + "/")):
        raise InputError(
            f"{source} is a JSON file but not an mlgate profile (its 'format' is {fmt!r})",
            hint="make one with `mlgate data profile DATA -o PROFILE.json`, or give the data itself",
        )
    return Profile.from_dict(head, origin=str(source))


def profile_dtype_name(text: str) -> str:
    """The schema dtype name of a profile's dtype text: ``Datetime(time_unit='us', …)`` → ``Datetime``."""
    name = text.split("(", 1)[0].strip()
    return "String" if name == "Utf8" else name


def _missing(col: ColumnProfile) -> int:
    """Missing values: nulls, and NaN in a float column, as in the data rule."""
    dtype = profile_dtype_name(col.dtype)
    kind = dtype_kind(dtype) if dtype in DTYPE_KINDS else None
    return col.nulls + (col.nan if kind == "float" else 0)


def _column(
    col: ColumnProfile,
    rows: int,
    slack: float,
    max_categories: int,
    *,
    wants_values: bool,
    has_nulls: bool,
    alpha: float,
) -> tuple[ColumnSchema, str | None]:
    dtype = profile_dtype_name(col.dtype)
    kind = dtype_kind(dtype) if dtype in DTYPE_KINDS else None
    missing = _missing(col)
    present = rows - missing
    out = ColumnSchema(col.name, dtype=None if present == 0 else dtype)
    limit = null_rule(missing, rows, data_has_nulls=has_nulls, slack=slack, alpha=alpha)
    out = replace(out, nullable=False) if limit is None else replace(out, max_null_fraction=limit)
    caveats: list[str] = []
    if kind in NUMERIC_KINDS and present:
        if col.inf:
            caveats.append("holds ±inf, whose sign the profile does not record: no range inferred")
        elif isinstance(col.min, int | float) and isinstance(col.max, int | float):
            lo, hi = (_int_bound(col.min, -1), _int_bound(col.max, 1)) if kind == "integer" else (col.min, col.max)
            lowest, highest = _tails(col, lo, hi)
            bounds = range_rule(lo, hi, lowest, highest, integer=kind == "integer")
            if bounds is not None:
                out = replace(
                    out, range=bounds, slack=float(slack) if slack and None not in (bounds.min, bounds.max) else 0.0
                )
    if present and kind in ("string", "integer"):
        wants_values = wants_values or kind == "string"
        values, repeats, caveat = _values(col, kind, present, max_categories, wants_values)
        count = None if values is None else len(values)
        all_distinct = count == present
        if count is not None and count <= max_categories and wants_values and not all_distinct:
            counts = _counts(col, kind)
            unseen = category_rule(counts, present, alpha=alpha) if counts is not None else None
            out = replace(out, categories=tuple(sorted(values)), max_unseen_fraction=unseen)  # type: ignore[arg-type]
        elif count is not None and present >= UNIQUE_MIN_ROWS and all_distinct:
            out = replace(out, unique=True)
        if caveat:
            caveats.append(caveat)
        if count is None and not repeats and present >= UNIQUE_MIN_ROWS and _maybe_all_distinct(col, present):
            caveats.append(
                "may hold only distinct values (the HLL estimate allows it), but unique is not knowable from "
                "a sketch: add `unique: true` by hand, or infer the schema from the data"
            )
    return out, "; ".join(caveats) or None


def _values(
    col: ColumnProfile, kind: str, present: int, max_categories: int, wants_values: bool
) -> tuple[list[Any] | None, bool, str | None]:
    """(every distinct value, or None when the sketches cannot list them; repeats proven; caveat)."""
    if kind == "string":
        return _text_values(col, max_categories)
    return _integer_values(col, present, max_categories, wants_values)


def _text_values(col: ColumnProfile, max_categories: int) -> tuple[list[Any] | None, bool, str | None]:
    import datasketches as ds

    if col.frequent is None:
        return None, False, None
    sketch = ds.frequent_strings_sketch.deserialize(col.frequent)
    rows = sketch.get_frequent_items(ds.frequent_items_error_type.NO_FALSE_NEGATIVES)
    if _max_error(sketch) == 0:
        return [item for item, *_ in rows], False, None
    repeats = any(lower >= 2 for _item, _est, lower, _upper in rows)
    # a purge needs more distinct items than the sketch's capacity: too many to be categories, unless
    # max_categories is at least that capacity
    caveat = None
    if max_categories >= _frequent_capacity():
        caveat = f"has more than {_frequent_capacity()} distinct values; categories are not knowable from its sketch"
    return None, repeats, caveat


def _integer_values(
    col: ColumnProfile, present: int, max_categories: int, wants_values: bool
) -> tuple[list[Any] | None, bool, str | None]:
    sketch = col.quantile_sketch()
    if sketch is None or sketch.is_empty() or not isinstance(col.min, int | float):
        return None, False, None
    lo, hi = float(col.min), float(col.max)  # type: ignore[arg-type]
    if max(abs(lo), abs(hi)) > _EXACT_INT:
        # the caveat covers unique too, so no second one is wanted: reported as if repeats were proven
        return (
            None,
            True,
            "has integers beyond 2**53, which its float64 sketch cannot tell apart: no categories or unique",
        )
    span = int(hi) - int(lo) + 1
    repeats = present > span  # more values than integers between min and max
    retained = [item for item, _weight in sketch]
    if not sketch.is_estimation_mode():  # the sketch holds every value
        return sorted({int(v) for v in retained}), repeats, None
    seen = {int(v) for v in retained}
    if len(seen) == span:  # the real values cover every integer from min to max: they are all the values
        return sorted(seen), repeats, None
    if wants_values and len(seen) <= max_categories:
        return None, repeats, "target classes are not knowable from its quantile sketch: list them as categories"
    return None, repeats, None


def _tails(col: ColumnProfile, lo: Any, hi: Any) -> tuple[list[Any], list[Any]]:
    """The ``TAIL`` lowest and highest values (extremes first), from the KLL sketch's weighted values.

    Exact while the sketch holds every value; otherwise each retained value stands for its weight in
    rows, which approximates the same spread. The profile's exact min and max lead each list.
    """
    sketch = col.quantile_sketch()
    if sketch is None or sketch.is_empty():
        return [lo], [hi]
    items = sorted((float(v), int(w)) for v, w in sketch)

    def first(ordered: list[tuple[float, int]]) -> list[Any]:
        out: list[Any] = []
        for value, weight in ordered:
            out += [value] * min(weight, TAIL - len(out))
            if len(out) >= TAIL:
                break
        return out

    lowest, highest = first(items), first(items[::-1])
    return [lo, *lowest[1:]], [hi, *highest[1:]]


def _counts(col: ColumnProfile, kind: str) -> dict[Any, int] | None:
    """Each value's count where the sketches hold it exactly (text: frequent items; integers: a full KLL)."""
    if kind == "string":
        return col.frequent_items()
    sketch = col.quantile_sketch()
    if sketch is None:
        return None
    counts: dict[Any, int] = {}
    for value, weight in sketch:
        counts[int(value)] = counts.get(int(value), 0) + int(weight)
    return counts


def _max_error(sketch: Any) -> int:
    """The sketch's maximum error (its purge offset): the width of any item's bounds."""
    probe = "\x00mlgate: absent item"
    return int(sketch.get_upper_bound(probe) - sketch.get_lower_bound(probe))


def _frequent_capacity() -> int:
    from mlgate.data.sketches import FREQUENT_LG_MAX_MAP

    return 3 * (1 << FREQUENT_LG_MAX_MAP) // 4


def _maybe_all_distinct(col: ColumnProfile, present: int) -> bool:
    """Whether the HLL estimate allows every present value to be distinct (3 standard deviations)."""
    import datasketches as ds

    if col.hll is None:
        return True
    return present <= ds.hll_sketch.deserialize(col.hll).get_upper_bound(3)


def _int_bound(value: float, direction: int) -> int:
    """A float64 bound of an integer column as an int; beyond 2**53 one step outwards, so the data still passes."""
    if abs(value) <= _EXACT_INT:
        return int(value)
    return int(math.nextafter(value, math.inf * direction))
