"""The gate report (``mlgate.gate-report/1``, docs/gate-report.md) as a report view.

:func:`view` reads a stored report into the gate's own summary (:class:`View`: verdict, counts, tables);
:func:`gate_document` turns that into the :class:`~mlgate.report.view.Document` that every renderer draws
(Markdown, HTML, terminal), so they always say the same thing. Rows that need a reviewer come first:
failed, errored, waived, warned, then passed and skipped, in report order within a status (slices:
smallest adjusted p-value first).

A metric's figures (value, champion, change, interval) share one precision across the report, four
significant digits at the metric's magnitude; other numbers keep 4 significant digits. All use the
typographic minus; differences carry their sign (``+0.01``, ``−0.15``) and so do the ends of their
intervals (``[−0.012, +0.004]``). p-values below 0.001 read ``<0.001``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from numbers import Real
from typing import Any

from mlgate.errors import InputError
from mlgate.report.view import (
    DASH,
    Bullets,
    Code,
    Document,
    Figure,
    Figures,
    Row,
    Section,
    Strong,
    Table,
    Text,
    decimals_of,
    fixed,
    interval,
    number,
    p_value,
    rank,
    short_digest,
    signed,
    verdict,
)

PLOT_TITLES = {
    "roc": "ROC curve",
    "pr": "Precision–recall curve",
    "calibration": "Calibration",
    "slices": "Slices: candidate vs champion",
    "residuals": "Residuals",
    "confusion": "Confusion matrix (rows: true class)",
}

_DELTA_KINDS = {"change", "slice", "slices"}  # their interval is of a difference, so it is signed
_METRIC_KINDS = {"change", "slice", "slices", "bound"}
_OPS = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "="}
_UNITS = {"latency": "ms", "size": "MB"}  # what Check.value holds for these kinds


@dataclass(frozen=True)
class View:
    """Everything a rendered report shows, in order."""

    passed: bool
    candidate: str
    against: str
    counts: tuple[tuple[str, bool], ...]  # ("2 failed", True): text and whether it is bad news
    total: int
    identity: Table | None
    tables: tuple[Table, ...]  # checks, slices, metrics, as far as the report has them
    notes: tuple[str, ...]
    details: Table | None
    reason: str = ""  # the most specific reason the gate blocked: "lost class — classes kept: …"

    @property
    def verdict(self) -> str:
        """The headline verdict, mark first."""
        return "✅ Gate passed" if self.passed else "❌ Gate blocked"


# -- the view --------------------------------------------------------------------------------------


def check_report(report: Any) -> None:
    """Raise InputError unless ``report`` is a gate report this version can render."""
    from mlgate.gates.types import REPORT_SCHEMA  # here, so a data report's view does not load the gate layer

    if not isinstance(report, Mapping):
        raise InputError(
            f"a gate report must be a dict (the stored JSON), got {type(report).__name__}",
            hint="load the report with json.loads(...) before rendering it",
        )
    schema = report.get("schema")
    if schema != REPORT_SCHEMA:
        raise InputError(
            f"unsupported gate report schema {schema!r}; this mlgate renders {REPORT_SCHEMA!r}",
            hint="render the report with the mlgate version that wrote it, or upgrade mlgate",
        )


def view(report: Mapping[str, Any], *, max_slices: int | None = None) -> View:
    """What a rendered report shows; ``max_slices`` cuts the slice table (``None``: every slice)."""
    check_report(report)
    checks = [_mapping(c, f"checks[{i}]") for i, c in enumerate(_items(report, "checks"))]
    candidate = _section(report, "candidate")
    champion = report.get("champion")
    champion = _section(report, "champion") if champion is not None else None
    precision = _precision(report)
    tables = [
        t
        for t in (
            _checks(checks, precision),
            _slices(report, max_slices, precision),
            _metrics(report),
            _classes(report),
        )
        if t is not None
    ]
    counts, total = _counts(report, checks)
    return View(
        passed=report.get("passed") is True,  # no recorded verdict is no approval: fail closed
        candidate=str(candidate.get("ref") or report.get("model") or "candidate"),
        against=str(report.get("against") or "production"),
        counts=counts,
        total=total,
        identity=_identity(report, candidate, champion),
        tables=tuple(tables),
        notes=tuple(str(n) for n in _items(report, "notes") if n),
        details=_details(report),
        reason=_lead_reason(report),
    )


def gate_document(
    report: Mapping[str, Any],
    *,
    images: Mapping[str, str | bytes] | None = None,
    max_slices: int | None = None,
    level: int = 2,
) -> Document:
    """The gate report as a view: verdict, counts, the blocking reason, models, checks, slices, metrics,
    per-class figures, plots, notes, run details.

    ``images`` maps a plot name to its URL (Markdown) or PNG bytes (HTML); ``max_slices`` cuts the slice
    table (``None``: every slice).
    """
    v = view(report, max_slices=max_slices)
    summary = []
    if v.total or v.counts:
        parts: list[str] = []
        for i, (text, bad) in enumerate(v.counts):
            parts += [" · "] if i else []
            parts.append(Strong(text) if bad else text)
        parts.append(f" ({number(v.total)} checks)" if parts else f"{number(v.total)} checks")
        summary.append(Text(*parts))
    if v.reason:
        summary.append(Text(Strong(v.reason)))
    blocks: list[Any] = [v.identity] if v.identity else []
    blocks += v.tables
    figures = tuple(
        Figure(name, PLOT_TITLES.get(name, name), png=src)
        if isinstance(src, bytes)
        else Figure(name, PLOT_TITLES.get(name, name), url=src)
        for name, src in (images or {}).items()
        if src
    )
    if figures:
        blocks.append(Figures(figures))
    if v.notes:
        blocks.append(Section("Notes", (Bullets(v.notes),), key="notes"))
    if v.details:
        blocks.append(v.details)
    return Document(
        title=(f"{v.verdict}: ", Code(v.candidate), " → ", Code(v.against)),
        summary=tuple(summary),
        blocks=tuple(blocks),
        passed=v.passed,
        level=level,
        key="gate",
        footer=f"mlgate · {report.get('schema')}",
    )


def _lead_reason(report: Mapping[str, Any]) -> str:
    """The first of the report's ``reasons`` (they come most specific first) as one line."""
    reasons = [r for r in _items(report, "reasons") if isinstance(r, Mapping)]
    if not reasons:
        return ""
    first = reasons[0]
    more = f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else ""
    return f"Blocked by {first.get('class')}: {first.get('check')} — {first.get('message')}{more}"


