"""The monitor report: per window volume, errors, latency, input drift, prediction drift and data quality;
JSON (``mlgate.monitor-report/1``) and Markdown."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlgate.monitor.estimate import Estimated
from mlgate.monitor.quality import QualityIssue
from mlgate.monitor.windows import Window

if TYPE_CHECKING:
    from mlgate.data.drift import DriftReport
    from mlgate.monitor.labels import Realized

FORMAT = "mlgate.monitor-report/1"


@dataclass(frozen=True)
class Limits:
    """The thresholds a window is held to."""

    drift_share: float = 0.5
    max_error_rate: float = 0.01
    max_p95_ms: float | None = None
    min_accuracy: float | None = None  # breached when the realized accuracy's whole interval is below it

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "drift_share": self.drift_share,
            "max_error_rate": self.max_error_rate,
            "max_p95_ms": self.max_p95_ms,
            "min_accuracy": self.min_accuracy,
        }


@dataclass(frozen=True)
class DriftSummary:
    """What a window's drift report says: the verdict, the drifted columns and every column's test."""

    dataset_drift: bool
    drifted_share: float
    drifted_columns: list[str]
    tested: int
    rows_ref: int
    rows_cur: int
    columns: list[dict[str, Any]]

    @classmethod
    def of(cls, report: DriftReport) -> DriftSummary:
        """The summary of a :class:`~mlgate.data.drift.DriftReport`."""
        return cls(
            report.dataset_drift,
            report.drifted_share,
            report.drifted_columns,
            sum(c.tested for c in report.columns),
            report.rows_ref,
            report.rows_cur,
            [c.to_dict() for c in report.columns],
        )

    @property
    def column_names(self) -> list[str]:
        """Every compared column, largest drift first."""
        return [c["column"] for c in self.columns]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "dataset_drift": self.dataset_drift,
            "drifted_share": self.drifted_share,
            "drifted_columns": self.drifted_columns,
            "tested": self.tested,
            "rows_ref": self.rows_ref,
            "rows_cur": self.rows_cur,
            "columns": self.columns,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DriftSummary:
        """Inverse of :meth:`to_dict`."""
        return cls(**data)


@dataclass
class WindowResult:
    """The figures of one window and the limits it breached."""

    window: Window
    requests: int
    rows: int
    errors: int
    refused: int
    latency_ms: dict[str, float] | None
    input_drift: DriftSummary | None
    prediction_drift: DriftSummary | None
    quality: list[QualityIssue]
    is_reference: bool = False
    breaches: list[str] = field(default_factory=list)
    realized: Realized | None = None
    estimated: Estimated | None = None

    @property
    def error_rate(self) -> float:
        """Server errors (5xx) over requests."""
        return self.errors / self.requests if self.requests else 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "start": _iso(self.window.start),
            "end": _iso(self.window.end),
            "requests": self.requests,
            "rows": self.rows,
            "errors": self.errors,
            "refused": self.refused,
            "error_rate": self.error_rate if self.requests else None,  # none without traffic
            "latency_ms": self.latency_ms,
            "input_drift": None if self.input_drift is None else self.input_drift.to_dict(),
            "prediction_drift": None if self.prediction_drift is None else self.prediction_drift.to_dict(),
            "prediction_reference": self.is_reference,
            "quality": [q.to_dict() for q in self.quality],
            "realized": None if self.realized is None else self.realized.to_dict(),
            "estimated": None if self.estimated is None else self.estimated.to_dict(),
            "breaches": self.breaches,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], window: Window) -> WindowResult:
        """Inverse of :meth:`to_dict` (realized metrics left out: labels arrive later)."""

        def drift(key: str) -> DriftSummary | None:
            return None if data.get(key) is None else DriftSummary.from_dict(data[key])

        return cls(
            window,
            int(data["requests"]),
            int(data["rows"]),
            int(data["errors"]),
            int(data["refused"]),
            data["latency_ms"],
            drift("input_drift"),
            drift("prediction_drift"),
            [QualityIssue.from_dict(q) for q in data["quality"]],
            bool(data["prediction_reference"]),
            list(data["breaches"]),
            estimated=None if data.get("estimated") is None else Estimated.from_dict(data["estimated"]),
        )


@dataclass
class MonitorReport:
    """One monitor run over a prediction log."""

    model: str
    version: str
    log: str
    window: dt.timedelta
    limits: Limits
    windows: list[WindowResult]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files_read: int = 0
    files_cached: int = 0
    windows_cached: int = 0  # windows whose verdict was cached (same files, references and limits)
    # what prediction drift was measured against: {"kind": "gate", "report": digest, "rows": n},
    # {"kind": "first window" | "period", "start": ..., "end": ..., "rows": n}, or None (no predictions)
    prediction_reference: dict[str, Any] | None = None

    @property
    def breached(self) -> bool:
        """Whether any window breached a limit."""
        return any(w.breaches for w in self.windows)

    def summary(self) -> str:
        """One line for people."""
        bad = [w for w in self.windows if w.breaches]
        verdict = f"{len(bad)} of {len(self.windows)} window(s) breached a limit" if bad else "no limit breached"
        requests = sum(w.requests for w in self.windows)
        span = f"{len(self.windows)} window(s) of {_span(self.window)}"
        return f"{self.version}: {verdict} ({requests:,} request(s) in {span})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready report."""
        return {
            "format": FORMAT,
            "model": self.model,
            "version": self.version,
            "log": self.log,
            "window_s": self.window.total_seconds(),
            "limits": self.limits.to_dict(),
            "breached": self.breached,
            "summary": self.summary(),
            "windows": [w.to_dict() for w in self.windows],
            "skipped": [{"file": f, "reason": r} for f, r in self.skipped],
            "notes": self.notes,
            "files_read": self.files_read,
            "files_cached": self.files_cached,
            "windows_cached": self.windows_cached,
            "prediction_reference": self.prediction_reference,
        }

    def to_markdown(self) -> str:
        """A Markdown report: the verdict, a table of windows, then what each breach was."""
        lines = [
            f"# Monitor: {self.version}",
            "",
            f"**{self.summary()}** · log `{self.log}` · files read {self.files_read}, from cache {self.files_cached}",
            "",
            "| window (UTC) | requests | rows | errors | refused | p50 ms | p95 ms | p99 ms | input drift "
            "| prediction drift | quality | verdict |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for w in self.windows:
            lat = w.latency_ms or {}
            verdict = "**breach**" if w.breaches else ("reference" if w.is_reference else "ok")
            lines.append(
                f"| {w.window.label} | {w.requests:,} | {w.rows:,} | {rate_text(w)} | {w.refused:,} "
                f"| {_ms(lat.get('p50'))} | {_ms(lat.get('p95'))} | {_ms(lat.get('p99'))} | {_share(w.input_drift)} "
                f"| {_share(w.prediction_drift)} | {len(w.quality)} | {verdict} |"
            )
        for w in self.windows:
            if not w.breaches:
                continue
            lines += ["", f"## {w.window.label}", ""]
            lines += [f"- {b}" for b in w.breaches]
            lines += [f"- quality: {q.describe()}" for q in w.quality]
        scored = [w for w in self.windows if w.realized is not None or w.estimated is not None]
        if scored:
            lines += ["", "## Performance: estimated (CBPE or DLE, without labels) and realized (labelled)", ""]
            lines += ["| window (UTC) | estimated | realized |", "|---|---|---|"]
            for w in scored:
                est = w.estimated.describe() if w.estimated is not None else "-"
                real = w.realized.describe() if w.realized is not None else "-"
                lines.append(f"| {w.window.label} | {est} | {real} |")
        if self.skipped:
            lines += ["", "## Skipped files", ""]
            lines += [f"- `{f}`: {r}" for f, r in self.skipped]
        if self.notes:
            lines += ["", "## Notes", ""]
            lines += [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


def _share(report: DriftSummary | None) -> str:
    if report is None:
        return "-"
    mark = " ⚠" if report.dataset_drift else ""
    return f"{len(report.drifted_columns)}/{report.tested}{mark}"


def rate_text(w: WindowResult, dash: str = "-") -> str:
    """The window's 5xx share, or a dash without traffic (0 of 0 requests is no rate at all)."""
    return f"{w.error_rate:.1%}" if w.requests else dash


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _iso(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _span(size: dt.timedelta) -> str:
    seconds = int(size.total_seconds())
    for unit, n in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % n == 0:
            return f"{seconds // n}{unit}"
    return f"{seconds}s"
