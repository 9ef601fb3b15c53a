"""A/B tests: the plan's sizes (textbook fixed size; the sequential one delivers its power and its level),
the sample-ratio check, per-slice effects, and outcomes joined from a real server's log and stored labels."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest

from mlgate.delivery.abtest import analyse_outcomes, outcomes_from_log, plan, srm_p
from mlgate.errors import UsageError


def test_the_fixed_size_is_the_textbook_one_and_the_sequential_one_costs_more() -> None:
    p = plan(0.9, 0.02)
    # two proportions, equal arms: 2 · (z_.975 + z_.8)² · p(1 − p) / mde² per arm
    per_arm = (1.959964 + 0.841621) ** 2 * 2 * 0.09 / 0.02**2
    assert abs(p.fixed - 2 * per_arm) <= 2
    assert p.fixed < p.sequential < 3 * p.fixed
    assert plan(0.9, 0.02, split=0.1).fixed > p.fixed  # an unequal split needs more rows


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"baseline": 0.9, "mde": 0.02, "split": 1.0}, "--split must be B's share"),
        ({"baseline": 0.9, "mde": -0.1}, "--mde must be a positive effect"),
        ({"baseline": 12.0, "mde": 1.0}, "is not a rate in \\(0, 1\\): give the outcome's --sd"),
        ({"baseline": 0.9, "mde": 0.02, "alpha": 1.5}, "alpha and power must lie strictly between 0 and 1"),
    ],
)
def test_bad_plans_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        plan(**kwargs)


def test_the_sequential_test_has_its_power_and_keeps_its_level_when_read_often() -> None:
    rng = np.random.default_rng(7)
    p = plan(0.5, 0.05)  # a few thousand rows: quick to simulate
    n = p.sequential // 2
    found = false_alarms = 0
    for _ in range(200):
        a = (rng.random(n) < 0.5).astype(float)
        b_effect = (rng.random(n) < 0.55).astype(float)
        b_null = (rng.random(n) < 0.5).astype(float)
        found += analyse_outcomes(a, b_effect, split=0.5, min_rows=50).overall.decision == "b_better"
        for k in range(100, n + 1, 100):  # read after every 100 rows per arm
            if analyse_outcomes(a[:k], b_null[:k], split=0.5, min_rows=50).overall.decision != "inconclusive":
                false_alarms += 1
                break
    assert found >= 0.74 * 200, found  # planned power 0.8
    assert false_alarms <= 0.05 * 200 + 4, false_alarms  # alpha 0.05, however often it is read


def test_a_sample_ratio_mismatch_is_flagged() -> None:
    assert srm_p(5000, 5000, 0.5) > 0.5
    assert srm_p(5300, 4700, 0.5) < 1e-6
    rng = np.random.default_rng(0)
    r = analyse_outcomes(rng.random(5300) < 0.5, rng.random(4700) < 0.5, split=0.5)
    assert r.srm and "sample ratio mismatch: 5300 A and 4700 B rows against a 50% split" in r.notes[0]


def test_per_slice_effects() -> None:
    rng = np.random.default_rng(1)
    sa = ["small"] * 3000 + ["large"] * 3000
    a = np.r_[rng.random(3000) < 0.5, rng.random(3000) < 0.5].astype(float)
    b = np.r_[rng.random(3000) < 0.5, rng.random(3000) < 0.7].astype(float)  # B helps only large ones
    r = analyse_outcomes(a, b, split=0.5, slices_a=sa, slices_b=sa)
    by = {e.slice: e for e in r.slices}
    assert by["large"].decision == "b_better" and by["small"].decision == "inconclusive"
    assert "not corrected for multiplicity" in r.notes[0]


def test_outcomes_are_joined_from_a_served_log_and_labels(
    start_server: Any, seeded: Any, seeded_registry: Any, tmp_path: Any, monkeypatch: Any, capsys: Any
) -> None:
    from mlgate.monitor.labels import store_labels

    log = tmp_path / "log"
    seeded_registry.start_rollout("bc", "production", 2, stable=1, steps=[50], analysis="default", pause_s=0)
    server = start_server(log_dir=log, log_flush_s=0.1)
    from tests.unit.serve.conftest import wait_for

    wait_for(lambda: server.holder.follower.split.weight == 0.5)
    since = datetime.now(UTC) - timedelta(seconds=1)
    X, y = seeded.X, seeded.y
    ids, rows, labels = [], [], []
    with httpx.Client(base_url=server.base) as http:
        for i in range(40):
            body = json.loads(X.iloc[i * 2 : i * 2 + 2].to_json(orient="records"))
            http.post("/predict", json=body, headers={"x-request-id": f"req-{i}"})
            for row in (0, 1):
                ids.append(f"req-{i}")
                rows.append(row)
                labels.append(int(y.iloc[i * 2 + row]))
    import polars as pl

    time.sleep(0.5)
    store_labels(pl.DataFrame({"request_id": ids, "row": rows, "label": labels}), tmp_path / "labels")
    wait_for(lambda: len(list(log.glob("**/*.parquet"))) >= 2)
    a, b, sa, sb = outcomes_from_log(
        log, tmp_path / "labels", "bc", 1, 2, since=since, until=datetime.now(UTC), slice_by="mean radius"
    )
    assert a.size == b.size == 40 and set(np.unique(np.r_[a, b])) <= {0.0, 1.0}
    assert sa is not None and sb is not None and len(sa) == len(sb) == 40
    # each outcome is whether the arm's own prediction matched the label
    preds = {n: seeded.models[n].predict(X.iloc[:80]) for n in (1, 2)}
    right = {n: (preds[n] == y.iloc[:80].to_numpy()).astype(float) for n in (1, 2)}
    assert a.sum() <= right[1].sum() and b.sum() <= right[2].sum() and np.r_[a, b].mean() > 0.8

    # the same through the CLI: 40 rows a side on a 50% split, too few for a decision, no ratio mismatch
    from mlgate.cli import main

    monkeypatch.setenv("MLGATE_REGISTRY", seeded.url)
    monkeypatch.setenv("MLGATE_ARTIFACTS", str(seeded.artifacts))
    args = ["abtest", "report", "bc@production", "--log", str(log), "--labels", str(tmp_path / "labels")]
    assert main([*args, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["a"], doc["b"], doc["split"], doc["srm"]) == ("bc:1", "bc:2", 0.5, False)
    assert (doc["overall"]["rows_a"], doc["overall"]["rows_b"], doc["overall"]["decision"]) == (40, 40, "too_few")


def test_plan_from_the_cli(capsys: Any) -> None:
    from mlgate.cli import main

    assert main(["abtest", "plan", "--baseline", "0.9", "--mde", "0.02", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["fixed"] == plan(0.9, 0.02).fixed and doc["sequential"] > doc["fixed"]
    assert main(["abtest", "plan", "--baseline", "0.9", "--mde", "0"]) == 2
    assert "--mde must be a positive effect" in capsys.readouterr().err
