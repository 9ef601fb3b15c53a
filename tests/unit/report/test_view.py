"""The report view and its three renderers: one escaping rule per format, the same structure in each."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlgate.report.html import html_of
from mlgate.report.markdown import markdown_of, md_text
from mlgate.report.terminal import renderables
from mlgate.report.view import (
    Bullets,
    Code,
    Document,
    Em,
    Figure,
    Figures,
    Link,
    Preformatted,
    Row,
    Section,
    Strong,
    Table,
    Text,
    interval,
    needs_attention,
    number,
    plain,
    rank,
    verdict,
)

NASTY = "a|b <i>c</i> `d`\ne"


def table(rows: int = 2, *, fold: str = "long", cells: tuple[str, ...] = ("x", "1")) -> Table:
    return Table(
        key="t",
        title="Things",
        headers=("name", "value"),
        align="lr",
        rows=tuple(
            Row(cells=cells, status="fail" if i == 0 else "pass", note="why" if i == 0 else "") for i in range(rows)
        ),
        fold=fold,  # type: ignore[arg-type]
        lead="A lead.",
        foot="A foot.",
    )


def document(*blocks: object, passed: bool | None = False) -> Document:
    return Document(
        title=("❌ Things failed: ", Code("m:1")),
        summary=(Text(Strong("1 failed"), " · 1 passed"),),
        blocks=tuple(blocks),  # type: ignore[arg-type]
        passed=passed,
        footer="mlgate · test",
    )


def terminal(doc: Document) -> str:
    from rich.console import Console

    console = Console(width=200, record=True, color_system=None)
    for item in renderables(doc):
        console.print(item)
    return console.export_text()


def md_rows(md: str) -> list[str]:
    return [line for line in md.splitlines() if line.startswith("| ") and not line.startswith("| name")]


def test_markdown_structure() -> None:
    md = markdown_of(document(table(), Section("Notes", (Bullets(("one", "two")),)), Preformatted("x = 1")))
    assert md.startswith("## ❌ Things failed: `m:1`\n\n**1 failed** · 1 passed\n")
    assert "### Things\n\nA lead.\n\n| name | value |\n|:---|---:|\n| x<br><sub>why</sub> | 1 |" in md
    assert "<sub>A foot.</sub>" in md and "### Notes\n\n- one\n- two\n" in md
    assert "```text\nx = 1\n```" in md and "mlgate · test" not in md


def test_a_nested_document_keeps_its_own_level() -> None:
    inner = Document(title=("Data drift",), blocks=(table(),), level=3)
    md = markdown_of(Document(title=("mlgate ci",), blocks=(inner,), level=1))
    assert md.startswith("# mlgate ci\n") and "\n### Data drift\n" in md and "\n#### Things\n" in md


@pytest.mark.parametrize("fold", ["long", "attention", "always", "never"])
def test_markdown_folds_long_tables_as_asked(fold: str) -> None:
    md = markdown_of(document(table(12, fold=fold)))
    rows = md_rows(md)
    assert len(rows) == 12
    if fold == "never":
        assert "<details>" not in md
    elif fold == "attention":
        assert md.index("| x<br><sub>why</sub>") < md.index("<details><summary>11 more things: 11 pass")
    else:
        assert "<details><summary>Things" in md


def test_one_escaping_rule_for_cells_in_every_format() -> None:
    doc = document(table(cells=(NASTY, Code(NASTY))), Bullets((NASTY,)))
    md = markdown_of(doc)
    for row in md_rows(md):  # a pipe never splits a cell, a newline never splits a row
        assert len(re.findall(r"(?<!\\)\|", row)) == 3
    assert "| a\\|b &lt;i>c&lt;/i> \\`d\\` e | ``a\\|b <i>c</i> `d` e`` |" in md  # in code, `<i>` is literal
    page = html_of(doc)
    assert "<i>" not in page and "&lt;i&gt;c&lt;/i&gt;" in page
    assert f"<code>{'a|b &lt;i&gt;c&lt;/i&gt; `d` e'}</code>" in page  # inside code, only HTML is escaped
    shown = terminal(doc)
    assert "a|b <i>c</i> `d` e" in shown  # the terminal shows text as written, the newline as a space


def test_markup_and_control_characters_are_shown_not_run_on_a_terminal() -> None:
    doc = document(table(cells=("[bold red]x[/]", "\x1b[31m")))
    shown = terminal(doc)
    assert "[bold red]x[/]" in shown and "\\x1b[31m" in shown and "\x1b" not in shown


def test_html_page_is_self_contained_and_coloured_by_verdict() -> None:
    figs = Figures((Figure("roc", "ROC curve", png=b"\x89PNG"), Figure("pr", "PR", url="https://x/pr.png")))
    page = html_of(document(table(), figs, Text("see ", Link("run", "https://ci/1")), passed=True))
    assert '<header class="pass"><h1>❌ Things failed: <code>m:1</code></h1>' in page
    assert page.count("<img") == 1 and "https://x/pr.png" not in page and "href" not in page
    assert "<title>Things failed: m:1</title>" in page and "<footer>mlgate · test</footer>" in page
    assert re.findall(r'<tr class="(\w+)">', page) == ["fail", "pass"]


def test_markdown_figures_link_urls_and_skip_bytes() -> None:
    figs = Figures((Figure("roc", "ROC curve", png=b"\x89PNG"), Figure("pr", "PR curve", url="plots/p r.png")))
    md = markdown_of(document(figs))
    assert "### Plots\n\n![PR curve](plots/p%20r.png)\n" in md and "ROC" not in md


def test_terminal_shows_every_block() -> None:
    doc = document(
        table(12, fold="always"),
        Section("Notes", (Bullets(("one",)),)),
        Figures((Figure("roc", "ROC curve", url="roc.png"),)),
        Text(Em("(dataset)"), " ", Link("run", "https://ci/1")),
        Document(title=("Inner",), blocks=(Preformatted("line 1\nline 2"),)),
    )
    shown = terminal(doc)
    expected = ("Things failed", "1 failed · 1 passed", "Things", "why", "A lead.", "A foot.", "Notes", "• one")
    expected += ("ROC curve: roc.png", "(dataset) run (https://ci/1)", "Inner", "line 1\nline 2", "mlgate · test")
    for text in expected:
        assert text in shown, text
    assert shown.count("│ x") == 12  # a terminal never folds


@given(st.text(max_size=40))
def test_plain_text_of_any_cell_is_one_line(text: str) -> None:
    assert "\n" not in plain((text, Code(text))) and "\n" not in md_text(text)


def test_formatters_and_verdicts() -> None:
    assert number(-0.000012345) == "−1.234e−5" and number(12345.6) == "12,346" and number(None) == "—"
    assert interval([-0.0123, 0.004], decimals=3) == "[−0.012, +0.004]"
    assert verdict("undecided-blocks") == "❌ undecided, blocks" and verdict("made-up") == "❌ made-up"
    assert rank("fail") < rank("waived") < rank("pass") < rank("skip")
    assert needs_attention("warn") and not needs_attention("pass")


def test_table_alignment_must_fit_the_headers() -> None:
    with pytest.raises(ValueError, match="2 headers but align 'l'"):
        Table(key="t", title="T", headers=("a", "b"), align="l", rows=())
