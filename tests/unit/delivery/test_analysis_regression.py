"""A regression's performance in the rollout analysis: realized MAE from labels, canary over stable.

Real ridge regressions on scikit-learn's diabetes data: the stable one, a healthy candidate (another
penalty) and a degraded one trained on shuffled targets; the log holds the held-out rows served again
and again, and the labels are their true targets, stored as ``mlgate labels add`` stores them.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mlgate.config.sections import AnalysisConfig
from mlgate.delivery.analysis import FAIL, PASS, TOO_FEW, WAIT, analyse, read_log

T = datetime(2026, 5, 1, 10, 30, tzinfo=UTC)
SPEC = AnalysisConfig()


@pytest.fixture(scope="module")
def diabetes() -> dict[str, Any]:
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import train_test_split

    X, y = load_diabetes(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.5, random_state=0)
    shuffled = np.random.default_rng(0).permutation(ytr)
    return {
        "X": Xte,
        "y": yte,
        "stable": Ridge(alpha=0.01).fit(Xtr, ytr),
        "healthy": Ridge(alpha=0.02).fit(Xtr, ytr),
        "degraded": Ridge(alpha=0.01).fit(Xtr, shuffled),
    }


def _arms(tmp_path: Path, data: dict[str, Any], candidate: str, labelled: int) -> tuple[Any, Any]:
    """1500 canary and 3000 stable requests of one held-out row each; the first ``labelled`` of each side labelled."""
    import polars as pl

    from mlgate.monitor.labels import store_labels

    log, labels = tmp_path / "log", tmp_path / "labels"
    ids: list[str] = []
    truth: list[float] = []
    for version, key, route, n in ((1, "stable", "stable", 3000), (2, candidate, "canary", 1500)):
        rows = np.arange(n) % len(data["y"])
        hour = log / "model=diabetes" / f"version={version}" / f"hour={T:%Y-%m-%dT%H}"
        hour.mkdir(parents=True, exist_ok=True)
        names = [f"{route}{i}" for i in range(n)]
        pl.DataFrame(
            {
                "time": [T] * n, "request_id": names, "row": [0] * n, "route": [route] * n, "status": [200] * n,
                "latency_ms": [5.0] * n, "prediction": data[key].predict(data["X"][rows]),
            },
            schema_overrides={"time": pl.Datetime("us", "UTC"), "status": pl.Int16},
        ).write_parquet(hour / "part-0.parquet")  # fmt: skip
        ids += names[:labelled]
        truth += data["y"][rows[:labelled]].tolist()
    store_labels(pl.DataFrame({"request_id": ids, "label": truth}), labels)
    arms = read_log(log, "diabetes", (2, 1), T - timedelta(minutes=1), T + timedelta(minutes=1), labels=labels)
    return arms[2], arms[1]


def _performance(result: Any) -> Any:
    return next(m for m in result.metrics if m.name == "performance")


def test_a_healthy_regressor_passes_on_realized_mae(tmp_path: Path, diabetes: dict[str, Any]) -> None:
    canary, stable = _arms(tmp_path, diabetes, "healthy", 1500)
    assert canary.abs_error.size == 1500 and stable.abs_error.size == 1500 and canary.correct.size == 0
    stable_mae = float(np.abs(diabetes["stable"].predict(diabetes["X"]) - diabetes["y"]).mean())
    result = analyse(canary, stable, SPEC)
    perf = _performance(result)
    assert perf.decision == PASS and result.decision == PASS, result.reason
    assert perf.detail == "realized MAE, 1500 canary and 1500 stable rows"
    assert perf.stable == pytest.approx(stable_mae, rel=0.05) and perf.upper < SPEC.max_mae_increase


def test_a_regressor_trained_on_shuffled_targets_fails_on_realized_mae(
    tmp_path: Path, diabetes: dict[str, Any]
) -> None:
    canary, stable = _arms(tmp_path, diabetes, "degraded", 1500)
    result = analyse(canary, stable, SPEC)
    perf = _performance(result)
    assert perf.decision == FAIL and result.decision == FAIL, result.reason
    assert "realized MAE" in result.reason and perf.lower > SPEC.max_mae_increase
    # a stricter margin fails it too; a margin beyond its increase does not
    assert analyse(canary, stable, replace(SPEC, max_mae_increase=0.5 * perf.estimate)).decision == FAIL
    loose = analyse(canary, stable, replace(SPEC, max_mae_increase=3 * perf.estimate))
    assert _performance(loose).decision == PASS


def test_few_labels_are_too_few_in_auto_and_wait_when_required(tmp_path: Path, diabetes: dict[str, Any]) -> None:
    canary, stable = _arms(tmp_path, diabetes, "healthy", 50)
    auto = analyse(canary, stable, SPEC)
    assert _performance(auto).decision == TOO_FEW and auto.decision == PASS
    required = analyse(canary, stable, replace(SPEC, performance="realized"))
    assert _performance(required).decision == WAIT and required.decision == WAIT
    # no per-row estimate for a regression: estimated never passes it, off leaves it out
    estimated = analyse(canary, stable, replace(SPEC, performance="estimated"))
    assert _performance(estimated).decision == WAIT and estimated.decision == WAIT
    off = analyse(canary, stable, replace(SPEC, performance="off"))
    assert "performance" not in {m.name for m in off.metrics}
    json.dumps(required.to_dict())


def test_max_mae_increase_is_configured_and_checked(tmp_path: Path) -> None:
    from mlgate.config import load_settings
    from mlgate.errors import ConfigError

    assert SPEC.max_mae_increase == 0.10
    path = tmp_path / "mlgate.yaml"
    path.write_text("delivery:\n  analyses:\n    reg: {max_mae_increase: 0.2}\n", encoding="utf-8")
    assert load_settings(config=path).delivery.analyses["reg"].max_mae_increase == 0.2
    bad = tmp_path / "bad" / "mlgate.yaml"
    bad.parent.mkdir()
    bad.write_text("delivery:\n  analyses:\n    reg:\n      max_mae_increase: -1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"mlgate.yaml:4: delivery.analyses.reg.max_mae_increase must be a number"):
        load_settings(config=bad).delivery  # noqa: B018 (parsed when first read)
