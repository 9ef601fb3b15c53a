#!/usr/bin/env python
"""Serving throughput and latency: mlgate serve against mlflow models serve and a bare Starlette floor, in one run.

The same scikit-learn pipeline (StandardScaler + LogisticRegression on the breast-cancer data) is
served three ways, one worker process each, all started at once and measured in turn:

* ``floor``: a bare Starlette route on uvicorn (uvloop, httptools) that parses the JSON body with
  orjson, builds a one-row DataFrame, calls ``predict`` and answers with orjson. No validation, no
  metrics: the fastest a single Python worker can score this model over HTTP.
* ``mlflow``: ``mlflow models serve -m DIR --env-manager local --workers 1``.
* ``mlgate``: ``mlgate serve`` (validation, metrics, version header, alias watcher), unbatched, and
  again with adaptive batching (``--batch-max-size 64``).

Every server gets the identical request, MLflow's ``dataframe_split`` with one row, POSTed to
``/invocations``. The load comes from wrk (Debian's package; ``apt-get install wrk``) at
concurrency 1, 16 and 64, one wrk thread, after a warm-up, in interleaved slices (every server in
turn, five times per level), so that other jobs on a shared machine hit every server alike; wrk and
the server share this machine's cores, so the absolute figures are lower than on a dedicated client. The table prints requests per
second, p50 and p99 in milliseconds, and the ratios to the floor and to MLflow.

Run from the repository root::

    .venv/bin/python benchmarks/serve.py                 # ~3 minutes
    .venv/bin/python benchmarks/serve.py --quick         # smoke test, ~1 minute
    .venv/bin/python benchmarks/serve.py --json out.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

EXIT_NO_TOOL = 3
MODEL_NAME = "bench"
# the targets
FLOOR_SHARE_TARGET = 0.9
P50_TARGET_MS = 3.0
BATCHED_VS_MLFLOW_TARGET = 10.0

_QUIET_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "MLFLOW_LOGGING_LEVEL": "ERROR",
    "GIT_PYTHON_REFRESH": "quiet",
}

WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[%s]==]
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%d %%d %%d %%.1f %%.1f %%.1f\\n",
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout, 0,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
"""


# -- the floor: run as `serve.py _floor PORT MODEL_PATH` ----------------------------------------------


def floor_app(model_path: str) -> Any:
    """The bare Starlette route: orjson in, one DataFrame, predict, orjson out."""
    import orjson
    import pandas as pd
    import skops.io as sio
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    model = sio.load(model_path, trusted=sio.get_untrusted_types(file=model_path))

    async def invocations(request: Request) -> Response:
        doc = orjson.loads(await request.body())["dataframe_split"]
        preds = model.predict(pd.DataFrame(doc["data"], columns=doc["columns"]))
        return Response(orjson.dumps({"predictions": preds.tolist()}), media_type="application/json")

    async def ping(request: Request) -> Response:
        return Response(b"{}", media_type="application/json")

    return Starlette(routes=[Route("/invocations", invocations, methods=["POST"]), Route("/ping", ping)])


def _run_floor(port: int, model_path: str) -> None:
    import uvicorn

    uvicorn.run(
        floor_app(model_path),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )


# -- servers ------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running(cmd: list[str], port: int, ready_path: str, env: dict[str, str], log: Path) -> Iterator[None]:
    """Start a server process, wait until ``ready_path`` answers 200, stop it (SIGINT, then SIGKILL) after."""
    import httpx

    with log.open("w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{cmd[:4]} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"http://127.0.0.1:{port}{ready_path}", timeout=2).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{cmd[:4]} did not become ready:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# -- load ---------------------------------------------------------------------------------------------


@dataclass
class Result:
    server: str
    concurrency: int
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    failed: int


def wrk(
    url: str, body: str, concurrency: int, seconds: float, script_dir: Path
) -> tuple[int, float, int, float, float, float]:
    """(requests, seconds, failed, p50 ms, p99 ms, mean ms) of one wrk run at ``concurrency``."""
    script = script_dir / "post.lua"
    script.write_text(WRK_SCRIPT % body)
    cmd = ["wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--timeout", "10s", "-s", str(script), url]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("RESULT")), None)
    if line is None:
        raise RuntimeError(f"wrk gave no result (exit {done.returncode}): {(done.stdout + done.stderr)[-2000:]}")
    req, dur_us, status_err, sock_err, _, p50, p99, mean = line.split()[1:]
    return (
        int(req),
        int(dur_us) / 1e6,
        int(status_err) + int(sock_err),
        float(p50) / 1e3,
        float(p99) / 1e3,
        float(mean) / 1e3,
    )


