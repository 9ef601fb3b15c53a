"""The analysis's metrics beyond errors and latency: class mix, shadow agreement, realized and estimated accuracy."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlgate.config.sections import AnalysisConfig
from mlgate.delivery.analysis import FAIL, PASS, TOO_FEW, WAIT, Arm, analyse, read_log

SPEC = AnalysisConfig()
MIX = (0.5, 0.3, 0.2)


def side(
    rng: np.random.Generator,
    n: int,
    *,
    mix: tuple[float, ...] = MIX,
    agree: float | None = None,
    shadow_rows: int = 0,
    accuracy: float | None = None,
    labelled: int = 0,
    expected: float | None = None,
) -> Arm:
    """One side of a 3-class classifier: healthy requests, class labels 0/1/2, and what else is asked for."""
    labels = rng.choice(len(mix), size=n, p=mix)
    return Arm(
        rng.random(n) < 0.001,
        np.exp(rng.normal(np.log(20.0), 0.3, n)),
        labels.astype(float),  # integer class labels, as the log reader gives them
        classes=labels.astype(str).astype(object),
        agreement=rng.random(shadow_rows) < agree if agree is not None else np.empty(0, dtype=bool),
        correct=(rng.random(labelled) < accuracy).astype(float) if accuracy is not None else np.empty(0),
        expected=np.clip(rng.normal(expected, 0.1, n), 0, 1) if expected is not None else np.empty(0),
    )


def metric(result: Any, name: str) -> Any:
    return next(m for m in result.metrics if m.name == name)


def test_a_class_mix_shift_that_keeps_the_mean_label_fails() -> None:
    """0.5/0.3/0.2 → 0.35/0.6/0.05: the mean label stays 0.7, so only the class mix can see it."""
    rng = np.random.default_rng(10)
    canary, stable = side(rng, 2000, mix=(0.35, 0.6, 0.05)), side(rng, 20_000)
    result = analyse(canary, stable, SPEC)
    assert result.decision == FAIL and "class '1' is" in result.reason, result.reason
    mix = metric(result, "class_mix")
    assert mix.decision == FAIL and mix.detail == "class '1'" and mix.canary == pytest.approx(0.6, abs=0.03)
    assert "prediction_shift" not in {m.name for m in result.metrics}  # the mean is no test for 3 classes
    # what the mean alone said: nothing
    means = analyse(replace(canary, classes=np.empty(0)), replace(stable, classes=np.empty(0)), SPEC)
    assert metric(means, "prediction_shift").decision == PASS


def test_a_healthy_multiclass_canary_passes() -> None:
    rng = np.random.default_rng(11)
    result = analyse(side(rng, 2000), side(rng, 20_000), SPEC)
    assert result.decision == PASS, result.reason
    assert {m.name for m in result.metrics} == {"error_rate", "latency", "class_mix"}


def test_text_labels_compare_their_mix_and_0_1_labels_their_mean() -> None:
    rng = np.random.default_rng(12)
    text = ["no", "yes"]

    def binary(n: int, p: float, as_text: bool) -> Arm:
        y = (rng.random(n) < p).astype(int)
        classes = np.array(text, dtype=object)[y] if as_text else y.astype(str).astype(object)
        preds = np.empty(0) if as_text else y.astype(float)
        return Arm(np.zeros(n, dtype=bool), np.full(n, 20.0), preds, classes=classes)

    shifted = analyse(binary(2000, 0.5, True), binary(20_000, 0.3, True), SPEC)
    assert metric(shifted, "class_mix").decision == FAIL  # text labels had no test before
    same = analyse(binary(2000, 0.3, False), binary(20_000, 0.3, False), SPEC)
    assert {m.name for m in same.metrics} >= {"prediction_shift"} and "class_mix" not in {m.name for m in same.metrics}


def test_checking_multiclass_canaries_continuously_keeps_class_mix_false_fails_rare() -> None:
    """100 healthy 3-class canaries checked 25 times each as data accrues: the class mix's bound is α/2 = 0.5%."""
    rng = np.random.default_rng(13)
    failed = 0
    for _ in range(100):
        canary, stable = side(rng, 2000), side(rng, 20_000)
        for k in range(80, 2001, 80):
            cut = Arm(canary.errors[:k], canary.latency_ms[:k], classes=canary.classes[:k])
            base = Arm(stable.errors[: 10 * k], stable.latency_ms[: 10 * k], classes=stable.classes[: 10 * k])
            if metric(analyse(cut, base, SPEC), "class_mix").decision == FAIL:
                failed += 1
                break
    assert failed <= 2, f"{failed} of 100 healthy canaries failed on their class mix"


