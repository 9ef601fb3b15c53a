"""The quickstart's serving step: a real ``mlgate serve`` process, real requests, a promotion, the switch.

:func:`serve_demo` starts ``python -m mlgate serve breast-cancer`` in the background on a free port,
sends a few rows of ``data/test.csv``, calls the caller's ``promote()``, polls until the responses
name the new version, and stops the server. It returns what it saw, so the quickstart can print it
and its test can check it.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.errors import EnvironmentProblem

if TYPE_CHECKING:
    from mlgate.config import Settings
    from mlgate.registry.store import Registry

MODEL = "breast-cancer"
VERSION_HEADER = "x-mlgate-model-version"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_demo(
    root: Path,
    settings: Settings,
    registry: Registry,
    say: Callable[..., Any],
    promote: Callable[[], Any],
    *,
    requests: int = 5,
    switch_timeout_s: float = 15.0,
) -> dict[str, Any]:
    """Serve breast-cancer@production, send ``requests`` requests, ``promote()``, watch the switch, stop.

    Returns ``versions`` (in the order seen), ``before``/``after`` (the versions served), ``switch_s``
    (seconds from the promotion to the first response from the new version), ``latency_ms`` (median of
    the requests before the promotion), ``response`` (one response body) and ``port``.
    """
    import httpx
    import pandas as pd

    rows = pd.read_csv(root / "data" / "test.csv").drop(columns=["target"]).head(3)
    records = json.loads(rows.to_json(orient="records"))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLGATE_")}
    env |= {"MLGATE_REGISTRY": settings.registry, "MLGATE_ARTIFACTS": settings.artifacts}
    cmd = [sys.executable, "-m", "mlgate", "serve", MODEL, "--port", str(port), "--poll", "0.5"]
    say("step", f"serve {MODEL}@production in the background on port {port}", " ".join(["mlgate", *cmd[3:]]))
    proc = subprocess.Popen(
        [*cmd, "--log-level", "warning"], cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{port}"
    seen: list[str] = []
    try:
        with httpx.Client(base_url=base, timeout=10) as http:
            _wait_ready(http, proc)
            before = registry.get(f"{MODEL}@production").ref
            latencies = []
            body: Any = None
            for _ in range(requests):
                t0 = time.perf_counter()
                r = http.post("/predict", json=records)
                latencies.append((time.perf_counter() - t0) * 1000)
                r.raise_for_status()
                body = r.json()
                seen.append(r.headers[VERSION_HEADER])
            say("out", f"POST /predict (3 rows) → {json.dumps(body)}  [{VERSION_HEADER}: {seen[-1]}]")
            promote()
            promoted_at = time.monotonic()
            after = registry.get(f"{MODEL}@production").ref
            while True:
                version = http.post("/predict", json=records).headers[VERSION_HEADER]
                if not seen or seen[-1] != version:
                    seen.append(version)
                if version == after:
                    break
                if time.monotonic() - promoted_at > switch_timeout_s:
                    raise EnvironmentProblem(
                        f"the server still answered with {version} {switch_timeout_s:.0f} s after {after} was promoted"
                    )
                time.sleep(0.05)
            switch_s = time.monotonic() - promoted_at
            say(
                "step",
                f"the server switched from {before} to {after} {switch_s:.1f} s after the promotion, "
                "without a failed request",
            )
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
    say("step", "stop the server (in-flight requests drained)")
    return {
        "port": port,
        "versions": list(dict.fromkeys(seen)),
        "before": before,
        "after": after,
        "switch_s": switch_s,
        "latency_ms": statistics.median(latencies),
        "response": body,
    }


def _wait_ready(http: Any, proc: subprocess.Popen[str], timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            raise EnvironmentProblem(f"mlgate serve exited with {proc.returncode}: {out[-2000:]}")
        try:
            if http.get("/v2/health/ready").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise EnvironmentProblem(f"mlgate serve did not become ready within {timeout:.0f} s")
        time.sleep(0.1)
