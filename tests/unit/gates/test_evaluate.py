"""``mlgate.gate`` fails closed: checks that cannot decide block unless waived, and a first model says why it
was not compared, in every report format. Real models on scikit-learn's breast-cancer and diabetes sets."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mlgate
from mlgate.config import Settings, load_settings
from mlgate.gates.evaluate import _apply_waivers, gate, report_json
from mlgate.gates.spec import Waiver
from mlgate.gates.types import Check
from mlgate.registry.store import Registry
from mlgate.report import html, markdown

LARGE = '"mean radius" > 20'  # a critical slice: a few of the 171 evaluation rows


@dataclass
class Project:
    root: Path
    reg: Registry
    eval_frame: pd.DataFrame
    X: pd.DataFrame
    y: pd.Series

    def settings(self, gates: str, waivers: str = "") -> Settings:
        """A fresh mlgate.yaml with these gates (the registry is passed to gate() directly)."""
        text = f"data: {{eval: {self.root / 'eval.csv'}, target: target}}\ngates:\n{gates}"
        if waivers:
            text += f"waivers:\n{waivers}"
        path = self.root / "mlgate.yaml"
        path.write_text(text, encoding="utf-8")
        return load_settings(config=path)

    def log(self, model: Any, name: str = "bc") -> Any:
        return mlgate.log_model(model, name, sample_input=self.X.head(5), registry=self.reg)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """bc:1 (production) and bc:2, two logistic regressions; 171 held-out rows to gate on."""
    root = tmp_path_factory.mktemp("evaluate")
    frame = load_breast_cancer(as_frame=True).frame
    train, test = train_test_split(frame, test_size=0.3, random_state=0, stratify=frame["target"])
    test.to_csv(root / "eval.csv", index=False)
    X, y = train.drop(columns=["target"]), train["target"]
    reg = Registry(f"sqlite:///{root / 'registry.db'}", artifacts=str(root / "artifacts"))
    p = Project(root, reg, test, X, y)
    p.log(make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(X, y))
    reg.set_alias("bc", "production", 1)
    p.log(make_pipeline(StandardScaler(), LogisticRegression(C=0.3, max_iter=5000)).fit(X, y))
    yield p
    reg.close()


def _critical(min_rows: int) -> str:
    options = f"max_drop: 0.05, min_rows: {min_rows}, name: large"
    return f"  - {{metric: accuracy, vs: production, slice: '{LARGE}', {options}}}\n"


def _summary_adds_up(report: dict[str, Any]) -> None:
    s = report["summary"]
    assert s["passed"] + s["failed"] + s["errors"] + s["skipped"] + s["warnings"] + s["waived"] == s["checks"]
    assert s["checks"] == len(report["checks"])


def test_critical_slice_with_too_few_rows_errors_and_blocks(project: Project) -> None:
    rows = int((project.eval_frame["mean radius"] > 20).sum())
    assert 0 < rows < 30, "the slice must be small but not empty for this test to mean anything"
    result = gate("bc:2", config=project.settings(_critical(30)), registry=project.reg)
    large = next(c for c in result.checks if c.name == "large")
    assert large.status == "error" and large.blocking
    assert large.message == f"the critical slice {LARGE!r} has {rows} rows; at least 30 are needed to decide"
    assert not result.passed and result.exit_code == 1
    assert result.report["summary"]["errors"] == 1 and result.report["passed"] is False
    _summary_adds_up(result.report)
    stored = project.reg.gate_reports("bc:2")[0]
    assert stored.report_digest == result.record.report_digest and stored.passed is False


def test_the_same_slice_with_enough_rows_allowed_is_decided(project: Project) -> None:
    result = gate("bc:2", config=project.settings(_critical(5)), registry=project.reg, store=False)
    large = next(c for c in result.checks if c.name == "large")
    assert large.status in ("pass", "fail"), large.message
    assert large.rows == int((project.eval_frame["mean radius"] > 20).sum()) and large.ci is not None
    assert result.record is None


def test_waived_error_passes_with_the_waiver_recorded(project: Project) -> None:
    until = date.today() + timedelta(days=30)
    waiver = f"  - {{gate: large, until: {until.isoformat()}, reason: too few large tumours in the test set}}\n"
    result = gate("bc:2", config=project.settings(_critical(30), waiver), registry=project.reg, store=False)
    large = next(c for c in result.checks if c.name == "large")
    assert large.status == "error", "a waiver does not change what the check found"
    assert large.waived == {"until": until.isoformat(), "reason": "too few large tumours in the test set"}
    assert not large.blocking and result.passed and result.exit_code == 0
    summary = result.report["summary"]
    assert (summary["errors"], summary["waived"]) == (0, 1)
    _summary_adds_up(result.report)
    assert any(n.startswith(f"waived until {until.isoformat()}: 'large'") for n in result.notes)
    assert next(c for c in result.report["checks"] if c["name"] == "large")["waived"]["until"] == until.isoformat()


def test_expired_waiver_is_not_applied_and_says_so(project: Project) -> None:
    until = date.today() - timedelta(days=1)
    waiver = f"  - {{gate: large, until: {until.isoformat()}, reason: old excuse}}\n"
    result = gate("bc:2", config=project.settings(_critical(30), waiver), registry=project.reg, store=False)
    large = next(c for c in result.checks if c.name == "large")
    assert large.waived is None and large.blocking and not result.passed
    assert f"the waiver for 'large' expired on {until.isoformat()} and was not applied" in result.notes


def test_first_model_skips_change_gates_with_no_champion_in_every_format(project: Project) -> None:
    mv = project.log(LogisticRegression(max_iter=5000).fit(project.X, project.y), name="fresh")
    gates = (
        "  - {metric: roc_auc, vs: production, max_drop: 0.01}\n"
        "  - {metric: accuracy, vs: production, slices: auto, max_drop: 0.05}\n" + _critical(30) +
        "  - {metric: accuracy, min: 0.8}\n"
    )  # fmt: skip
    result = gate(mv.ref, config=project.settings(gates), registry=project.reg)
    compared = [c for c in result.checks if c.details.get("gate") != "accuracy >= 0.8" and c.metric is not None]
    assert [c.name for c in compared] == ["roc_auc vs production", "accuracy slices vs production", "large"]
    assert all(c.status == "skip" and "no champion" in c.message for c in compared)
    assert next(c for c in result.checks if c.name == "accuracy >= 0.8").status == "pass"
    assert result.passed and result.report["champion"] is None
    assert result.record.champion_digest is None

    doc = json.loads(report_json(result.report))
    for name in ("roc_auc vs production", "accuracy slices vs production", "large"):
        check = next(c for c in doc["checks"] if c["name"] == name)
        assert check["status"] == "skip" and "no champion" in check["message"]
    assert any("no champion" in note for note in doc["notes"])
    assert doc["summary"]["skipped"] == 3
    _summary_adds_up(doc)

    md = markdown(doc)
    assert md.startswith("## ✅ Gate passed: `fresh:1` → `production`")
    assert md.count("no champion") >= 4, "each skipped gate and the note say why"
    page = html(doc)
    assert page.count("no champion") >= 4


def test_integer_target_of_a_regressor_is_regression(tmp_path: Path, project: Project) -> None:
    """Counts and prices are often whole numbers in a CSV; the regressor's outputs say it is regression."""
    frame = load_diabetes(as_frame=True).frame
    X = frame.drop(columns=["target"])
    mv = mlgate.log_model(Ridge().fit(X, frame["target"]), "diabetes", sample_input=X.head(5), registry=project.reg)
    data = tmp_path / "whole.csv"
    frame.head(120).astype({"target": "int64"}).to_csv(data, index=False)
    settings = project.settings("  - {metric: rmse, max: 80}\n")
    result = gate(mv.ref, config=settings, registry=project.reg, data=data, target="target", store=False)
    assert result.report["task"] == "regression" and result.report["classes"] is None
    rmse = next(c for c in result.checks if c.name == "rmse <= 80")
    assert rmse.status == "pass" and 30 < rmse.value < 80, rmse.message


