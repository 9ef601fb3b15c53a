"""PNG plots of a gate report: ROC, precision–recall, calibration, slices and residuals.

Each figure is a :class:`matplotlib.figure.Figure` drawn straight onto the Agg canvas, never through
pyplot, so no global state changes and no display is needed. Figures are 6 × 4 in at 100 dpi (the
slice chart grows with its rows); the candidate is drawn solid in blue, the champion dashed in grey.
The slices are a forest plot: each slice's change with its interval against its allowed drop, failing
red, undecided amber, not tested grey with the reason. A plot is written only when the report holds data for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np

from mlgate.report.gate_view import PLOT_TITLES, check_report, slice_order, status_of
from mlgate.report.view import number

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

WIDTH, HEIGHT, DPI = 6.0, 4.0, 100
MAX_SLICE_BARS = 25  # more bars stop being readable; the worst ones are kept
MAX_POINTS = 5000  # residual scatter points per model; more only make the file larger


class _Line(TypedDict):
    """How one series is drawn: keyword arguments of ``Axes.plot``."""

    color: str
    linestyle: str
    linewidth: float


CANDIDATE: _Line = {"color": "#1f77b4", "linestyle": "-", "linewidth": 2.0}
CHAMPION: _Line = {"color": "#7f7f7f", "linestyle": "--", "linewidth": 1.6}
FAILING = "#d62728"
UNDECIDED = "#ff9f1c"  # amber
UNTESTED = "#9e9e9e"
REFERENCE: _Line = {"color": "#bbbbbb", "linestyle": ":", "linewidth": 1.0}


def plots(report: Mapping[str, Any], out_dir: Path) -> dict[str, Path]:
    """Write ``<name>.png`` into ``out_dir`` for each plot the report has data for; returns name → path."""
    check_report(report)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for name, draw in _DRAWERS.items():
        figure = draw(report)
        if figure is None:
            continue
        path = out_dir / f"{name}.png"
        # no Software/version stamp: the same report gives the same bytes
        figure.savefig(path, format="png", metadata={"Software": None})
        written[name] = path
    return written


def _figure(name: str, xlabel: str, ylabel: str, height: float = HEIGHT) -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH, height), dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    axes.set_title(PLOT_TITLES[name])
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(True, alpha=0.3)
    return figure, axes


def _floats(values: Any) -> np.ndarray | None:
    """A float array (null → NaN), or None when there is nothing finite to draw."""
    if not isinstance(values, list | tuple) or not values:
        return None
    array = np.asarray([np.nan if v is None else v for v in values], dtype=float)
    return array if np.isfinite(array).any() else None


def _curves(report: Mapping[str, Any], name: str, x: str, y: str) -> dict[str, tuple[np.ndarray, np.ndarray, Any]]:
    """``side → (x, y, entry)`` for the candidate and champion curves of one plot that have both arrays."""
    section = (report.get("plots") or {}).get(name) or {}
    found = {}
    for side in ("candidate", "champion"):
        entry = section.get(side) if isinstance(section, Mapping) else None
        if not isinstance(entry, Mapping):
            continue
        xs, ys = _floats(entry.get(x)), _floats(entry.get(y))
        if xs is not None and ys is not None and len(xs) == len(ys):
            found[side] = (xs, ys, entry)
    return found if "candidate" in found or "champion" in found else {}


def _style(side: str) -> _Line:
    return CANDIDATE if side == "candidate" else CHAMPION


def _unit_square(axes: Axes) -> None:
    axes.set_xlim(-0.01, 1.01)
    axes.set_ylim(-0.01, 1.01)


def _roc(report: Mapping[str, Any]) -> Figure | None:
    curves = _curves(report, "roc", "fpr", "tpr")
    if not curves:
        return None
    figure, axes = _figure("roc", "False positive rate", "True positive rate")
    axes.plot([0, 1], [0, 1], label="chance", **REFERENCE)
    for side, (fpr, tpr, entry) in curves.items():
        auc = entry.get("auc")
        axes.plot(fpr, tpr, label=side if auc is None else f"{side} (AUC {number(auc)})", **_style(side))
    _unit_square(axes)
    axes.legend(loc="lower right")
    return figure


def _pr(report: Mapping[str, Any]) -> Figure | None:
    curves = _curves(report, "pr", "recall", "precision")
    if not curves:
        return None
    figure, axes = _figure("pr", "Recall", "Precision")
    for side, (recall, precision, entry) in curves.items():
        ap = entry.get("ap")
        label = side if ap is None else f"{side} (AP {number(ap)})"
        axes.plot(recall, precision, drawstyle="steps-post", label=label, **_style(side))
    _unit_square(axes)
    axes.legend(loc="lower left")
    return figure


def _calibration(report: Mapping[str, Any]) -> Figure | None:
    curves = _curves(report, "calibration", "mean_predicted", "fraction_positive")
    if not curves:
        return None
    figure, axes = _figure("calibration", "Mean predicted probability", "Fraction of positives")
    axes.plot([0, 1], [0, 1], label="perfectly calibrated", **REFERENCE)
    for side, (predicted, observed, _entry) in curves.items():
        axes.plot(predicted, observed, marker="o", markersize=4, label=side, **_style(side))
    _unit_square(axes)
    axes.legend(loc="upper left")
    # how many rows each point stands on: a bin of 3 rows is not evidence of miscalibration
    side = "candidate" if "candidate" in curves else next(iter(curves))
    predicted, _observed, entry = curves[side]
    counts = entry.get("count") if isinstance(entry, Mapping) else None
    if isinstance(counts, list) and len(counts) == len(predicted):
        bars = axes.twinx()
        bars.bar(predicted, [float(c or 0) for c in counts], width=0.06, color=_style(side)["color"], alpha=0.18)
        bars.set_ylabel(f"rows per bin ({side})", fontsize=8)
        for x, c in zip(predicted, counts, strict=True):
            bars.annotate(str(c), (x, float(c or 0)), ha="center", va="bottom", fontsize=6, color="#555555")
    return figure


def _residuals(report: Mapping[str, Any]) -> Figure | None:
    curves = _curves(report, "residuals", "predicted", "actual")
    if not curves:
        return None
    figure, axes = _figure("residuals", "Predicted", "Residual (actual − predicted)")
    axes.axhline(0.0, **REFERENCE)
    markers = {"candidate": ("o", 0.5), "champion": ("x", 0.4)}
    for side, (predicted, actual, _entry) in curves.items():
        keep = np.unique(np.linspace(0, len(predicted) - 1, min(len(predicted), MAX_POINTS)).astype(int))
        marker, alpha = markers[side]
        axes.scatter(
            predicted[keep], (actual - predicted)[keep], s=12, marker=marker, alpha=alpha, color=_style(side)["color"]
        )
        axes.plot([], [], marker=marker, linestyle="", color=_style(side)["color"], label=side)  # legend entry
    axes.legend(loc="best")
    return figure


def _slices(report: Mapping[str, Any]) -> Figure | None:
    """A forest plot: each slice's change with its interval against the allowed drop; failing red, undecided
    (the interval reaches past the allowed drop) amber, not tested grey with the reason."""
    from matplotlib.lines import Line2D

    items = [s for s in (report.get("slices") or []) if isinstance(s, Mapping)]
    items = [s for s in items if s.get("delta") is not None or status_of(s) in ("not-tested", "skip")]
    if not items:
        return None
    shown = sorted(items, key=slice_order)[:MAX_SLICE_BARS]  # the same order as the slice table
    n = len(shown)
    metrics = sorted({str(s.get("metric")) for s in shown if s.get("metric")})
    label = f"change in {metrics[0]} (candidate − champion)" if len(metrics) == 1 else "change (candidate − champion)"
    figure, axes = _figure("slices", label, "", height=max(HEIGHT, 1.4 + 0.4 * n))
    if n < len(items):
        axes.set_title(f"{PLOT_TITLES['slices']} ({n} of {len(items)})")
    higher = {m: bool(((report.get("metrics") or {}).get(m) or {}).get("higher_is_better", True)) for m in metrics}
    colours, labels = [], []
    for y, s in enumerate(shown):
        name = _short(str(s.get("slice") or "?")) + ("" if len(metrics) == 1 else f" · {s.get('metric')}")
        if s.get("delta") is None:  # not tested: a grey marker at 0 and the reason in the label
            colours.append(UNTESTED)
            axes.plot([0], [y], marker="x", color=UNTESTED)
            labels.append(_short(f"{name} — {str(s.get('reason') or 'not tested').removeprefix('not tested: ')}", 60))
            continue
        delta, ci = float(s["delta"]), s.get("ci") or [s["delta"], s["delta"]]
        drop = float(s.get("max_drop") or 0.0)
        up = higher.get(str(s.get("metric")), True)
        worst = float(ci[0]) if up else -float(ci[1])
        colour = FAILING if status_of(s) in ("fail", "error") else (UNDECIDED if worst < -drop else CANDIDATE["color"])
        colours.append(colour)
        axes.errorbar([delta], [y], xerr=[[delta - float(ci[0])], [float(ci[1]) - delta]], fmt="o", color=colour,
                      capsize=3, markersize=4)  # fmt: skip
        axes.plot([-drop if up else drop] * 2, [y - 0.4, y + 0.4], color=FAILING, linewidth=1, alpha=0.6)
        labels.append(name)
    axes.axvline(0, **REFERENCE)
    axes.set_yticks(np.arange(n), labels=labels, fontsize=8)
    for tick, colour in zip(axes.get_yticklabels(), colours, strict=True):
        if colour != CANDIDATE["color"]:
            tick.set_color(colour)
    axes.invert_yaxis()
    axes.grid(False, axis="y")
    handles = [
        Line2D([], [], marker="o", color=CANDIDATE["color"], label="within the allowed drop"),
        Line2D([], [], marker="o", color=UNDECIDED, label="undecided"),
        Line2D([], [], marker="o", color=FAILING, label="failing"),
        Line2D([], [], marker="x", linestyle="", color=UNTESTED, label="not tested"),
        Line2D([], [], color=FAILING, alpha=0.6, label="allowed drop"),
    ]
    figure.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    return figure


def _confusion(report: Mapping[str, Any]) -> Figure | None:
    """The candidate's confusion matrix (and the champion's beside it), shaded by the share of each true class."""
    from matplotlib.figure import Figure

    section = (report.get("plots") or {}).get("confusion")
    if not isinstance(section, Mapping) or not isinstance(section.get("candidate"), list):
        return None
    names = [str(c) for c in section.get("classes") or []]
    sides = [s for s in ("candidate", "champion") if isinstance(section.get(s), list)]
    k = len(names)
    size = max(HEIGHT, 1.5 + 0.35 * k)
    figure = Figure(figsize=(WIDTH * len(sides) / 1.4, size), dpi=DPI, layout="constrained")
    figure.suptitle(PLOT_TITLES["confusion"])
    for j, side in enumerate(sides):
        matrix = np.asarray(section[side], dtype=np.float64)
        if matrix.shape != (k, k):
            return None
        share = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
        axes = figure.add_subplot(1, len(sides), j + 1)
        axes.imshow(share, cmap="Blues", vmin=0, vmax=1)
        axes.set_title(side, fontsize=9)
        axes.set_xticks(np.arange(k), labels=names, fontsize=7)
        axes.set_yticks(np.arange(k), labels=names, fontsize=7)
        axes.set_xlabel("predicted")
        if j == 0:
            axes.set_ylabel("true")
        if k <= 12:
            for (r, c), count in np.ndenumerate(matrix):
                if count:
                    colour = "white" if share[r, c] > 0.6 else "black"
                    axes.text(c, r, f"{int(count)}", ha="center", va="center", fontsize=6, color=colour)
    return figure


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


_DRAWERS: dict[str, Callable[[Mapping[str, Any]], Figure | None]] = {
    "roc": _roc,
    "pr": _pr,
    "calibration": _calibration,
    "slices": _slices,
    "residuals": _residuals,
    "confusion": _confusion,
}