def test_shadow_agreement_fails_below_the_floor_and_passes_above() -> None:
    rng = np.random.default_rng(14)
    low = analyse(side(rng, 2000, agree=0.8, shadow_rows=500), side(rng, 20_000), SPEC)
    assert low.decision == FAIL and "the shadow agrees with the stable version on" in low.reason
    high = analyse(side(rng, 2000, agree=0.99, shadow_rows=500), side(rng, 20_000), SPEC)
    assert high.decision == PASS and metric(high, "shadow_agreement").decision == PASS
    strict = analyse(
        side(rng, 2000, agree=0.99, shadow_rows=500), side(rng, 20_000), replace(SPEC, min_agreement=0.995)
    )
    assert metric(strict, "shadow_agreement").decision in (WAIT, FAIL)
    assert strict.decision != PASS


def test_a_shadow_with_few_rows_can_fail_but_does_not_hold_a_pass_back() -> None:
    rng = np.random.default_rng(15)
    few = analyse(side(rng, 2000, agree=1.0, shadow_rows=50), side(rng, 20_000), SPEC)
    assert metric(few, "shadow_agreement").decision == TOO_FEW and few.decision == PASS
    assert "200 are needed" in metric(few, "shadow_agreement").detail
    bad = analyse(side(rng, 2000, agree=0.2, shadow_rows=50), side(rng, 20_000), SPEC)
    assert bad.decision == FAIL


def test_realized_accuracy_drop_fails_and_equal_accuracy_passes() -> None:
    rng = np.random.default_rng(16)
    stable = side(rng, 20_000, accuracy=0.9, labelled=10_000)
    drop = analyse(side(rng, 3000, accuracy=0.75, labelled=1500), stable, SPEC)
    assert drop.decision == FAIL and "realized accuracy" in drop.reason, drop.reason
    perf = metric(drop, "performance")
    assert perf.canary == pytest.approx(0.75, abs=0.03) and perf.upper < -SPEC.max_performance_drop
    same = analyse(side(rng, 3000, accuracy=0.9, labelled=1500), stable, SPEC)
    assert same.decision == PASS and metric(same, "performance").decision == PASS


def test_too_few_labels_never_pass_when_the_source_is_required() -> None:
    rng = np.random.default_rng(17)
    canary, stable = side(rng, 2000, accuracy=0.9, labelled=50), side(rng, 20_000, accuracy=0.9, labelled=5000)
    auto = analyse(canary, stable, SPEC)
    assert metric(auto, "performance").decision == TOO_FEW and auto.decision == PASS
    required = analyse(canary, stable, replace(SPEC, performance="realized"))
    assert metric(required, "performance").decision == WAIT and required.decision == WAIT
    assert "inconclusive: performance" in required.reason
    none = analyse(side(rng, 2000), side(rng, 20_000), replace(SPEC, performance="realized"))
    assert none.decision == WAIT and "no labelled rows on the canary" in none.reason
    off = analyse(canary, stable, replace(SPEC, performance="off"))
    assert "performance" not in {m.name for m in off.metrics}


