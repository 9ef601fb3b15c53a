"""Markdown gate reports: verdict, check and slice tables in the right order, escaping, links, notes."""

from __future__ import annotations

import copy
import math
import re
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlgate.errors import InputError
from mlgate.gates.types import Check
from mlgate.report import markdown
from mlgate.report.markdown import interval, md_code, md_text, number, short_digest, signed


def split_row(line: str) -> list[str]:
    """The cells of a GitHub table row: ``|`` splits unless backslash-escaped (``\\x`` is one unit)."""
    assert line.startswith("|") and line.endswith("|"), line
    cells, current, i, body = [], "", 0, line[1:-1]
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            current += body[i : i + 2]
            i += 2
            continue
        if body[i] == "|":
            cells.append(current.strip())
            current = ""
        else:
            current += body[i]
        i += 1
    cells.append(current.strip())
    return cells


def table(md: str, header: str) -> list[list[str]]:
    """Every body row of the tables whose header row starts with ``| header |`` (folded parts included)."""
    lines = md.splitlines()
    rows: list[list[str]] = []
    for i, line in enumerate(lines):
        if line.startswith(f"| {header} |"):
            for body in lines[i + 2 :]:
                if not body.startswith("|"):
                    break
                rows.append(split_row(body))
    return rows


def unescape(text: str) -> str:
    """What GitHub shows for an escaped text: backslash escapes and the two entities md_text writes."""
    out, i = "", 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text) and text[i + 1] in "\\`*_[]~|>#+-=.)":
            out += text[i + 1]
            i += 2
        elif text.startswith("&amp;", i):
            out, i = out + "&", i + 5
        elif text.startswith("&lt;", i):
            out, i = out + "<", i + 4
        else:
            out, i = out + text[i], i + 1
    return out


def check_names(md: str) -> list[str]:
    return [unescape(row[0].split("<br>")[0]) for row in table(md, "check")]


def test_headline_says_blocked_and_counts_the_failures(binary_report: dict[str, Any]) -> None:
    md = markdown(binary_report)
    lines = md.splitlines()
    assert lines[0] == "## ❌ Gate blocked: `breast-cancer:3` → `production`"
    assert lines[2] == "**3 failed** · 2 passed · 1 skipped · 1 warning · 1 waived (8 checks)"
    assert binary_report["passed"] is False


def test_headline_says_passed(regression_report: dict[str, Any]) -> None:
    assert regression_report["passed"] is True
    assert markdown(regression_report).startswith(
        "## ✅ Gate passed: `diabetes:3` → `production`\n\n2 passed (2 checks)"
    )


def test_a_report_without_a_verdict_is_not_shown_as_passed(regression_report: dict[str, Any]) -> None:
    report = {**regression_report, "passed": None}
    assert markdown(report).startswith("## ❌ Gate blocked")


def test_candidate_and_champion_with_short_digests(binary_report: dict[str, Any]) -> None:
    md = markdown(binary_report)
    identity = table(md, "")
    assert identity[0] == ["reference", "`breast-cancer:3`", "`breast-cancer:2`"]
    assert identity[1] == ["version", "1.2.0-rc.1", "1.1.0"]
    assert identity[2] == ["digest", "`blake3:3c3c3c3c3c3c`", "`blake3:2b2b2b2b2b2b`"]
    assert "|  | candidate | champion (production) |" in md
    assert binary_report["candidate"]["digest"] not in md


def test_failing_checks_come_first_then_waived_warned_passed_skipped(binary_report: dict[str, Any]) -> None:
    rows = table(markdown(binary_report), "check")
    verdicts = [row[-1] for row in rows]
    assert verdicts == ["❌ fail"] * 3 + ["⚠️ waived until 2026-12-31", "⚠️ warn", "✅ pass", "✅ pass", "⏭️ skip"]
    # within a status the report's order holds
    assert check_names(markdown(binary_report))[:3] == [
        "roc_auc vs production",
        "recall | class 1 vs production",
        "accuracy by slice vs production",
    ]


