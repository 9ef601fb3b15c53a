"""End to end: a real ``mlgate serve`` process logs real requests, then ``mlgate monitor`` reads its log."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.unit.serve.conftest import wait_for_process


@pytest.mark.slow  # a spawned server imports the whole stack: a few seconds
def test_mlgate_serve_logs_requests_that_mlgate_monitor_reports_on(monitored: Any, tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path / "predictions"
    env = {**os.environ, "MLGATE_REGISTRY": monitored.url, "MLGATE_ARTIFACTS": str(monitored.artifacts)}
    cmd = [sys.executable, "-m", "mlgate", "serve", "bc", "--port", str(port), "--log", str(log)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    rows = json.loads(monitored.test.to_json(orient="records"))
    try:
        wait_for_process(proc, lambda: httpx.get(f"{base}/v2/health/ready").status_code == 200, "mlgate serve")
        with httpx.Client(base_url=base) as http:
            for start in range(0, 200, 10):
                r = http.post("/predict?proba=true", json=rows[start : start + 10])
                assert r.status_code == 200, _stopped(proc, r.text)
            shifted = [{**row, "mean radius": row["mean radius"] * 3} for row in rows[:40]]
            for start in range(0, 40, 10):
                r = http.post("/predict", json=shifted[start : start + 10])
                assert r.status_code == 200, _stopped(proc, r.text)
            assert http.post("/predict", json=[{"nope": 1}]).status_code == 400
    finally:
        proc.send_signal(signal.SIGINT)  # the log writes what waits on shutdown
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode in (0, 130), out  # 130: stopped by SIGINT, the conventional code
    run = [sys.executable, "-m", "mlgate", "monitor", "bc@production", "--log", str(log), "--json"]
    done = subprocess.run(run, env=env, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    doc = json.loads(done.stdout)
    # 240 scored rows, a quarter of them with a feature three times too large: out of range, exit 1
    assert done.returncode == 1, done.stderr
    window = [w for w in doc["windows"] if w["requests"]][-1]
    assert sum(w["requests"] for w in doc["windows"]) == 25 and sum(w["rows"] for w in doc["windows"]) == 240
    assert sum(w["refused"] for w in doc["windows"]) == 1 and all(w["errors"] == 0 for w in doc["windows"])
    issues = [q for w in doc["windows"] for q in w["quality"]]
    assert any(q["column"] == "mean radius" and q["check"] == "out_of_range" for q in issues)
    assert window["latency_ms"]["p50"] > 0 and doc["skipped"] == []
    # the data-CI commands read the same log: its input columns meet the training profile's
    drift = [sys.executable, "-m", "mlgate", "data", "drift", "bc@production", f"{log}/**/*.parquet", "--json"]
    done = subprocess.run(drift, env=env, capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.returncode in (0, 1), done.stderr
    tested = json.loads(done.stdout)["columns"]
    assert len(tested) == monitored.test.shape[1] and "mean radius" in {c["column"] for c in tested}


def _stopped(proc: Any, answer: str) -> str:
    """The answer and what the server printed, for a failed request's message."""
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    return f"{answer}\n--- server output ---\n{out}"
