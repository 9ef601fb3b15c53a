"""The ``gates:`` and ``waivers:`` sections: normalised entries, and errors that name file, line and key."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from mlgate.config import load_settings
from mlgate.errors import ConfigError
from mlgate.gates.spec import config_digest, parse_gates


def _settings(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "mlgate.yaml"
    path.write_text(text, encoding="utf-8")
    return load_settings(config=path)


def test_entries_are_normalised_with_derived_names(tmp_path: Path) -> None:
    s = _settings(
        tmp_path,
        """
gates:
  - {metric: roc_auc, min: 0.85}
  - {metric: roc_auc, vs: production, max_drop: 0.01}
  - {metric: f1, vs: production, max_drop: 2%}
  - {metric: recall, vs: production, slices: auto, max_drop: 0.03, min_rows: 50}
  - {metric: recall, vs: production, slice: "age >= 65", max_drop: 0.02, name: seniors}
  - {latency_p99_ms: 20}
  - {size_mb: 50}
  - {golden: exact}
""",
    )
    specs, waivers, defaulted = parse_gates(s, task="binary", against="production")
    by = {sp.name: sp for sp in specs}
    assert not defaulted and waivers == []
    assert by["roc_auc >= 0.85"].kind == "bound" and by["roc_auc >= 0.85"].min == 0.85
    assert by["roc_auc vs production"].max_drop == 0.01 and not by["roc_auc vs production"].relative
    assert by["f1 vs production"].relative and by["f1 vs production"].max_drop == pytest.approx(0.02)
    assert by["recall slices vs production"].slices == "auto" and by["recall slices vs production"].min_rows == 50
    assert by["seniors"].kind == "critical" and by["seniors"].slice == "age >= 65"
    assert by["latency"].options == {"p99_ms": 20.0}
    assert by["size"].options == {"max_mb": 50.0}
    # behaviour and environment run unless disabled
    assert {"behaviour", "environment"} <= set(by)


def test_defaults_when_no_gates_section(tmp_path: Path) -> None:
    s = _settings(tmp_path, "project: x\n")
    specs, _, defaulted = parse_gates(s, task="regression", against="staging")
    assert defaulted
    change = [sp for sp in specs if sp.kind == "change"]
    assert change and change[0].metric == "rmse" and change[0].vs == "staging" and change[0].relative
    # 5%: at 2% a third of ordinary retrains on 221 diabetes rows were blocked (docs/gates.md)
    assert change[0].max_drop == 0.05


@pytest.mark.parametrize(
    ("entry", "match"),
    [
        ("{metric: roc_auc, min: high}", r"mlgate.yaml:3 \(gates\[0\]\).min: must be a number, got 'high'"),
        ("{metric: roc_auc, vs: production, max_drop: -0.1}", r"max_drop: must not be negative"),
        ("{metric: roc_auc, vs: production, max_drop: 'two%'}", r"a percentage must look like '2%'"),
        ("{metric: roc_auc}", r"needs a bound \(`min:`/`max:`\) or `vs: production`"),
        ("{metric: roc_auc, min: 0.8, max_dorp: 1}", r"unknown key 'max_dorp'"),
        ("{metric: roc_auc, min: 0.8, latency_p99_ms: 3}", r"one gate per entry"),
        ("{metric: recall, slices: auto, max_drop: 0.1}", r"max_drop: needs `vs:`"),
        ("{metric: recall, vs: production, slices: 7}", r"slices: must be `auto` or a list of column names"),
        ("{metric: recall, vs: production, min_rows: 2.5}", r"min_rows: must be a whole number >= 1"),
        ("{metric: recall, vs: production, confidence: 95}", r"confidence: must lie between 0 and 1"),
        (
            "{metric: recall, vs: production, slices: auto, intersections: -1}",
            r"intersections: must be a whole number >= 0",
        ),
        (
            "{metric: recall, vs: production, max_drop: 0.1, intersections: 5}",
            r"intersections: applies to discovered slices",
        ),
        ("{latency: {p99: 3}}", r"latency.p99: unknown option"),
        ("{environment: sometimes}", r"on_mismatch: `warn` or `fail`"),
        ("{size: {}}", r"size: needs max_mb"),
        ("just-a-string", r"a gate must be a mapping"),
        ("{thing: 1}", r"say what to check"),
    ],
)
def test_bad_entries_name_line_and_key(tmp_path: Path, entry: str, match: str) -> None:
    s = _settings(tmp_path, f"project: x\ngates:\n  - {entry}\n")
    with pytest.raises(ConfigError, match=match):
        parse_gates(s, task="binary", against="production")


def test_duplicate_names_are_rejected(tmp_path: Path) -> None:
    s = _settings(tmp_path, "gates:\n  - {metric: f1, min: 0.5}\n  - {metric: f1, min: 0.5}\n")
    with pytest.raises(ConfigError, match=r"two gates are named 'f1 >= 0.5' \(the other at .*mlgate.yaml:2"):
        parse_gates(s, task="binary", against="production")


def test_waivers(tmp_path: Path) -> None:
    s = _settings(
        tmp_path,
        "gates:\n  - {metric: f1, min: 0.5}\n"
        "waivers:\n  - {gate: 'f1 >= 0.5', until: 2027-01-31, reason: known issue}\n",
    )
    _, waivers, _ = parse_gates(s, task="binary", against="production")
    assert waivers[0].until == date(2027, 1, 31) and waivers[0].active(date(2027, 1, 31))
    assert not waivers[0].active(date(2027, 2, 1))


@pytest.mark.parametrize(
    ("waiver", "match"),
    [
        ("{gate: nope, until: 2027-01-01, reason: r}", r"waivers\[0\]\)\.gate: 'nope' names no gate; gates are:"),
        ("{gate: 'f1 >= 0.5', reason: r}", r"until: an expiry date like 2026-12-31 is required"),
        ("{gate: 'f1 >= 0.5', until: soon, reason: r}", r"until: an expiry date"),
        ("{gate: 'f1 >= 0.5', until: 2027-01-01}", r"reason: say why"),
    ],
)
def test_bad_waivers(tmp_path: Path, waiver: str, match: str) -> None:
    s = _settings(tmp_path, f"gates:\n  - {{metric: f1, min: 0.5}}\nwaivers:\n  - {waiver}\n")
    with pytest.raises(ConfigError, match=match):
        parse_gates(s, task="binary", against="production")


def test_config_digest_follows_gates_and_waivers_only(tmp_path: Path) -> None:
    a = _settings(tmp_path, "project: a\ngates:\n  - {metric: f1, min: 0.5}\n")
    b = _settings(tmp_path, "project: b\ngates:\n  - {metric: f1, min: 0.5}\n")
    c = _settings(tmp_path, "project: a\ngates:\n  - {metric: f1, min: 0.6}\n")
    assert config_digest(a) == config_digest(b) != config_digest(c)
