"""``mlgate serve`` itself: refusing an alias that does not exist, and a real process serving and stopping."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

from mlgate.cli import main
from mlgate.errors import NotFoundError, UsageError
from mlgate.serve.options import ServeOptions
from mlgate.serve.server import MULTIPROC_ENV, check_alias, shared_metrics_dir
from tests.unit.serve.conftest import wait_for_process


def test_check_alias_names_what_exists(seeded_registry: Any) -> None:
    assert check_alias(ServeOptions("bc"), seeded_registry).ref == "bc:1"
    with pytest.raises(NotFoundError, match=r"cannot serve bc@canary") as info:
        check_alias(ServeOptions("bc", alias="canary"), seeded_registry)
    assert "production" in str(info.value.hint)
    with pytest.raises(NotFoundError, match=r"cannot serve fraud@production"):
        check_alias(ServeOptions("fraud"), seeded_registry)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"poll_s": 0}, "--poll must be a positive"),
        ({"workers": 0}, "--workers must be at least 1"),
        ({"max_body_bytes": 10}, "--max-body must be at least 1024"),
    ],
)
def test_options_are_checked(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        ServeOptions("bc", **kwargs)


def test_cli_missing_alias_exits_2_without_traceback(
    seeded: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MLGATE_REGISTRY", seeded.url)
    monkeypatch.setenv("MLGATE_ARTIFACTS", str(seeded.artifacts))
    assert main(["serve", "bc", "--alias", "nope", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "cannot serve bc@nope" in err and "Traceback" not in err
    assert main(["serve", "bc", "--poll", "-1"]) == 2
    assert "--poll must be a positive" in capsys.readouterr().err


@pytest.mark.slow  # two spawned workers each import the stack: about 15 s
def test_mlgate_serve_process_serves_and_stops_cleanly(seeded: Any, seeded_registry: Any) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "MLGATE_REGISTRY": seeded.url, "MLGATE_ARTIFACTS": str(seeded.artifacts)}
    cmd = [sys.executable, "-m", "mlgate", "serve", "bc", "--port", str(port), "--poll", "0.2", "--workers", "2"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        recs = seeded.X.iloc[:2].to_dict(orient="records")
        # each worker loads on its own: ready once every worker answers
        every = lambda: {httpx.post(f"{base}/predict", json=recs).status_code for _ in range(8)} == {200}  # noqa: E731
        wait_for_process(proc, every, "mlgate serve")
        r = httpx.post(f"{base}/predict", json=recs)
        assert r.status_code == 200 and r.headers["x-mlgate-model-version"] == "bc:1"
        seeded_registry.set_alias("bc", "production", 2)
        deadline = time.monotonic() + 10
        seen: set[str] = set()
        while seen != {"bc:2"}:  # each worker swaps on its own poll
            seen = {httpx.post(f"{base}/predict", json=recs).headers["x-mlgate-model-version"] for _ in range(8)}
            assert time.monotonic() < deadline, seen
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "serving bc:2" in out


def test_shared_metrics_dir_is_set_for_the_workers_and_removed_after(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(MULTIPROC_ENV, raising=False)
    with shared_metrics_dir() as folder:
        assert folder.is_dir() and os.environ[MULTIPROC_ENV] == str(folder)
        (folder / "counter_1.db").write_bytes(b"x")
    assert not folder.exists() and MULTIPROC_ENV not in os.environ
    monkeypatch.setenv(MULTIPROC_ENV, "/elsewhere")
    with shared_metrics_dir() as folder:
        assert os.environ[MULTIPROC_ENV] == str(folder)
    assert os.environ[MULTIPROC_ENV] == "/elsewhere"


def _scrape(base: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    from prometheus_client.parser import text_string_to_metric_families

    samples: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(httpx.get(f"{base}/metrics").text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append((sample.labels, sample.value))
    return samples


@pytest.mark.slow  # two spawned workers each import the stack: about 15 s
def test_metrics_count_the_requests_of_every_worker(seeded: Any, seeded_registry: Any) -> None:
    seeded_registry.set_alias("bc", "shadow", 3)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "MLGATE_REGISTRY": seeded.url, "MLGATE_ARTIFACTS": str(seeded.artifacts)}
    env.pop(MULTIPROC_ENV, None)
    cmd = [sys.executable, "-m", "mlgate", "serve", "bc", "--port", str(port), "--workers", "2"]
    proc = subprocess.Popen(
        [*cmd, "--shadow-alias", "shadow"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        base = f"http://127.0.0.1:{port}"
        recs = seeded.X.iloc[:2].to_dict(orient="records")
        # each worker loads on its own: ready once every worker answers
        every = lambda: {httpx.get(f"{base}/v2/health/ready").status_code for _ in range(8)} == {200}  # noqa: E731
        wait_for_process(proc, every, "mlgate serve")
        sent = 0
        workers: set[str] = set()
        deadline = time.monotonic() + 30
        while len(workers) < 2:  # each connection goes to whichever worker accepts it; go on until both have served
            for _ in range(10):
                assert httpx.post(f"{base}/predict", json=recs).status_code == 200
                sent += 1
            time.sleep(0.2)  # the shadow scores off the response path
            # the agreement share is the one per-worker gauge (a pid label): it names the workers that scored
            workers = {labels["pid"] for labels, _ in _scrape(base).get("mlgate_serve_shadow_agreement", [])}
            assert time.monotonic() < deadline, f"every request went to one worker ({workers})"
        for _ in range(4):  # whichever worker answers the scrape reports the whole server
            samples = _scrape(base)
            served = [v for labels, v in samples["mlgate_serve_requests_total"] if labels["route"] == "/predict"]
            assert served == [sent]
            assert [v for _, v in samples["mlgate_serve_ready"]] == [1.0]
            held = {labels["version"] for labels, v in samples["mlgate_serve_model_info"] if v == 1}
            assert held == {"bc:1", "bc:3"}
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "Traceback" not in out and "Removal of labels" not in out, out


def test_a_taken_port_is_one_line_and_exit_2_before_anything_loads(
    seeded: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MLGATE_REGISTRY", seeded.url)
    monkeypatch.setenv("MLGATE_ARTIFACTS", str(seeded.artifacts))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        assert main(["serve", "bc", "--port", str(port)]) == 2
        assert time.monotonic() - started < 5  # no model was loaded, no server started
        err = capsys.readouterr().err
        assert f"port {port} on 127.0.0.1 is already in use" in err and "Traceback" not in err
        assert len(err.strip().splitlines()) == 1, err
        # the port is checked first: a missing alias is not even looked up
        assert main(["serve", "bc", "--alias", "nope", "--port", str(port)]) == 2
        assert "already in use" in capsys.readouterr().err