def test_estimated_accuracy_is_used_until_labels_suffice() -> None:
    rng = np.random.default_rng(18)
    stable = side(rng, 20_000, expected=0.92)
    worse = analyse(side(rng, 2000, expected=0.8), stable, SPEC)
    assert worse.decision == FAIL and "estimated accuracy (CBPE)" in worse.reason
    fine = analyse(side(rng, 2000, expected=0.92), stable, SPEC)
    assert fine.decision == PASS and "estimated accuracy" in metric(fine, "performance").detail
    # with enough labels on both sides the realized figure takes over, whatever the estimate says
    labelled = analyse(
        side(rng, 2000, expected=0.8, accuracy=0.92, labelled=500),
        side(rng, 20_000, expected=0.92, accuracy=0.92, labelled=5000),
        SPEC,
    )
    assert labelled.decision == PASS and "realized accuracy" in metric(labelled, "performance").detail


def test_analysis_result_stays_json_ready() -> None:
    import json

    rng = np.random.default_rng(19)
    result = analyse(side(rng, 2000), side(rng, 20_000), replace(SPEC, performance="estimated"))
    text = json.dumps(result.to_dict())
    assert '"estimate": null' in text and "calibrated probabilities" in text


def _write(folder: Path, version: int, frame: dict[str, list[Any]]) -> None:
    import polars as pl

    hour = folder / "model=iris" / f"version={version}" / "hour=2026-05-01T10"
    hour.mkdir(parents=True, exist_ok=True)
    pl.DataFrame(frame, schema_overrides={"time": pl.Datetime("us", "UTC"), "status": pl.Int16}).write_parquet(
        hour / f"part-{len(list(hour.iterdir()))}.parquet"
    )


def test_read_log_gives_classes_shadow_agreement_labels_and_cbpe(tmp_path: Path) -> None:
    """Version 2 is the candidate: it serves r3 as the canary and shadows r1, r2 (served by version 1)."""
    from mlgate.monitor.estimate import Calibration
    from mlgate.monitor.labels import store_labels

    t = datetime(2026, 5, 1, 10, 30, tzinfo=UTC)
    meta = {"status": [200, 200, 200], "latency_ms": [5.0, 6.0, 7.0], "row": [0, 0, 0]}
    _write(
        tmp_path,
        1,
        {
            "time": [t, t, t],
            "request_id": ["r1", "r2", "r0"],
            "route": ["stable"] * 3,
            "prediction": [0, 1, 1],
            "proba_0": [0.9, 0.3, 0.2],
            "proba_1": [0.1, 0.7, 0.8],
            **meta,
        },
    )
    _write(
        tmp_path,
        2,
        {
            "time": [t, t, t + timedelta(seconds=1)],
            "request_id": ["r1", "r2", "r3"],
            "route": ["shadow", "shadow", "canary"],
            "prediction": [0, 0, 1],
            "proba_0": [0.8, 0.6, 0.4],
            "proba_1": [0.2, 0.4, 0.6],
            **meta,
        },
    )
    import polars as pl

    labels = tmp_path / "labels"
    store_labels(pl.DataFrame({"request_id": ["r1", "r2", "r3"], "label": ["0", "0", "0"]}), labels)
    cal = Calibration.fit(np.linspace(0, 1, 40), np.linspace(0, 1, 40) > 0.5)  # a step at 0.5
    arms = read_log(
        tmp_path, "iris", (2, 1), t - timedelta(minutes=1), t + timedelta(minutes=1), labels=labels,
        calibrations={2: cal, 1: cal},
    )  # fmt: skip
    canary, stable = arms[2], arms[1]
    assert canary.requests == 1 and stable.requests == 3  # the shadow served nobody
    assert canary.classes.tolist() == ["1"] and sorted(stable.classes.tolist()) == ["0", "1", "1"]
    assert canary.agreement.tolist() == [True, False]  # r1: 0 = 0, r2: 0 ≠ 1
    assert canary.correct.tolist() == [0.0]  # r3 predicted 1, labelled 0
    assert sorted(stable.correct.tolist()) == [0.0, 1.0]  # r1 right, r2 wrong, r0 unlabelled
    assert canary.expected.tolist() == pytest.approx([float(cal(0.6))])  # predicted positive: c
    assert sorted(stable.expected.tolist()) == pytest.approx(
        sorted([1 - float(cal(0.1)), float(cal(0.7)), float(cal(0.8))])
    )
    plain = read_log(tmp_path, "iris", (2, 1), t - timedelta(minutes=1), t + timedelta(minutes=1))
    assert plain[2].correct.size == 0 and plain[2].expected.size == 0 and plain[2].agreement.size == 2


