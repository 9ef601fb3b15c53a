"""The gate report's compact view, for a terminal: what ``mlgate gate`` and ``mlgate report`` print.

Where :func:`mlgate.report.gate_view.gate_document` shows everything a reviewer reads in a pull request,
:func:`gate_summary` keeps what a person at a terminal needs right after gating: the two models, the
data, one row per check (failing first), each non-passing check's reason, the slices that regressed or
are undecided, notes, and the verdict with its counts. Any renderer draws it; the CLI uses the terminal's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlgate.report.view import (
    Document,
    Row,
    Strong,
    Table,
    Text,
    interval,
    number,
    p_value,
    rank,
    short_digest,
    signed,
)

MARKS = {"pass": "✔ pass", "fail": "✘ fail", "error": "✘ error", "warn": "! warn", "skip": "– skip",
         "undecided": "? undecided", "undecided-blocks": "? undecided, blocks", "waived": "waived"}  # fmt: skip
_VALUED = ("bound", "change", "slices", "slice", "latency", "size")  # kinds whose value is a figure to show
MAX_SLICES = 20


def gate_summary(doc: Mapping[str, Any]) -> Document:
    """The compact view of a stored gate report (``mlgate.gate-report/1``)."""
    cand, champ = doc["candidate"], doc.get("champion")
    title = [Strong(cand["ref"]), f" ({cand['semver']}, {short_digest(cand['digest'])}) vs "]
    if champ:
        title += [Strong(champ["ref"]), f" ({champ['semver']}) @{doc['against']}"]
    else:
        title.append(f"nothing @{doc['against']}")
    data = doc["dataset"]
    summary = Text(f"data: {data['path']} ({data['rows']} rows, target {data['target']})")
    checks = sorted(doc["checks"], key=lambda c: (c.get("waived") is not None, rank(c["status"])))
    rows, reasons = [], []
    for c in checks:
        status = _status(c)
        change = f"{signed(c['delta'])} {interval(c.get('ci'))}" if c.get("delta") is not None else ""
        value = number(c.get("value")) if c["kind"] in _VALUED else ""
        champion = number(c.get("champion")) if c.get("champion") is not None else ""
        rows.append(Row(cells=(MARKS.get(status, status), c["name"], value if value != "—" else "", champion, change),
                        status=status))  # fmt: skip
        if c["status"] != "pass" or c.get("waived"):
            waiver = c.get("waived")
            waived = f" (waived until {waiver['until']}: {waiver['reason']})" if waiver else ""
            reasons.append(
                Text(MARKS.get(status, status), " ", Strong(c["name"]), f": {c.get('message') or ''}{waived}")
            )
    blocks: list[Any] = [
        Table(
            key="checks",
            title="gate checks",
            headers=("", "check", "candidate", "champion", "Δ (interval)"),
            align="llrrr",
            rows=tuple(rows),
            fold="never",
        ),
        *reasons,
    ]
    slices = _slices(doc)
    if slices is not None:
        blocks.append(slices)
    blocks += [Text("note: ", note) for note in doc.get("notes") or []]
    blocks += _verdict(doc)
    return Document(title=tuple(title), summary=(summary,), blocks=tuple(blocks), passed=bool(doc["passed"]))


def _status(check: Mapping[str, Any]) -> str:
    if check.get("waived"):
        return "waived"
    if check["status"] == "undecided" and check.get("blocking"):
        return "undecided-blocks"
    return str(check["status"])


def _slices(doc: Mapping[str, Any]) -> Table | None:
    # undecided slices (the interval reaches past the allowed drop, not shown after adjustment) follow the failing
    items = [s for s in doc.get("slices") or [] if s.get("status") == "fail"]
    items += [s for s in doc.get("slices") or [] if s.get("status") == "undecided"]
    if not items:
        return None
    rows = []
    for s in items[:MAX_SLICES]:
        blocks = s["status"] == "fail" or s.get("blocks")
        status = "undecided-blocks" if s["status"] == "undecided" and blocks else s["status"]
        figures = (number(s["candidate"]), number(s["champion"]), signed(s["delta"]))
        p = (p_value(s.get("p_value")), p_value(s["p_adjusted"]))
        cells = (s["slice"], str(s["rows"]), s["metric"], *figures, *p, MARKS.get(status, status))
        rows.append(Row(cells=cells, status=status))
    return Table(
        key="slices",
        title="slices that regressed or are undecided",
        headers=("slice", "rows", "metric", "candidate", "champion", "Δ", "p", "adj. p", "verdict"),
        align="lllllllll",
        rows=tuple(rows),
        fold="never",
    )


def _verdict(doc: Mapping[str, Any]) -> list[Text]:
    s = doc["summary"]
    counts = f"{s['passed']} passed, {s['failed']} failed, {s['errors']} errors, {s['skipped']} skipped"
    if s.get("waived"):
        counts += f", {s['waived']} waived"
    if doc["passed"]:
        return [Text(Strong("gate passed"), f": {counts}")]
    lines = [Text(Strong("gate blocked"), f": {counts}")]
    lead = (doc.get("reasons") or [{}])[0]
    if lead.get("class"):
        lines.append(Text(Strong(f"blocked by {lead['class']}"), f": {lead.get('check')}"))
    return lines
