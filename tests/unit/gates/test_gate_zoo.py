"""The gate zoo's fast subset: the ``quick`` cases of ``benchmarks/zoo_cases.py`` through the real gate.

Each case trains a real candidate on the synthetic churn table (2,000 evaluation rows), registers it next
to a champion at @production in a temporary registry, and gates it with the zoo's configuration. A benign
retrain must pass; a seeded regression must be blocked with the expected reason class leading the report
(and, for a slice fault, the worst named slice on the faulty column). The whole zoo, with the rates, is
``benchmarks/gate_zoo.py --section zoo``.

A case the current gate misses is marked ``xfail(strict=True)`` with the gap: it turns into a failure
once the gate closes the gap, and the mark then goes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from benchmarks import zoo_cases

# gaps of the gate as it is: case id → what it lacks
GAPS: dict[str, str] = {}


def _params() -> list[Any]:
    out = []
    for case in zoo_cases.CASES:
        if not case.quick or case.data != "churn-2k":
            continue
        marks = [pytest.mark.xfail(strict=True, reason=GAPS[case.id])] if case.id in GAPS else []
        out.append(pytest.param(case, id=case.id, marks=marks))
    return out


@pytest.fixture(scope="module")
def churn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zoo_cases.Project]:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # gradient boosting's OpenMP threads stall on a busy 2-core machine
        proj = zoo_cases.project("churn-2k", tmp_path_factory.mktemp("zoo"))
    yield proj
    proj.close()


@pytest.mark.parametrize("case", _params())
def test_zoo_case(churn: zoo_cases.Project, case: zoo_cases.Case) -> None:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        outcome = zoo_cases.run(churn, case)
    if case.benign:
        assert not outcome.blocked, f"a benign retrain was blocked: {outcome.reasons}"
        return
    assert outcome.blocked, f"{case.what}: not blocked"
    assert outcome.right, f"{case.what}: expected {case.expect} ({case.column}), got {outcome.reasons[:2]}"


def test_reasons_of_a_report_without_reasons_are_classed_from_its_checks() -> None:
    report = {
        "passed": False,
        "checks": [
            {"name": "log_loss vs production", "kind": "change", "metric": "log_loss", "blocking": True},
            {"name": "accuracy slices vs production", "kind": "slices", "blocking": True, "slice": "plan = pro"},
            {"name": "finite outputs", "kind": "behaviour", "blocking": False},
        ],
    }
    reasons = zoo_cases.reasons_of(report)
    assert [r["class"] for r in reasons] == ["slice drop", "calibration worse"]
    slice_fault = zoo_cases.Case("x", "churn-2k", "", lambda d: None, "slice drop", "plan")
    assert zoo_cases.right(slice_fault, True, reasons)
    wrong_column = zoo_cases.Case("x", "churn-2k", "", lambda d: None, "slice drop", "region")
    assert not zoo_cases.right(wrong_column, True, reasons)
    assert not zoo_cases.right(slice_fault, False, reasons), "a regression that passed is not caught"
