"""The gate's critical slices, watched live: realized metrics on the labelled rows each slice's filter selects.

A gate entry ``{metric: recall, vs: production, slice: "age >= 65", max_drop: 0.02}`` names a critical
slice by a SQL filter over the evaluation columns; the gate report keeps the entry (``config.gates``, kind
``critical``). The monitor reads the slices of the serving version's latest passing gate report (else its
latest report), applies each filter to the logged inputs of the labelled rows, and gives each window the
same realized metrics as the whole window (:func:`mlgate.monitor.labels.realized`), per slice.

Each slice has a **key** for rules and JSON: its filter in lower case, comparison operators as words
(``>=`` ``ge``, ``<=`` ``le``, ``>`` ``gt``, ``<`` ``lt``, ``=``/``==`` ``eq``, ``!=``/``<>`` ``ne``),
every other run of characters that is not a letter or digit an underscore: ``age >= 65`` is
``age_ge_65``, and a rule names ``realized.slice.age_ge_65.accuracy``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

    from mlgate.registry.store import Registry
    from mlgate.registry.types import ModelVersion

_OPERATORS = (("<>", " ne "), (">=", " ge "), ("<=", " le "), ("!=", " ne "), ("==", " eq "))
_SINGLE = ((">", " gt "), ("<", " lt "), ("=", " eq "))


@dataclass(frozen=True)
class CriticalSlice:
    """One critical slice of a gate report: its key, its filter, and the gate that named it."""

    key: str
    filter: str
    gate: str
    metric: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {"key": self.key, "filter": self.filter, "gate": self.gate, "metric": self.metric}


def slice_key(expression: str) -> str:
    """``age >= 65 AND plan = 'pro'`` → ``age_ge_65_and_plan_eq_pro``."""
    text = expression.lower()
    for op, word in _OPERATORS:
        text = text.replace(op, word)
    for op, word in _SINGLE:
        text = text.replace(op, word)
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_") or "slice"


def from_gate_report(report: dict[str, Any]) -> list[CriticalSlice]:
    """The critical slices a gate report's configuration names, one per key (the first gate naming it)."""
    out: dict[str, CriticalSlice] = {}
    for entry in (report.get("config") or {}).get("gates") or []:
        if not isinstance(entry, dict) or entry.get("kind") != "critical" or not entry.get("slice"):
            continue
        expression = str(entry["slice"])
        key = slice_key(expression)
        out.setdefault(key, CriticalSlice(key, expression, str(entry.get("name") or expression), entry.get("metric")))
    return list(out.values())


def critical_slices(registry: Registry, mv: ModelVersion) -> tuple[list[CriticalSlice], str | None]:
    """The slices of ``mv``'s latest passing gate report (else its latest report), and that report's digest."""
    import json

    records = sorted(registry.gate_reports(mv), key=lambda r: (r.passed, r.created_at, r.id), reverse=True)
    for record in records[:1]:
        report = json.loads(registry.read_blob(record.report_digest, what="gate report"))
        return from_gate_report(report), str(record.report_digest)
    return [], None


def masks(frame: pl.DataFrame, slices: list[CriticalSlice], notes: list[str]) -> dict[str, pl.Series]:
    """Each slice's row mask over ``frame`` (inputs named as the evaluation columns); a filter the log's
    columns cannot evaluate is left out and said in ``notes``."""
    import polars as pl

    out = {}
    for s in slices:
        try:
            mask = frame.select(pl.sql_expr(s.filter).fill_null(False).alias("m")).get_column("m")
        except Exception as exc:  # polars raises several kinds for syntax and column errors
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            notes.append(f"the critical slice {s.filter!r} cannot be evaluated on the logged inputs: {text}")
            continue
        if mask.dtype != pl.Boolean:
            notes.append(f"the critical slice {s.filter!r} is not a condition on the logged inputs")
            continue
        out[s.key] = mask
    return out
