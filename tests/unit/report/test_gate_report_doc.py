"""docs/gate-report.md documents every field the reports carry, and its example renders."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

from mlgate.gates.types import REPORT_SCHEMA, Check
from mlgate.report import html, markdown

DOC = Path(__file__).parents[3] / "docs" / "gate-report.md"


def documented() -> set[str]:
    return set(re.findall(r"^\| `([a-z_]+)` \|", DOC.read_text(encoding="utf-8"), flags=re.MULTILINE))


def example() -> dict[str, Any]:
    block = DOC.read_text(encoding="utf-8").split("```json\n", 1)[1].split("```", 1)[0]
    return json.loads(block)


def test_every_field_of_a_real_report_is_documented(binary_report: dict[str, Any]) -> None:
    fields = set(binary_report)
    for key in ("candidate", "champion", "dataset", "config", "summary", "environment"):
        fields |= set(binary_report[key])
    fields |= {f.name for f in dataclasses.fields(Check)}
    fields |= set(next(iter(binary_report["metrics"].values())))
    fields |= set(binary_report["slices"][0]) | {"reason"}  # skipped slices say why
    fields |= set(binary_report["plots"])
    assert fields - documented() == set()


def test_the_example_is_a_report_the_renderers_accept() -> None:
    report = example()
    assert report["schema"] == REPORT_SCHEMA
    assert markdown(report).startswith("## ❌ Gate blocked: `breast-cancer:3` → `production`")
    assert '<img alt="ROC curve"' in html(report)
