"""Faulty canaries on two real `mlgate serve` replicas: the controller aborts from the log they write, both
replicas drop the canary within a poll, and the only failed requests are those the canary itself failed."""

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

from tests.e2e.test_rollout import BIN, _free_port, _mlgate, _until

YAML = """\
data: {eval: eval.csv, target: target}
serve: {log: logs}
trust: {run_code: {models: [bc]}}
gates:
  - {metric: accuracy, min: 0.8}
delivery:
  steps: [50, 100]
  pause: 0s
  analyses:
    default: {min_requests: 100, max_latency_ratio: 1.5, max_prediction_shift: 0.5, deadline: 2m}
"""


@pytest.mark.filterwarnings("ignore:.*ran code stored in its artifact:RuntimeWarning")
@pytest.mark.parametrize("mode", ["slow", "flaky"])
def test_a_faulty_canary_is_aborted_on_two_replicas(tmp_path: Path, breast_cancer: Any, mode: str) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import mlgate
    from mlgate.config import load_settings
    from mlgate.gates.evaluate import gate
    from mlgate.registry.store import Registry
    from tests.e2e.rollout_models import Faulty

    root = tmp_path / "project"
    root.mkdir()
    X, y = breast_cancer
    X.assign(target=y).iloc[::2].to_csv(root / "eval.csv", index=False)
    (root / "mlgate.yaml").write_text(YAML, encoding="utf-8")
    url = f"sqlite:///{root / 'registry.db'}"
    env = {**os.environ, "MLGATE_REGISTRY": url, "MLGATE_ARTIFACTS": str(root / "artifacts"), "COLUMNS": "200"}
    settings = load_settings(config=root / "mlgate.yaml", registry=url, artifacts=str(root / "artifacts"))
    good = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(X, y)
    with Registry(settings=settings) as reg:
        mlgate.log_model(good, "bc", sample_input=X.head(5), registry=reg)
        mlgate.log_model(Faulty(good, mode), "bc", sample_input=X.head(5), registry=reg)
        reg.set_alias("bc", "production", 1)
        assert gate("bc:2", against="production", config=settings, registry=reg).passed

    ports = [_free_port(), _free_port()]
    procs = [
        subprocess.Popen(
            [str(BIN / "mlgate"), "serve", "bc", "--port", str(p), "--poll", "0.2"],
            cwd=root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for p in ports
    ]
    stop = threading.Event()
    seen: list[tuple[float, int, str, int]] = []  # (time, replica, version, status)
    bodies: list[str] = []

    def traffic(i: int, port: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            k = 0
            while not stop.is_set():
                body = json.loads(X.iloc[(k * 5) % 560 : (k * 5) % 560 + 5].to_json(orient="records"))
                try:
                    r = http.post("/predict", json=body)
                except httpx.TransportError as exc:
                    bodies.append(f"replica {i}: {type(exc).__name__}: {exc}")
                    continue
                seen.append((time.monotonic(), i, r.headers.get("x-mlgate-model-version", ""), r.status_code))
                if r.status_code != 200:
                    bodies.append(f"{r.headers.get('x-mlgate-model-version')}: {r.text[:300]}")
                k += 1

    def answers(port: int) -> bool:
        try:
            return httpx.post(f"http://127.0.0.1:{port}/predict", json=[], timeout=5).status_code < 500
        except httpx.TransportError:
            return False

    senders = [threading.Thread(target=traffic, args=(i, p), daemon=True) for i, p in enumerate(ports)]
    try:
        for p in ports:
            _until("the replica answers", lambda p=p: answers(p), timeout=90)
        assert _mlgate(root, env, "rollout", "start", "bc:2").returncode == 0
        for s in senders:
            s.start()
        for i in range(2):
            try:
                _until("a replica routes to the canary", lambda i=i: any(x[1:3] == (i, "bc:2") for x in seen))
            except AssertionError:
                counts = {(r, v, c): sum(1 for x in seen if x[1:] == (r, v, c)) for _, r, v, c in seen}
                raise AssertionError(f"replica {i} never routed to the canary: {counts}; {bodies[:3]}") from None
        began = time.monotonic()
        follow = _mlgate(root, env, "rollout", "run", "bc@production", "--follow", "--interval", "1s", timeout=180)
        took = time.monotonic() - began
        assert follow.returncode == 1, follow.stdout + follow.stderr
        assert took < 60, f"the abort took {took:.0f} s"  # 1.5 to 4 s here: the controller's first few ticks
        assert "aborted bc:2 on bc@production: analysis failed" in follow.stdout
        word = "latency" if mode == "slow" else "error rate"
        assert word in follow.stdout
        ended = time.monotonic()
        time.sleep(1.0)  # one poll (0.2 s) and the requests in flight
        after = [v for t, _, v, _ in seen if t > ended + 0.5]
        assert after and set(after) == {"bc:1"}, "a replica still routes to the aborted canary"
        failed = [(v, code) for _, _, v, code in seen if code != 200]
        assert all(v == "bc:2" for v, _ in failed), bodies[:5]  # the stable version failed nothing
        if mode == "flaky":
            assert failed
        status = json.loads(_mlgate(root, env, "rollout", "status", "bc@production", "--json").stdout)
        assert (status["status"], status["weight"]) == ("aborted", 0.0)
        with Registry(settings=settings) as reg:
            assert reg.aliases("bc")["production"] == 1
        print(f"{mode}: aborted after {took:.1f} s, {len(failed)} failed canary requests")
    finally:
        stop.set()
        for s in senders:
            if s.is_alive():
                s.join(15)
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout:
                proc.stdout.close()
