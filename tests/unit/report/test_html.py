"""The HTML report: one self-contained file with the Markdown's content, every slice, embedded PNGs."""

from __future__ import annotations

import base64
import copy
import re
from html import escape
from typing import Any

import pytest

from mlgate.errors import InputError
from mlgate.report import html, markdown
from tests.unit.report.png import SIGNATURE, png_size

DATA_URI = re.compile(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


@pytest.fixture(scope="module")
def page(binary_report: dict[str, Any]) -> str:
    return html(binary_report)


def test_references_nothing_outside_the_file(page: str) -> None:
    assert "http://" not in page and "https://" not in page
    assert not re.search(r"\bhref\s*=", page)
    sources = re.findall(r"""\bsrc\s*=\s*["']?([^"'\s>]*)""", page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "@import" not in page and "url(" not in page
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")


def test_embeds_each_plot_as_a_png(page: str) -> None:
    images = [base64.b64decode(data) for data in DATA_URI.findall(page)]
    assert len(images) == 4  # roc, pr, calibration, slices
    assert all(image.startswith(SIGNATURE) for image in images)
    assert png_size(images[0]) == (600, 400)
    assert re.findall(r'<img alt="([^"]+)"', page) == [
        "ROC curve",
        "Precision–recall curve",
        "Calibration",
        "Slices: candidate vs champion",
    ]


def test_says_what_the_markdown_says(binary_report: dict[str, Any], page: str) -> None:
    assert "<h1>❌ Gate blocked: <code>breast-cancer:3</code> → <code>production</code></h1>" in page
    assert "<strong>3 failed</strong> · 2 passed · 1 skipped · 1 warning · 1 waived (8 checks)" in page
    md = markdown(binary_report)
    for check in binary_report["checks"]:
        assert escape(check["name"]) in page
    for item in binary_report["slices"]:
        assert escape(item["slice"]) in page
    for verdict in ("❌ fail", "⚠️ waived", "⚠️ warn", "✅ pass", "⏭️ skip"):
        assert verdict in md and verdict in page
    assert "⚠️ waived until 2026-12-31" in page and "waiver: upgrade rolled out in #42" in page
    assert "<code>blake3:3c3c3c3c3c3c</code>" in page


def test_failing_rows_first_like_the_markdown(binary_report: dict[str, Any], page: str) -> None:
    checks = page.split('<section id="checks">')[1].split("</section>")[0]
    statuses = re.findall(r'<tr class="(\w+)">', checks)
    assert statuses == ["fail", "fail", "fail", "waived", "warn", "pass", "pass", "skip"]
    names = re.findall(r"<tr[^>]*><td>([^<]+)", checks)
    assert names[0] == "roc_auc vs production"
    # verdict cells carry their severity for sorting
    assert re.findall(r'data-sort="(\d)"', checks) == ["0", "0", "0", "2", "3", "4", "4", "5"]


def test_lists_every_slice_where_the_markdown_stops(binary_report: dict[str, Any]) -> None:
    report = copy.deepcopy(binary_report)
    base = report["slices"][0]
    report["slices"] = [{**base, "slice": f"region {i:02d}"} for i in range(30)]
    md = markdown(report)
    page = html(report, images={})
    assert "region 29" in page and "10 more slices not shown" in md
    assert sum(f"| region {i:02d} |" in md for i in range(30)) == 20


def test_escapes_markup_from_the_report(binary_report: dict[str, Any]) -> None:
    report = copy.deepcopy(binary_report)
    report["checks"][0]["name"] = "<script>alert(1)</script>"
    report["notes"] = ['<a href="x">click</a>']
    page = html(report, images={})
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<a href" not in page


def test_given_images_are_embedded_instead_of_drawing(binary_report: dict[str, Any], page: str) -> None:
    png = base64.b64decode(DATA_URI.findall(page)[0])
    only_roc = html(binary_report, images={"roc": png})
    assert DATA_URI.findall(only_roc) == [base64.b64encode(png).decode("ascii")]
    assert '<section id="plots">' not in html(binary_report, images={})


def test_first_model_and_passed_header(first_model_report: dict[str, Any]) -> None:
    page = html(first_model_report, images={})
    assert '<header class="pass"><h1>✅ Gate passed' in page
    assert "<td>none (first model)</td>" in page
    assert '<section id="slices">' not in page


def test_empty_sections_are_left_out(binary_report: dict[str, Any]) -> None:
    page = html({"schema": binary_report["schema"], "candidate": {"ref": "m:1"}, "passed": False})
    for section in ("checks", "slices", "metrics", "plots", "notes"):
        assert f'<section id="{section}">' not in page
    assert "<img" not in page


def test_rejects_another_schema() -> None:
    with pytest.raises(InputError, match="unsupported gate report schema 'other'"):
        html({"schema": "other"})