def test_check_row_shows_figures_interval_bound_and_verdict(binary_report: dict[str, Any]) -> None:
    by_name = {c["name"]: c for c in binary_report["checks"]}
    change = by_name["roc_auc vs production"]
    rows = {unescape(r[0].split("<br>")[0]): r for r in table(markdown(binary_report), "check")}
    lo, hi = change["ci"]
    assert lo < hi < 0  # the real candidate really is worse
    assert rows["roc_auc vs production"][1:] == [
        number(change["value"]),
        number(change["champion"]),
        "−" + number(-change["delta"]),
        f"[−{number(-lo)}, −{number(-hi)}]",
        "0.005",
        "❌ fail",
    ]
    assert rows["roc_auc vs production"][0].endswith(f"<br><sub>{md_text(change['message'])}</sub>")
    bound = by_name["roc_auc >= 0.8"]
    assert rows["roc_auc >= 0.8"] == [
        "roc_auc >= 0.8",
        number(bound["value"]),
        "—",
        "—",
        f"[{number(bound['ci'][0])}, {number(bound['ci'][1])}]",  # an interval of a value carries no signs
        "≥ 0.8",
        "✅ pass",
    ]
    assert rows["model size <= 5 MB"][:2] == ["model size &lt;= 5 MB<br><sub>within 5% of the bound</sub>", "4.8 MB"]


def test_pipes_in_names_are_escaped_and_keep_the_row_whole(binary_report: dict[str, Any]) -> None:
    md = markdown(binary_report)
    line = next(ln for ln in md.splitlines() if ln.startswith("| recall"))
    assert line.startswith("| recall \\| class 1 vs production<br>")
    assert len(split_row(line)) == 7


def test_markup_in_a_check_name_is_shown_not_run(binary_report: dict[str, Any]) -> None:
    report = copy.deepcopy(binary_report)
    report["checks"][0]["name"] = "<img src=x> *bold* [link](y) `code`"
    md = markdown(report)
    assert "<img" not in md
    assert "&lt;img src=x&gt;" not in md  # only '<' needs an entity
    assert "&lt;img src=x> \\*bold\\* \\[link\\](y) \\`code\\`" in md


def test_slices_failing_first_and_capped(binary_report: dict[str, Any]) -> None:
    slices = binary_report["slices"]
    failing = [s for s in slices if s["status"] == "fail"]
    assert 0 < len(failing) < len(slices)
    md = markdown(binary_report, max_slices=3)
    rows = table(md, "slice")
    assert len(rows) == 3
    assert all(row[-1] == "❌ fail" for row in rows)
    p = [float(row[7]) for row in rows]
    assert p == sorted(p)
    hidden_failing = len(failing) - 3
    assert f"{len(slices) - 3} more slices not shown ({hidden_failing} failing)" in md
    assert f"{len(failing)} of {len(slices)} slices failing." in md


def test_all_slices_when_they_fit(binary_report: dict[str, Any]) -> None:
    rows = table(markdown(binary_report), "slice")
    assert len(rows) == len(binary_report["slices"])
    verdicts = [row[-1] for row in rows]
    assert verdicts == sorted(verdicts, key=lambda v: v != "❌ fail")
    top = min((s for s in binary_report["slices"] if s["status"] == "fail"), key=lambda s: s["p_adjusted"])
    assert rows[0][:3] == [md_text(top["slice"]), number(top["rows"]), "accuracy"]
    assert "more slices not shown" not in markdown(binary_report)


def test_image_links_are_relative_and_url_encoded(binary_report: dict[str, Any]) -> None:
    md = markdown(binary_report, images={"roc": "roc.png", "pr": "plots/pr curve.png", "calibration": ""})
    assert "### Plots\n\n![ROC curve](roc.png) ![Precision–recall curve](plots/pr%20curve.png)\n" in md
    assert "Calibration" not in md
    assert "### Plots" not in markdown(binary_report)


def test_a_waived_check_shows_expiry_and_reason(binary_report: dict[str, Any]) -> None:
    md = markdown(binary_report)
    rows = {unescape(r[0].split("<br>")[0]): r for r in table(md, "check")}
    waived = rows["scikit-learn matches production"]
    assert waived[-1] == "⚠️ waived until 2026-12-31"
    assert waived[0].endswith("<sub>candidate 1.7.0, champion 1.6.1 — waiver: upgrade rolled out in #42</sub>")
    notes = md.split("### Notes\n\n")[1].split("\n\n")[0].splitlines()
    assert notes == ["- waived until 2026-12-31: 'scikit-learn matches production' — upgrade rolled out in #42"]


