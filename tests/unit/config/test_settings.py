"""Settings resolution: arguments > MLGATE_* > mlgate.yaml > defaults; errors name file, line, key."""

from __future__ import annotations

import pytest

from mlgate.config import load_settings
from mlgate.errors import ConfigError


def test_defaults_live_under_dot_mlgate(tmp_path):
    s = load_settings(cwd=tmp_path, environ={})
    assert s.registry == f"sqlite:///{tmp_path / '.mlgate' / 'registry.db'}"
    assert s.artifacts == str(tmp_path / ".mlgate" / "artifacts")
    assert s.config_path is None


def test_config_in_a_parent_folder_and_relative_paths(tmp_path):
    (tmp_path / "mlgate.yaml").write_text("registry: sqlite:///state/r.db\nartifacts: store\n")
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    s = load_settings(cwd=sub, environ={})
    assert s.config_path == tmp_path / "mlgate.yaml"
    assert s.registry == f"sqlite:///{tmp_path / 'state' / 'r.db'}"
    assert s.artifacts == str(tmp_path / "store")


def test_precedence_arguments_environment_file(tmp_path):
    (tmp_path / "mlgate.yaml").write_text("registry: sqlite:///file.db\nartifacts: file-store\n")
    env = {"MLGATE_REGISTRY": "postgresql://u@h/envdb", "MLGATE_ARTIFACTS": "s3://bucket/env"}
    s = load_settings(cwd=tmp_path, environ=env)
    assert s.registry == "postgresql+psycopg://u@h/envdb" and s.artifacts == "s3://bucket/env"
    s = load_settings(cwd=tmp_path, environ=env, registry="sqlite:///arg.db", artifacts="/abs/store")
    assert s.registry == f"sqlite:///{tmp_path / 'arg.db'}" and s.artifacts == "/abs/store"


def test_actor_comes_from_ci_variables(tmp_path):
    assert load_settings(cwd=tmp_path, environ={"GITHUB_ACTOR": "octo"}).actor == "octo"
    assert load_settings(cwd=tmp_path, environ={"MLGATE_ACTOR": "me", "GITHUB_ACTOR": "octo"}).actor == "me"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("project: x\nregistry: [a\n", r"mlgate.yaml:3:1: invalid YAML"),
        ("- a\n- b\n", r"mlgate.yaml:1: the top level must be a mapping"),
        ("project: x\n\nregistery: r.db\n", r"mlgate.yaml:3: unknown key 'registery'"),
        ("registry: 5\n", r"mlgate.yaml:1: 'registry' must be a string"),
        ("sqlite_busy_timeout: soon\n", r"sqlite_busy_timeout must be a non-negative number"),
        ("s3: yes\n", r"mlgate.yaml:1: 's3' must be a mapping"),
    ],
)
def test_malformed_config_names_line_and_key(tmp_path, text, match):
    (tmp_path / "mlgate.yaml").write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_settings(cwd=tmp_path, environ={})


def test_non_utf8_config(tmp_path):
    (tmp_path / "mlgate.yaml").write_bytes(b"project: caf\xe9\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_settings(cwd=tmp_path, environ={})


def test_line_of_key_paths(tmp_path):
    (tmp_path / "mlgate.yaml").write_text("project: x\ngates:\n  - {metric: auc, min: 0.8}\n  - {metric: f1}\n")
    s = load_settings(cwd=tmp_path, environ={})
    assert s.line_of("gates", 1) == f"{tmp_path / 'mlgate.yaml'}:4"
    assert s.line_of("gates", 0, "min") == f"{tmp_path / 'mlgate.yaml'}:3"


def test_explicit_config_must_exist(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(config=tmp_path / "nope.yaml", environ={})


def test_ray_address_from_environment_or_file(tmp_path):
    (tmp_path / "mlgate.yaml").write_text("ray_address: ray://head:10001\n")
    assert load_settings(cwd=tmp_path, environ={}).ray_address == "ray://head:10001"
    assert load_settings(cwd=tmp_path, environ={"RAY_ADDRESS": "auto"}).ray_address == "auto"
    (tmp_path / "mlgate.yaml").write_text("ray_address: 5\n")
    with pytest.raises(ConfigError, match="'ray_address' must be a string"):
        load_settings(cwd=tmp_path, environ={})