def test_calibrations_are_all_or_none(project: Any) -> None:
    """bc:2's passing gate kept its evaluation outputs; bc:1 was promoted without a gate, so it has none."""
    from mlgate.delivery.analysis import calibrations
    from mlgate.monitor.estimate import Calibration

    got = calibrations(project.reg, "bc", (2,))
    assert list(got) == [2] and isinstance(got[2], Calibration)
    assert calibrations(project.reg, "bc", (2, 1)) == {}


def test_the_controller_analyses_shadow_rows_and_labels_from_the_log(project: Any, trained: dict[str, Any]) -> None:
    """bc:2 rolls out against bc:1: each served its share of real breast-cancer rows, bc:2 also shadowed the
    stable's requests, and every row was labelled; one tick reads all of it from the log and promotes."""
    import polars as pl

    from mlgate.delivery import rollout
    from mlgate.monitor.labels import store_labels

    r = rollout.start("bc:2", steps=[10, 100], pause_s=0, settings=project.settings, registry=project.reg)
    test = trained["test"]
    X, y = test.drop(columns=["target"]), test["target"].to_numpy()
    rows = np.arange(2500) % len(X)  # the evaluation rows, served again and again
    t = r.created_at + timedelta(seconds=1)

    def served(model: Any, ids: list[str], route: str) -> pl.DataFrame:
        picked = X.iloc[rows[: len(ids)]]
        proba = model.predict_proba(picked)
        return pl.DataFrame(
            {
                "time": [t] * len(ids), "request_id": ids, "row": [0] * len(ids), "route": [route] * len(ids),
                "status": [200] * len(ids), "latency_ms": [5.0] * len(ids),
                "prediction": model.predict(picked).astype(np.int64),
                "proba_0": proba[:, 0], "proba_1": proba[:, 1],
            },
            schema_overrides={"time": pl.Datetime("us", "UTC"), "status": pl.Int16},
        )  # fmt: skip

    stable_ids, canary_ids = [f"s{i}" for i in range(2500)], [f"c{i}" for i in range(2500)]
    hour = f"hour={t.astimezone(UTC):%Y-%m-%dT%H}"
    for version, frame in (
        (1, served(trained["a"], stable_ids, "stable")),
        (2, pl.concat([served(trained["b"], canary_ids, "canary"), served(trained["b"], stable_ids, "shadow")])),
    ):
        folder = project.settings.delivery.log / "model=bc" / f"version={version}" / hour
        folder.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(folder / "part-0.parquet")
    labels = pl.DataFrame({"request_id": stable_ids + canary_ids, "label": np.concatenate([y[rows]] * 2).tolist()})
    store_labels(labels, project.settings.root / ".mlgate" / "monitor" / "labels")

    outcome = rollout.step(
        "bc@production", settings=project.settings, registry=project.reg, now=t + timedelta(seconds=60)
    )
    assert outcome.analysis is not None
    by_name = {m.name: m for m in outcome.analysis.metrics}
    assert set(by_name) == {"error_rate", "latency", "prediction_shift", "shadow_agreement", "performance"}
    assert by_name["shadow_agreement"].canary > 0.95 and by_name["shadow_agreement"].decision == PASS
    assert by_name["performance"].detail.startswith("realized accuracy, 2500 canary and 2500 stable rows")
    assert outcome.action == "promote", outcome.message
