"""How every table the CLI prints is laid out: whole identifiers on a terminal, plain aligned text in a pipe.

Commands build ordinary Rich tables and print them through ``_common.console()``, which installs
:class:`TableLayout` as a render hook, so each command stays unaware of where its output goes:

- on a terminal, no cell is cut to ``…``: refs, versions, digests and other one-word columns stay whole
  and on one line; other columns fold onto more lines when the terminal is narrow;
- anywhere else (a pipe, a file, a CI log) a table becomes plain text, columns separated by two
  spaces, nothing wrapped or cut, so ``grep`` and ``awk`` see one row per line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.console import RenderHook

if TYPE_CHECKING:
    from rich.console import ConsoleRenderable
    from rich.table import Table
    from rich.text import Text

MAX_WORD = 40  # a longer word (a path, a long message token) folds rather than widen its column further


class TableLayout(RenderHook):
    """A Rich render hook that lays tables out for the console it is installed on."""

    def __init__(self, *, plain: bool, width: int = 80) -> None:
        self.plain = plain
        self.width = width

    def process_renderables(self, renderables: list[ConsoleRenderable]) -> list[ConsoleRenderable]:
        """Each table laid out; everything else unchanged."""
        from rich.table import Table

        out: list[ConsoleRenderable] = []
        for item in renderables:
            if isinstance(item, Table):
                out.append(plain_table(item) if self.plain else keep_words_whole(item, self.width))
            else:
                out.append(item)
        return out


def keep_words_whole(table: Table, width: int) -> Table:
    """Lay a table out so that no identifier is cut: returns the same table, adjusted.

    A column whose cells are single words (refs, versions, digests, statuses) never wraps and is as wide
    as its longest word. Other columns are as wide as their longest word too while the table fits in
    ``width``; when it does not, the borders go and those columns fold onto more lines instead.
    """
    words = [[w for cell in (c.header, *c._cells) for w in _text(cell).split()] for c in table.columns]
    longest = [min(max((len(w) for w in ws), default=0), MAX_WORD) for ws in words]
    single = [all(len(_text(cell).split()) <= 1 for cell in c._cells) for c in table.columns]
    overhead = (1 if table.show_edge and table.box else 0) + 3 * len(table.columns)
    fits = sum(longest) + overhead <= width
    if not fits:
        table.box = None  # two spaces between columns instead of three characters: most of a column back
        table.pad_edge = False
    for column, size, ident in zip(table.columns, longest, single, strict=True):
        if ident:
            column.no_wrap = True
        if ident or fits:
            column.min_width = max(column.min_width or 0, size)
        if column.overflow == "ellipsis":
            column.overflow = "fold"
    return table


def plain_table(table: Table) -> Text:
    """The table as plain aligned text: title, header, one line per row (more only for multi-line cells)."""
    from rich.text import Text

    columns = table.columns
    rows: list[list[list[str]]] = []
    if table.show_header:
        rows.append([[_text(c.header)] for c in columns])
    for i in range(table.row_count):
        rows.append([_text(c._cells[i]).splitlines() or [""] for c in columns])
    widths = [max((len(line) for row in rows for line in row[j]), default=0) for j in range(len(columns))]
    lines: list[str] = []
    if table.title:
        lines.append(_text(table.title))
    for row in rows:
        for k in range(max(len(cell) for cell in row) if row else 0):
            parts = []
            for j, cell in enumerate(row):
                value = cell[k] if k < len(cell) else ""
                right = columns[j].justify == "right"
                parts.append(value.rjust(widths[j]) if right else value.ljust(widths[j]))
            lines.append("  ".join(parts).rstrip())
    if table.caption:
        lines.append(_text(table.caption))
    return Text("\n".join(lines), no_wrap=True, overflow="ignore")


def _text(cell: Any) -> str:
    """A cell's visible characters: markup interpreted, styles dropped."""
    from rich.text import Text

    if isinstance(cell, Text):
        return cell.plain
    if isinstance(cell, str):
        return Text.from_markup(cell).plain
    return str(cell)
