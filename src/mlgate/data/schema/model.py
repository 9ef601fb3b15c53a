"""The schema model: a dataset's row bounds and per-column rules, and their YAML file.

``mlgate.schema.yaml`` holds one line per column, written by :meth:`Schema.to_yaml` and read back by
:meth:`Schema.load` (checked by :mod:`mlgate.data.schema.reader`, whose errors name the line).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgate.data.schema.columns import COLUMN_KEYS, FORMAT, SCHEMA_NAME, TOP_KEYS, ColumnSchema, Range
from mlgate.data.schema.reader import read_schema_fields
from mlgate.errors import ConfigError, NotFoundError

__all__ = ["COLUMN_KEYS", "FORMAT", "SCHEMA_NAME", "TOP_KEYS", "ColumnSchema", "Range", "Schema"]


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
        return cls(**read_schema_fields(data, source=source or SCHEMA_NAME, lines=lines or {}))