def status_of(item: Mapping[str, Any]) -> str:
    """A check's or slice's status, ``waived`` for a failure a waiver covers, ``undecided-blocks`` for an
    undecided check that blocks, ``not-tested`` for a slice where the metric is undefined."""
    status = str(item.get("status") or "error")
    if status == "undecided" and item.get("blocking", item.get("blocks")):
        status = "undecided-blocks"
    if status == "skip" and item.get("reason") and "slice" in item:
        status = "not-tested"
    return "waived" if status in ("fail", "error", "undecided-blocks") and item.get("waived") else status


def slice_order(item: Mapping[str, Any]) -> tuple[int, float]:
    """Sort key of a slice: by status like checks, then smallest adjusted p-value first."""
    p = item.get("p_adjusted", item.get("p_value"))
    return rank(status_of(item)), p if isinstance(p, int | float) and not isinstance(p, bool) else math.inf


def _items(report: Mapping[str, Any], key: str) -> list[Any]:
    value = report.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(
            f"gate report field {key!r} must be a list, got {type(value).__name__}",
            hint="pass the report exactly as mlgate stored it",
        )
    return value


def _section(report: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = report.get(key)
    return _mapping(value, key) if value is not None else {}


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InputError(
            f"{where} in the gate report must be an object, got {type(value).__name__}",
            hint="pass the report exactly as mlgate stored it",
        )
    return value


def _with_unit(text: str, unit: Any) -> str:
    return f"{text} {unit}" if unit and text != DASH else text


def _precision(report: Mapping[str, Any]) -> dict[str, int]:
    """Metric → decimals: one precision per metric across the report, from its aggregate figures."""
    metrics = report.get("metrics")
    if not isinstance(metrics, Mapping):
        return {}
    return {
        str(name): decimals_of(m.get("candidate"), m.get("champion"))
        for name, m in metrics.items()
        if isinstance(m, Mapping)
    }


def _checks(checks: list[Mapping[str, Any]], precision: Mapping[str, int]) -> Table | None:
    if not checks:
        return None
    rows = []
    for check in sorted(checks, key=lambda c: rank(status_of(c))):  # stable: report order within a status
        status = status_of(check)
        d = precision.get(str(check.get("metric"))) if check.get("kind") in _METRIC_KINDS else None
        details = check.get("details") or {}
        unit = _UNITS.get(str(check.get("kind")))
        op = _OPS.get(str(details.get("op")), "") if isinstance(details, Mapping) else ""
        bound = number(check.get("bound"))
        waived = check.get("waived")
        waiver: Mapping[str, Any] = waived if isinstance(waived, Mapping) else {}
        note = str(check.get("message") or "")
        if status == "waived" and waiver.get("reason"):
            note = f"{note} — waiver: {waiver['reason']}" if note else f"waiver: {waiver['reason']}"
        rows.append(
            Row(
                cells=(
                    str(check.get("name") or check.get("kind") or "check"),
                    _with_unit(fixed(check.get("value"), d), unit),
                    _with_unit(fixed(check.get("champion"), d), unit),
                    _with_unit(fixed(check.get("delta"), d, sign=True), unit),
                    interval(check.get("ci"), decimals=d, sign=check.get("kind") in _DELTA_KINDS),
                    _with_unit(f"{op} {bound}" if op and bound != DASH else bound, unit),
                    verdict(status)
                    + (f" until {waiver['until']}" if status == "waived" and waiver.get("until") else ""),
                ),
                status=status,
                note=note,
            )
        )
    return Table(
        key="checks",
        title="Checks",
        headers=("check", "candidate", "champion", "Δ", "interval", "bound", "verdict"),
        align="lrrrlrl",
        rows=tuple(rows),
        fold="attention",
    )


def _slices(report: Mapping[str, Any], max_slices: int | None, precision: Mapping[str, int]) -> Table | None:
    items = [_mapping(s, f"slices[{i}]") for i, s in enumerate(_items(report, "slices"))]
    if not items:
        return None
    ordered = sorted(items, key=slice_order)
    failing = sum(1 for s in ordered if status_of(s) in ("fail", "error"))
    undecided = sum(1 for s in ordered if status_of(s) in ("undecided", "undecided-blocks"))
    shown = ordered if max_slices is None else ordered[: max(0, max_slices)]
    rows = tuple(
        Row(
            cells=(
                str(item.get("slice") or DASH),
                number(item.get("rows")),
                str(item.get("metric") or DASH),
                fixed(item.get("candidate"), precision.get(str(item.get("metric")))),
                fixed(item.get("champion"), precision.get(str(item.get("metric")))),
                fixed(item.get("delta"), precision.get(str(item.get("metric"))), sign=True),
                interval(item.get("ci"), decimals=precision.get(str(item.get("metric")))),
                p_value(item.get("p_value")),
                p_value(item.get("p_adjusted", item.get("p_value"))),
                verdict(status_of(item)),
            ),
            status=status_of(item),
            note=str(item.get("reason") or item.get("note") or ""),  # why a slice was skipped, or a twin's verdict
        )
        for item in shown
    )
    foot = ""
    if len(shown) < len(ordered):
        hidden = ordered[len(shown) :]
        hidden_failing = sum(1 for s in hidden if status_of(s) in ("fail", "error"))
        foot = (
            f"{len(hidden)} more slices not shown ({hidden_failing} failing); "
            "report.json and report.html list every slice."
        )
    return Table(
        key="slices",
        title="Slices",
        headers=("slice", "rows", "metric", "candidate", "champion", "Δ", "interval", "p", "p adjusted", "verdict"),
        align="lrlrrrlrrl",
        rows=rows,
        fold="attention",
        lead=f"{failing} of {len(ordered)} slices failing"
        + (f", {undecided} undecided (the interval reaches past the allowed drop)" if undecided else "")
        + ". p: one-sided; adjusted: Benjamini–Hochberg across the "
        "gate's slices, weighted by slice rows.",
        foot=foot,
    )


def _metrics(report: Mapping[str, Any]) -> Table | None:
    metrics = report.get("metrics") or {}
    if not isinstance(metrics, Mapping) or not metrics:
        return None
    rows, methods = [], []
    for name, raw in metrics.items():
        entry = _mapping(raw, f"metrics.{name}")
        better = entry.get("higher_is_better")
        arrow = {True: " ↑", False: " ↓"}.get(better, "") if isinstance(better, bool) else ""
        rows.append(
            Row(
                cells=(
                    f"{name}{arrow}",
                    number(entry.get("candidate")),
                    number(entry.get("champion")),
                    signed(entry.get("delta")),
                    interval(entry.get("ci")),
                )
            )
        )
        if entry.get("method") and entry["method"] not in methods:
            methods.append(str(entry["method"]))
    directed = any(isinstance(c := r.cells[0], str) and c.endswith(("↑", "↓")) for r in rows)
    return Table(
        key="metrics",
        title="Metrics",
        headers=("metric", "candidate", "champion", "Δ", "interval of Δ"),
        align="lrrrl",
        rows=tuple(rows),
        lead="↑ higher is better, ↓ lower is better." if directed else "",
        foot=f"Intervals: {'; '.join(methods)}." if methods else "",
    )


def _classes(report: Mapping[str, Any]) -> Table | None:
    """Per-class recall and precision of both models, from ``plots.per_class`` (classification reports)."""
    section = (report.get("plots") or {}).get("per_class") if isinstance(report.get("plots"), Mapping) else None
    if not isinstance(section, Mapping) or not isinstance(section.get("candidate"), Mapping):
        return None
    names = list(section.get("classes") or [])
    cand = section["candidate"]
    champion = section.get("champion")
    champ: Mapping[str, Any] = champion if isinstance(champion, Mapping) else {}

    def at(entry: Mapping[str, Any], key: str, i: int) -> Any:
        values = entry.get(key) or []
        return values[i] if i < len(values) else None

    rows = []
    for i, name in enumerate(names):
        recall, old = at(cand, "recall", i), at(champ, "recall", i)
        delta = recall - old if isinstance(recall, Real) and isinstance(old, Real) else None
        rows.append(
            Row(
                cells=(
                    str(name), number(at(cand, "support", i)), number(recall), number(old), signed(delta),
                    number(at(cand, "precision", i)), number(at(champ, "precision", i)),
                )
            )
        )  # fmt: skip
    return Table(
        key="classes",
        title="Per class",
        headers=("class", "rows", "recall", "champion recall", "Δ recall", "precision", "champion precision"),
        align="lrrrrrr",
        rows=tuple(rows),
        lead="— where a figure is undefined (no true row, nothing predicted).",
    )


def _counts(report: Mapping[str, Any], checks: list[Mapping[str, Any]]) -> tuple[tuple[tuple[str, bool], ...], int]:
    summary = report.get("summary")
    if isinstance(summary, Mapping) and summary:
        keys = ("failed", "errors", "undecided", "passed", "skipped", "warnings", "waived")
        tally = {k: int(summary.get(k) or 0) for k in keys}
        total = int(summary.get("checks") or 0)
    else:  # an older or hand-made report: count the checks themselves
        by = Counter(status_of(c) for c in checks)
        tally = {
            "failed": by["fail"],
            "errors": by["error"],
            "undecided": by["undecided"] + by["undecided-blocks"],
            "passed": by["pass"],
            "skipped": by["skip"],
            "warnings": by["warn"],
            "waived": by["waived"],
        }
        total = len(checks)
    words = {"errors": ("error", "errors"), "warnings": ("warning", "warnings")}
    parts = []
    for key, count in tally.items():
        if count:
            singular, plural = words.get(key, (key, key))
            parts.append((f"{count} {singular if count == 1 else plural}", key in ("failed", "errors")))
    return tuple(parts), total


def _identity(
    report: Mapping[str, Any], candidate: Mapping[str, Any], champion: Mapping[str, Any] | None
) -> Table | None:
    if not candidate and champion is None:
        return None
    fields = (
        ("reference", lambda s: Code(s["ref"]) if s.get("ref") else DASH),
        ("version", lambda s: str(s.get("semver") or DASH)),
        ("digest", lambda s: Code(short_digest(s["digest"])) if s.get("digest") else DASH),
        ("flavor", lambda s: str(s.get("flavor") or DASH)),
    )
    rows = []
    for label, get in fields:
        # the first model: nothing held the alias, so there was nothing to compare with
        first = "none (first model)" if label == "reference" else DASH
        rows.append(Row(cells=(label, get(candidate), first if champion is None else get(champion))))
    headers = ("", "candidate", f"champion ({report.get('against') or 'production'})")
    return Table(key="identity", title="Models", headers=headers, align="lll", rows=tuple(rows), heading=False)


def _details(report: Mapping[str, Any]) -> Table | None:
    rows: list[tuple[str, str]] = []
    created = _when(report.get("created_at"))
    if created or report.get("created_by"):
        by = f" by {report['created_by']}" if report.get("created_by") else ""
        rows.append(("created", f"{created or DASH}{by}"))
    dataset = _section(report, "dataset")
    if dataset.get("path"):
        rows.append(("dataset", Code(dataset["path"])))
    if dataset.get("rows") is not None:
        rows.append(("rows", number(dataset["rows"])))
    if dataset.get("target"):
        rows.append(("target", Code(dataset["target"])))
    if dataset.get("digest"):
        rows.append(("dataset digest", Code(short_digest(dataset["digest"]))))
    config = _section(report, "config")
    if config.get("digest"):
        rows.append(("config digest", Code(short_digest(config["digest"]))))
    if isinstance(config.get("gates"), list):
        rows.append(("gates configured", number(len(config["gates"]))))
    if report.get("task"):
        classes = report.get("classes") or []
        rows.append(("task", str(report["task"]) + (f" (classes {', '.join(map(str, classes))})" if classes else "")))
    timings = _section(report, "timings")
    if timings:
        rows.append(("timings", " · ".join(f"{k.removesuffix('_s')} {_seconds(v)}" for k, v in timings.items())))
    environment = _section(report, "environment")
    for key in ("python", "platform"):
        if environment.get(key):
            rows.append((key, str(environment[key])))
    packages = environment.get("packages") or {}
    if isinstance(packages, Mapping) and packages:
        rows.append(("packages", ", ".join(f"{k} {v}" for k, v in sorted(packages.items()))))
    rows.append(("schema", Code(str(report.get("schema")))))
    return Table(
        key="details",
        title="Run details",
        headers=("", ""),
        align="ll",
        rows=tuple(Row(cells=r) for r in rows),
        fold="always",
        heading=False,
    )


def _seconds(value: Any) -> str:
    """Durations to the hundredth of a second: finer digits are noise from one run to the next."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return DASH
    return f"{value:.2f} s" if value < 100 else f"{value:,.0f} s"


def _when(value: Any) -> str:
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    offset = moment.utcoffset()
    if offset is not None and not offset:
        return moment.strftime("%Y-%m-%d %H:%M UTC")
    return moment.strftime("%Y-%m-%d %H:%M %z").strip()


def markdown(report: Mapping[str, Any], *, images: Mapping[str, str] | None = None, max_slices: int = 20) -> str:
    """The gate report as GitHub Markdown, for pull-request comments and ``$GITHUB_STEP_SUMMARY``.

    ``images`` maps a plot name (``roc``, ``pr``, ``calibration``, ``slices``, ``residuals``) to the URL
    of its PNG, relative to the Markdown file; ``max_slices`` caps the slice table (failing slices first).
    """
    from mlgate.report.markdown import markdown_of

    return markdown_of(gate_document(report, images=images, max_slices=max_slices))
