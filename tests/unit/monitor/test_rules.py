"""monitor.rules in mlgate.yaml: parsed with file:line:key errors, judged on real monitor reports."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from mlgate.config import load_settings
from mlgate.errors import ConfigError
from mlgate.monitor import monitor
from mlgate.monitor.rules import check_rules, judge, known_figures, state_key
from mlgate.registry.monitoring import RuleState

UTC = dt.UTC
H0 = dt.datetime(2024, 5, 1, 9, tzinfo=UTC)

RULES = """\
monitor:
  retention: 30d
  webhooks:
    oncall: {url: "http://127.0.0.1:9/hook", format: slack, secret_env: MLGATE_WEBHOOK_SECRET}
  retrain:
    github: {repository: acme/fraud, workflow: train.yml}
  rules:
    - name: inputs drifted
      when: drift.share > 0.3
      for: 2 windows
      severity: critical
      actions: [alert, rollback]
    - when: latency.p95_ms >= 50
    - {when: "errors.rate > 0.01", for: 3, actions: [retrain]}
    - {when: "realized.accuracy < 0.9", actions: []}
"""


def hour(n: int) -> dt.datetime:
    return H0 + dt.timedelta(hours=n)


def settings_with(tmp_path: Path, text: str) -> Any:
    (tmp_path / "mlgate.yaml").write_text(text)
    return load_settings(cwd=tmp_path, environ={})


def test_rules_parse_typed(tmp_path: Path) -> None:
    conf = settings_with(tmp_path, RULES).monitor
    drift, latency, errors, realized = conf.rules
    assert (drift.name, drift.figure, drift.op, drift.threshold, drift.windows) == (
        "inputs drifted",
        "drift.share",
        ">",
        0.3,
        2,
    )
    assert drift.severity == "critical" and drift.actions == ("alert", "rollback")
    assert drift.where.endswith("mlgate.yaml:8") and drift.key == "monitor.rules[0]"
    assert latency.name == "latency.p95_ms >= 50" and latency.op == ">=" and latency.actions == ("alert",)
    assert latency.severity == "warning" and latency.windows == 1
    assert errors.windows == 3 and errors.actions == ("retrain",)
    assert realized.figure == "realized.accuracy" and realized.holds(0.85) and not realized.holds(0.95)
    (hook,) = conf.webhooks
    assert (hook.name, hook.format, hook.secret_env) == ("oncall", "slack", "MLGATE_WEBHOOK_SECRET")
    assert conf.retrain is not None and (conf.retrain.kind, conf.retrain.repository, conf.retrain.ref) == (
        "github",
        "acme/fraud",
        "main",
    )
    check_rules(conf.rules)  # every figure is known


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("{when: drift.share}", r"mlgate.yaml:4: monitor.rules\[0\].when must be FIGURE OPERATOR NUMBER"),
        ("{when: drift.share > lots}", r"mlgate.yaml:4: monitor.rules\[0\].when must be"),
        ("{when: drift.share > 0.3, for: 0}", r"mlgate.yaml:4: monitor.rules\[0\].for must be a number of windows"),
        ("{when: drift.share > 0.3, severity: page}", r"monitor.rules\[0\].severity must be one of info, warning"),
        ("{when: drift.share > 0.3, actions: [email]}", r"monitor.rules\[0\].actions must be a list of alert"),
        ("{when: drift.share > 0.3, sustained: 3}", r"unknown key monitor.rules\[0\].sustained"),
        ("{when: drift.share > 0.3, actions: [retrain]}", r"retrains, but monitor.retrain is not set"),
    ],
)
def test_bad_rules_name_file_line_and_key(tmp_path: Path, rule: str, message: str) -> None:
    text = f"monitor:\n  webhooks: {{oncall: http://127.0.0.1:9/}}\n  rules:\n    - {rule}\n"
    with pytest.raises(ConfigError, match=message) as info:
        _ = settings_with(tmp_path, text).monitor
    assert info.value.exit_code == 2


def test_an_unknown_figure_names_the_rule_and_the_known_figures(tmp_path: Path) -> None:
    text = "monitor:\n  rules:\n    - {name: slow, when: latency.p95 > 50, actions: []}\n"
    rules = settings_with(tmp_path, text).monitor.rules
    with pytest.raises(
        ConfigError, match=r"mlgate.yaml:3: monitor.rules\[0\] \('slow'\) names an unknown figure"
    ) as info:
        check_rules(rules)
    assert "latency.p95_ms" in str(info.value) and "drift.share" in str(info.value)
    bad_metric = settings_with(tmp_path, "monitor:\n  rules:\n    - {when: realized.acuracy < 0.9, actions: []}\n")
    with pytest.raises(ConfigError, match=r"'acuracy' is not a metric"):
        check_rules(bad_metric.monitor.rules)
    assert "quality.violations" in known_figures() and "errors.rate" in known_figures()


def test_a_mistyped_monitor_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"mlgate.yaml:2: unknown key monitor.rule\b"):
        _ = settings_with(tmp_path, "monitor:\n  rule: []\n").monitor


def test_sustained_rules_fire_once_resolve_and_restart_safely(monitored: Any, log_hour: Any, tmp_path: Path) -> None:
    """Hours 0-1 clean, 2-4 with a feature three times too large, 5 clean: drift for 2 windows fires at hour 3."""
    folder = tmp_path / "log"
    broken = monitored.test.copy()
    broken["mean radius"] = broken["mean radius"] * 3
    for n in range(6):
        log_hour(folder, monitored.served, broken if 2 <= n <= 4 else monitored.test, hour(n))
    text = "monitor:\n  rules:\n    - {name: ranges, when: quality.violations > 0, for: 2, actions: []}\n"
    (rule,) = settings_with(tmp_path, text).monitor.rules
    report = monitor("bc@production", folder, until=hour(6) + dt.timedelta(minutes=30), registry=monitored.registry)
    assert len(report.windows) == 7  # the last one is still filling and is not judged
    (j,) = judge([rule], report, {}, until=hour(6) + dt.timedelta(minutes=30))
    assert j.judged == 6
    assert [(t.kind, t.window_end) for t in j.transitions] == [("fired", hour(4)), ("resolved", hour(6))]
    assert not j.firing and j.state.streak == 0 and j.state.last_window == hour(6)
    # run in two halves (a restart in between): the same transitions, each window judged once
    (first,) = judge([rule], report, {}, until=hour(4))
    assert [t.kind for t in first.transitions] == ["fired"] and first.firing and first.state.streak == 2
    monitored.registry.save_monitor_states("bc@production", {state_key(rule): first.state})
    states = monitored.registry.monitor_states("bc@production")
    (second,) = judge([rule], report, states, until=hour(6) + dt.timedelta(minutes=30))
    assert [(t.kind, t.window_end) for t in second.transitions] == [("resolved", hour(6))]
    assert second.judged == 2
    (again,) = judge([rule], report, {state_key(rule): second.state}, until=hour(6) + dt.timedelta(minutes=30))
    assert again.judged == 0 and again.transitions == ()


def test_a_window_without_the_figure_neither_extends_nor_breaks_a_streak(
    monitored: Any, log_hour: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "log"
    log_hour(folder, monitored.served, monitored.test, hour(0), status=500)
    log_hour(folder, monitored.served, monitored.test, hour(2), status=500)  # hour 1: no traffic
    text = "monitor:\n  rules:\n    - {when: errors.rate > 0.5, for: 2, actions: []}\n"
    (rule,) = settings_with(tmp_path, text).monitor.rules
    report = monitor("bc@production", folder, until=hour(3), registry=monitored.registry)
    (j,) = judge([rule], report, {}, until=hour(3))
    assert [(t.kind, t.window_end, t.value) for t in j.transitions] == [("fired", hour(3), 1.0)]
    assert j.state == RuleState(2, True, hour(3), hour(3), None)


def test_the_cli_judges_the_rules_exits_1_while_one_fires_and_2_on_an_unknown_figure(
    monitored: Any, log_hour: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from mlgate.cli import main

    folder = tmp_path / "log"
    for n in range(3):
        log_hour(folder, monitored.served, monitored.test, hour(n), status=500)
    monkeypatch.setenv("MLGATE_REGISTRY", monitored.url)
    monkeypatch.setenv("MLGATE_ARTIFACTS", str(monitored.artifacts))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlgate.yaml").write_text(
        "monitor:\n  rules:\n    - {name: failing, when: errors.rate > 0.5, for: 2, actions: []}\n"
    )
    args = ["monitor", "bc@production", "--log", str(folder), "--until", "2024-05-01T12:00", "--max-error-rate", "1"]
    assert main([*args, "--no-actions", "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["rules"]["firing"] == ["failing"] and doc["rules"]["rules"][0]["streak"] == 3
    assert monitored.registry.monitor_states("bc@production") == {}  # a dry run remembers nothing
    assert main(args) == 1
    assert "failing" in capsys.readouterr().out
    (key, state), *_ = monitored.registry.monitor_states("bc@production").items()
    assert key.startswith("failing#") and state.open and state.streak == 3
    # the same name with another condition is another rule: no streak carried over, not firing
    (tmp_path / "mlgate.yaml").write_text(
        "monitor:\n  rules:\n    - {name: failing, when: errors.rate < 0.5, for: 2, actions: []}\n"
    )
    assert main([*args, "--json"]) == 0
    (edited,) = json.loads(capsys.readouterr().out)["rules"]["rules"]
    assert edited["condition"] == "errors.rate < 0.5" and edited["windows_judged"] == 3
    assert edited["streak"] == 0 and not edited["open"]
    (tmp_path / "mlgate.yaml").write_text(
        "monitor:\n  rules:\n    - {name: slow, when: latency.p95 > 50, actions: []}\n"
    )
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "monitor.rules[0] ('slow') names an unknown figure 'latency.p95'" in err and "latency.p95_ms" in err
    assert "Traceback" not in err


def test_follow_runs_passes_and_a_restart_goes_on_from_the_registry(
    monitored: Any, log_hour: Any, tmp_path: Path
) -> None:
    from mlgate.monitor.follow import Outcome, follow

    folder = tmp_path / "log"
    now = dt.datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    for n in (3, 2, 1):
        log_hour(folder, monitored.served, monitored.test, now - dt.timedelta(hours=n), status=500)
    text = "monitor:\n  rules:\n    - {name: failing, when: errors.rate > 0.5, for: 2, actions: []}\n"
    config = settings_with(tmp_path, text).monitor
    seen: list[Outcome | None] = []

    def on_pass(outcome: Outcome | None, problem: Exception | None) -> None:
        assert problem is None
        seen.append(outcome)

    kwargs = {"registry": monitored.registry, "environ": {}, "interval": dt.timedelta(0), "on_pass": on_pass}
    assert follow("bc@production", folder, config, passes=2, **kwargs) == 2
    first, second = seen
    assert first is not None and first.evaluation is not None and first.evaluation.firing == ["failing"]
    assert [t.kind for j in first.evaluation.judgements for t in j.transitions] == ["fired"]
    assert second is not None and second.evaluation is not None
    assert all(j.judged == 0 for j in second.evaluation.judgements)  # nothing new: nothing judged twice
    # a new process (a restart) reads the same state: still firing, nothing fires again
    assert follow("bc@production", folder, config, passes=1, **kwargs) == 1
    assert seen[-1].evaluation.firing == ["failing"] and seen[-1].evaluation.judgements[0].transitions == ()


def test_an_estimated_figure_that_is_never_estimated_is_refused(tmp_path: Path) -> None:
    text = "monitor:\n  rules:\n    - {name: f1, when: estimated.f1_macro < 0.99, actions: []}\n"
    with pytest.raises(
        ConfigError, match=r"mlgate.yaml:3: monitor.rules\[0\] \('f1'\) names 'estimated.f1_macro'"
    ) as info:
        check_rules(settings_with(tmp_path, text).monitor.rules)
    assert info.value.exit_code == 2
    for name in ("estimated.accuracy", "estimated.roc_auc", "estimated.mae", "estimated.rmse"):
        assert name in str(info.value)
    fine = "monitor:\n  rules:\n    - {when: estimated.roc_auc < 0.9, actions: []}\n"
    fine += "    - {when: realized.f1_macro < 0.9, actions: []}\n"
    check_rules(settings_with(tmp_path, fine).monitor.rules)
