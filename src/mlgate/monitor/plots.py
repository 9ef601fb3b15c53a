"""PNG time series of a monitor report: input drift per column, performance, latency and volume, per window.

Each figure is a :class:`matplotlib.figure.Figure` drawn straight onto the Agg canvas, never through
pyplot (no global state, no display), and saved without a software stamp, so one report gives the same
bytes. matplotlib is imported only when a figure is drawn. A figure is left out when the report holds
nothing for it (no labels and no probabilities: no performance plot).

* ``drift``: a heat map, one row per input column (and per output column for prediction drift), one
  cell per window, coloured by the test's severity (≥ 1 is drifted; capped at 3), drifted cells marked;
* ``performance``: realized metrics (labelled rows, their 95 % intervals as error bars and a band) beside
  the estimated ones (CBPE or DLE, without labels), one colour per metric, realized solid with dots,
  estimated dashed with open diamonds (a single window still shows both);
* ``latency``: p50, p95 and p99 of the request latency;
* ``volume``: requests per window, server errors stacked in red.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlgate.monitor.report import DriftSummary

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from mlgate.monitor.report import MonitorReport, WindowResult

WIDTH, HEIGHT, DPI = 8.0, 3.6, 100
MAX_DRIFT_ROWS = 40  # more rows stop being readable: the columns that drifted most are kept
SEVERITY_CAP = 3.0
TITLES = {
    "drift": "Drift per column (severity, ≥ 1 drifted)",
    "performance": "Performance: realized vs estimated",
    "latency": "Latency percentiles",
    "volume": "Volume",
}
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b")


def figures(report: MonitorReport) -> dict[str, bytes]:
    """PNG bytes of each plot the report has data for, by name (``drift``, ``performance``, ``latency``, ``volume``)."""
    out: dict[str, bytes] = {}
    if not report.windows:
        return out
    for name, draw in (("drift", _drift), ("performance", _performance), ("latency", _latency), ("volume", _volume)):
        figure = draw(report.windows)
        if figure is not None:
            out[name] = _png(figure)
    return out


def _png(figure: Figure) -> bytes:
    import io

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _figure(name: str, ylabel: str, height: float = HEIGHT) -> tuple[Figure, Axes]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH, height), dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    axes.set_title(TITLES[name])
    axes.set_ylabel(ylabel)
    axes.grid(True, alpha=0.3)
    return figure, axes


def _times(windows: list[WindowResult]) -> list[int]:
    return list(range(len(windows)))  # by position: a gap-free axis whatever the window length


def _window_axis(axes: Axes, windows: list[WindowResult]) -> None:
    """Ticks at up to eight windows, labelled with their start (UTC)."""
    import numpy as np

    ticks = np.unique(np.linspace(0, len(windows) - 1, num=min(len(windows), 8)).astype(int))
    axes.set_xticks(ticks, [windows[int(t)].window.label for t in ticks], fontsize=7, rotation=30, ha="right")
    axes.set_xlabel("window (UTC)")
    if len(windows) == 1:
        axes.set_xlim(-0.5, 0.5)


def _drift(windows: list[WindowResult]) -> Figure | None:
    import numpy as np

    def rows_of(key: str, prefix: str) -> dict[str, dict[int, tuple[float, bool]]]:
        out: dict[str, dict[int, tuple[float, bool]]] = {}
        for i, w in enumerate(windows):
            summary: DriftSummary | None = getattr(w, key)
            for col in summary.columns if summary is not None else []:
                sev = col.get("severity")
                if sev is None:
                    continue
                out.setdefault(prefix + str(col["column"]), {})[i] = (float(sev), bool(col.get("drifted")))
        return out

    rows = {**rows_of("input_drift", ""), **rows_of("prediction_drift", "output: ")}
    if not rows:
        return None
    worst = sorted(rows, key=lambda n: -max(s for s, _ in rows[n].values()))[:MAX_DRIFT_ROWS]
    names = sorted(worst, key=_natural)  # inputs, then outputs; f2 before f10
    grid = np.full((len(names), len(windows)), np.nan)
    for r, name in enumerate(names):
        for i, (sev, _) in rows[name].items():
            grid[r, i] = min(sev, SEVERITY_CAP)
    figure, axes = _figure("drift", "", height=max(2.4, 1.2 + 0.22 * len(names)))
    axes.grid(False)
    image = axes.imshow(
        np.ma.masked_invalid(grid), aspect="auto", cmap="YlOrRd", vmin=0.0, vmax=SEVERITY_CAP, interpolation="nearest"
    )
    for r, name in enumerate(names):
        for i, (_, drifted) in rows[name].items():
            if drifted:
                axes.plot(i, r, marker="x", color="black", markersize=4, linestyle="none")
    axes.set_yticks(range(len(names)), [_short(n) for n in names], fontsize=7)
    _window_axis(axes, windows)
    figure.colorbar(image, ax=axes, label="severity", shrink=0.9)
    return figure


def _performance(windows: list[WindowResult]) -> Figure | None:
    import numpy as np

    metrics: list[str] = []
    for w in windows:
        for source in (w.realized, w.estimated):
            for name in source.metrics if source is not None else {}:
                if name not in metrics:
                    metrics.append(name)
    if not metrics:
        return None
    times = _times(windows)
    figure, axes = _figure("performance", "value")
    for k, name in enumerate(metrics):
        colour = COLOURS[k % len(COLOURS)]
        real = [w.realized.metrics.get(name) if w.realized is not None else None for w in windows]
        est = [w.estimated.metrics.get(name) if w.estimated is not None else None for w in windows]
        if any(v is not None for v in real):
            y = np.array([np.nan if v is None else v for v in real], dtype=float)
            low = np.array([_bound(w, name, 0) for w in windows], dtype=float)
            high = np.array([_bound(w, name, 1) for w in windows], dtype=float)
            # the 95 % interval as an error bar on each window: seen alone too (one window, or between gaps)
            spread = np.vstack([y - low, high - y])
            spread = np.where(np.isfinite(spread), np.maximum(spread, 0.0), 0.0)
            axes.errorbar(
                times, y, yerr=spread, color=colour, marker="o", markersize=3, capsize=3, label=f"{name} (realized)"
            )
            axes.fill_between(times, low, high, color=colour, alpha=0.15, linewidth=0)
        if any(v is not None for v in est):
            y = np.array([np.nan if v is None else v for v in est], dtype=float)
            axes.plot(
                times, y, color=colour, linestyle="--", marker="D", markersize=4, fillstyle="none",
                label=f"{name} (estimated)",
            )  # fmt: skip
    axes.legend(fontsize=8, loc="best")
    _window_axis(axes, windows)
    return figure


def _bound(w: WindowResult, name: str, side: int) -> float:
    if w.realized is None or name not in w.realized.intervals:
        return float("nan")
    return float(w.realized.intervals[name][side])


def _latency(windows: list[WindowResult]) -> Figure | None:
    if not any(w.latency_ms for w in windows):
        return None
    times = _times(windows)
    figure, axes = _figure("latency", "ms")
    for k, q in enumerate(("p50", "p95", "p99")):
        y = [(w.latency_ms or {}).get(q, float("nan")) for w in windows]
        axes.plot(times, y, color=COLOURS[k], marker="o", markersize=2, label=q)
    axes.legend(fontsize=8, loc="best")
    _window_axis(axes, windows)
    return figure


def _volume(windows: list[WindowResult]) -> Figure | None:
    times = _times(windows)
    width = 0.8
    figure, axes = _figure("volume", "requests")
    ok = [w.requests - w.errors for w in windows]
    axes.bar(times, ok, width=width, color=COLOURS[0], label="answered")
    axes.bar(times, [w.errors for w in windows], width=width, bottom=ok, color="#d62728", label="server errors")
    axes.legend(fontsize=8, loc="best")
    _window_axis(axes, windows)
    return figure


def _natural(name: str) -> tuple[Any, ...]:
    import re

    return (name.startswith("output: "), *((int(t), "") if t.isdigit() else (-1, t) for t in re.split(r"(\d+)", name)))


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