STATUSES = st.sampled_from(["pass", "fail", "error", "warn", "skip"])
WAIVER = st.sampled_from([None, "active", "expired"])


@given(st.lists(st.tuples(STATUSES, WAIVER), min_size=1, max_size=8))
def test_waivers_unblock_only_failures_they_name_while_in_force(cases: list[tuple[str, str | None]]) -> None:
    today = date.today()
    checks = [Check(f"g{i}", "bound", status) for i, (status, _) in enumerate(cases)]  # type: ignore[arg-type]
    waivers = [
        Waiver(f"g{i}", today + timedelta(days=3 if w == "active" else -1), "reason")
        for i, (_, w) in enumerate(cases)
        if w is not None
    ]
    notes: list[str] = []
    _apply_waivers(checks, waivers, notes)
    for check, (status, w) in zip(checks, cases, strict=True):
        failed = status in ("fail", "error")
        assert (check.waived is not None) == (failed and w == "active")
        assert check.blocking == (failed and w != "active")
        assert check.status == status
        expired_note = any(n.startswith(f"the waiver for {check.name!r} expired") for n in notes)
        assert expired_note == (failed and w == "expired")
    passed = not any(c.blocking for c in checks)
    assert passed == all(w == "active" for s, w in cases if s in ("fail", "error"))


def test_evaluation_frames_reach_pandas_without_pyarrow(monkeypatch: pytest.MonkeyPatch) -> None:
    """The core install has no pyarrow: the gate must hand the models pandas frames without it."""
    import sys

    import polars as pl

    from mlgate.gates.evaluate import _pandas

    monkeypatch.setitem(sys.modules, "pyarrow", None)  # any import of pyarrow now fails
    out = _pandas(pl.DataFrame({"n": [1, None], "s": ["x", None], "f": [1.5, 2.0], "b": [True, False]}))
    assert list(out.columns) == ["n", "s", "f", "b"]
    assert out["s"].iloc[0] == "x" and out["f"].tolist() == [1.5, 2.0] and out["b"].tolist() == [True, False]


def test_gate_predicts_on_one_thread_and_restores_the_callers_limits(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from threadpoolctl import threadpool_info, threadpool_limits

    from mlgate.gates import budgets, evaluate

    seen: list[set[int]] = []

    def pools() -> set[int]:
        return {pool["num_threads"] for pool in threadpool_info()}

    def spy(fn: Any) -> Any:
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            seen.append(pools())
            return fn(*args, **kwargs)

        return wrapped

    monkeypatch.setattr(evaluate, "_score", spy(evaluate._score))
    monkeypatch.setattr(budgets, "latency", spy(budgets.latency))
    gates = "  - {metric: accuracy, vs: production, max_drop: 0.05}\n  - behaviour: true\n  - latency: true\n"
    with threadpool_limits(2):  # the caller's own setting, which the gate must leave as it found it
        before = threadpool_info()
        result = gate("bc:2", config=project.settings(gates), registry=project.reg, store=False)
        after = threadpool_info()
    assert [c.status for c in result.checks if c.kind == "latency"], "the latency gate must have run"
    assert seen == [{1}, {1}], "scoring and the latency probes run with one thread per pool"
    assert after == before
