"""An A/B test end to end, as a user types it: `mlgate abtest start` on a real `mlgate serve` process, which
splits keyed traffic 50/50 and sticky; the outcomes arrive later through `POST /labels`; `abtest status` and
`abtest report` decide from the log and the labels; `abtest stop --promote B` moves the alias on that report.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

BIN = Path(sys.executable).parent

YAML = """\
data: {eval: eval.csv, target: target}
serve: {log: logs}
gates:
  - {metric: roc_auc, vs: production, max_drop: 0.05}
  - {metric: accuracy, min: 0.8}
"""

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _mlgate(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "mlgate"), *args], cwd=root, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _until(what: str, check: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.2)


def test_an_ab_test_on_a_served_alias_is_decided_from_posted_labels_and_promotes_b(
    tmp_path: Path, breast_cancer: Any
) -> None:
    from sklearn.dummy import DummyClassifier
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
        # A answers the majority class (right about 63% of the time); B is a real classifier (about 95%)
        mlgate.log_model(
            DummyClassifier(strategy="most_frequent").fit(X, y), "bc", sample_input=X.head(5), registry=reg
        )
        good = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(X, y)
        mlgate.log_model(good, "bc", sample_input=X.head(5), registry=reg)
        reg.set_alias("bc", "production", 1)
        assert gate("bc:2", against="production", config=settings, registry=reg).passed

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    serve = [str(BIN / "mlgate"), "serve", "bc", "--port", str(port), "--poll", "0.2"]
    proc = subprocess.Popen(serve, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def version(key: str | None = None) -> str:
        try:
            body = json.loads(X.iloc[:1].to_json(orient="records"))
            headers = {"x-request-key": key} if key else {}
            return httpx.post(f"{base}/predict", json=body, headers=headers, timeout=5).headers.get(
                "x-mlgate-model-version", ""
            )
        except httpx.TransportError:
            return ""

    try:
        _until("the server answers", lambda: version() == "bc:1", timeout=90)
        bad = _mlgate(root, env, "abtest", "start", "bc:1", "bc:2", "--metric", "accuracy", "--split", "100")
        assert bad.returncode == 2 and "--split must be B's share in percent" in bad.stderr
        started = _mlgate(
            root,
            env,
            "abtest",
            "start",
            "bc:1",
            "bc:2",
            "--metric",
            "accuracy",
            "--split",
            "50",
            "--mde",
            "0.1",
            "--baseline",
            "0.63",
            "--min-rows",
            "50",
            "--json",
        )
        assert started.returncode == 0, started.stderr
        doc = json.loads(started.stdout)
        assert (doc["kind"], doc["weight"], doc["spec"]["metric"]) == ("abtest", 50.0, "accuracy")
        assert doc["plan"]["sequential"] > doc["plan"]["fixed"] > 0
        again = _mlgate(root, env, "abtest", "start", "bc:1", "bc:2", "--metric", "accuracy")
        assert again.returncode == 2 and "already has an active A/B test" in again.stderr
        # the server picks the split up within a poll; a key on B's side is then served by B
        _until("B serves its keys", lambda: any(version(f"probe-{i}") == "bc:2" for i in range(8)), timeout=30)

        served: dict[str, str] = {}
        labels = []
        with httpx.Client(base_url=base, timeout=10) as http:
            for i in range(400):
                row = (i * 7) % len(X)
                rid, key = f"r{i}", f"user-{i % 200}"
                body = json.loads(X.iloc[row : row + 1].to_json(orient="records"))
                r = http.post("/predict", json=body, headers={"x-request-id": rid, "x-request-key": key})
                assert r.status_code == 200, r.text
                served[rid] = r.headers["x-mlgate-model-version"]
                labels.append({"request_id": rid, "label": int(y.iloc[row])})
            # the outcomes arrive later, from another system, by request id
            for k in range(0, len(labels), 100):
                posted = http.post("/labels", json={"labels": labels[k : k + 100]})
                assert posted.status_code == 200 and posted.json()["labels"] == 100, posted.text
        # sticky: each user's two requests went to one version, and both versions served users
        by_user = {f"user-{u}": {served[f"r{u}"], served[f"r{u + 200}"]} for u in range(200)}
        assert all(len(v) == 1 for v in by_user.values())
        arms = {v: sum(1 for s in served.values() if s == v) for v in ("bc:1", "bc:2")}
        assert min(arms.values()) >= 100, arms

        def status() -> dict[str, Any]:
            out = _mlgate(root, env, "abtest", "status", "bc@production", "--json")
            assert out.returncode == 0, out.stderr
            return dict(json.loads(out.stdout))

        # the log is written in the background: wait until every labelled request is in it
        _until("the log holds the requests", lambda: status()["overall"]["rows_b"] >= arms["bc:2"], timeout=60)
        st = status()
        assert st["overall"]["rows_a"] >= arms["bc:1"] and st["done"] and st["overall"]["decision"] == "b_better"
        assert st["overall"]["cs"][0] > 0 and st["overall"]["mean_b"] > st["overall"]["mean_a"] + 0.2
        assert not st["srm"] and st["requests_b"] >= arms["bc:2"]

        report = _mlgate(root, env, "abtest", "report", "bc@production", "--slice", "mean radius")
        assert report.returncode == 0, report.stdout + report.stderr
        assert "all: A" in report.stdout and "b_better" in report.stdout and "MISMATCH" not in report.stdout
        sliced = json.loads(
            _mlgate(root, env, "abtest", "report", "bc@production", "--slice", "mean radius", "--json").stdout
        )
        assert len(sliced["slices"]) == 4 and sum(e["rows_b"] for e in sliced["slices"]) == sliced["overall"]["rows_b"]

        stopped = _mlgate(root, env, "abtest", "stop", "bc@production", "--promote", "B")
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        assert "promoted bc:2 to bc@production" in stopped.stdout
        _until("bc:2 is the primary", lambda: version() == "bc:2")
        with Registry(settings=settings) as reg:
            event = reg.history("bc", "production")[-1]
            assert (event.from_number, event.to_number) == (1, 2) and "A/B report" in (event.reason or "")
            assert reg.rollout("bc", "production").status == "promoted"
            assert reg.rollout_route("bc", "production") is None
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
