"""The schema model: a dataset's row bounds and per-column rules, and their YAML file.

``mlgate.schema.yaml`` holds one line per column, written by :meth:`Schema.to_yaml` and read back by
:meth:`Schema.load` (checked by :mod:`mlgate.data.schema.reader`, whose errors name the line).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgate.data.schema.dtypes import dtype_kind
from mlgate.errors import ConfigError, NotFoundError

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


@dataclass(frozen=True)
class Schema:
    """A dataset's schema: row bounds and per-column rules. ``source`` is the file it came from."""

    columns: dict[str, ColumnSchema] = field(default_factory=dict)
    rows_min: int | None = None
    rows_max: int | None = None
    target: str | None = None
    allow_extra_columns: bool = False
    source: str | None = field(default=None, compare=False)
    # set: fraction rules fail only when the data is significantly above them (a one-sided binomial test
    # at this level, see mlgate.data.schema.bounds); unset: plainly above them
    alpha: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The schema as plain data, as the YAML file holds it."""
        out: dict[str, Any] = {"format": FORMAT}
        if self.target is not None:
            out["target"] = self.target
        out["rows"] = {"min": self.rows_min, "max": self.rows_max}
        if self.alpha is not None:
            out["alpha"] = self.alpha
        if self.allow_extra_columns:
            out["allow_extra_columns"] = True
        out["columns"] = {name: col.to_dict() for name, col in self.columns.items()}
        return out

    def to_yaml(self) -> str:
        """YAML for people: a block per section and one flow mapping per column."""
        import yaml

        def flow(value: Any) -> str:
            return yaml.safe_dump(value, default_flow_style=True, sort_keys=False, width=1 << 30).strip()

        def key(name: str) -> str:
            # safe_dump quotes what YAML would otherwise read as something else (yes, 1, null …)
            return yaml.safe_dump(name, width=1 << 30).strip().removesuffix("...").strip()

        data = self.to_dict()
        lines = [
            "# mlgate data schema. Edit freely: every column rule is optional.",
            "# rules: dtype, nullable, max_null_fraction, range {min, max}, slack (widens the range by that",
            "# fraction of max - min), categories, max_unseen_fraction, unique, pattern (a regex searched in",
            "# the text), description. NaN counts as missing.",
            f"format: {FORMAT}",
        ]
        if "target" in data:
            lines.append(f"target: {key(data['target'])}")
        lines.append(f"rows: {flow(data['rows'])}")
        if self.alpha is not None:
            lines.append(
                f"alpha: {self.alpha:g}  # fraction rules fail only when the data is significantly above them "
                "(one-sided binomial test)"
            )
        if self.allow_extra_columns:
            lines.append("allow_extra_columns: true")
        lines.append("columns:" if self.columns else "columns: {}")
        for name, rules in data["columns"].items():
            lines.append(f"  {key(name)}: {flow(rules)}")
        return "\n".join(lines) + "\n"

    def save(self, path: str | Path) -> Path:
        """Write the schema as YAML to ``path``."""
        p = Path(path)
        p.write_text(self.to_yaml(), encoding="utf-8")
        return p

    @classmethod
    def load(cls, path: str | Path) -> Schema:
        """Read ``mlgate.schema.yaml``; errors name the file, the line and the key path."""
        from mlgate.config import _yaml_with_lines

        p = Path(path)
        if not p.exists():
            raise NotFoundError(
                f"schema file {p} does not exist",
                hint=f"create one with: mlgate data schema infer DATA -o {p}",
            )
        if p.is_dir():
            raise ConfigError(f"{p} is a folder, not a schema file")
        data, lines = _yaml_with_lines(p)
        if not data:
            raise ConfigError(f"{p}: the schema file is empty", hint=f"it should start with 'format: {FORMAT}'")
        return cls.from_dict(data, source=str(p), lines=lines)

    @classmethod
    def from_dict(
        cls,
        data: dict[str, Any],
        *,
        source: str | None = None,
        lines: dict[tuple[str | int, ...], int] | None = None,
    ) -> Schema:
        """Check and convert plain data (as loaded from YAML) into a Schema."""
        from mlgate.data.schema.reader import read_schema

        return read_schema(data, source=source or SCHEMA_NAME, lines=lines or {})