def test_skipped_slices_say_why(binary_report: dict[str, Any]) -> None:
    report = copy.deepcopy(binary_report)
    report["slices"].append(
        {"slice": "mean area in [2000, 2501)", "rows": 3, "metric": "accuracy", "status": "skip", "reason": "one class"}
    )
    last = table(markdown(report), "slice")[-1]
    assert last == ["mean area in [2000, 2501)<br><sub>one class</sub>", "3", "accuracy", *["—"] * 6, "⏭️ not tested"]


def test_first_model_says_there_is_no_champion(first_model_report: dict[str, Any]) -> None:
    md = markdown(first_model_report)
    assert md.startswith("## ✅ Gate passed")
    identity = table(md, "")
    assert identity[0] == ["reference", "`breast-cancer:3`", "none (first model)"]
    assert [row[2] for row in identity[1:4]] == ["—", "—", "—"]  # version, digest, flavor
    assert "- skipped: no champion — change gates were not evaluated (first model)" in md
    assert [row[-1] for row in table(md, "check")] == ["✅ pass", "⏭️ skip"]
    assert "### Slices" not in md


def test_regression_metrics_point_down(regression_report: dict[str, Any]) -> None:
    metrics = {row[0]: row for row in table(markdown(regression_report), "metric")}
    rmse = regression_report["metrics"]["rmse"]
    assert metrics["rmse ↓"][1:3] == [number(rmse["candidate"]), number(rmse["champion"])]
    assert "↑ higher is better, ↓ lower is better." in markdown(regression_report)


def test_run_details_fold_into_details(binary_report: dict[str, Any]) -> None:
    md = markdown(binary_report)
    folded = md.split("<details><summary>Run details</summary>\n\n")[1].split("\n\n</details>")[0]
    rows = {row[0]: row[1] for row in (split_row(line) for line in folded.splitlines()[2:])}
    assert rows["created"] == "2026-11-23 14:00 UTC by alice"
    assert rows["dataset"] == "`data/test.csv`"
    assert rows["timings"] == "scoring 0.10 s · statistics 0.40 s · behaviour 0.20 s · total 0.80 s"
    assert rows["packages"] == "scikit-learn 1.7.0"


def test_a_long_check_table_folds_the_passing_rows(binary_report: dict[str, Any]) -> None:
    report = copy.deepcopy(binary_report)
    extra = [Check(name=f"behaviour {i}", kind="behaviour", status="pass").to_dict() for i in range(10)]
    report["checks"] += extra
    report["summary"] = None  # counted from the checks instead
    md = markdown(report)
    visible, folded = md.split("### Checks\n\n")[1].split("<details><summary>", 1)
    assert [row[-1] for row in table(visible, "check")] == ["❌ fail"] * 3 + ["⚠️ waived until 2026-12-31", "⚠️ warn"]
    assert folded.startswith("13 more checks: 12 pass, 1 skip</summary>\n\n| check |")
    assert "**3 failed** · 12 passed · 1 skipped · 1 warning · 1 waived (18 checks)" in md


def test_empty_sections_are_left_out(binary_report: dict[str, Any]) -> None:
    report = {"schema": binary_report["schema"], "candidate": {"ref": "m:1"}, "passed": True}
    md = markdown(report)
    for heading in ("### Checks", "### Slices", "### Metrics", "### Plots", "### Notes"):
        assert heading not in md
    assert md.startswith("## ✅ Gate passed: `m:1` → `production`\n")


def test_rejects_another_schema(binary_report: dict[str, Any]) -> None:
    with pytest.raises(InputError, match=r"unsupported gate report schema 'mlgate.gate-report/2'"):
        markdown({**binary_report, "schema": "mlgate.gate-report/2"})
    with pytest.raises(InputError, match="must be a dict"):
        markdown("{}")  # type: ignore[arg-type]


def test_rejects_a_malformed_check_list(binary_report: dict[str, Any]) -> None:
    with pytest.raises(InputError, match="'checks' must be a list, got str"):
        markdown({**binary_report, "checks": "roc_auc"})


def test_number_formats() -> None:
    assert number(0.98765) == "0.9877"
    assert number(-0.012) == "−0.012"
    assert number(12345.6) == "12,346"
    assert number(0.0000123) == "1.23e−5"
    assert number(143) == "143"
    assert number(None) == number(math.nan) == "—"
    assert signed(0.004) == "+0.004"
    assert signed(0) == "0"
    assert interval([-0.012, 0.004]) == "[−0.012, +0.004]"
    assert interval([0.97, 0.99], sign=False) == "[0.97, 0.99]"
    assert interval(None) == "—"
    assert short_digest("blake3:" + "ab" * 32) == "blake3:abababababab"
    assert number(np.float32(0.123456)) == "0.1235"  # NumPy scalars read as numbers
    assert number(np.int64(-3_000_000)) == "−3,000,000"
    assert number("n/a") == signed("n/a") == "n/a"  # a hand-edited value is shown, not fatal


