"""Change checks decide pass, fail (harm shown) or undecided, and an undecided check blocks by the rule.

Unit cases drive the verdict with real comparisons of generated predictions; the end-to-end cases retrain
a random forest on 90% samples of breast cancer (ordinary retrains) and gate them with the default gates,
and run ``mlgate gate --plan`` as a user would.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

import mlgate
from mlgate.config import load_settings
from mlgate.errors import ConfigError
from mlgate.gates import stats
from mlgate.gates.evaluate import _verdict, gate
from mlgate.gates.metrics import get_metric
from mlgate.gates.plan import plan
from mlgate.gates.resolution import describe, estimate, resolution
from mlgate.gates.spec import GateSpec, parse_gates
from mlgate.gates.types import Check, Pred
from mlgate.registry.store import Registry


def _decide(delta_rows: int, n: int, *, undecided: str = "point", margin: float = 0.01, flips: int = 0) -> Check:
    """Accuracy of a candidate that loses ``delta_rows`` rows net (and swaps ``flips`` both ways) on n rows."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, n)
    champ = y.copy()
    cand = y.copy()
    order = rng.permutation(n)
    lost, swapped = order[:delta_rows], order[delta_rows : delta_rows + flips]
    cand[lost] = 1 - y[lost]
    cand[swapped[: flips // 2]] = 1 - y[swapped[: flips // 2]]
    champ[swapped[flips // 2 :]] = 1 - y[swapped[flips // 2 :]]
    metric = get_metric("accuracy", "binary")
    spec = GateSpec("change", "accuracy vs production", metric="accuracy", vs="production", max_drop=margin,
                    undecided=undecided)  # fmt: skip
    cmp = stats.compare(metric, y, Pred(label=cand), Pred(label=champ), margin=margin)
    return _verdict(spec, metric, cmp, Check(spec.name, "change", "error"))


def test_a_clear_small_change_passes() -> None:
    check = _decide(0, 20_000, flips=200)
    assert check.status == "pass" and not check.blocking, check.message


def test_harm_shown_fails() -> None:
    check = _decide(1_000, 10_000)  # −10 points, interval far beyond −0.01
    assert check.status == "fail" and check.blocking
    assert check.reason == "aggregate drop" and "harm shown" in check.message


def test_undecided_within_the_margin_does_not_block_by_default() -> None:
    check = _decide(2, 300, flips=20)  # −0.0067, interval about ±0.03: straddles −0.01
    assert check.status == "undecided" and not check.blocks and not check.blocking, check.message
    assert "does not block" in check.message
    assert check.details["below_resolution"] and "This set can tell changes ≥" in check.message
    assert check.to_dict()["blocking"] is False


def test_undecided_beyond_the_margin_blocks() -> None:
    check = _decide(6, 300, flips=20)  # −0.02: beyond the margin, interval still reaches past 0
    assert check.status == "undecided" and check.blocking, check.message
    assert "point estimate is beyond" in check.message and check.reason == "aggregate drop"


def test_undecided_block_is_strict() -> None:
    check = _decide(2, 300, flips=20, undecided="block")
    assert check.status == "undecided" and check.blocking and "undecided: block" in check.message


def test_lower_is_better_metrics_say_rise() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=400)
    champ = y + rng.normal(scale=0.5, size=400)
    cand = y + rng.normal(scale=0.9, size=400)
    metric = get_metric("rmse", "regression")
    spec = GateSpec("change", "rmse vs production", metric="rmse", vs="production", max_drop=0.01)
    cmp = stats.compare(metric, y, Pred(value=cand), Pred(value=champ), margin=0.01)
    check = _verdict(spec, metric, cmp, Check(spec.name, "change", "error"))
    assert check.status == "fail" and "rise by" in check.message and "drop by" not in check.message


def test_resolution_sentence_names_rows_and_margin() -> None:
    res = resolution((-0.013, 0.013), 300, 0.01)
    assert res["below_resolution"] and res["rows_needed"] == 507
    text = describe(res, 0.01)
    assert text == (
        "This set can tell changes ≥ 0.013; max_drop 0.01 will be undecided for most equal retrains: "
        "use ≥ 507 rows or a margin ≥ 0.013"
    )
    assert not estimate("accuracy", None, 100_000, 0.01)["below_resolution"]
    assert estimate("accuracy", None, 300, 0.01)["below_resolution"]


def test_undecided_rule_is_checked_in_the_config(tmp_path: Path) -> None:
    path = tmp_path / "mlgate.yaml"
    path.write_text("gates:\n  - {metric: accuracy, vs: production, max_drop: 0.01, undecided: maybe}\n")
    with pytest.raises(ConfigError, match=r"mlgate.yaml:2 \(gates\[0\]\)\.undecided: `point`.*got 'maybe'"):
        parse_gates(load_settings(config=path), task="binary", against="production")
    path.write_text("gates:\n  - {metric: accuracy, min: 0.9, undecided: block}\n")
    with pytest.raises(ConfigError, match=r"undecided: applies to a comparison"):
        parse_gates(load_settings(config=path), task="binary", against="production")


# -- ordinary retrains, end to end ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def retrains(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """cancer:1 at production and five retrains on other 90% samples; default gates; 285 evaluation rows."""
    tmp = tmp_path_factory.mktemp("retrains")
    frame = load_breast_cancer(as_frame=True).frame
    train, test = train_test_split(frame, test_size=0.5, random_state=0, stratify=frame["target"])
    test.to_csv(tmp / "eval.csv", index=False)
    (tmp / "mlgate.yaml").write_text(
        f"registry: sqlite:///{tmp}/registry.db\nartifacts: {tmp}/artifacts\n"
        f"data: {{eval: {tmp / 'eval.csv'}, target: target}}\n"
    )
    settings = load_settings(config=tmp / "mlgate.yaml")
    reg = Registry(settings=settings)
    X, y = train.drop(columns=["target"]), train["target"]

    def retrain(seed: int) -> Any:
        rows = np.random.default_rng(seed).choice(len(y), int(0.9 * len(y)), replace=False)
        return RandomForestClassifier(n_estimators=200, random_state=seed).fit(X.iloc[rows], y.iloc[rows])

    mlgate.log_model(retrain(0), "cancer", sample_input=X.head(5), registry=reg)
    reg.set_alias("cancer", "production", 1)
    results = []
    for seed in range(1, 6):
        mv = mlgate.log_model(retrain(seed), "cancer", sample_input=X.head(5), registry=reg)
        results.append(gate(mv.ref, config=settings, registry=reg, store=False))
    yield tmp, results
    reg.close()


def test_ordinary_retrains_are_not_blocked_by_default(retrains: Any) -> None:
    _, results = retrains
    changes = [c for r in results for c in r.checks if c.kind == "change"]
    undecided = [c for c in changes if c.status == "undecided"]
    assert undecided, "285 rows cannot resolve 0.01 on accuracy: some checks must be undecided"
    assert all(r.passed for r in results), [c.message for r in results for c in r.checks if c.blocking]
    old_rule = sum(any(c.status != "pass" for c in r.checks if c.kind == "change") for r in results)
    assert old_rule >= 2, "the old rule (block when undecided) would have blocked these retrains"
    report = results[0].report
    assert report["summary"]["undecided"] == sum(c.status == "undecided" for c in results[0].checks)
    assert report["reasons"] == []


def test_plan_says_the_margin_is_below_resolution(retrains: Any) -> None:
    tmp, _ = retrains
    rows = {r.gate: r for r in plan(config=tmp / "mlgate.yaml")}
    acc = rows["accuracy vs production"]
    assert acc.rows == 285 and acc.below_resolution and acc.rows_needed > 285
    assert "max_drop 0.01 will be undecided for most equal retrains" in acc.message
    cli = subprocess.run(
        [sys.executable, "-m", "mlgate", "--config", str(tmp / "mlgate.yaml"), "gate", "--plan", "--json"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    doc = {r["gate"]: r for r in json.loads(cli.stdout)}
    assert doc["accuracy vs production"]["below_resolution"] is True
    text = subprocess.run(
        [sys.executable, "-m", "mlgate", "--config", str(tmp / "mlgate.yaml"), "gate", "--plan"],
        capture_output=True, text=True, timeout=120, check=False, env={"COLUMNS": "200", "PATH": ""},
    )  # fmt: skip
    assert text.returncode == 0 and "This set can tell changes ≥" in text.stdout, text.stdout + text.stderr


def test_gate_without_candidate_or_plan_is_a_usage_error(retrains: Any) -> None:
    tmp, _ = retrains
    cli = subprocess.run(
        [sys.executable, "-m", "mlgate", "--config", str(tmp / "mlgate.yaml"), "gate"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert cli.returncode == 2 and "needs the candidate" in cli.stderr


def test_reasons_lead_with_the_most_specific_class() -> None:
    from mlgate.gates.evaluate import _classify, reasons

    checks = [
        Check("accuracy vs production", "change", "fail", message="drop"),
        Check("latency", "latency", "fail", message="slow"),
        Check("finite outputs", "behaviour", "fail", message="NaN in 3 rows"),
        Check("recall slices vs production", "slices", "fail", message="slice"),
        Check("ok", "change", "pass"),
    ]
    _classify(checks)
    got = reasons(checks)
    assert [r["class"] for r in got] == ["non-finite output", "slice drop", "aggregate drop", "latency"]
    assert got[0] == {"class": "non-finite output", "check": "finite outputs", "message": "NaN in 3 rows"}
