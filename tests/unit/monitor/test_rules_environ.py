"""The variables monitor.webhooks and monitor.retrain name reach the rules through the resolved settings, not
through os.environ read by the command."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from mlgate.config import load_settings
from tests.unit.monitor.webhook_receiver import SECRET, webhook_receiver

H0 = dt.datetime(2024, 5, 1, 9, tzinfo=dt.UTC)


def test_settings_keep_only_the_variables_monitor_names(tmp_path: Path) -> None:
    (tmp_path / "mlgate.yaml").write_text(
        "monitor:\n"
        "  webhooks:\n"
        "    oncall: {url: 'http://127.0.0.1:9/hook', secret_env: HOOK_SECRET}\n"
        "    chat: {url: 'http://127.0.0.1:9/chat', secret_env: UNSET_SECRET}\n"
        "  retrain: {github: {repository: acme/fraud, workflow: train.yml}}\n"
    )
    env = {"HOOK_SECRET": "s1", "GITHUB_TOKEN": "t1", "AWS_SECRET_ACCESS_KEY": "nope", "UNSET_SECRET": ""}
    conf = load_settings(cwd=tmp_path, environ=env)
    assert conf.monitor_environ == {"HOOK_SECRET": "s1", "GITHUB_TOKEN": "t1"}
    assert "s1" not in repr(conf) and "nope" not in repr(conf)
    (tmp_path / "mlgate.yaml").write_text("monitor:\n  retrain: {gitlab: {project: acme/fraud, token_env: TRIGGER}}\n")
    env = {"TRIGGER": "t2", "MLGATE_GITLAB_TRIGGER_TOKEN": "default", "HOOK_SECRET": "s1"}
    assert load_settings(cwd=tmp_path, environ=env).monitor_environ == {"TRIGGER": "t2"}
    (tmp_path / "mlgate.yaml").write_text("monitor:\n  retrain: {gitlab: {project: acme/fraud}}\n")
    assert load_settings(cwd=tmp_path, environ=env).monitor_environ == {"MLGATE_GITLAB_TRIGGER_TOKEN": "default"}


def test_the_cli_signs_with_the_secret_of_its_environment_and_says_when_it_is_unset(
    monitored: Any, log_hour: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlgate.cli import main

    folder = tmp_path / "log"
    log_hour(folder, monitored.served, monitored.test, H0, status=500)
    monkeypatch.setenv("MLGATE_REGISTRY", monitored.url)
    monkeypatch.setenv("MLGATE_ARTIFACTS", str(monitored.artifacts))
    monkeypatch.delenv("HOOK_SECRET", raising=False)
    monkeypatch.chdir(tmp_path)
    args = ["monitor", "bc@production", "--log", str(folder), "--until", "2024-05-01T10:00"]
    with webhook_receiver() as rx:
        (tmp_path / "mlgate.yaml").write_text(
            f"monitor:\n  webhooks: {{oncall: {{url: '{rx.url}', secret_env: HOOK_SECRET}}}}\n"
            "  rules:\n    - {name: failing, when: errors.rate > 0.5, actions: [alert]}\n"
        )
        assert main(args) == 3
        err = capsys.readouterr().err
        assert "monitor.webhooks.oncall is signed with $HOOK_SECRET, which is not set" in err
        assert rx.received == []
        monkeypatch.setenv("HOOK_SECRET", SECRET)
        assert main(args) == 1  # the rule fires; the alert is signed with the secret the receiver checks
    (got,) = rx.received
    assert got["verified"] and got["body"]["rule"] == "failing"
