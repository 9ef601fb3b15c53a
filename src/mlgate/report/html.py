"""Any report view as one self-contained HTML page: inline CSS and script, plots as base64 data URIs.

:func:`html_of` draws a :class:`~mlgate.report.view.Document`; :func:`html` is the gate report's, with
every slice listed (the Markdown caps them). Long tables stay unfolded (``always`` tables aside) and
sortable: click a header; without JavaScript the tables keep report order, failing rows first. One
escaping rule: every piece of text goes through :func:`html.escape`, line breaks as spaces. The file
references nothing outside itself (a figure without PNG bytes is left out), so it can be attached to a
CI run, mailed or opened offline.
"""

from __future__ import annotations

import base64
import tempfile
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

from mlgate.report.view import (
    Bullets,
    Code,
    Document,
    Em,
    Figures,
    Link,
    Preformatted,
    Row,
    Section,
    Spans,
    Strong,
    Table,
    Text,
    one_line,
    plain,
    rank,
    spans,
)

_CSS = """
:root { --fail: #cf222e; --fail-bg: #ffebe9; --warn-bg: #fff8c5; --pass: #1a7f37; --pass-bg: #dafbe1;
        --skip-bg: #f6f8fa; --line: #d0d7de; --muted: #57606a; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2328; }
main { max-width: 1100px; margin: 0 auto; padding: 24px; }
header { border-radius: 6px; padding: 12px 16px; margin-bottom: 16px; border: 1px solid var(--line); }
header.pass { background: var(--pass-bg); border-color: var(--pass); }
header.fail { background: var(--fail-bg); border-color: var(--fail); }
.verdict.pass h2, .verdict.pass h3 { color: var(--pass); }
.verdict.fail h2, .verdict.fail h3 { color: var(--fail); }
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
    """The gate report as one HTML page that needs no network.

    ``images`` maps a plot name to PNG bytes already drawn (``write`` reuses its files); by default the
    plots are drawn here, in a temporary folder.
    """
    from mlgate.report.gate_view import check_report, gate_document

    check_report(report)
    if images is None:
        from mlgate.report.plots import plots

        with tempfile.TemporaryDirectory(prefix="mlgate-report-") as tmp:
            images = {name: path.read_bytes() for name, path in plots(report, Path(tmp)).items()}
    return html_of(gate_document(report, images=images))


def html_of(doc: Document) -> str:
    """A view as one HTML page: the title and summary in a header coloured by the verdict, then the blocks."""
    title = plain(doc.title)
    for sign in ("✅ ", "❌ ", "⚠️ "):  # the tab's title reads without the mark
        title = title.removeprefix(sign)
    state = {True: "pass", False: "fail"}.get(doc.passed, "info")  # type: ignore[arg-type]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head>",
        "<body><main>",
        f'<header class="{state}"><h1>{_spans(doc.title)}</h1>',
        *(_text(t, "summary") for t in doc.summary),
        "</header>",
        *(_block(b, 2) for b in doc.blocks),
    ]
    if doc.footer:
        parts.append(f"<footer>{escape(one_line(doc.footer))}</footer>")
    parts.append(f"</main><script>{_SCRIPT}</script></body></html>")
    return "\n".join(p for p in parts if p) + "\n"


def _spans(value: str | Spans) -> str:
    out = []
    for span in spans(value):
        text = escape(one_line(span))
        if isinstance(span, Code):
            text = f"<code>{text}</code>"
        elif isinstance(span, Strong):
            text = f"<strong>{text}</strong>"
        elif isinstance(span, Em):
            text = f"<em>{text}</em>"
        elif isinstance(span, Link):  # a page that works offline shows where a link points instead of following it
            text = f"{text} (<code>{escape(one_line(span.url))}</code>)"
        out.append(text)
    return "".join(out)


def _text(text: Text, css: str = "") -> str:
    inner = _spans(text.spans)
    if not inner:
        return ""
    if text.style == "quote":
        return f"<blockquote><p>{inner}</p></blockquote>"
    css = css or ("foot" if text.style == "small" else "")
    return f'<p class="{css}">{inner}</p>' if css else f"<p>{inner}</p>"


def _heading(title: str | Spans, level: int) -> str:
    tag = f"h{max(1, min(6, level))}"
    return f"<{tag}>{_spans(title)}</{tag}>"


def _block(block: object, level: int) -> str:
    if isinstance(block, Table):
        return _section(block, level)
    if isinstance(block, Text):
        return _text(block)
    if isinstance(block, Figures):
        figures = "".join(
            f'<figure><img alt="{escape(one_line(f.title))}" '
            f'src="data:image/png;base64,{base64.b64encode(f.png).decode("ascii")}">'
            f"<figcaption>{escape(one_line(f.title))}</figcaption></figure>"
            for f in block.figures
            if f.png
        )
        if not figures:
            return ""
        plots = f'{_heading(block.title, level)}<div class="plots">{figures}</div>'
        return f'<section id="{escape(block.key)}">{plots}</section>'
    if isinstance(block, Bullets):
        items = "".join(f"<li>{_spans(item)}</li>" for item in block.items)
        return f"<ul>{items}</ul>" if items else ""
    if isinstance(block, Preformatted):
        return f'<pre><code class="{escape(block.lang)}">{escape(block.text)}</code></pre>'
    if isinstance(block, Section):
        body = "".join(_block(b, level + 1) for b in block.blocks)
        key = f' id="{escape(block.key)}"' if block.key else ""
        if block.folded:
            return f"<section{key}><details><summary>{_spans(block.title)}</summary>{body}</details></section>"
        title = _heading(block.title, level) if block.heading else ""
        return f"<section{key}>{title}{body}</section>"
    if isinstance(block, Document):
        state = {True: "pass", False: "fail"}.get(block.passed, "info")  # type: ignore[arg-type]
        summary = "".join(_text(t, "summary") for t in block.summary)
        body = "".join(_block(b, level + 1) for b in block.blocks)
        head = f'<div class="verdict {state}">{_heading(block.title, level)}{summary}</div>'
        return f'<section id="{escape(block.key)}" class="document">{head}{body}</section>'
    raise TypeError(f"not a report block: {type(block).__name__}")


def _cell(cell: str | Spans, align: str, tag: str = "td", *, sort: int | None = None, note: str = "") -> str:
    content = _spans(cell)
    if note:
        content += f'<div class="note">{escape(one_line(note))}</div>'
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


def _section(table: Table, level: int) -> str:
    # a table without its own heading is a key–value list (models, run details): nothing to sort
    sortable = table.heading and len(table.rows) > 1
    inner = []
    if table.lead:
        inner.append(f'<p class="lead">{escape(one_line(table.lead))}</p>')
    rendered = _table(table, table.rows, sortable=sortable)
    if table.fold == "always":
        rendered = f"<details><summary>{escape(one_line(table.title))}</summary>{rendered}</details>"
    inner.append(rendered)
    if table.foot:
        inner.append(f'<p class="foot">{escape(one_line(table.foot))}</p>')
    title = _heading(table.title, level) if table.heading and table.fold != "always" else ""
    return f'<section id="{escape(table.key)}">{title}{"".join(inner)}</section>'