def measure(
    urls: dict[str, str],
    body: str,
    levels: list[int],
    seconds: float,
    rounds: int,
    warmup: float,
    tmp: Path,
    say: Callable[[str], None],
) -> list[Result]:
    """Every server at every level, interleaved: ``rounds`` slices of ``seconds / rounds`` each, in turn.

    The machine is shared; interleaving makes a burst of someone else's work hit every server alike.
    Requests and seconds add up over the slices; p50 and p99 are the medians of the slices' values.
    """
    for url in urls.values():
        wrk(url, body, max(levels), warmup, tmp)  # warm-up: caches, first-request imports
    results = []
    chunk = max(1.0, seconds / rounds)
    for c in levels:
        got: dict[str, list[tuple[int, float, int, float, float, float]]] = {name: [] for name in urls}
        for _ in range(rounds):
            for name, url in urls.items():
                got[name].append(wrk(url, body, c, chunk, tmp))
        for name, runs in got.items():
            n = sum(r[0] for r in runs)
            secs = sum(r[1] for r in runs)
            res = Result(
                name,
                c,
                n,
                secs,
                n / secs,
                statistics.median(r[3] for r in runs),
                statistics.median(r[4] for r in runs),
                sum(r[5] * r[0] for r in runs) / max(n, 1),
                sum(r[2] for r in runs),
            )
            say(
                f"  {name:<16} c={c:<3} {res.rps:8.0f} req/s  p50 {res.p50_ms:6.2f} ms  p99 {res.p99_ms:7.2f} ms  "
                f"failed {res.failed}"
            )
            results.append(res)
    return results


# -- the run ------------------------------------------------------------------------------------------


def setup(root: Path) -> tuple[dict[str, str], Path, Path, str]:
    """Train once; log it to a fresh mlgate registry (production) and save it as an MLflow model."""
    import warnings

    import mlflow.sklearn
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import mlgate
    from mlgate.registry.store import Registry

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    env = {
        **os.environ,
        # mlflow models serve execs `uvicorn` by name: the interpreter's scripts folder must be on PATH
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        **_QUIET_ENV,
        "MLGATE_REGISTRY": f"sqlite:///{root / 'registry.db'}",
        "MLGATE_ARTIFACTS": str(root / "artifacts"),
    }
    reg = Registry(env["MLGATE_REGISTRY"], artifacts=env["MLGATE_ARTIFACTS"])
    mlgate.log_model(model, MODEL_NAME, sample_input=X.head(20), registry=reg)
    reg.set_alias(MODEL_NAME, "production", 1, reason="benchmark")
    reg.close()
    mlflow_dir = root / "mlflow-model"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlflow.sklearn.save_model(model, str(mlflow_dir), input_example=X.head(5))
    skops_path = root / "floor.skops"
    import skops.io as sio

    sio.dump(model, skops_path)
    row = X.iloc[:1]
    body = json.dumps({"dataframe_split": {"columns": list(row.columns), "data": row.values.tolist()}})
    return env, mlflow_dir, skops_path, body


def run(
    levels: list[int], seconds: float, rounds: int, warmup: float, say: Callable[[str], None]
) -> tuple[list[Result], dict[str, str]]:
    root = Path(tempfile.mkdtemp(prefix="mlgate-bench-serve-"))
    notes: dict[str, str] = {}
    try:
        env, mlflow_dir, skops_path, body = setup(root)
        py = sys.executable
        mlflow_bin = str(Path(py).with_name("mlflow"))
        servers: list[tuple[str, list[str], str, list[int]]] = []
        port = free_port()
        servers.append(("floor", [py, __file__, "_floor", str(port), str(skops_path)], "/ping", levels))
        servers.append(
            (
                "mlflow",
                [
                    mlflow_bin,
                    "models",
                    "serve",
                    "-m",
                    str(mlflow_dir),
                    "--env-manager",
                    "local",
                    "-p",
                    "PORT",
                    "-h",
                    "127.0.0.1",
                    "--workers",
                    "1",
                ],
                "/ping",
                levels,
            )
        )
        base = [py, "-m", "mlgate", "serve", MODEL_NAME, "--port", "PORT", "--workers", "1", "--log-level", "warning"]
        servers.append(("mlgate", base, "/v2/health/ready", levels))
        servers.append(
            (
                "mlgate batched",
                [*base, "--batch-max-size", "64", "--batch-max-wait-ms", "2"],
                "/v2/health/ready",
                levels,
            )
        )
        urls: dict[str, str] = {}
        with contextlib.ExitStack() as stack:
            for name, cmd, ready, _ in servers:
                port = free_port()
                cmd = [str(port) if c == "PORT" else c for c in cmd]
                if name == "floor":
                    cmd[3] = str(port)
                say(f"{name}: {' '.join(Path(c).name if i == 0 else c for i, c in enumerate(cmd))}")
                try:
                    stack.enter_context(running(cmd, port, ready, env, root / f"{name.replace(' ', '-')}.log"))
                    urls[name] = f"http://127.0.0.1:{port}/invocations"
                except RuntimeError as exc:
                    notes[name] = f"not measured: {exc}"
                    say(f"  {name}: {notes[name][:500]}")
            results = measure(urls, body, levels, seconds, rounds, warmup, root, say)
        return results, notes
    finally:
        shutil.rmtree(root, ignore_errors=True)