def _parse(text: str) -> float:
    return float(text.replace("−", "-").replace(",", "").replace("+", ""))


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False).filter(lambda x: x == 0 or abs(x) > 1e-300))
def test_numbers_keep_four_significant_digits_and_their_sign(x: float) -> None:
    text = signed(x)
    if x > 0:
        assert text.startswith("+")
    elif x < 0:
        assert text.startswith("−")
    tolerance = 0.5 if abs(x) >= 1e4 else 5e-4 * abs(x)
    assert abs(_parse(text) - x) <= tolerance * (1 + 1e-9)
    assert "-" not in text


@given(st.text())
def test_escaped_text_renders_back_and_stays_one_cell(text: str) -> None:
    cell = md_text(text)
    assert unescape(cell) == " ".join(text.splitlines())
    assert len(split_row(f"| {cell} | x |")) == 2
    assert "<" not in cell


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"))))
def test_code_cells_stay_one_cell_and_keep_their_text(text: str) -> None:
    cell = md_code(text)
    assert len(split_row(f"| {cell} | x |")) == 2
    fence = re.match(r"`+", cell).group(0)  # type: ignore[union-attr]
    inner = cell[len(fence) : -len(fence)]
    assert inner.replace("\\|", "|").strip(" ") == text.strip(" ") or not text.strip(" ")


def test_no_slice_rows_still_says_how_many(binary_report: dict[str, Any]) -> None:
    md = markdown(binary_report, max_slices=0)
    n = len(binary_report["slices"])
    assert table(md, "slice") == []
    assert f"{n} more slices not shown" in md


def test_a_long_metric_table_folds_whole(regression_report: dict[str, Any]) -> None:
    report = copy.deepcopy(regression_report)
    report["metrics"] = {f"m{i:02d}": {"candidate": i / 10, "champion": None} for i in range(12)}
    md = markdown(report)
    assert "<details><summary>Metrics (12)</summary>\n\n| metric |" in md
    assert len(table(md, "metric")) == 12
    assert "↑ higher is better" not in md  # no direction given, no legend


def test_a_check_that_is_not_an_object_is_named(binary_report: dict[str, Any]) -> None:
    report = {**binary_report, "checks": [binary_report["checks"][0], "roc_auc"]}
    with pytest.raises(InputError, match=r"checks\[1\] in the gate report must be an object, got str"):
        markdown(report)


def test_a_blocked_report_leads_with_its_most_specific_reason(binary_report: dict[str, Any]) -> None:
    report = copy.deepcopy(binary_report)
    report["reasons"] = [
        {"class": "lost class", "check": "classes kept", "message": "the candidate never predicts 7"},
        {"class": "aggregate drop", "check": "accuracy vs production", "message": "it may drop by 0.02"},
    ]
    md = markdown(report)
    lead = "**Blocked by lost class: classes kept — the candidate never predicts 7 (and 1 more)**"
    assert lead in md and md.index(lead) < md.index("### Checks")


def test_p_values_print_below_0001_as_such() -> None:
    from mlgate.report.markdown import p_value

    assert [p_value(x) for x in (0.0, 3e-7, 0.00099, 0.0123, 0.5, None)] == ["<0.001", "<0.001", "<0.001", "0.012",
                                                                           "0.5", "—"]  # fmt: skip


def test_one_precision_for_a_metric_across_the_report(binary_report: dict[str, Any]) -> None:
    report = copy.deepcopy(binary_report)
    check = next(c for c in report["checks"] if c["kind"] == "change")
    check.update(value=0.9884, champion=0.987, delta=0.001449, ci=[-0.0004407, 0.003888])
    report["metrics"][check["metric"]].update(candidate=0.9884, champion=0.987)
    rows = {unescape(r[0].split("<br>")[0]): r for r in table(markdown(report), "check")}
    assert rows[check["name"]][1:5] == ["0.9884", "0.9870", "\\+0.0014", "[−0.0004, +0.0039]"]
