"""Rollback on monitor evidence, on real registries (SQLite and PostgreSQL) and end to end from a real log."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

import mlgate
from mlgate.errors import CheckFailed, ConflictError

UTC = dt.UTC
H0 = dt.datetime(2024, 5, 1, 9, tzinfo=UTC)
EVIDENCE = "blake3:" + "a" * 64
OTHER = "blake3:" + "b" * 64


def three_versions(reg: Any, sk_model: Any, breast_cancer: Any) -> None:
    """bc:1 → bc:2 → bc:3 through production, each move recorded."""
    X, _ = breast_cancer
    for n in (1, 2, 3):
        mv = mlgate.log_model(sk_model, "bc", sample_input=X.head(20), registry=reg)
        assert mv.number == n
        reg.set_alias("bc", "production", n, reason=f"release {n}")


def test_rollback_moves_back_by_compare_and_set_with_the_evidence(
    registry: Any, sk_model: Any, breast_cancer: Any
) -> None:
    three_versions(registry, sk_model, breast_cancer)
    with pytest.raises(ConflictError, match="now points to bc:3, not bc:2"):
        registry.rollback_on_evidence("bc", "production", expect=2, evidence=EVIDENCE, reason="monitor: drift")
    ev = registry.rollback_on_evidence("bc", "production", expect=3, evidence=EVIDENCE, reason="monitor: drift")
    assert (ev.from_number, ev.to_number, ev.kind, ev.gate_report) == (3, 2, "rollback", EVIDENCE)
    assert registry.aliases("bc") == {"production": 2}
    last = registry.history("bc", "production")[-1]
    assert (last.kind, last.gate_report, last.reason) == ("rollback", EVIDENCE, "monitor: drift")
    # never twice on the same evidence, even where another move would be possible
    with pytest.raises(CheckFailed, match=r"already rolled back on the evidence blake3:a+; not twice"):
        registry.rollback_on_evidence("bc", "production", expect=2, evidence=EVIDENCE, reason="again")
    assert registry.aliases("bc") == {"production": 2}


def test_never_onto_a_version_that_failed_its_checks(registry: Any, sk_model: Any, breast_cancer: Any) -> None:
    three_versions(registry, sk_model, breast_cancer)
    registry.record_gate_report(
        "bc:2",
        b'{"passed": false}',
        champion_digest=None,
        against="production",
        dataset_digest="blake3:" + "d" * 64,
        config_digest="blake3:" + "c" * 64,
        passed=False,
    )
    with pytest.raises(CheckFailed, match=r"not rolling bc@production back to bc:2: it failed its newest gate report"):
        registry.rollback_on_evidence("bc", "production", expect=3, evidence=EVIDENCE, reason="monitor")
    assert registry.aliases("bc") == {"production": 3}


def test_a_version_rolled_back_on_evidence_never_gets_the_alias_back_that_way(
    registry: Any, sk_model: Any, breast_cancer: Any
) -> None:
    three_versions(registry, sk_model, breast_cancer)
    registry.rollback_on_evidence("bc", "production", expect=3, evidence=EVIDENCE, reason="monitor")
    registry.set_alias("bc", "production", 3, expect=2, reason="a person put bc:3 back")
    registry.set_alias("bc", "production", 1, expect=3, reason="then bc:1")
    # the holder before bc:1 is bc:3, which monitor evidence already rolled back
    with pytest.raises(CheckFailed, match=r"back to bc:3: it was itself rolled back from production"):
        registry.rollback_on_evidence("bc", "production", expect=1, evidence=OTHER, reason="monitor")
    assert registry.aliases("bc") == {"production": 1}


def test_no_earlier_holder_is_refused(registry: Any, sk_model: Any, breast_cancer: Any) -> None:
    X, _ = breast_cancer
    mlgate.log_model(sk_model, "bc", sample_input=X.head(20), registry=registry)
    registry.set_alias("bc", "production", 1)
    with pytest.raises(CheckFailed, match="has no earlier holder"):
        registry.rollback_on_evidence("bc", "production", expect=1, evidence=EVIDENCE, reason="monitor")


def test_a_sustained_breach_in_the_log_rolls_production_back_once(
    monitored: Any, log_hour: Any, tmp_path: Path
) -> None:
    """bc:2 takes production and serves a broken feature for three hours: the rule rolls back to bc:1."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from mlgate.config import load_settings
    from mlgate.monitor import monitor
    from mlgate.monitor.actions import apply_rules
    from mlgate.serve.loader import Served
    from mlgate.serve.protocol import InputSpec

    reg = monitored.registry
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(monitored.test, monitored.y_test)
    mv2 = mlgate.log_model(
        model,
        "bc",
        sample_input=monitored.train.head(20),
        data=tmp_path / "train.parquet",
        registry=reg,
    )
    reg.set_alias("bc", "production", mv2.number, expect=1, reason="release 2")
    served = Served(mlgate.load_model("bc:2", registry=reg), InputSpec.from_signature(mv2.signature), 2, mv2.digest)
    broken = monitored.test.copy()
    broken["mean radius"] = broken["mean radius"] * 3
    folder = tmp_path / "log"
    for n in range(3):
        log_hour(folder, served, broken, H0 + dt.timedelta(hours=n))
    (tmp_path / "mlgate.yaml").write_text(
        "monitor:\n  rules:\n    - {name: ranges, when: quality.violations > 0, for: 2, actions: [rollback]}\n"
    )
    config = load_settings(cwd=tmp_path, environ={}).monitor
    until = H0 + dt.timedelta(hours=3)
    report = monitor("bc@production", folder, until=until, registry=reg)
    assert report.version == "bc:2"
    ev = apply_rules(report, config, registry=reg, until=until, environ={})
    (event,) = ev.events
    assert (event.action, event.target, event.status) == ("rollback", "production", "done")
    assert event.detail == "bc@production: bc:2 → bc:1" and event.evidence == ev.evidence
    assert reg.aliases("bc") == {"production": 1}
    moved = reg.history("bc", "production")[-1]
    assert moved.kind == "rollback" and moved.gate_report == ev.evidence and moved.reason.startswith("monitor: ranges")
    # the same report again: no second act (the rule is open, and the evidence was used)
    again = apply_rules(report, config, registry=reg, until=until, environ={})
    assert again.events == [] and reg.aliases("bc") == {"production": 1}
