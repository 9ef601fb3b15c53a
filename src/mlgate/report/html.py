"""A gate report as one self-contained HTML file: inline CSS and script, plots as base64 data URIs.

It renders the same :func:`~mlgate.report.markdown.view` as the Markdown, with every slice listed (the
Markdown caps them), long tables unfolded (run details aside) and sortable: click a header; without
JavaScript the tables keep report order, failing rows first. The file references nothing outside
itself, so it can be attached to a CI run, mailed or opened offline.
"""

from __future__ import annotations

import base64
import tempfile
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from mlgate.report.markdown import PLOT_TITLES, Code, Row, Table, check_report, rank, view

_CSS = """
:root { --fail: #cf222e; --fail-bg: #ffebe9; --warn-bg: #fff8c5; --pass: #1a7f37; --pass-bg: #dafbe1;
        --skip-bg: #f6f8fa; --line: #d0d7de; --muted: #57606a; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2328; }
main { max-width: 1100px; margin: 0 auto; padding: 24px; }
header { border-radius: 6px; padding: 12px 16px; margin-bottom: 16px; border: 1px solid var(--line); }
header.pass { background: var(--pass-bg); border-color: var(--pass); }
header.fail { background: var(--fail-bg); border-color: var(--fail); }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #eff1f3;
       padding: 1px 4px; border-radius: 4px; }
.summary strong { color: var(--fail); }
table { border-collapse: collapse; width: 100%; margin: 8px 0; }
th, td { border: 1px solid var(--line); padding: 4px 8px; vertical-align: top; }
th { background: #f6f8fa; text-align: left; white-space: nowrap; }
td.r, th.r { text-align: right; font-variant-numeric: tabular-nums; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th::after { content: " ↕"; color: #8c959f; font-size: 11px; }
table.sortable th[data-dir="asc"]::after { content: " ▲"; color: #1f2328; }
table.sortable th[data-dir="desc"]::after { content: " ▼"; color: #1f2328; }
tr.fail td, tr.error td, tr.undecided-blocks td { background: var(--fail-bg); }
tr.warn td, tr.waived td, tr.undecided td { background: var(--warn-bg); }
tr.skip td, tr.not-tested td { background: var(--skip-bg); color: var(--muted); }
.note { color: var(--muted); font-size: 12px; }
.lead, .foot { color: var(--muted); margin: 4px 0; }
.plots { display: flex; flex-wrap: wrap; gap: 16px; }
figure { margin: 0; }
figure img { max-width: 100%; border: 1px solid var(--line); border-radius: 4px; }
figcaption { color: var(--muted); font-size: 12px; text-align: center; }
details { margin: 16px 0; }
summary { cursor: pointer; font-weight: 600; }
footer { margin-top: 32px; color: var(--muted); font-size: 12px; }
"""

# Numbers sort as numbers (typographic minus, thousands commas and interval brackets aside); a cell's
# data-sort wins, so verdicts sort by severity rather than by emoji.
_SCRIPT = """
for (const th of document.querySelectorAll("table.sortable th")) {
  th.addEventListener("click", () => {
    const body = th.closest("table").tBodies[0], i = th.cellIndex, asc = th.dataset.dir !== "asc";
    for (const other of th.parentNode.children) delete other.dataset.dir;
    th.dataset.dir = asc ? "asc" : "desc";
    const key = (tr) => {
      const cell = tr.cells[i];
      const text = (cell.dataset.sort ?? cell.textContent).trim();
      const n = parseFloat(text.replace(/\\u2212/g, "-").replace(/[,\\[+<]/g, "").trim());
      return Number.isNaN(n) ? text : n;
    };
    const rows = Array.from(body.rows).sort((a, b) => {
      const x = key(a), y = key(b);
      const c = typeof x === typeof y ? (x < y ? -1 : x > y ? 1 : 0) : (typeof x === "number" ? -1 : 1);
      return asc ? c : -c;
    });
    for (const row of rows) body.appendChild(row);
  });
}
"""


