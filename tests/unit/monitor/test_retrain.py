"""The retrain action against a fake forge (a real HTTP server speaking GitHub's workflow_dispatch and
GitLab's pipeline trigger), and end to end from a rule on a real log."""

from __future__ import annotations

import datetime as dt
import json
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from mlgate.config import load_settings
from mlgate.config.sections import RetrainConfig
from mlgate.errors import EnvironmentProblem
from mlgate.monitor.actions import dispatch_github, trigger_gitlab

GITHUB_TOKEN = "ghs_dispatch"
TRIGGER_TOKEN = "glptt-trigger"
UTC = dt.UTC
H0 = dt.datetime(2024, 5, 1, 9, tzinfo=UTC)


@dataclass
class Forge:
    url: str = ""
    seen: list[dict[str, Any]] = field(default_factory=list)


@contextmanager
def fake_forge() -> Iterator[Forge]:
    """POST /repos/{o}/{r}/actions/workflows/{id}/dispatches (204) and /projects/{id}/trigger/pipeline (201)."""
    state = Forge()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, code: int, doc: Any = None) -> None:
            raw = b"" if doc is None else json.dumps(doc).encode()
            self.send_response(code)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path = self.path
            state.seen.append({"path": path, "auth": self.headers.get("Authorization"), "raw": raw})
            if path == "/repos/acme/fraud/actions/workflows/train.yml/dispatches":
                if self.headers.get("Authorization") != f"Bearer {GITHUB_TOKEN}":
                    return self._send(401, {"message": "Bad credentials"})
                doc = json.loads(raw)
                if set(doc) != {"ref"}:
                    return self._send(422, {"message": "Unexpected inputs provided"})
                return self._send(204)
            if path == "/projects/acme%2Ffraud/trigger/pipeline":
                form = urllib.parse.parse_qs(raw.decode())
                if form.get("token") != [TRIGGER_TOKEN]:
                    return self._send(404, {"message": "404 Not Found"})
                return self._send(201, {"id": 77, "ref": form["ref"][0], "status": "created"})
            return self._send(404, {"message": "Not Found"})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def test_github_workflow_dispatch() -> None:
    with fake_forge() as forge:
        conf = RetrainConfig("github", repository="acme/fraud", workflow="train.yml", ref="main", api_url=forge.url)
        detail = dispatch_github(conf, {"MLGATE_GITHUB_TOKEN": GITHUB_TOKEN})
        assert detail == "dispatched train.yml on acme/fraud@main (HTTP 204)"
        assert json.loads(forge.seen[-1]["raw"]) == {"ref": "main"}
        with pytest.raises(EnvironmentProblem, match=r"GitHub workflow_dispatch refused: HTTP 401"):
            dispatch_github(conf, {"GITHUB_TOKEN": "ghs_wrong"})
        with pytest.raises(
            EnvironmentProblem, match=r"no token for the GitHub: \$MLGATE_GITHUB_TOKEN or \$GITHUB_TOKEN"
        ):
            dispatch_github(conf, {})
    assert all(GITHUB_TOKEN not in str(s["path"]) for s in forge.seen)  # the token travels in a header only


def test_gitlab_pipeline_trigger() -> None:
    with fake_forge() as forge:
        conf = RetrainConfig("gitlab", repository="acme/fraud", ref="main", api_url=forge.url)
        detail = trigger_gitlab(conf, {"MLGATE_GITLAB_TRIGGER_TOKEN": TRIGGER_TOKEN}, reason="drift held 3 windows")
        assert detail == "triggered a pipeline of acme/fraud@main (HTTP 201)"
        form = urllib.parse.parse_qs(forge.seen[-1]["raw"].decode())
        assert form["ref"] == ["main"] and form["variables[MLGATE_RETRAIN_REASON]"] == ["drift held 3 windows"]
        with pytest.raises(EnvironmentProblem, match=r"GitLab pipeline trigger refused: HTTP 404"):
            trigger_gitlab(conf, {"MLGATE_GITLAB_TRIGGER_TOKEN": "wrong"}, reason="x")
    with pytest.raises(EnvironmentProblem, match=r"cannot reach http://127\.0\.0\.1:9/projects"):
        trigger_gitlab(
            RetrainConfig("gitlab", repository="acme/fraud", api_url="http://127.0.0.1:9"),
            {"MLGATE_GITLAB_TRIGGER_TOKEN": TRIGGER_TOKEN},
            reason="x",
        )


def test_a_sustained_rule_dispatches_one_retrain(monitored: Any, log_hour: Any, tmp_path: Path) -> None:
    from mlgate.monitor import monitor
    from mlgate.monitor.actions import apply_rules

    folder = tmp_path / "log"
    for n in range(3):
        log_hour(folder, monitored.served, monitored.test, H0 + dt.timedelta(hours=n), status=500)
    until = H0 + dt.timedelta(hours=3)
    with fake_forge() as forge:
        (tmp_path / "mlgate.yaml").write_text(
            "monitor:\n"
            f"  retrain: {{github: {{repository: acme/fraud, workflow: train.yml, api_url: '{forge.url}'}}}}\n"
            "  rules:\n    - {name: failing, when: errors.rate > 0.5, for: 2, actions: [retrain]}\n"
        )
        config = load_settings(cwd=tmp_path, environ={}).monitor
        report = monitor("bc@production", folder, until=until, registry=monitored.registry)
        env = {"GITHUB_TOKEN": GITHUB_TOKEN}
        ev = apply_rules(report, config, registry=monitored.registry, until=until, environ=env)
        again = apply_rules(report, config, registry=monitored.registry, until=until, environ=env)
    (event,) = ev.events
    assert (event.action, event.target, event.status) == ("retrain", "github", "done")
    assert again.events == [] and len(forge.seen) == 1  # the rule stays open: one dispatch


def test_retrain_by_running_the_pipeline_here(tmp_path: Path) -> None:
    """`monitor.retrain: {run: …}` runs `mlgate run` in the project; a failing stage is a failed retrain."""
    from mlgate.errors import CheckFailed
    from mlgate.monitor.actions import run_pipeline

    root = tmp_path / "project"
    root.mkdir()
    (root / "mlgate.yaml").write_text(
        "registry: sqlite:///.mlgate/registry.db\nartifacts: .mlgate/artifacts\n"
        "stages:\n"
        "  train:\n"
        "    cmd: python -c \"open('model.txt', 'w').write('retrained')\"\n"
        "    outs: [model.txt]\n"
        "  broken:\n"
        '    cmd: python -c "raise SystemExit(3)"\n'
        "    outs: [never.txt]\n"
    )
    assert run_pipeline(["train"], root=root) == "mlgate run train finished"
    assert (root / "model.txt").read_text() == "retrained"
    with pytest.raises(CheckFailed, match="mlgate run exited 1"):
        run_pipeline(["broken"], root=root)
