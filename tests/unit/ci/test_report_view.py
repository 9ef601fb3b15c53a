"""The CI comment assembles report views: the steps, each validation's view, the pipeline, metrics and the gate's."""

from __future__ import annotations

from types import SimpleNamespace as NS
from typing import Any

from mlgate.ci.comment import MARKER
from mlgate.ci.report import ci_document, render
from mlgate.data.validate import Check, Example, ValidationReport, Violation
from mlgate.report.html import html_of
from mlgate.report.view import Document, Section


def result(**more: Any) -> NS:
    ok = ValidationReport("data/train.csv", 300, 4, [Check("age", "dtype", True)], [], "mlgate.schema.yaml")
    bad = ValidationReport(
        "data/test.csv",
        30,
        4,
        [Check("a|ge", "range_min", False)],
        [Violation("a|ge", "range_min", "1 value below 0", 1, (Example(3, "<b>-1</b>"),))],
    )
    base = {
        "passed": False,
        "git": {"commit": "0123456789abcdef", "branch": "feat/x"},
        "base": "main",
        "steps": [NS(name="validate", status="fail", summary="1 file failed | see below\nmore")],
        "validations": [ok, bad],
        "pipeline": None,
        "smoke": False,
        "stage_graph": None,
        "base_run": None,
        "this_run": None,
        "metric_rows": [],
        "gate": None,
        "notes": ["a note"],
    }
    return NS(**{**base, **more})


def test_the_comment_is_built_from_the_reports_own_views() -> None:
    doc = ci_document(result())
    assert doc.level == 1 and doc.passed is False
    folded = [b for b in doc.blocks if isinstance(b, Section) and b.folded]
    assert [type(b).__name__ for b in folded[0].blocks] == ["Document"]  # the passing validation, folded
    nested = [b for b in doc.blocks if isinstance(b, Document)]
    assert [d.key for d in nested] == ["validation"]


def test_markdown_keeps_marker_rows_and_escaping() -> None:
    text = render(result())
    assert text.startswith(MARKER + "\n# mlgate ci: ❌ failed\n")
    assert "| validate | ❌ fail | 1 file failed \\| see below |" in text
    assert "<details><summary>Data validation ✅ data/train.csv: 300 rows, 1 checks passed</summary>" in text
    assert "| ❌ | `a\\|ge` | range_min | 1 | 3: &lt;b>-1&lt;/b> |" in text  # the same rule as every cell
    assert "### Notes\n\n- a note\n" in text


def test_the_same_view_draws_as_html() -> None:
    page = html_of(ci_document(result(), run_url="https://ci/1"))
    assert "<b>" not in page and "&lt;b&gt;-1&lt;/b&gt;" in page
    assert "mlgate ci: ❌ failed" in page and "workflow run (<code>https://ci/1</code>)" in page