def html(report: Mapping[str, Any], *, images: Mapping[str, bytes] | None = None) -> str:
    """The report as one HTML page that needs no network.

    ``images`` maps a plot name to PNG bytes already drawn (``write`` reuses its files); by default the
    plots are drawn here, in a temporary folder.
    """
    check_report(report)
    if images is None:
        from mlgate.report.plots import plots

        with tempfile.TemporaryDirectory(prefix="mlgate-report-") as tmp:
            images = {name: path.read_bytes() for name, path in plots(report, Path(tmp)).items()}
    v = view(report)
    state = "pass" if v.passed else "fail"
    counts = " · ".join(f"<strong>{escape(t)}</strong>" if bad else escape(t) for t, bad in v.counts)
    title = f"{v.verdict.split(' ', 1)[1]}: {v.candidate} → {v.against}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head>",
        "<body><main>",
        f'<header class="{state}"><h1>{escape(v.verdict)}: <code>{escape(v.candidate)}</code> → '
        f"<code>{escape(v.against)}</code></h1>",
    ]
    if counts or v.total:
        parts.append(f'<p class="summary">{counts} ({v.total:,} checks)</p>')
    if v.reason:
        parts.append(f'<p class="reason"><strong>{escape(v.reason)}</strong></p>')
    parts.append("</header>")
    if v.identity:
        parts.append(_section(v.identity, heading=False, sortable=False))
    parts += [_section(table) for table in v.tables]
    if images:
        figures = "".join(
            f'<figure><img alt="{escape(PLOT_TITLES.get(name, name))}" '
            f'src="data:image/png;base64,{base64.b64encode(data).decode("ascii")}">'
            f"<figcaption>{escape(PLOT_TITLES.get(name, name))}</figcaption></figure>"
            for name, data in images.items()
        )
        parts.append(f'<section id="plots"><h2>Plots</h2><div class="plots">{figures}</div></section>')
    if v.notes:
        items = "".join(f"<li>{escape(note)}</li>" for note in v.notes)
        parts.append(f'<section id="notes"><h2>Notes</h2><ul>{items}</ul></section>')
    if v.details:
        parts.append(_section(v.details, heading=False, sortable=False))
    parts += [
        f"<footer>mlgate · {escape(str(report.get('schema')))}</footer>",
        f"</main><script>{_SCRIPT}</script></body></html>",
    ]
    return "\n".join(parts) + "\n"


def _cell(text: str, align: str, tag: str = "td", *, sort: int | None = None, note: str = "") -> str:
    content = f"<code>{escape(text)}</code>" if isinstance(text, Code) else escape(text)
    if note:
        content += f'<div class="note">{escape(note)}</div>'
    attrs = ' class="r"' if align == "r" else ""
    attrs += f' data-sort="{sort}"' if sort is not None else ""
    return f"<{tag}{attrs}>{content}</{tag}>"


def _row(row: Row, table: Table) -> str:
    cells = []
    for i, (text, align) in enumerate(zip(row.cells, table.align, strict=True)):
        sort = rank(row.status) if row.status and i == len(row.cells) - 1 else None  # the verdict column
        cells.append(_cell(text, align, sort=sort, note=row.note if i == 0 else ""))
    status = f' class="{escape(row.status)}"' if row.status else ""
    return f"<tr{status}>{''.join(cells)}</tr>"


def _table(table: Table, rows: Sequence[Row], *, sortable: bool) -> str:
    head = "".join(_cell(h, a, "th") for h, a in zip(table.headers, table.align, strict=True))
    head = f"<thead><tr>{head}</tr></thead>" if any(table.headers) else ""  # a key–value table needs none
    body = "".join(_row(row, table) for row in rows)
    kind = ' class="sortable"' if sortable else ""
    return f"<table{kind}>{head}<tbody>{body}</tbody></table>"


def _section(table: Table, *, heading: bool = True, sortable: bool = True) -> str:
    inner = []
    if table.lead:
        inner.append(f'<p class="lead">{escape(table.lead)}</p>')
    rendered = _table(table, table.rows, sortable=sortable)
    if table.fold == "always":
        rendered = f"<details><summary>{escape(table.title)}</summary>{rendered}</details>"
    inner.append(rendered)
    if table.foot:
        inner.append(f'<p class="foot">{escape(table.foot)}</p>')
    title = f"<h2>{escape(table.title)}</h2>" if heading and table.fold != "always" else ""
    return f'<section id="{escape(table.key)}">{title}{"".join(inner)}</section>'
