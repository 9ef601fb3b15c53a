"""Realized metrics on the gate's critical slices: a real gate report names the slice, real labels join the log,
the slice's figures come out per window (JSON, Markdown, HTML) and a rule can name them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from mlgate.config import load_settings
from mlgate.errors import ConfigError
from mlgate.monitor import monitor
from mlgate.monitor.rules import check_rules, figure, judge
from mlgate.monitor.slices import slice_key
from tests.unit.monitor.test_labels import labels_for

UTC = dt.UTC
H0 = dt.datetime(2024, 5, 1, 9, tzinfo=UTC)
SLICE = '"mean radius" >= 15'
KEY = "mean_radius_ge_15"


def test_slice_keys_are_readable_and_keep_the_operators_apart() -> None:
    assert slice_key("age >= 65") == "age_ge_65" and slice_key("age < 65") == "age_lt_65"
    assert slice_key(SLICE) == KEY
    assert slice_key("age <> 3 AND plan = 'Pro'") == "age_ne_3_and_plan_eq_pro"


def gate_with_slice(monitored: Any, tmp_path: Path) -> str:
    """Gate bc:1 with a critical slice on its evaluation rows; the gate report's digest."""
    from mlgate.gates.evaluate import gate

    evaluation = monitored.test.assign(target=monitored.y_test)
    evaluation.to_parquet(tmp_path / "eval.parquet")
    (tmp_path / "mlgate.yaml").write_text(
        f"data: {{eval: {tmp_path / 'eval.parquet'}, target: target}}\n"
        "gates:\n"
        "  - {metric: accuracy, min: 0.8}\n"
        f"  - {{metric: accuracy, vs: production, slice: '{SLICE}', max_drop: 0.2, min_rows: 20}}\n"
    )
    result = gate("bc:1", config=load_settings(config=tmp_path / "mlgate.yaml"), registry=monitored.registry)
    assert result.passed
    return str(result.record.report_digest)


def test_critical_slices_get_realized_metrics_per_window_and_rules_can_name_them(
    monitored: Any, log_hour: Any, tmp_path: Path
) -> None:
    from sklearn.metrics import accuracy_score

    from mlgate.monitor.view import write_html

    digest = gate_with_slice(monitored, tmp_path)
    folder = tmp_path / "log"
    later = H0 + dt.timedelta(hours=1)
    log_hour(folder, monitored.served, monitored.test, H0)
    log_hour(folder, monitored.served, monitored.test, later)
    rows = monitored.test.head(100)
    in_slice = (rows["mean radius"] >= 15).to_numpy()
    good = labels_for(monitored, H0)
    # in the second hour the outcomes turn against the model on the slice's rows only
    bad = labels_for(monitored, later)
    for i, label in enumerate(bad):
        if in_slice[i]:
            label["label"] = str(1 - int(label["label"]))
    from mlgate.monitor.labels import store_labels

    store_labels(pl.DataFrame(good + bad), tmp_path / "labels")
    report = monitor(
        "bc@production",
        folder,
        until=H0 + dt.timedelta(hours=2),
        registry=monitored.registry,
        labels=tmp_path / "labels",
    )
    first, second = report.windows
    assert first.realized is not None and second.realized is not None
    assert set(first.realized.slices) == {KEY} and first.realized.slices[KEY].filter == SLICE
    # the slice's figures are the metrics of exactly its labelled rows
    predicted = monitored.served.model.predict(rows)
    truth = [int(x["label"]) for x in good]
    sliced = first.realized.slices[KEY]
    assert sliced.labelled == int(in_slice.sum()) > 10
    expected = accuracy_score([t for t, s in zip(truth, in_slice, strict=True) if s], predicted[in_slice])
    assert sliced.metrics["accuracy"] == pytest.approx(expected)
    low, high = sliced.intervals["accuracy"]
    assert low <= sliced.metrics["accuracy"] <= high
    assert second.realized.slices[KEY].metrics["accuracy"] < 0.2
    assert second.realized.metrics["accuracy"] > 0.5  # the whole window hides it
    assert any(digest[:12] in n and KEY in n for n in report.notes)
    # JSON, Markdown and HTML show the slice
    doc = report.to_dict()
    assert doc["windows"][1]["realized"]["slices"][KEY]["filter"] == SLICE
    assert f"slice {KEY}: accuracy" in report.to_markdown()
    write_html(report, tmp_path / "monitor.html")
    assert f"slice {KEY}: accuracy" in (tmp_path / "monitor.html").read_text()
    # a rule names the slice's figure: it fires on the second window, not the first
    (tmp_path / "rules.yaml").write_text(
        f"monitor:\n  rules:\n    - {{name: slice accuracy, when: realized.slice.{KEY}.accuracy < 0.5, actions: []}}\n"
    )
    rules = load_settings(config=tmp_path / "rules.yaml", environ={}).monitor.rules
    check_rules(rules)
    assert figure(first, f"realized.slice.{KEY}.accuracy") == pytest.approx(expected)
    assert figure(first, "realized.slice.unknown_slice.accuracy") is None
    (j,) = judge(rules, report, {}, until=H0 + dt.timedelta(hours=2))
    assert j.firing and [t.window_start for t in j.transitions] == [later]


def test_a_slice_rule_needs_a_key_and_a_known_metric(tmp_path: Path) -> None:
    for when, message in (
        ("realized.slice.accuracy < 0.5", "needs a slice key and a metric"),
        (f"realized.slice.{KEY}.accurcy < 0.5", "'accurcy' is not a metric"),
    ):
        (tmp_path / "mlgate.yaml").write_text(f"monitor:\n  rules:\n    - {{when: {when}, actions: []}}\n")
        rules = load_settings(cwd=tmp_path, environ={}).monitor.rules
        with pytest.raises(ConfigError, match=message):
            check_rules(rules)
