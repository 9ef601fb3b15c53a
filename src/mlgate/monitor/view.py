"""The monitor report as a report view (:mod:`mlgate.report.view`): the self-contained HTML page of ``--html``.

The page holds the verdict, the time series (:mod:`.plots`, PNG bytes inlined), the table of windows
(a breached window is a failing row), what each breach was, estimated beside realized performance, the
files skipped and the notes. It needs no network: one file to attach to an incident or a CI run.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlgate.errors import UsageError
from mlgate.monitor.report import rate_text
from mlgate.report.view import DASH, Bullets, Code, Document, Figure, Figures, Row, Section, Table, Text

if TYPE_CHECKING:
    from mlgate.monitor.report import DriftSummary, MonitorReport

PLOT_TITLES = {
    "drift": "Drift per column",
    "performance": "Realized vs estimated performance",
    "latency": "Latency",
    "volume": "Volume",
}


def document(report: MonitorReport, images: dict[str, bytes] | None = None) -> Document:
    """The view of ``report``; ``images`` are the plots' PNG bytes by name (:func:`mlgate.monitor.plots.figures`)."""
    blocks: list[object] = []
    if images:
        blocks.append(
            Figures(tuple(Figure(name, PLOT_TITLES.get(name, name), png=png) for name, png in images.items()))
        )
    rows = []
    for w in report.windows:
        lat = w.latency_ms or {}
        status = "fail" if w.breaches else ("skip" if w.is_reference else "pass")
        rows.append(
            Row(
                (
                    w.window.label,
                    f"{w.requests:,}",
                    f"{w.rows:,}",
                    rate_text(w, DASH),
                    f"{w.refused:,}",
                    _ms(lat.get("p50")),
                    _ms(lat.get("p95")),
                    _ms(lat.get("p99")),
                    _share(w.input_drift),
                    "reference" if w.is_reference else _share(w.prediction_drift),
                    str(len(w.quality)),
                ),
                status=status,
            )
        )
    blocks.append(
        Table(
            "windows",
            "Windows",
            (
                "window (UTC)",
                "requests",
                "rows",
                "errors",
                "refused",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "input drift",
                "prediction drift",
                "quality issues",
            ),
            "lrrrrrrrrrr",
            tuple(rows),
            fold="never",
        )
    )
    breached = [w for w in report.windows if w.breaches]
    if breached:
        blocks.append(
            Section(
                "Breaches",
                tuple(
                    Section(w.window.label, (Bullets((*w.breaches, *(q.describe() for q in w.quality))),))
                    for w in breached
                ),
                key="breaches",
            )
        )
    scored = [w for w in report.windows if w.realized is not None or w.estimated is not None]
    if scored:
        blocks.append(
            Table(
                "performance",
                "Performance: estimated (CBPE or DLE, without labels) and realized (labelled)",
                ("window (UTC)", "estimated", "realized"),
                "lll",
                tuple(
                    Row(
                        (
                            w.window.label,
                            w.estimated.describe() if w.estimated is not None else DASH,
                            w.realized.describe() if w.realized is not None else DASH,
                        )
                    )
                    for w in scored
                ),
            )
        )
    if report.skipped:
        blocks.append(
            Section("Skipped files", (Bullets(tuple((Code(f), f": {r}") for f, r in report.skipped)),), key="skipped")
        )
    if report.notes:
        blocks.append(Section("Notes", (Bullets(tuple(report.notes)),), key="notes"))
    mark = "❌ " if report.breached else "✅ "
    return Document(
        title=(mark + "Monitor: ", Code(report.version)),
        blocks=tuple(blocks),  # type: ignore[arg-type]
        summary=(
            Text(report.summary()),
            Text(
                "log ",
                Code(report.log),
                f" · files read {report.files_read}, from cache {report.files_cached}",
                style="small",
            ),
        ),
        passed=not report.breached,
        key="monitor",
        footer="mlgate monitor · mlgate.monitor-report/1",
    )


def html(report: MonitorReport) -> str:
    """``report`` as one self-contained HTML page, its time series drawn (matplotlib) and inlined."""
    from mlgate.monitor.plots import figures
    from mlgate.report.html import html_of

    return html_of(document(report, figures(report)))


def _share(report: DriftSummary | None) -> str:
    if report is None:
        return DASH
    mark = " ⚠" if report.dataset_drift else ""
    return f"{len(report.drifted_columns)}/{report.tested}{mark}"


def _ms(value: float | None) -> str:
    return DASH if value is None else f"{value:.1f}"


def write_html(report: MonitorReport, path: Path) -> Path:
    """Write :func:`html` of ``report`` to ``path`` (through a temporary file: a reader never sees half a page)."""
    from mlgate.files import write_atomic

    path = Path(path)
    if path.parent and not path.parent.is_dir():
        raise UsageError(f"--html {path}: the folder {path.parent} does not exist", hint="create it first")
    write_atomic(path, html(report))
    return path
