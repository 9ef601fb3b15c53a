"""A rollout end to end, as a user types it: a real `mlgate serve` process follows the rollout's weight, the
controller (`mlgate rollout run --follow`) analyses the prediction log the server writes and promotes the
candidate through its gate report; a second rollout is aborted by hand and the server drops it within a poll.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.rollout_harness import BIN, cli, serve, until

YAML = """\
data: {eval: eval.csv, target: target}
serve: {log: logs}
gates:
  - {metric: roc_auc, vs: production, max_drop: 0.05}
  - {metric: accuracy, min: 0.8}
delivery:
  steps: [50, 100]
  pause: 0s
  analysis: e2e
  analyses:
    # a few hundred requests on two shared cores: latency within 2x, predictions within half a deviation
    e2e: {min_requests: 100, max_latency_ratio: 2.0, max_prediction_shift: 0.5, deadline: 5m}
"""


def test_a_served_rollout_is_analysed_from_the_log_and_promoted(tmp_path: Path, breast_cancer: Any) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import mlgate
    from mlgate.config import load_settings
    from mlgate.gates.evaluate import gate
    from mlgate.registry.store import Registry

    root = tmp_path / "project"
    root.mkdir()
    X, y = breast_cancer
    X.assign(target=y).iloc[::2].to_csv(root / "eval.csv", index=False)
    (root / "mlgate.yaml").write_text(YAML, encoding="utf-8")
    url = f"sqlite:///{root / 'registry.db'}"
    env = {**os.environ, "MLGATE_REGISTRY": url, "MLGATE_ARTIFACTS": str(root / "artifacts"), "COLUMNS": "200"}
    settings = load_settings(config=root / "mlgate.yaml", registry=url, artifacts=str(root / "artifacts"))
    with Registry(settings=settings) as reg:
        for c in (1.0, 0.5, 0.3):
            model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000)).fit(X, y)
            mlgate.log_model(model, "bc", sample_input=X.head(5), registry=reg)
        reg.set_alias("bc", "production", 1)
        assert gate("bc:2", against="production", config=settings, registry=reg).passed

    with serve(root, env, "bc", poll=0.2) as (replica,):
        base = replica.url
        rows = json.loads(X.iloc[:10].to_json(orient="records"))
        stop = threading.Event()
        seen: list[tuple[str, int]] = []

        def traffic() -> None:
            with httpx.Client(base_url=base, timeout=10) as http:
                i = 0
                while not stop.is_set():
                    body = json.loads(X.iloc[(i * 10) % 550 : (i * 10) % 550 + 10].to_json(orient="records"))
                    r = http.post("/predict", json=body)
                    seen.append((r.headers.get("x-mlgate-model-version", ""), r.status_code))
                    i += 1

        def version() -> str:
            try:
                return httpx.post(f"{base}/predict", json=rows, timeout=5).headers.get("x-mlgate-model-version", "")
            except httpx.TransportError:
                return ""

        sender = threading.Thread(target=traffic, daemon=True)
        try:
            until("the server answers", lambda: version() == "bc:1", timeout=90)
            started = cli(root, env, "rollout", "start", "bc:2", "--json")
            assert started.returncode == 0, started.stderr
            assert json.loads(started.stdout)["weight"] == 50.0
            # a second rollout on the alias is refused, exit 2, nothing changed
            again = cli(root, env, "rollout", "start", "bc:3")
            assert again.returncode == 2 and "already has an active rollout" in again.stderr
            sender.start()
            until("the canary serves", lambda: any(v == "bc:2" for v, _ in list(seen)), timeout=30)

            follow = cli(root, env, "rollout", "run", "bc@production", "--follow", "--interval", "1s", timeout=300)
            assert follow.returncode == 0, follow.stdout + follow.stderr
            assert "promote" in follow.stdout and "promoted bc:2 to bc@production" in follow.stdout
            until("bc:2 is the primary", lambda: version() == "bc:2")
            status = json.loads(cli(root, env, "rollout", "status", "bc@production", "--json").stdout)
            assert status["status"] == "promoted" and status["last_analysis"]["decision"] == "pass"
            assert status["last_analysis"]["canary_requests"] >= 100

            # bc:3 has no gate report: exit 1; once gated, a rollout by hand is aborted and the server drops it
            refused = cli(root, env, "rollout", "start", "bc:3")
            assert refused.returncode == 1 and "no gate report" in refused.stderr
            with Registry(settings=settings) as reg:
                assert gate("bc:3", against="production", config=settings, registry=reg).passed
            assert cli(root, env, "rollout", "start", "bc:3", "--steps", "50").returncode == 0
            until("bc:3 takes traffic", lambda: any(v == "bc:3" for v, _ in list(seen)[-20:]), timeout=30)
            aborted = cli(root, env, "rollout", "abort", "bc@production", "--reason", "e2e")
            assert aborted.returncode == 0 and "aborted" in aborted.stdout
            time.sleep(0.5)  # one poll (0.2 s) and the requests already in flight
            mark = len(seen)
            time.sleep(1.0)
            assert {v for v, _ in seen[mark:]} == {"bc:2"}
            assert all(code == 200 for _, code in seen)
        finally:
            stop.set()
            if sender.is_alive():
                sender.join(15)


pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def test_a_controller_killed_mid_rollout_resumes_from_the_registry(tmp_path: Path, breast_cancer: Any) -> None:
    """`kill -9` the controller after its first step: the weight it set stays, and a new one finishes the job."""
    import signal

    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import mlgate
    from mlgate.config import load_settings
    from mlgate.gates.evaluate import gate
    from mlgate.registry.store import Registry

    root = tmp_path / "project"
    root.mkdir()
    X, y = breast_cancer
    X.assign(target=y).iloc[::2].to_csv(root / "eval.csv", index=False)
    (root / "mlgate.yaml").write_text(YAML.replace("steps: [50, 100]", "steps: [30, 60, 100]"), encoding="utf-8")
    url = f"sqlite:///{root / 'registry.db'}"
    env = {**os.environ, "MLGATE_REGISTRY": url, "MLGATE_ARTIFACTS": str(root / "artifacts"), "COLUMNS": "200"}
    settings = load_settings(config=root / "mlgate.yaml", registry=url, artifacts=str(root / "artifacts"))
    with Registry(settings=settings) as reg:
        for c in (1.0, 0.5):
            model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000)).fit(X, y)
            mlgate.log_model(model, "bc", sample_input=X.head(5), registry=reg)
        reg.set_alias("bc", "production", 1)
        assert gate("bc:2", against="production", config=settings, registry=reg).passed

    with serve(root, env, "bc", poll=0.2) as (replica,):
        base = replica.url
        stop = threading.Event()

        def traffic() -> None:
            with httpx.Client(base_url=base, timeout=10) as http:
                i = 0
                while not stop.is_set():
                    body = json.loads(X.iloc[(i * 10) % 550 : (i * 10) % 550 + 10].to_json(orient="records"))
                    try:
                        http.post("/predict", json=body)
                    except httpx.TransportError:
                        time.sleep(0.05)
                    i += 1

        sender = threading.Thread(target=traffic, daemon=True)
        controller = None
        try:
            assert cli(root, env, "rollout", "start", "bc:2").returncode == 0
            sender.start()
            controller = subprocess.Popen(
                [str(BIN / "mlgate"), "rollout", "run", "bc@production", "--follow", "--interval", "0.5s"],
                cwd=root,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            assert controller.stdout is not None
            for line in controller.stdout:  # wait for its first step up, then kill it without warning
                if line.startswith("advance"):
                    break
            controller.send_signal(signal.SIGKILL)
            controller.wait(timeout=30)
            with Registry(settings=settings) as reg:
                left = reg.rollout("bc", "production")
            assert left.status == "running" and left.weight >= 60.0, left
            resumed = cli(root, env, "rollout", "run", "bc@production", "--follow", "--interval", "0.5s", timeout=300)
            assert resumed.returncode == 0, resumed.stdout + resumed.stderr
            assert "promoted bc:2 to bc@production" in resumed.stdout
            with Registry(settings=settings) as reg:
                assert reg.aliases("bc")["production"] == 2
                kinds = [e.kind for e in reg.rollout_events(reg.rollout("bc", "production"))]
            assert kinds.count("promote") == 1 and kinds[0] == "start"
        finally:
            stop.set()
            if sender.is_alive():
                sender.join(15)
            if controller is not None:
                controller.terminate()
                controller.wait(timeout=30)
                if controller.stdout:
                    controller.stdout.close()
