"""``mlgate gate --plan``: what each change check can resolve on the evaluation set, before scoring a model.

It reads the evaluation rows and the ``gates:`` section, and for every comparison (change, critical
slice, slice gate) estimates the smallest margin an equally good candidate passes on those rows
(:func:`mlgate.gates.resolution.estimate`), so that a margin too small for the set is found before a
retrain is blocked as undecided. Nothing is loaded or scored.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlgate.config import Settings, load_settings
from mlgate.gates.resolution import describe, estimate


@dataclass
class PlanRow:
    """One comparison of the configured gates, as the evaluation set can decide it."""

    gate: str
    metric: str
    rows: int
    max_drop: float | None  # None when relative (it depends on the champion's value)
    resolution: float | None  # estimated smallest resolvable margin; None when it cannot be estimated
    below_resolution: bool
    rows_needed: int | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def plan(
    *,
    data: Any = None,
    target: str | None = None,
    config: str | Path | Settings | None = None,
    against: str = "production",
) -> list[PlanRow]:
    """Each comparison of the gates with the resolution the evaluation set is expected to give it."""
    from mlgate.gates.evaluate import _read, eval_source
    from mlgate.gates.slices import by_filter
    from mlgate.gates.spec import parse_gates

    settings = config if isinstance(config, Settings) else load_settings(config=config)
    data, target = eval_source(settings, data, target)
    frame, _, _ = _read(data, target)
    y = frame.get_column(target).to_numpy()
    task = _task(y, settings.data.task)
    specs, _, _ = parse_gates(settings, task=task, against=against)
    out = []
    for spec in specs:
        if spec.kind not in ("change", "critical", "slices") or spec.metric is None:
            continue
        rows, y_rows = len(y), y
        if spec.kind == "critical":
            mask = by_filter(frame, spec.slice or "", where=spec.where).mask
            rows, y_rows = int(mask.sum()), y[mask]
        elif spec.kind == "slices":
            rows, y_rows = spec.min_rows, None  # the smallest slice tested decides what a slice gate can see
        out.append(_row(spec, task, rows, y_rows))
    return out


def _row(spec: Any, task: str, rows: int, y: np.ndarray | None) -> PlanRow:
    metric = spec.metric
    where = f"per slice of {rows} rows (min_rows)" if spec.kind == "slices" else f"{rows} rows"
    if spec.relative or task == "regression":
        why = "relative max_drop" if spec.relative else "a regression metric (its scale)"
        return PlanRow(spec.name, metric, rows, None if spec.relative else spec.max_drop, None, False, None,
                       f"{where}: the resolution depends on {why}; the report measures it")  # fmt: skip
    if rows == 0:
        return PlanRow(spec.name, metric, 0, spec.max_drop, None, True, None, "no evaluation rows match")
    res = estimate(metric, y, rows, spec.max_drop, spec.confidence)
    if res["below_resolution"]:
        message = f"{where}: {describe(res, spec.max_drop)}"
    else:
        message = f"{where}: resolves changes ≥ {res['resolution']:.2g}; max_drop {spec.max_drop:g} is resolvable"
    return PlanRow(
        spec.name, metric, rows, spec.max_drop, res["resolution"], res["below_resolution"], res["rows_needed"], message
    )


def _task(y: np.ndarray, declared: str | None) -> str:
    if declared in ("binary", "multiclass", "regression"):
        return declared
    if y.dtype.kind == "f" and (not np.all(np.isnan(y) | (y == np.round(y))) or np.unique(y).size > 20):
        return "regression"
    return "binary" if np.unique(y).size <= 2 else "multiclass"
