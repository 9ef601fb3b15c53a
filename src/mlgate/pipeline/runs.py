"""Comparing recorded runs: params and metrics flattened to ``file:key.sub`` and set side by side."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlgate.registry.types import RunRecord

ABSENT: Any = type("Absent", (), {"__repr__": lambda self: "ABSENT"})()


def flatten(values: dict[str, Any], *, files: bool = False, prefix: str = "") -> dict[str, Any]:
    """Nested values as one level: ``{"train": {"lr": 0.1}}`` → ``{"train.lr": 0.1}``.

    With ``files`` the top-level keys are metrics files: ``{"m.json": {"acc": 1}}`` → ``{"m.json:acc": 1}``.
    """
    out: dict[str, Any] = {}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, prefix=name + (":" if files and not prefix else ".")))
        else:
            out[name] = value
    return dict(sorted(out.items()))


@dataclass(frozen=True)
class DiffRow:
    """One param or metric in two runs."""

    section: str  # params or metrics
    key: str
    a: Any
    b: Any

    @property
    def change(self) -> str:
        """``+0.0123`` for numbers, ``added``/``removed``/``changed``/``same`` otherwise."""
        if self.a is ABSENT:
            return "added"
        if self.b is ABSENT:
            return "removed"
        if self.a == self.b:
            return "same"
        numeric = (int, float)
        if isinstance(self.a, numeric) and isinstance(self.b, numeric) and not isinstance(self.a, bool):
            return f"{self.b - self.a:+.6g}"
        return "changed"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (absent values are null)."""
        return {
            "section": self.section,
            "key": self.key,
            "a": None if self.a is ABSENT else self.a,
            "b": None if self.b is ABSENT else self.b,
            "change": self.change,
        }


def diff_runs(a: RunRecord, b: RunRecord, *, only_changed: bool = True) -> list[DiffRow]:
    """Params, then metrics, of two runs; only the keys that differ unless ``only_changed`` is False."""
    rows: list[DiffRow] = []
    for section, va, vb in (("params", a.params, b.params), ("metrics", a.metrics, b.metrics)):
        files = section == "metrics"
        fa, fb = flatten(va, files=files), flatten(vb, files=files)
        for key in sorted(set(fa) | set(fb)):
            row = DiffRow(section, key, fa.get(key, ABSENT), fb.get(key, ABSENT))
            if not only_changed or row.change != "same":
                rows.append(row)
    return rows
