"""Any report view on a terminal, through Rich: coloured verdicts, tables with status marks, notes.

:func:`renderables` turns a :class:`~mlgate.report.view.Document` into Rich objects and
:func:`print_document` prints them. One escaping rule: text is put into :class:`rich.text.Text` pieces,
never parsed as console markup, so ``[bold red]`` in a column name prints as written; control
characters (an escape sequence in a stored message) show as ``\\x1b``, and line breaks inside a cell or
a line become spaces. Tables are never folded here: a terminal scrolls.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from mlgate.report.view import (
    Bullets,
    Code,
    Document,
    Em,
    Figures,
    Link,
    Preformatted,
    Section,
    Spans,
    Strong,
    Table,
    Text,
    one_line,
    rank,
    spans,
)

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_STATUS_STYLE = {0: "red", 1: "red", 2: "yellow", 3: "yellow", 4: "green", 5: "dim"}


def safe(text: str) -> str:
    """Control characters as visible escapes (``\\x1b``), line breaks as spaces."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), one_line(text))


def rich_text(value: str | Spans, style: str = "") -> Any:
    """One line of spans as a Rich ``Text``: code cyan, strong bold, emphasis italic, links with their URL."""
    from rich.text import Text as RichText

    out = RichText(style=style)
    for span in spans(value):
        if isinstance(span, Code):
            out.append(safe(span), style="cyan")
        elif isinstance(span, Strong):
            out.append(safe(span), style="bold")
        elif isinstance(span, Em):
            out.append(safe(span), style="italic")
        elif isinstance(span, Link):
            out.append(f"{safe(span)} ({safe(span.url)})", style="underline")
        else:
            out.append(safe(span))
    return out


def status_style(status: str) -> str:
    """The colour of a row with this status; no colour for a row without one."""
    return _STATUS_STYLE.get(rank(status), "") if status else ""


def renderables(doc: Document) -> list[RenderableType]:
    """The view as Rich objects, in reading order."""
    colour = {True: "bold green", False: "bold red"}.get(doc.passed, "bold")  # type: ignore[arg-type]
    out: list[RenderableType] = [rich_text(doc.title, colour)]
    out += [_text(t) for t in doc.summary]
    for block in doc.blocks:
        out += _block(block)
    if doc.footer:
        out.append(rich_text(doc.footer, "dim"))
    return out


def print_document(doc: Document, console: Console | None = None) -> None:
    """Print a view on ``console`` (default: a new Rich console on standard output)."""
    if console is None:
        from rich.console import Console

        console = Console()
    for item in renderables(doc):
        console.print(item)


def _text(text: Text) -> Any:
    return rich_text(text.spans, {"small": "dim", "quote": "italic"}.get(text.style, ""))


def _block(block: object) -> list[Any]:
    if isinstance(block, Document):
        return renderables(block)
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Text):
        return [_text(block)]
    if isinstance(block, Figures):
        return [rich_text(f"{f.title}: {f.url}", "dim") for f in block.figures if f.url]
    if isinstance(block, Bullets):
        return [rich_text(("• ", *spans(item))) for item in block.items]
    if isinstance(block, Preformatted):
        from rich.text import Text as RichText

        return [RichText(_CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), block.text))]
    if isinstance(block, Section):
        head = [rich_text(block.title, "bold")] if block.heading or block.folded else []
        return head + [item for b in block.blocks for item in _block(b)]
    raise TypeError(f"not a report block: {type(block).__name__}")


def _table(table: Table) -> list[Any]:
    from rich.table import Table as RichTable

    out: list[Any] = []
    if table.lead:
        out.append(rich_text(table.lead, "dim"))
    if table.rows:
        title = safe(table.title) if table.heading or table.fold == "always" else None
        grid = RichTable(title=title, title_justify="left", show_header=any(table.headers))
        for header, align in zip(table.headers, table.align, strict=True):
            grid.add_column(safe(header), justify="right" if align == "r" else "left", overflow="fold")
        for row in table.rows:
            cells = [rich_text(c) for c in row.cells]
            if row.note:
                cells[0].append("\n")
                cells[0].append(safe(row.note), style="dim")
            grid.add_row(*cells, style=status_style(row.status) or None)
        out.append(grid)
    if table.foot:
        out.append(rich_text(table.foot, "dim"))
    return out