def print_report(results: list[Result], notes: dict[str, str]) -> None:
    by = {(r.server, r.concurrency): r for r in results}
    print()
    print(
        f"{'server':<16}{'conc':>5}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'× floor':>9}{'× mlflow':>10}{'failed':>8}"
    )
    for r in results:
        floor = by.get(("floor", r.concurrency))
        mlflow = by.get(("mlflow", r.concurrency))
        xf = f"{r.rps / floor.rps:.2f}" if floor else "-"
        xm = f"{r.rps / mlflow.rps:.1f}" if mlflow else "-"
        print(
            f"{r.server:<16}{r.concurrency:>5}{r.rps:>10.0f}{r.p50_ms:>9.2f}{r.p99_ms:>9.2f}{xf:>9}{xm:>10}{r.failed:>8}"
        )
    print()
    checks = []
    for c in sorted({r.concurrency for r in results}):
        m, f = by.get(("mlgate", c)), by.get(("floor", c))
        if m and f:
            ok = m.rps >= FLOOR_SHARE_TARGET * f.rps
            checks.append(
                f"unbatched c={c}: {m.rps / f.rps:.2f}× the floor (target ≥ {FLOOR_SHARE_TARGET}) "
                f"{'met' if ok else 'MISSED'}"
            )
    m1 = by.get(("mlgate", 1))
    if m1:
        checks.append(
            f"p50 at c=1: {m1.p50_ms:.2f} ms (target ≤ {P50_TARGET_MS}) {'met' if m1.p50_ms <= P50_TARGET_MS else 'MISSED'}"
        )
    b64, f64 = by.get(("mlgate batched", 64)), by.get(("mlflow", 64))
    if b64 and f64:
        x = b64.rps / f64.rps
        checks.append(
            f"batched c=64: {x:.1f}× MLflow (target ≥ {BATCHED_VS_MLFLOW_TARGET}) "
            f"{'met' if x >= BATCHED_VS_MLFLOW_TARGET else 'MISSED'}"
        )
    for line in checks:
        print(line)
    for name, note in notes.items():
        print(f"{name}: {note[:300]}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_floor"]:
        _run_floor(int(argv[1]), argv[2])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 s per level: a smoke test, not figures to quote")
    parser.add_argument("--seconds", type=float, help="measured seconds per level and server (default 15)")
    parser.add_argument(
        "--rounds", type=int, help="interleaved slices per level and server (default 5; 1 with --quick)"
    )
    parser.add_argument("--levels", default="1,16,64", help="concurrency levels (default 1,16,64)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return EXIT_NO_TOOL
    try:
        import mlflow  # noqa: F401
    except ImportError:
        print("MLflow is not installed: pip install -e '.[bench]'", file=sys.stderr)
        return EXIT_NO_TOOL
    seconds = args.seconds or (3.0 if args.quick else 15.0)
    levels = [int(x) for x in args.levels.split(",")]
    rounds = args.rounds or (1 if args.quick else 5)
    results, notes = run(levels, seconds, rounds, 1.0 if args.quick else 3.0, lambda s: print(s, flush=True))
    print_report(results, notes)
    if args.json:
        info = {
            "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
            "seconds": seconds,
            "results": [asdict(r) for r in results],
            "notes": notes,
        }
        Path(args.json).write_text(json.dumps(info, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
