"""Prediction drift against the outputs the gate kept, as one family of tests.

A real breast-cancer classifier, a real SQLite registry, a real gate run on held-out rows, logs written
the way the server writes them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from mlgate.gates.evaluate import gate
from mlgate.monitor import monitor
from mlgate.monitor.prediction import family

H0 = dt.datetime(2024, 5, 1, 9, tzinfo=dt.UTC)


def hour(n: int) -> dt.datetime:
    return H0 + dt.timedelta(hours=n)


def _gate(monitored: Any, tmp_path: Path) -> Any:
    from mlgate.config import load_settings

    frame = monitored.test.assign(target=monitored.y_test.to_numpy())
    frame.to_csv(tmp_path / "eval.csv", index=False)
    (tmp_path / "mlgate.yaml").write_text(f"data: {{eval: {tmp_path / 'eval.csv'}, target: target}}\n")
    return gate("bc:1", config=load_settings(config=tmp_path / "mlgate.yaml"), registry=monitored.registry)


def test_family_leaves_out_what_the_positive_probability_decides() -> None:
    assert family(["prediction", "proba_0", "proba_1"]) == ["proba_1"]
    assert family(["prediction", "proba_a", "proba_b", "proba_c"]) == ["proba_a", "proba_b", "proba_c"]
    assert family(["prediction"]) == ["prediction"]


def test_the_gates_outputs_are_the_reference_and_every_window_is_judged(
    monitored: Any, log_hour: Any, tmp_path: Path
) -> None:
    result = _gate(monitored, tmp_path)
    assert result.passed and "outputs" in result.report
    folder = tmp_path / "log"
    for n in range(3):
        log_hour(folder, monitored.served, monitored.test, hour(n))
    report = monitor("bc@production", folder, until=hour(3), registry=monitored.registry)
    assert not report.breached, report.to_markdown()
    assert all(not w.is_reference and w.prediction_drift is not None for w in report.windows)
    assert report.windows[0].prediction_drift is not None
    assert report.windows[0].prediction_drift.rows_ref == len(monitored.test)
    assert any("outputs the gate scored" in n and result.record.report_digest[:12] in n for n in report.notes)
    assert report.to_dict()["prediction_reference"] == {
        "kind": "gate",
        "report": result.record.report_digest,
        "rows": len(monitored.test),
    }
    est = report.windows[0].estimated
    assert est is not None and "calibrated on the gate's evaluation outputs" in est.method


def test_without_a_gate_report_the_first_window_is_the_reference(monitored: Any, log_hour: Any, tmp_path: Path) -> None:
    folder = tmp_path / "log"
    for n in range(2):
        log_hour(folder, monitored.served, monitored.test, hour(n))
    report = monitor("bc@production", folder, until=hour(2), registry=monitored.registry)
    assert report.windows[0].is_reference
    ref = report.to_dict()["prediction_reference"]
    assert ref["kind"] == "first window" and ref["start"] == hour(0).isoformat() and ref["rows"] == 100
    assert any("first window with predictions" in n and "no passing gate report" in n for n in report.notes)


def test_shifted_outputs_drift_against_the_gate_reference(monitored: Any, log_hour: Any, tmp_path: Path) -> None:
    _gate(monitored, tmp_path)
    folder = tmp_path / "log"
    # traffic of one class only: the positive-class probability moves far from the evaluation mix
    benign = monitored.test[monitored.y_test.to_numpy() == 1]
    log_hour(folder, monitored.served, benign, hour(0), requests=20, rows=5)
    report = monitor("bc@production", folder, until=hour(1), registry=monitored.registry)
    w = report.windows[0]
    assert w.prediction_drift is not None and w.prediction_drift.dataset_drift
    assert any(b.startswith("prediction drift: proba_1") for b in w.breaches)


def test_sketch_ks_allows_for_the_sketches_rank_error_and_the_mean_test_is_exact() -> None:
    import numpy as np
    import polars as pl

    from mlgate.data.profile import profile
    from mlgate.monitor.prediction import prediction_drift

    rng = np.random.default_rng(3)

    def outputs(n: int, shift: float) -> Any:
        p1 = 1 / (1 + np.exp(-(rng.normal(size=n) * 2 + shift)))
        return profile(pl.DataFrame({"prediction": (p1 >= 0.5).astype(int), "proba_0": 1 - p1, "proba_1": p1}))

    ref = outputs(5000, 0.0)
    same = prediction_drift(ref, outputs(1000, 0.0))
    assert same is not None and not same.dataset_drift
    ks = next(c for c in same.columns if c["method"] == "ks")
    assert ks["sketch_error"] > 0.02  # both sketches past their exact mode: 1.3 % each
    assert {c["method"] for c in same.columns} == {"ks", "mean"} and same.tested == 2
    moved = prediction_drift(ref, outputs(1000, 0.5))
    assert moved is not None and moved.dataset_drift and moved.drifted_columns == ["proba_1"]
