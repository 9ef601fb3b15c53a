"""Any report view as GitHub-flavoured Markdown, for pull-request comments and ``$GITHUB_STEP_SUMMARY``.

:func:`markdown_of` draws a :class:`~mlgate.report.view.Document`. The gate report's Markdown
(``mlgate.gate-report/1``) is :func:`mlgate.report.gate_view.markdown`: this module knows no report kind, so
data reports can use it without reaching the gate layer. One escaping rule for
all text: :func:`md_text` for plain text, :func:`md_code` for :class:`~mlgate.report.view.Code`; line
breaks become spaces, and inside a table cell a ``|`` is escaped, so a row stays one row whatever a
column or check is called. Long tables fold into ``<details>`` as their ``fold`` says.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from urllib.parse import quote

from mlgate.report.view import (
    COLLAPSE_AFTER,
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
    interval,
    needs_attention,
    number,
    p_value,
    rank,
    short_digest,
    signed,
    spans,
)

# the formatters lived here before report/view.py: keep the names importable
__all__ = [
    "interval",
    "markdown_of",
    "md_code",
    "md_text",
    "number",
    "p_value",
    "short_digest",
    "signed",
]

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


def md_url(url: str) -> str:
    """A relative or absolute URL with spaces and brackets percent-encoded, so the link stays one link."""
    return quote(url, safe="/:#?&=%@+,;~")


def md_spans(value: str | Spans, *, cell: bool = False) -> str:
    """One line of spans as Markdown: each span escaped by its kind."""
    out = []
    for i, span in enumerate(spans(value)):
        if not span:
            continue
        if isinstance(span, Code):
            out.append(md_code(span, cell=cell))
        elif isinstance(span, Strong):
            out.append(f"**{md_text(span)}**")
        elif isinstance(span, Em):
            out.append(f"*{md_text(span)}*")
        elif isinstance(span, Link):
            out.append(f"[{md_text(span)}]({md_url(span.url)})")
        else:
            text = md_text(span)
            # what would open a block only matters at the start of a line
            out.append(text[1:] if i and text[:1] == "\\" and span[:1] in ">#+-=" else text)
    return "".join(out)


def markdown_of(doc: Document) -> str:
    """A view as GitHub Markdown: title heading at ``doc.level``, then its blocks in order."""
    return "\n".join(_document(doc)).rstrip() + "\n"


# -- blocks ----------------------------------------------------------------------------------------


def _document(doc: Document) -> list[str]:
    lines = [f"{'#' * max(1, min(6, doc.level))} {md_spans(doc.title)}", ""]
    for text in doc.summary:
        lines += _text(text)
    for block in doc.blocks:
        lines += _block(block, doc.level + 1)
    return lines


def _block(block: object, level: int) -> list[str]:
    if isinstance(block, Document):
        lines = _document(block)
        while lines and not lines[-1]:
            lines.pop()
        return [*lines, ""]
    if isinstance(block, Table):
        return _table_block(block, level)
    if isinstance(block, Text):
        return _text(block)
    if isinstance(block, Figures):
        shown = [f for f in block.figures if f.url]
        if not shown:
            return []
        images = " ".join(f"![{md_text(f.title)}]({md_url(f.url or '')})" for f in shown)
        return [*_heading(block.title, level), images, ""]
    if isinstance(block, Bullets):
        return [*(f"- {md_spans(item)}" for item in block.items), ""] if block.items else []
    if isinstance(block, Preformatted):
        longest = max((len(m) for m in re.findall(r"`+", block.text)), default=0)
        fence = "`" * max(3, longest + 1)
        return [f"{fence}{block.lang}", block.text.rstrip("\n"), fence, ""]
    if isinstance(block, Section):
        body = [line for b in block.blocks for line in _block(b, level + 1)]
        if block.folded:
            return _details(md_spans(block.title), body)
        return [*(_heading(block.title, level) if block.heading else []), *body]
    raise TypeError(f"not a report block: {type(block).__name__}")


def _heading(title: str | Spans, level: int) -> list[str]:
    return [f"{'#' * max(1, min(6, level))} {md_spans(title)}", ""]


def _text(text: Text) -> list[str]:
    line = md_spans(text.spans)
    if not line:
        return []
    if text.style == "small":
        line = f"<sub>{line}</sub>"
    elif text.style == "quote":
        line = f"> {line}"
    return [line, ""]


def _details(summary: str, body: list[str]) -> list[str]:
    body = list(body)
    while body and not body[-1]:
        body.pop()
    # GitHub renders Markdown inside <details> only with blank lines around it
    return [f"<details><summary>{summary}</summary>", "", *body, "", "</details>", ""]


def _table_block(table: Table, level: int) -> list[str]:
    lines = _heading(table.title, level) if table.heading else []
    if table.lead:
        lines += [md_text(table.lead), ""]
    lines += _rows(table)
    if table.foot:
        lines += [f"<sub>{md_text(table.foot)}</sub>", ""]
    return lines


def _table(table: Table, rows: Sequence[Row]) -> list[str]:
    headers = [md_text(h) for h in table.headers]
    rule = "|" + "|".join("---:" if a == "r" else ":---" for a in table.align) + "|"
    lines = ["| " + " | ".join(headers) + " |", rule]
    for row in rows:
        cells = [md_spans(c, cell=True) for c in row.cells]
        if row.note:
            cells[0] += f"<br><sub>{md_text(row.note)}</sub>"
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _rows(table: Table) -> list[str]:
    rows = table.rows
    if not rows:  # every row was cut (max_slices=0): the lead and foot still say how many there are
        return []
    if table.fold == "always":
        return _details(md_text(table.title), _table(table, rows))
    if len(rows) <= COLLAPSE_AFTER or table.fold == "never":
        return [*_table(table, rows), ""]
    if table.fold == "long":
        return _details(md_text(f"{table.title} ({len(rows)})"), _table(table, rows))
    urgent = [r for r in rows if needs_attention(r.status)]
    rest = [r for r in rows if not needs_attention(r.status)]
    lines = [*_table(table, urgent), ""] if urgent else []
    if rest:
        tally = Counter(r.status for r in rest)
        summary = ", ".join(f"{n} {status}" for status, n in sorted(tally.items(), key=lambda kv: rank(kv[0])))
        more = " more" if urgent else ""
        lines += _details(md_text(f"{len(rest)}{more} {table.title.lower()}: {summary}"), _table(table, rest))
    return lines
