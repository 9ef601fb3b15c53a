"""The profile model: ``Profile`` and ``ColumnProfile``, how they merge, and their JSON file.

A profile of the whole equals the merge of the profiles of its parts: counts, nulls, NaN, ±inf, min,
max and string lengths add up or combine exactly, the mean and the sum of squared deviations (M2)
combine with Chan et al.'s update, and the sketches merge (Apache DataSketches,
:mod:`mlgate.data.sketches`), so partitions can be profiled apart (files, days, workers) and merged
later. Stored as JSON with ``format: mlgate.profile/1``, sketches as base64 of their images; a file of
another format is refused with a message that names both formats.

Kinds: numeric (integers, floats, decimals; integers are profiled as float64), datetime (dates and
datetimes, as epoch microseconds), categorical (strings, categoricals, enums), boolean, and other
(durations, lists, structs, all-null ``Null`` columns …: counts and nulls only).
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.data import sketches
from mlgate.errors import InputError, NotFoundError, UsageError

if TYPE_CHECKING:
    import datasketches

FORMAT = "mlgate.profile/1"
HISTOGRAM_BINS = 20
KINDS = ("numeric", "categorical", "boolean", "datetime", "other")
_BYTES_FIELDS = ("kll", "frequent", "hll")


@dataclass
class ColumnProfile:
    """Statistics of one column; every field merges exactly or as a sketch."""

    name: str
    dtype: str
    kind: str
    count: int
    nulls: int
    nan: int = 0
    inf: int = 0
    min: float | str | None = None
    max: float | str | None = None
    mean: float | None = None
    m2: float | None = None
    kll: bytes | None = None
    frequent: bytes | None = None
    hll: bytes | None = None
    str_len_min: int | None = None
    str_len_max: int | None = None
    str_len_sum: int = 0
    histogram: dict[str, list[float]] | None = None

    @property
    def valid(self) -> int:
        """Values that are neither null nor NaN (±inf count as valid)."""
        return self.count - self.nulls - self.nan

    @property
    def finite(self) -> int:
        """Values the mean, M2 and KLL sketch cover: not null, not NaN, not ±inf."""
        return self.valid - self.inf

    @property
    def variance(self) -> float | None:
        """Sample variance (n − 1) of the finite values; None below two of them."""
        if self.m2 is None or self.finite < 2:
            return None
        return self.m2 / (self.finite - 1)

    @property
    def std(self) -> float | None:
        """Sample standard deviation of the finite values."""
        var = self.variance
        return None if var is None else math.sqrt(max(var, 0.0))

    def quantile_sketch(self) -> datasketches.kll_doubles_sketch | None:
        """The KLL sketch over the finite values (numeric and datetime columns)."""
        return None if self.kll is None else sketches.quantile_sketch(self.kll)

    def frequent_items(self) -> dict[str, int] | None:
        """Value → estimated count for every item the sketch keeps (no false negatives), most frequent first."""
        return None if self.frequent is None else sketches.frequent_items(self.frequent)

    def distinct(self) -> float | None:
        """Estimated number of distinct non-null values (HLL; DataSketches ignores the empty string)."""
        return None if self.hll is None else sketches.distinct(self.hll)

    def quantiles(self, qs: Sequence[float]) -> list[float] | None:
        """Approximate quantiles of the finite values; None when there are none."""
        sketch = self.quantile_sketch()
        if sketch is None or sketch.is_empty():
            return None
        return [float(v) for v in sketch.get_quantiles(list(qs))]

    def merge(self, other: ColumnProfile) -> ColumnProfile:
        """The profile of both columns' values together."""
        if other.name != self.name:
            raise InputError(f"cannot merge column {self.name!r} with column {other.name!r}")
        a, b = self, other
        if a.kind != b.kind:  # an all-null part read as dtype Null takes the other part's type
            a, b = _retyped(a, b), _retyped(b, a)
        if a.kind != b.kind:
            raise InputError(
                f"column {a.name!r} is {a.kind} ({a.dtype}) in one profile and {b.kind} ({b.dtype}) in the other",
                hint="profiles merge only when every column has the same kind",
            )
        out = ColumnProfile(
            name=a.name,
            dtype=a.dtype if a.dtype == b.dtype else _common_dtype(a.kind, a.dtype),
            kind=a.kind,
            count=a.count + b.count,
            nulls=a.nulls + b.nulls,
            nan=a.nan + b.nan,
            inf=a.inf + b.inf,
            min=pick_present(min, a.min, b.min),
            max=pick_present(max, a.max, b.max),
            str_len_min=pick_present(min, a.str_len_min, b.str_len_min),
            str_len_max=pick_present(max, a.str_len_max, b.str_len_max),
            str_len_sum=a.str_len_sum + b.str_len_sum,
        )
        out.mean, out.m2 = _chan(a.finite, a.mean, a.m2, b.finite, b.mean, b.m2)
        out.kll = sketches.merge_kll(a.kll, b.kll)
        out.frequent = sketches.merge_frequent(a.frequent, b.frequent)
        out.hll = sketches.merge_hll(a.hll, b.hll)
        out.histogram = histogram(out)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields; sketches as base64."""
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            out[key] = base64.b64encode(value).decode("ascii") if key in _BYTES_FIELDS and value is not None else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ColumnProfile:
        """Inverse of :meth:`to_dict`."""
        values = dict(data)
        for key in _BYTES_FIELDS:
            if values.get(key) is not None:
                values[key] = base64.b64decode(values[key])
        return cls(**values)


@dataclass
class Profile:
    """Per-column profiles of a dataset, in the data's column order."""

    rows: int
    columns: dict[str, ColumnProfile] = field(default_factory=dict)
    source: str | None = None
    digest: str | None = None

    def merge(self, other: Profile) -> Profile:
        """The profile of both datasets together; columns must match by name and kind."""
        missing = [c for c in self.columns if c not in other.columns]
        extra = [c for c in other.columns if c not in self.columns]
        if missing or extra:
            name = (missing or extra)[0]
            raise InputError(
                f"column {name!r} is in only one of the profiles being merged",
                hint="profiles merge only when they have the same columns",
            )
        merged = {name: col.merge(other.columns[name]) for name, col in self.columns.items()}
        source = self.source if self.source == other.source else None
        return Profile(rows=self.rows + other.rows, columns=merged, source=source)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary, ``format`` first."""
        out: dict[str, Any] = {"format": FORMAT, "rows": self.rows, "source": self.source}
        out["columns"] = [col.to_dict() for col in self.columns.values()]
        if self.digest is not None:
            out["digest"] = self.digest
        return out

    def to_json(self) -> str:
        """JSON text; sets :attr:`digest` to the blake3 digest of the canonical JSON (without the digest)."""
        from mlgate.hashing import digest_json

        self.digest = None
        body = self.to_dict()
        self.digest = digest_json(body)
        body["digest"] = self.digest
        return json.dumps(body, indent=1)

    @classmethod
    def from_dict(cls, data: Any, *, origin: str = "(given as text)") -> Profile:
        """Inverse of :meth:`to_dict`; anything else raises InputError naming ``origin``."""
        fmt = data.get("format") if isinstance(data, dict) else None
        if fmt != FORMAT:
            raise _incompatible(origin, fmt)
        try:
            columns = [ColumnProfile.from_dict(c) for c in data["columns"]]
            return cls(
                rows=int(data["rows"]),
                columns={c.name: c for c in columns},
                source=data.get("source"),
                digest=data.get("digest"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise _incompatible(origin, fmt, detail=f"{type(exc).__name__}: {exc}") from exc

    @classmethod
    def from_json(cls, text: str, *, origin: str = "(given as text)") -> Profile:
        """Read a profile from its JSON text."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _incompatible(origin, None, detail=f"not JSON: {exc}") from exc
        return cls.from_dict(data, origin=origin)

    def save(self, path: str | Path) -> Path:
        """Write the JSON to ``path`` (folders are created) and return the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.to_json() + "\n", encoding="utf-8")
        return target

    @classmethod
    def load(cls, path: str | Path) -> Profile:
        """Read a profile file written by :meth:`save`."""
        source = Path(path)
        if not source.is_file():
            raise NotFoundError(f"profile file {source} does not exist")
        try:
            text = source.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise _incompatible(str(source), None, detail="not UTF-8 text") from exc
        return cls.from_json(text, origin=str(source))


# --- merging -----------------------------------------------------------------------------------------


def pick_present(fn: Any, a: Any, b: Any) -> Any:
    """``fn(a, b)`` when both are known, else whichever is (None when neither is): merges min, max, sums."""
    if a is None:
        return b
    if b is None:
        return a
    return fn(a, b)


def _chan(
    na: int, mean_a: float | None, m2_a: float | None, nb: int, mean_b: float | None, m2_b: float | None
) -> tuple[float | None, float | None]:
    """Mean and M2 of two groups together (Chan, Golub and LeVeque)."""
    if not nb or mean_b is None:
        return (mean_a, m2_a) if na else (None, None)
    if not na or mean_a is None:
        return mean_b, m2_b
    n = na + nb
    delta = mean_b - mean_a
    mean = mean_a + delta * nb / n
    m2 = (m2_a or 0.0) + (m2_b or 0.0) + delta * delta * na * nb / n
    return mean, m2


def _common_dtype(kind: str, first: str) -> str:
    """The dtype of a merged column whose parts were read with different dtypes of one kind."""
    return {"numeric": "Float64", "categorical": "String"}.get(kind, first)


def _retyped(null_part: ColumnProfile, typed: ColumnProfile) -> ColumnProfile:
    """An all-null column of dtype Null, seen as the other part's type (it holds no values either way)."""
    if null_part.dtype != "Null":
        return null_part
    return ColumnProfile(null_part.name, typed.dtype, typed.kind, count=null_part.count, nulls=null_part.nulls)


