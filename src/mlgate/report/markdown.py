"""Gate reports as GitHub-flavoured Markdown, and the view that Markdown and HTML both render.

:func:`view` turns a stored report (``mlgate.gate-report/1``, docs/gate-report.md) into plain-text tables;
:func:`markdown` escapes them for GitHub and :func:`mlgate.report.html.html` for a browser, so the two
always say the same thing. Rows that need a reviewer come first: failed, errored, waived, warned, then
passed and skipped, in report order within a status (slices: smallest adjusted p-value first).

A metric's figures (value, champion, change, interval) share one precision across the report, four
significant digits at the metric's magnitude; other numbers keep 4 significant digits. All use the
typographic minus; differences carry their sign (``+0.01``, ``−0.15``) and so do the ends of their
intervals (``[−0.012, +0.004]``). p-values below 0.001 read ``<0.001``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from numbers import Integral, Real
from typing import Any, Literal
from urllib.parse import quote

from mlgate.errors import InputError
from mlgate.gates.types import REPORT_SCHEMA

MINUS = "\u2212"
DASH = "—"  # a figure that is missing or was not computed
COLLAPSE_AFTER = 10  # a longer table keeps only the rows that need attention in view, the rest folded
PLOT_TITLES = {
    "roc": "ROC curve",
    "pr": "Precision–recall curve",
    "calibration": "Calibration",
    "slices": "Slices: candidate vs champion",
    "residuals": "Residuals",
    "confusion": "Confusion matrix (rows: true class)",
}

_MARKS = {"fail": "❌", "error": "❌", "undecided-blocks": "❌", "waived": "⚠️", "undecided": "⚠️", "warn": "⚠️",
          "pass": "✅", "not-tested": "⏭️", "skip": "⏭️"}  # fmt: skip
_RANK = {"fail": 0, "error": 1, "undecided-blocks": 1, "waived": 2, "undecided": 3, "warn": 3, "pass": 4,
         "not-tested": 5, "skip": 5}  # fmt: skip
_LABELS = {"undecided-blocks": "undecided, blocks", "not-tested": "not tested"}
_ATTENTION = _RANK["warn"]  # rows ranked up to here need a reviewer's eye
_UNKNOWN_RANK = _RANK["error"]  # a status this reader does not know fails closed, like an error
_DELTA_KINDS = {"change", "slice", "slices"}  # their interval is of a difference, so it is signed
_METRIC_KINDS = {"change", "slice", "slices", "bound"}
_OPS = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "="}
_UNITS = {"latency": "ms", "size": "MB"}  # what Check.value holds for these kinds


class Code(str):
    """A cell shown in monospace: references, digests, paths, column names."""

    __slots__ = ()


@dataclass(frozen=True)
class Row:
    """One table row of plain text; renderers escape it."""

    cells: tuple[str, ...]
    status: str = ""  # pass, fail, error, warn, skip or waived: drives order, marks and colour
    note: str = ""  # a line under the first cell (a check's message)


@dataclass(frozen=True)
class Table:
    """A titled table. ``fold`` says how Markdown collapses it once it is longer than ``COLLAPSE_AFTER``
    rows: ``attention`` keeps the rows that need a reviewer in view and folds the rest, ``long`` folds
    the whole table, ``always`` folds it whatever its length (HTML folds only ``always`` tables)."""

    key: str
    title: str
    headers: tuple[str, ...]
    align: str  # one letter per column: l(eft) or r(ight)
    rows: tuple[Row, ...]
    fold: Literal["attention", "long", "always"] = "long"
    lead: str = ""  # a sentence before the table
    foot: str = ""  # a sentence after it


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


# -- numbers -------------------------------------------------------------------------------------


def number(value: Any) -> str:
    """4 significant digits (thousands grouped from 10,000), typographic minus, ``—`` for missing."""
    if value is None:
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Integral):
        return f"{int(value):,}".replace("-", MINUS)
    if not isinstance(value, Real):  # a hand-edited report: show what is there rather than fail
        return str(value)
    x = float(value)
    if math.isnan(x):
        return DASH
    if math.isinf(x):
        return "∞" if x > 0 else f"{MINUS}∞"
    if x == 0:
        return "0"
    if abs(x) >= 1e4:
        text = f"{x:,.0f}"
    else:
        text = f"{x:.4g}"
        if "e" in text:  # 1.234e-05 → 1.234e−5
            mantissa, exponent = text.split("e")
            text = f"{mantissa}e{int(exponent)}"
    return text.replace("-", MINUS)


def decimals_of(*values: Any) -> int:
    """Decimals that give one metric four significant digits at its magnitude (0.9404, 54.21), for every figure."""
    finite = [abs(float(v)) for v in values if isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(v)]
    scale = max(finite, default=1.0) or 1.0
    # a metric on [0, 1] keeps 4 decimals even at 1.0, so 0.8261 and 1.0000 line up
    return int(min(8, max(4 if scale <= 1 else 0, 3 - math.floor(math.log10(scale)))))


def fixed(value: Any, decimals: int | None, *, sign: bool = False) -> str:
    """A metric figure with the report's precision for that metric; :func:`number` when none is known."""
    if decimals is None or not isinstance(value, Real) or isinstance(value, bool) or not math.isfinite(value):
        return signed(value) if sign else number(value)
    text = f"{float(value):+.{decimals}f}" if sign else f"{float(value):.{decimals}f}"
    if sign and float(text) == 0:
        text = text.lstrip("+-")
    return text.replace("-", MINUS)


