"""One report view: what a report shows, as plain values, for the Markdown, HTML and terminal renderers.

Every report mlgate writes for people (gate, data validation, drift, data check, the CI comment, and
the monitoring reports to come) builds a :class:`Document`, then hands it to a renderer:
:func:`mlgate.report.markdown.markdown_of`, :func:`mlgate.report.html.html_of` or
:func:`mlgate.report.terminal.print_document` (:func:`~mlgate.report.terminal.renderables` for Rich
objects). Views hold plain text, never markup: each renderer escapes every piece of text with its
format's one rule, so a ``|``, ``<``, backtick or newline in a column name, check name or message
reads the same in a pull request, a browser and a terminal (newlines inside a table cell or a line of
text become spaces everywhere).

The pieces::

    Document(title=("✅ Gate passed: ", Code("fraud:7"), " → ", Code("production")),
             passed=True,                       # drives the colour; None for a report with no verdict
             summary=(Text(Strong("2 failed"), " · 5 passed"),),  # lines that go with the title
             blocks=(Table(...), Figures(...), Section("Notes", (Bullets(...),)), …),
             level=2)                           # Markdown heading level of the title; blocks get level + 1

* text: a plain ``str``, or :class:`Code` (monospace: references, digests, paths, column names),
  :class:`Strong` (bold), :class:`Em` (italic) and :class:`Link` — all ``str`` subclasses; a :data:`Spans` tuple
  joins several into one line or cell;
* :class:`Text`: a paragraph of spans (style ``small`` for a footnote, ``quote`` for a call-out);
* :class:`Table`: titled, with headers, an alignment per column, :class:`Row`\\ s that carry a
  ``status`` (``pass``, ``fail``, ``error``, ``warn``, ``skip``, ``waived`` …: order, marks, colour)
  and a ``note`` under the first cell; ``fold`` says how Markdown collapses a long table;
* :class:`Figures`: images (:class:`Figure`: a URL for Markdown, PNG bytes for HTML, a path for the
  terminal). A time series is drawn to a PNG first (``report/plots.py``) and the view carries it;
* :class:`Bullets`, :class:`Preformatted` (logs, diagrams: shown verbatim, in a fenced block);
* :class:`Section`: a titled group of blocks, optionally folded; a :class:`Document` may hold other
  documents (the CI comment holds the validation, drift and gate documents, each at its own level).

A monitoring report fits as it is: one :class:`Section` per window or metric, a :class:`Table` with a
``window`` column (one row per window, ``status`` per row), a :class:`Figure` per time series.

Formatters shared by every report: :func:`number` (4 significant digits, typographic minus, ``—`` for
missing), :func:`fixed` and :func:`decimals_of` (one precision per metric), :func:`signed`,
:func:`interval`, :func:`p_value`, :func:`short_digest`; verdicts: :func:`verdict` (``✅ pass``),
:func:`rank` (blocking statuses first), :func:`needs_attention`.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Any, Literal, TypeAlias

MINUS = "\u2212"
DASH = "—"  # a figure that is missing or was not computed
COLLAPSE_AFTER = 10  # a longer table keeps only the rows that need attention in view, the rest folded


# -- text ------------------------------------------------------------------------------------------


class Code(str):
    """Text shown in monospace: references, digests, paths, column names."""

    __slots__ = ()


class Strong(str):
    """Text shown in bold: what a reader must not miss."""

    __slots__ = ()


class Em(str):
    """Text shown in italics: a placeholder rather than a value, such as ``(dataset)``."""

    __slots__ = ()


class Link(str):
    """Text that links to ``url`` (a workflow run, a document); the terminal shows the URL after it."""

    url: str

    def __new__(cls, text: str, url: str) -> Link:
        obj = super().__new__(cls, text)
        obj.url = url
        return obj


Spans: TypeAlias = tuple[str, ...]
"""Pieces of one line of text, each a plain ``str``, :class:`Code`, :class:`Strong` or :class:`Em`."""

Cell: TypeAlias = "str | Spans"


def spans(value: str | Spans) -> Spans:
    """A cell or line as a tuple of spans."""
    return (value,) if isinstance(value, str) else tuple(value)


def plain(value: str | Spans) -> str:
    """The text of a cell or line without any styling, newlines as spaces."""
    return one_line("".join(spans(value)))


def one_line(text: str) -> str:
    """Line breaks as spaces: a cell or a line of text stays one line in every format."""
    return " ".join(str(text).splitlines())


# -- blocks ----------------------------------------------------------------------------------------


@dataclass(frozen=True, init=False)
class Text:
    """A paragraph of spans; ``style`` ``small`` for a footnote, ``quote`` for a call-out."""

    spans: Spans
    style: Literal["", "small", "quote"] = ""

    def __init__(self, *parts: str, style: Literal["", "small", "quote"] = "") -> None:
        object.__setattr__(self, "spans", tuple(parts))
        object.__setattr__(self, "style", style)


@dataclass(frozen=True)
class Row:
    """One table row of plain text; renderers escape it."""

    cells: tuple[Cell, ...]
    status: str = ""  # pass, fail, error, warn, skip or waived: drives order, marks and colour
    note: str = ""  # a line under the first cell (a check's message)


@dataclass(frozen=True)
class Table:
    """A titled table. ``fold`` says how Markdown collapses it once it is longer than ``COLLAPSE_AFTER``
    rows: ``attention`` keeps the rows that need a reviewer in view and folds the rest, ``long`` folds
    the whole table, ``always`` folds it whatever its length, ``never`` keeps it open (HTML folds only
    ``always`` tables). ``heading`` False leaves the title out (a table that follows its own heading)."""

    key: str
    title: str
    headers: tuple[str, ...]
    align: str  # one letter per column: l(eft) or r(ight)
    rows: tuple[Row, ...]
    fold: Literal["attention", "long", "always", "never"] = "long"
    lead: str = ""  # a sentence before the table
    foot: str = ""  # a sentence after it
    heading: bool = True

    def __post_init__(self) -> None:
        if len(self.align) != len(self.headers):
            raise ValueError(f"table {self.key!r}: {len(self.headers)} headers but align {self.align!r}")


@dataclass(frozen=True)
class Figure:
    """One image: ``url`` for Markdown (relative to the file), ``png`` for a self-contained HTML page."""

    key: str
    title: str
    url: str | None = None
    png: bytes | None = None


@dataclass(frozen=True)
class Figures:
    """Images shown side by side under a heading."""

    figures: tuple[Figure, ...]
    title: str = "Plots"
    key: str = "plots"


@dataclass(frozen=True)
class Bullets:
    """A list of one-line items."""

    items: tuple[str | Spans, ...]


@dataclass(frozen=True)
class Preformatted:
    """Text shown verbatim in a fenced block (``lang``: ``text``, ``mermaid`` …): logs, errors, diagrams."""

    text: str
    lang: str = "text"


@dataclass(frozen=True)
class Section:
    """A titled group of blocks; ``folded`` hides it behind its title until opened (Markdown, HTML)."""

    title: str | Spans
    blocks: tuple[Block, ...]
    key: str = ""
    folded: bool = False
    heading: bool = True


@dataclass(frozen=True)
class Document:
    """A whole report: a title line with the verdict, summary lines, then blocks in reading order."""

    title: Spans
    blocks: tuple[Block, ...] = ()
    summary: tuple[Text, ...] = ()
    passed: bool | None = None  # None: a report without a verdict
    level: int = 2  # Markdown heading level of the title; tables and sections take level + 1
    key: str = "report"
    footer: str = ""  # a line at the foot of a page (HTML, terminal); Markdown leaves it out


Block: TypeAlias = "Text | Table | Figures | Bullets | Preformatted | Section | Document"


# -- numbers ---------------------------------------------------------------------------------------


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
    # operator.gt is ``value > 0``: typeshed's numbers.Real declares only __lt__ and __le__
    if isinstance(value, Real) and not isinstance(value, bool) and operator.gt(value, 0) and text != "0":
        return "+" + text
    return text


def interval(ci: Any, *, sign: bool = True, decimals: int | None = None) -> str:
    """``[−0.012, +0.004]``; unsigned ends for an interval of a value rather than a difference.

    ``decimals`` gives both ends the report's precision for the metric (:func:`fixed`).
    """
    if not isinstance(ci, Sequence) or isinstance(ci, str) or len(ci) != 2:
        return DASH
    if decimals is not None:
        return f"[{fixed(ci[0], decimals, sign=sign)}, {fixed(ci[1], decimals, sign=sign)}]"
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


# -- verdicts --------------------------------------------------------------------------------------

_MARKS = {"fail": "❌", "error": "❌", "undecided-blocks": "❌", "waived": "⚠️", "undecided": "⚠️", "warn": "⚠️",
          "pass": "✅", "not-tested": "⏭️", "skip": "⏭️"}  # fmt: skip
_RANK = {"fail": 0, "error": 1, "undecided-blocks": 1, "waived": 2, "undecided": 3, "warn": 3, "pass": 4,
         "not-tested": 5, "skip": 5}  # fmt: skip
_LABELS = {"undecided-blocks": "undecided, blocks", "not-tested": "not tested"}
_ATTENTION = _RANK["warn"]  # rows ranked up to here need a reviewer's eye
_UNKNOWN_RANK = _RANK["error"]  # a status this reader does not know fails closed, like an error
STATUSES = tuple(_RANK)


def mark(status: str) -> str:
    """The mark of a status: ``✅``, ``❌``, ``⚠️``, ``⏭️``; an unknown status reads as an error."""
    return _MARKS.get(status, "❌")


def verdict(status: str) -> str:
    """``✅ pass``, ``❌ fail``, ``⚠️ waived`` …; an unknown status reads as an error."""
    return f"{mark(status)} {_LABELS.get(status, status)}"


def rank(status: str) -> int:
    """Sort key of a status: the ones that block come first."""
    return _RANK.get(status, _UNKNOWN_RANK)


def needs_attention(status: str) -> bool:
    """Whether a row with this status is kept in view when a long table folds."""
    return rank(status) <= _ATTENTION
