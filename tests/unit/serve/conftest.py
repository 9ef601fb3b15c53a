"""Serving fixtures: a real registry with three real breast-cancer models, and real uvicorn servers.

The registry is built once per session (``log_model`` is the slow part) and copied for each test, so a
test can move aliases and corrupt blobs freely. ``bc:1`` (production) and ``bc:3`` are logistic
regressions, ``bc:2`` a decision tree: each predicts differently on some rows.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from mlgate.registry.store import Registry


@dataclass
class Seeded:
    url: str
    artifacts: Path
    X: Any
    y: Any
    models: dict[int, Any]


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory, breast_cancer: Any) -> Seeded:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    import mlgate

    X, y = breast_cancer
    root = tmp_path_factory.mktemp("serve-template")
    models = {
        1: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y),
        2: DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y),
        3: make_pipeline(StandardScaler(), LogisticRegression(C=0.01, max_iter=1000)).fit(X, y),
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.setenv("MLGATE_ACTOR", "tester")
        reg = Registry(f"sqlite:///{root / 'registry.db'}", artifacts=str(root / "artifacts"))
        for model in models.values():
            mlgate.log_model(model, "bc", sample_input=X.head(20), registry=reg)
        reg.set_alias("bc", "production", 1, reason="first")
        reg.close()
    return Seeded(f"sqlite:///{root / 'registry.db'}", root / "artifacts", X, y, models)


@pytest.fixture
def seeded(seeded_template: Seeded, tmp_path: Path) -> Seeded:
    """A private copy of the seeded registry: bc:1 holds production."""
    src = Path(seeded_template.url.removeprefix("sqlite:///")).parent
    dst = tmp_path / "reg"
    shutil.copytree(src, dst)
    return Seeded(
        f"sqlite:///{dst / 'registry.db'}",
        dst / "artifacts",
        seeded_template.X,
        seeded_template.y,
        seeded_template.models,
    )


@pytest.fixture
def seeded_registry(seeded: Seeded) -> Iterator[Registry]:
    """A Registry on the private copy, for the test to move aliases with."""
    reg = Registry(seeded.url, artifacts=str(seeded.artifacts))
    yield reg
    reg.close()


@dataclass
class Running:
    base: str
    app: Any
    port: int

    @property
    def holder(self) -> Any:
        return self.app.state.holder

    @property
    def metrics(self) -> Any:
        return self.app.state.metrics

    def wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if httpx.get(f"{self.base}/v2/health/ready").status_code == 200:
                return
            time.sleep(0.02)
        raise AssertionError("the server did not become ready")


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``predicate`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


def wait_for_process(proc: Any, probe: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Poll ``probe`` (HTTP against a server ``proc`` runs) until it holds; fail if ``proc`` dies or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if probe():
                return
        except httpx.TransportError:
            pass  # not listening yet
        assert proc.poll() is None and time.monotonic() < deadline, f"{what} did not become ready"
        time.sleep(0.1)


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
def start_server(seeded: Seeded) -> Iterator[Callable[..., Running]]:
    """``start_server(alias=..., poll_s=..., **options)``: a real uvicorn server on a free port, in a thread.

    Every server is stopped, its watcher joined and its registry closed when the test ends.
    """
    import uvicorn

    from mlgate.serve.app import create_app
    from mlgate.serve.options import ServeOptions
    from mlgate.serve.server import uvicorn_config

    started: list[tuple[uvicorn.Server, threading.Thread, Registry, socket.socket]] = []

    def start(*, wait: bool = True, **overrides: Any) -> Running:
        sock = _free_socket()
        port = sock.getsockname()[1]
        options = ServeOptions(**{"name": "bc", "port": port, "poll_s": 0.2, "log_level": "warning", **overrides})
        reg = Registry(seeded.url, artifacts=str(seeded.artifacts))
        app = create_app(options, registry=reg)
        server = uvicorn.Server(uvicorn_config(options, app))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        started.append((server, thread, reg, sock))
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise AssertionError("uvicorn did not start")
            time.sleep(0.01)
        running = Running(f"http://127.0.0.1:{port}", app, port)
        if wait:
            running.wait_ready()
        return running

    yield start
    for server, thread, reg, sock in started:
        server.should_exit = True
        thread.join(15)
        reg.close()
        sock.close()
        assert not thread.is_alive(), "a uvicorn server did not stop"
    leaked = [t.name for t in threading.enumerate() if t.name.startswith("mlgate-watch")]
    assert not leaked, f"alias watchers still running: {leaked}"


@pytest.fixture
def server(start_server: Callable[..., Running]) -> Running:
    """A ready server for bc@production (bc:1)."""
    return start_server()