def signed(value: Any) -> str:
    """A difference: :func:`number` with an explicit ``+`` on positive values."""
    text = number(value)
    if isinstance(value, Real) and not isinstance(value, bool) and value > 0 and text != "0":
        return "+" + text
    return text


def _interval(ci: Any, decimals: int | None, *, sign: bool = True) -> str:
    if decimals is None or not isinstance(ci, Sequence) or isinstance(ci, str) or len(ci) != 2:
        return interval(ci, sign=sign)
    return f"[{fixed(ci[0], decimals, sign=sign)}, {fixed(ci[1], decimals, sign=sign)}]"


def interval(ci: Any, *, sign: bool = True) -> str:
    """``[−0.012, +0.004]``; unsigned ends for an interval of a value rather than a difference."""
    if not isinstance(ci, Sequence) or isinstance(ci, str) or len(ci) != 2:
        return DASH
    fmt = signed if sign else number
    return f"[{fmt(ci[0])}, {fmt(ci[1])}]"


def p_value(value: Any) -> str:
    """A p-value to two significant digits; anything below 0.001 (0 included) reads ``<0.001``."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return "<0.001" if value < 1e-3 else f"{value:.2g}"
    return number(value)


def short_digest(digest: Any, length: int = 12) -> str:
    """``blake3:1a2b3c4d5e6f`` from a full digest; the algorithm prefix stays."""
    if not digest:
        return DASH
    algo, _, hexpart = str(digest).rpartition(":")
    return f"{algo}:{hexpart[:length]}" if algo else hexpart[:length]


# -- the view --------------------------------------------------------------------------------------


def check_report(report: Any) -> None:
    """Raise InputError unless ``report`` is a gate report this version can render."""
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


def verdict(status: str) -> str:
    """``✅ pass``, ``❌ fail``, ``⚠️ waived`` …; an unknown status reads as an error."""
    return f"{_MARKS.get(status, '❌')} {_LABELS.get(status, status)}"


def rank(status: str) -> int:
    """Sort key of a status: the ones that block come first."""
    return _RANK.get(status, _UNKNOWN_RANK)


def slice_order(item: Mapping[str, Any]) -> tuple[int, float]:
    """Sort key of a slice: by status like checks, then smallest adjusted p-value first."""
    p = item.get("p_adjusted", item.get("p_value"))
    return rank(status_of(item)), p if isinstance(p, int | float) and not isinstance(p, bool) else math.inf


def needs_attention(status: str) -> bool:
    """Whether a row with this status should stay visible when its table is folded."""
    return rank(status) <= _ATTENTION


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
        waiver = check.get("waived") if isinstance(check.get("waived"), Mapping) else {}
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
                    _interval(check.get("ci"), d, sign=check.get("kind") in _DELTA_KINDS),
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
                _interval(item.get("ci"), precision.get(str(item.get("metric")))),
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
    directed = any(r.cells[0].endswith(("↑", "↓")) for r in rows)
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
    champ = section.get("champion") if isinstance(section.get("champion"), Mapping) else {}

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
    return Table(key="identity", title="Models", headers=headers, align="lll", rows=tuple(rows))


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


# -- Markdown ----------------------------------------------------------------------------------------

_INTRAWORD_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
_LINK = re.compile(r"\][(\[:]")
_ORDERED_ITEM = re.compile(r"^(\d{1,9})([.)])(?=\s|$)")


def md_text(text: str) -> str:
    """Escape text for a GitHub Markdown paragraph or table cell; it renders back as ``text``.

    Backslash escapes for what starts inline syntax (``_`` only where it could, not inside ``roc_auc``;
    brackets only where they could close a link), entities for ``&`` and ``<``, ``\\|`` so a table cell
    stays one cell, and spaces for line breaks. Plain figures and intervals come out unchanged.
    """
    text = " ".join(str(text).splitlines())
    links = bool(_LINK.search(text))
    text = text.replace("\\", "\\\\").replace("&", "&amp;").replace("<", "&lt;")
    for char in "`*~|" + ("[]" if links else ""):
        text = text.replace(char, "\\" + char)
    if text.startswith((">", "#", "+", "-", "=")):  # would open a quote, heading or list in a paragraph
        text = "\\" + text
    text = _ORDERED_ITEM.sub(r"\1\\\2", text)
    return _INTRAWORD_UNDERSCORE.sub(r"\\_", text)


def md_code(text: str, *, cell: bool = True) -> str:
    """Inline code: backticks that cannot close early; in a table ``cell``, pipes escaped."""
    text = " ".join(str(text).splitlines())
    if cell:
        text = text.replace("|", "\\|")
    fence = "`" * (max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def markdown(report: Mapping[str, Any], *, images: Mapping[str, str] | None = None, max_slices: int = 20) -> str:
    """The report as GitHub Markdown, for pull-request comments and ``$GITHUB_STEP_SUMMARY``.

    ``images`` maps a plot name (``roc``, ``pr``, ``calibration``, ``slices``, ``residuals``) to the URL
    of its PNG, relative to the Markdown file; ``max_slices`` caps the slice table (failing slices first).
    """
    v = view(report, max_slices=max_slices)
    counts = " · ".join(f"**{text}**" if bad else text for text, bad in v.counts)
    lines = [f"## {v.verdict}: {md_code(v.candidate, cell=False)} → {md_code(v.against, cell=False)}", ""]
    if v.total or counts:
        lines += [f"{counts} ({number(v.total)} checks)" if counts else f"{number(v.total)} checks", ""]
    if v.reason:
        lines += [f"**{md_text(v.reason)}**", ""]
    if v.identity:
        lines += _md_block(v.identity, heading=False)
    for table in v.tables:
        lines += _md_block(table)
    pictures = [(name, url) for name, url in (images or {}).items() if url]
    if pictures:
        lines += ["### Plots", ""]
        lines += [" ".join(f"![{PLOT_TITLES.get(n, n)}]({_md_url(u)})" for n, u in pictures), ""]
    if v.notes:
        lines += ["### Notes", "", *(f"- {md_text(n)}" for n in v.notes), ""]
    if v.details:
        lines += _md_block(v.details, heading=False)
    return "\n".join(lines).rstrip() + "\n"


def _md_url(url: str) -> str:
    return quote(url, safe="/:#?&=%@+,;~")


def _md_cell(cell: str) -> str:
    return md_code(cell) if isinstance(cell, Code) else md_text(cell)


def _md_table(table: Table, rows: Sequence[Row]) -> list[str]:
    headers = [md_text(h) for h in table.headers]
    rule = "|" + "|".join("---:" if a == "r" else ":---" for a in table.align) + "|"
    lines = ["| " + " | ".join(headers) + " |", rule]
    for row in rows:
        cells = [_md_cell(c) for c in row.cells]
        if row.note:
            cells[0] += f"<br><sub>{md_text(row.note)}</sub>"
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _md_details(summary: str, body: list[str]) -> list[str]:
    # GitHub renders Markdown inside <details> only with blank lines around it
    return [f"<details><summary>{md_text(summary)}</summary>", "", *body, "", "</details>", ""]


def _md_block(table: Table, *, heading: bool = True) -> list[str]:
    lines = [f"### {table.title}", ""] if heading else []
    if table.lead:
        lines += [md_text(table.lead), ""]
    lines += _md_rows(table)
    if table.foot:
        lines += [f"<sub>{md_text(table.foot)}</sub>", ""]
    return lines


def _md_rows(table: Table) -> list[str]:
    rows = table.rows
    if not rows:  # every row was cut (max_slices=0): the lead and foot still say how many there are
        return []
    if table.fold == "always":
        return _md_details(table.title, _md_table(table, rows))
    if len(rows) <= COLLAPSE_AFTER:
        return [*_md_table(table, rows), ""]
    if table.fold == "long":
        return _md_details(f"{table.title} ({len(rows)})", _md_table(table, rows))
    urgent = [r for r in rows if needs_attention(r.status)]
    rest = [r for r in rows if not needs_attention(r.status)]
    lines = [*_md_table(table, urgent), ""] if urgent else []
    if rest:
        tally = Counter(r.status for r in rest)
        summary = ", ".join(f"{n} {status}" for status, n in sorted(tally.items(), key=lambda kv: rank(kv[0])))
        more = " more" if urgent else ""
        lines += _md_details(f"{len(rest)}{more} {table.title.lower()}: {summary}", _md_table(table, rest))
    return lines
