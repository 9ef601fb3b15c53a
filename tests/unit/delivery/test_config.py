"""``delivery:`` in mlgate.yaml: documented defaults, named analyses, and errors that name the line and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlgate.config import load_settings
from mlgate.config.sections import AnalysisConfig, seconds
from mlgate.errors import ConfigError


def settings_of(text: str) -> object:
    path = Path.cwd() / "mlgate.yaml"
    path.write_text(text, encoding="utf-8")
    return load_settings(config=path)


def test_defaults_without_a_section() -> None:
    d = settings_of("serve: {log: logs}\n").delivery
    assert (d.steps, d.pause_s, d.analysis) == ((5.0, 25.0, 50.0, 100.0), 600.0, "default")
    assert d.log == (Path.cwd() / "logs").resolve()  # serve.log, where the server writes
    assert d.analyses == {"default": AnalysisConfig()}
    a = AnalysisConfig()
    assert (a.alpha, a.min_requests, a.max_error_increase, a.max_latency_ratio) == (0.01, 200, 0.01, 1.25)
    assert (a.max_prediction_shift, a.deadline_s) == (0.25, 1800.0)
    assert (a.min_agreement, a.performance, a.max_performance_drop) == (0.9, "auto", 0.05)


def test_shadow_and_performance_keys() -> None:
    d = settings_of(
        "delivery:\n  analyses:\n"
        "    labelled: {min_agreement: 0.95, performance: realized, max_performance_drop: 0.02}\n"
        "    quiet: {performance: off}\n"
    ).delivery
    assert d.analyses["labelled"] == AnalysisConfig(
        "labelled", min_agreement=0.95, performance="realized", max_performance_drop=0.02
    )
    assert d.analyses["quiet"].performance == "off"  # YAML reads a bare off as false


def test_a_named_analysis_and_overrides() -> None:
    d = settings_of(
        "delivery:\n  steps: [1, 10, 100]\n  pause: 90s\n  analysis: strict\n  log: other\n"
        "  analyses:\n    strict: {alpha: 0.001, min_requests: 500, deadline: 1h}\n"
    ).delivery
    assert (d.steps, d.pause_s, d.analysis, d.log) == ((1.0, 10.0, 100.0), 90.0, "strict", (Path.cwd() / "other"))
    assert d.analyses["strict"] == AnalysisConfig("strict", alpha=0.001, min_requests=500, deadline_s=3600.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("delivery: [1]\n", r"mlgate.yaml:1: delivery must be a mapping"),
        ("delivery:\n  stepz: [1]\n", r"mlgate.yaml:2: delivery has unknown key 'stepz'"),
        ("delivery:\n  steps: 5\n", r"mlgate.yaml:2: delivery.steps must be a list of percentages"),
        ("delivery:\n  pause: soon\n", r"mlgate.yaml:2: delivery.pause must be a duration such as 30s"),
        ("delivery:\n  analysis: nope\n", r"mlgate.yaml:2: delivery.analysis names 'nope'"),
        (
            "delivery:\n  analyses:\n    x: {alpha: 2}\n",
            r"mlgate.yaml:3: delivery.analyses.x.alpha must be a number above 0 and below 1, got 2",
        ),
        (
            "delivery:\n  analyses:\n    x: {min_requests: 1.5}\n",
            r"delivery.analyses.x.min_requests must be an integer above 0",
        ),
        ("delivery:\n  analyses:\n    x: {alfa: 0.1}\n", r"mlgate.yaml:3: delivery.analyses.x has unknown key 'alfa'"),
        ("delivery:\n  analyses:\n    x: 3\n", r"delivery.analyses.x must be a mapping of settings"),
        (
            "delivery:\n  analyses:\n    x:\n      min_agreement: 1.5\n",
            r"mlgate.yaml:4: delivery.analyses.x.min_agreement must be a number above 0 and below 1, got 1.5",
        ),
        (
            "delivery:\n  analyses:\n    x:\n      alpha: 0.01\n      performance: labels\n",
            r"mlgate.yaml:5: delivery.analyses.x.performance must be one of auto, realized, estimated, off, "
            r"got 'labels'",
        ),
        (
            "delivery:\n  analyses:\n    x: {max_performance_drop: 0}\n",
            r"mlgate.yaml:3: delivery.analyses.x.max_performance_drop must be a number above 0 and below 1",
        ),
    ],
)
def test_mistakes_name_the_line_and_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _ = settings_of(text).delivery


def test_durations() -> None:
    assert [seconds(v, "x") for v in (90, "30s", "10m", "1.5h", "1d", "45")] == [90, 30, 600, 5400, 86400, 45]
    for bad in ("", "-5m", "10 minutes", "inf", True):
        with pytest.raises(ValueError, match="x must be a duration"):
            seconds(bad, "x")


def test_the_documented_configuration_loads() -> None:
    """docs/delivery.md's `delivery:` example is a working configuration (tests/docs checks only its keys)."""
    from tests.docs.blocks import ROOT, blocks

    [block] = [b for b in blocks(ROOT / "docs" / "delivery.md") if b.lang == "yaml" and "delivery:" in b.code]
    d = settings_of(block.code).delivery
    strict = AnalysisConfig("strict", 0.001, 500, 0.005, 1.1, 0.1, 3600.0, 0.95, "realized", 0.02, 0.05)
    assert d.analyses["strict"] == strict
    assert (d.steps, d.pause_s, d.analysis) == ((5.0, 25.0, 50.0, 100.0), 600.0, "default")