def histogram(col: ColumnProfile) -> dict[str, list[float]] | None:
    """Display histogram: 20 equal-width bins between min and max, counts read from the KLL sketch.

    Bins that floating point cannot tell apart (a range of a few subnormals, or ±0.5 lost on values near
    1e308) are merged, so there may be fewer than 20; the edges are weighted sums of min and max, which
    cannot overflow where max − min would.
    """
    sketch = col.quantile_sketch()
    if sketch is None or sketch.is_empty() or not isinstance(col.min, int | float):
        return None
    import numpy as np

    low, high = float(col.min), float(col.max)  # type: ignore[arg-type]
    if high <= low:
        low, high = low - 0.5, high + 0.5
    share = np.linspace(0.0, 1.0, HISTOGRAM_BINS + 1)[1:-1]
    inner = np.unique(low * (1 - share) + high * share)  # the sketch wants unique, increasing split points
    inner = inner[(inner > low) & (inner < high)]
    pmf = np.asarray(sketch.get_pmf(inner.tolist())) if inner.size else np.ones(1)
    counts = np.rint(pmf * sketch.n).astype(int)
    return {"edges": [low, *inner.tolist(), high], "counts": counts.tolist()}


# --- errors ------------------------------------------------------------------------------------------


def _incompatible(origin: str, fmt: Any, *, detail: str | None = None) -> InputError:
    found = fmt if isinstance(fmt, str) else "none"
    return InputError(
        f"profile file {origin} was written by an incompatible version (format {found}, expected {FORMAT}); "
        "re-create it with `mlgate data profile`",
        hint=detail,
    )


def merge_all(profiles: Iterable[Profile]) -> Profile:
    """Merge several profiles left to right."""
    items = list(profiles)
    if not items:
        raise UsageError("no profiles to merge")
    out = items[0]
    for item in items[1:]:
        out = out.merge(item)
    return out
