"""The column rules of a schema (``Range``, ``ColumnSchema``) and the keys its YAML file may hold.

Below :mod:`mlgate.data.schema.model` (``Schema``, which holds these) and
:mod:`mlgate.data.schema.reader` (which builds them from a loaded file), so neither imports the other's
caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlgate.data.schema.dtypes import dtype_kind

FORMAT = "mlgate.schema/1"
SCHEMA_NAME = "mlgate.schema.yaml"
TOP_KEYS = ("format", "target", "rows", "alpha", "allow_extra_columns", "columns")
COLUMN_KEYS = (
    "dtype",
    "nullable",
    "max_null_fraction",
    "range",
    "slack",
    "categories",
    "max_unseen_fraction",
    "unique",
    "pattern",
    "description",
)


@dataclass(frozen=True)
class Range:
    """Inclusive bounds; ``None`` leaves a side open."""

    min: int | float | None = None
    max: int | float | None = None

    def bounds(self, slack: float = 0.0) -> tuple[float | None, float | None]:
        """The bounds widened by ``slack`` × (max − min) on each side (only when both are set)."""
        lo, hi = self.min, self.max
        if slack and lo is not None and hi is not None:
            pad = slack * (hi - lo)
            return lo - pad, hi + pad
        return lo, hi


@dataclass(frozen=True)
class ColumnSchema:
    """The rules one column must meet; ``None``/``False`` rules are not checked."""

    name: str
    dtype: str | None = None
    nullable: bool = True
    max_null_fraction: float | None = None
    range: Range | None = None
    slack: float = 0.0
    categories: tuple[Any, ...] | None = None
    max_unseen_fraction: float | None = None
    unique: bool = False
    pattern: str | None = None
    description: str | None = None

    @property
    def kind(self) -> str | None:
        """The kind the data must have: the dtype's, or numeric when only a range is given."""
        if self.dtype:
            return dtype_kind(self.dtype)
        return "float" if self.range is not None else None

    def to_dict(self) -> dict[str, Any]:
        """The rules that are set, in the file's order."""
        out: dict[str, Any] = {}
        if self.dtype:
            out["dtype"] = self.dtype
        if not self.nullable:
            out["nullable"] = False
        if self.max_null_fraction is not None:
            out["max_null_fraction"] = self.max_null_fraction
        if self.range is not None:
            out["range"] = {"min": self.range.min, "max": self.range.max}
        if self.slack:
            out["slack"] = self.slack
        if self.categories is not None:
            out["categories"] = list(self.categories)
        if self.max_unseen_fraction is not None:
            out["max_unseen_fraction"] = self.max_unseen_fraction
        if self.unique:
            out["unique"] = True
        if self.pattern is not None:
            out["pattern"] = self.pattern
        if self.description:
            out["description"] = self.description
        return out
