"""Typed sections of ``mlgate.yaml``: parsed on first read, errors naming the file, the line and the key."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from mlgate.config import DataConfig, PipelineConfig, PromoteConfig, Settings, load_settings
from mlgate.errors import ConfigError

FULL = """\
project: demo
model: {name: fraud}
data:
  train: data/train.csv
  eval: data/test.csv
  target: label
  task: binary
  positive: 1
  schema: schema.yaml
stages:
  train: {cmd: python train.py}
executor: ray
serve: {log: logs, workers: 2}
promote:
  protected: [production, staging]
  require_signature: {production: [release]}
trust:
  run_code: {models: [fraud], authors: [alice]}
  keys: {release: keys/release.pub}
gates:
  - {metric: accuracy, min: 0.8}
waivers: []
monitor: {retention: 1h}
"""


def _settings(tmp_path: Path, text: str) -> Settings:
    (tmp_path / "mlgate.yaml").write_text(text, encoding="utf-8")
    return load_settings(cwd=tmp_path, environ={})


def test_every_section_reads_typed_values(tmp_path: Path) -> None:
    s = _settings(tmp_path, FULL)
    assert s.model.name == "fraud"
    assert (s.data.train, s.data.eval, s.data.target, s.data.task, s.data.positive) == (
        "data/train.csv",
        "data/test.csv",
        "label",
        "binary",
        1,
    )
    assert [value for _, _, value in s.data.files_to_validate()] == ["data/train.csv", "data/test.csv"]
    assert s.pipeline.has_stages and s.pipeline.executor == "ray" and list(s.pipeline.stages) == ["train"]
    assert s.serve.log == tmp_path / "logs" and s.serve.options["workers"] == 2
    assert s.promote.protected == ("production", "staging")
    assert s.promote.require_signature == {"production": ("release",)}
    assert s.trust.run_code_models == ("fraud",) and s.trust.run_code_authors == ("alice",)
    assert s.trust.keys == {"release": "keys/release.pub"}
    assert s.gates.written and s.gates.gates == [{"metric": "accuracy", "min": 0.8}] and s.gates.waivers == []
    assert s.monitor.options == {"retention": "1h"} and s.monitor.rules == ()


def test_absent_sections_have_defaults(tmp_path: Path) -> None:
    s = load_settings(cwd=tmp_path, environ={})
    assert s.model.name is None and s.data == DataConfig(file=s.file)
    assert s.pipeline == PipelineConfig() and not s.pipeline.has_stages
    assert s.promote.protected == ("production",) and s.promote.require_signature is None
    assert not s.gates.written and s.serve.log is None


def test_a_section_is_parsed_once_and_settings_still_pickle(tmp_path: Path) -> None:
    s = _settings(tmp_path, FULL)
    assert s.data is s.data
    again = pickle.loads(pickle.dumps(s))
    assert again.data == s.data and again.promote == s.promote


def test_a_broken_section_fails_when_read_not_when_loaded(tmp_path: Path) -> None:
    s = _settings(tmp_path, "project: x\npromote: [production]\n")
    assert s.model.name is None  # other sections still read
    with pytest.raises(ConfigError, match=r"mlgate\.yaml:2: promote must be a mapping such as \{protected"):
        _ = s.promote


@pytest.mark.parametrize(
    ("text", "section", "match"),
    [
        ("model: fraud\n", "model", r"mlgate\.yaml:1: model must be a mapping with a name"),
        ("data: [a]\n", "data", r"mlgate\.yaml:1: data must be a mapping \(train, eval"),
        ("data:\n  eval: 5\n", "data", r"mlgate\.yaml:2: data\.eval must be a path, got 5"),
        ("data:\n  validate: [a.csv, 3]\n", "data", r"mlgate\.yaml:2: data\.validate\[1\] must be a path, got 3"),
        ("data:\n  validate: {a: 1}\n", "data", r"mlgate\.yaml:2: data\.validate must be a path or a list of paths"),
        ("stages: [a]\n", "pipeline", r"mlgate\.yaml:1: 'stages' must be a mapping of stage names"),
        ("executor: dask\n", "pipeline", r"mlgate\.yaml:1: unknown executor 'dask'"),
        ("serve: on\n", "serve", r"mlgate\.yaml:1: 'serve' must be a mapping"),
        ("serve:\n  log: 3\n", "serve", r"mlgate\.yaml:2: 'serve\.log' must be a folder path"),
        ("promote:\n  protected: production\n", "promote", r"mlgate\.yaml:2: promote\.protected must be a list"),
        (
            "promote:\n  require_signature: {production: release}\n",
            "promote",
            r"mlgate\.yaml:2: promote\.require_signature\.production must be a list of key names",
        ),
        ("trust: [a]\n", "trust", r"mlgate\.yaml:1: trust must be a mapping"),
        (
            "trust:\n  run_code:\n    models: fraud\n",
            "trust",
            r"mlgate\.yaml:3: trust\.run_code\.models must be a list of names, got 'fraud'",
        ),
        ("trust:\n  keys: [a]\n", "trust", r"mlgate\.yaml:2: trust\.keys must map key names to public keys"),
    ],
)
def test_bad_sections_name_line_and_key(tmp_path: Path, text: str, section: str, match: str) -> None:
    s = _settings(tmp_path, text)
    with pytest.raises(ConfigError, match=match) as info:
        getattr(s, section)
    assert info.value.exit_code == 2


def test_data_validate_as_one_path(tmp_path: Path) -> None:
    s = _settings(tmp_path, "data:\n  train: t.csv\n  validate: v.csv\n")
    assert s.data.files_to_validate() == [("data.validate", ("data", "validate"), "v.csv")]


def test_require_signature_as_a_list_of_aliases(tmp_path: Path) -> None:
    s = _settings(tmp_path, "promote:\n  require_signature: [production]\n")
    assert s.promote == PromoteConfig(require_signature=("production",), file=s.file)
