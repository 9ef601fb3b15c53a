"""The settings a run resolved reach every stage process; environment failures are exit 3 before any stage trains."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlgate.errors import ConfigError, EnvironmentProblem

from .conftest import Project

TRAIN = """\
import os
import sys

from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

import mlgate

X, y = load_breast_cancer(return_X_y=True, as_frame=True)
X = X.iloc[:, :4]
registry = mlgate.Registry(sys.argv[1]) if len(sys.argv) > 1 else None
mv = mlgate.log_model(LogisticRegression(max_iter=500).fit(X, y), "cancer", sample_input=X.head(5), registry=registry)
open("registered.txt", "w").write(mv.ref)
"""


def _train_stage(extra: str = "") -> str:
    return f"registry: sqlite:///.mlgate/registry.db\nstages:\n  train:\n    cmd: {sys.executable} train.py{extra}\n" \
        "    deps: [train.py]\n    outs: [registered.txt]\n"  # fmt: skip


@pytest.mark.postgres
def test_a_registry_given_on_the_command_line_receives_the_stages_model(
    make_project: Callable[..., Project], postgres_url: str
) -> None:
    from mlgate.registry.store import Registry

    p = make_project(_train_stage(), files={"train.py": TRAIN})
    p.registry = postgres_url  # like `mlgate --registry postgresql://… run`; mlgate.yaml names a local SQLite file
    result = p.run()
    assert result.ok, result.stages[0].log_tail
    with Registry(postgres_url) as pg:
        mv = pg.get("cancer")
        assert mv.lineage["run_id"] == result.run_id and [r.id for r in pg.runs()] == [result.run_id]
    local = p.root / ".mlgate" / "registry.db"
    if local.exists():
        with Registry(f"sqlite:///{local}") as reg:
            assert reg.models() == [], "nothing of the run lands in the clone's local registry"


def test_a_stage_registering_into_another_registry_is_refused(make_project: Callable[..., Project]) -> None:
    p = make_project(_train_stage(" sqlite:///elsewhere.db"), files={"train.py": TRAIN})
    result = p.run()
    assert result.stages[0].outcome == "failed"
    log = "\n".join(result.stages[0].log_tail)
    assert "tried to register a model in" in log and "a run's models go to the run's registry" in log


def test_the_stage_gets_registry_artifacts_and_actor(make_project: Callable[..., Project], tmp_path: Path) -> None:
    cmd = 'echo "$MLGATE_REGISTRY|$MLGATE_ARTIFACTS|$MLGATE_ACTOR|$MLGATE_RUN_REGISTRY" > env.txt'
    p = make_project(f"stages:\n  s:\n    cmd: {cmd}\n    outs: [env.txt]\n", files={})
    p.artifacts = tmp_path / "shared-store"
    settings = p.settings()
    assert p.run().ok
    registry, artifacts, actor, run_registry = (p.root / "env.txt").read_text().strip().split("|")
    assert registry == run_registry == settings.registry and artifacts == str(tmp_path / "shared-store")
    assert actor == settings.actor


def test_an_unreachable_registry_stops_the_run_before_any_stage_trains(make_project: Callable[..., Project]) -> None:
    p = make_project("stages:\n  s:\n    cmd: touch trained.txt\n    outs: [trained.txt]\n", files={})
    p.registry = "postgresql://postgres@127.0.0.1:1/nothing"
    with pytest.raises(EnvironmentProblem) as info:
        p.run()
    assert info.value.exit_code == 3 and not (p.root / "trained.txt").exists()


def test_a_malformed_port_in_the_registry_url_is_a_configuration_error(make_project: Callable[..., Project]) -> None:
    p = make_project("stages:\n  s:\n    cmd: touch x\n    outs: [x]\n", files={})
    p.registry = "postgresql://user:s3cret@db.example:54x2/mlgate"
    with pytest.raises(ConfigError, match=r"'db\.example:54x2' hold no valid port") as info:
        p.run()
    assert info.value.exit_code == 2 and "s3cret" not in str(info.value)


def test_an_unreachable_ray_address_fails_fast_with_a_hint() -> None:
    from mlgate.pipeline.ray_executor import check_reachable, host_port

    t0 = time.monotonic()
    with pytest.raises(EnvironmentProblem, match=r"the Ray cluster at ray://127\.0\.0\.1:1 cannot be reached") as info:
        check_reachable("ray://127.0.0.1:1", timeout=2)
    assert time.monotonic() - t0 < 3 and "RAY_AUTH_MODE=token" in str(info.value.hint)
    assert host_port("10.0.0.5:6379") == ("10.0.0.5", 6379) and host_port("auto") is None
    with pytest.raises(ConfigError, match="names no host and port"):
        host_port("ray://head")


def test_a_port_that_accepts_but_stays_silent_is_not_a_ray_cluster() -> None:
    import socket

    from mlgate.pipeline.ray_executor import check_reachable

    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts (the kernel's backlog), never answers
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        t0 = time.monotonic()
        with pytest.raises(EnvironmentProblem, match="accepts connections but nothing answers as a Ray cluster"):
            check_reachable(address, timeout=1)
        assert time.monotonic() - t0 < 3, "ray.init would have waited minutes here"


def test_a_real_ray_cluster_passes_the_reachability_probe(ray_local: Any) -> None:
    from mlgate.pipeline.ray_executor import check_reachable

    check_reachable(ray_local.get_runtime_context().gcs_address, timeout=5)


def test_a_ray_task_gets_the_drivers_settings_not_the_workers(
    ray_local: object, make_project: Callable[..., Project], tmp_path: Path
) -> None:
    cmd = 'echo "$MLGATE_REGISTRY|$MLGATE_ARTIFACTS" > env.txt'
    p = make_project(f"executor: ray\nstages:\n  s:\n    cmd: {cmd}\n    outs: [env.txt]\n", files={})
    p.registry, p.artifacts = f"sqlite:///{tmp_path / 'team.db'}", tmp_path / "team-store"
    assert p.run().ok
    assert (p.root / "env.txt").read_text().strip() == f"sqlite:///{tmp_path / 'team.db'}|{tmp_path / 'team-store'}"


def test_an_unreachable_artifact_store_is_exit_3_not_a_failed_stage(
    aws_credentials: None, make_project: Callable[..., Project]
) -> None:
    pytest.importorskip("s3fs", reason="the S3 artifact store needs mlgate[s3]")
    from mlgate.config import load_settings
    from mlgate.pipeline import run

    p = make_project("stages:\n  s:\n    cmd: touch trained.txt\n    outs: [trained.txt]\n", files={})
    settings = load_settings(
        cwd=p.root, artifacts="s3://bucket/cache", environ={"MLGATE_S3_ENDPOINT_URL": "http://127.0.0.1:1"}
    )
    t0 = time.monotonic()
    with pytest.raises(EnvironmentProblem) as info:
        run(settings)
    assert info.value.exit_code == 3 and not (p.root / "trained.txt").exists()
    assert time.monotonic() - t0 < 60


def test_mlgate_run_on_an_unreachable_ray_cluster_exits_3_within_seconds(make_project: Callable[..., Project]) -> None:
    import os
    import subprocess

    pytest.importorskip("ray")
    p = make_project("executor: ray\nstages:\n  s:\n    cmd: touch trained.txt\n    outs: [trained.txt]\n", files={})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLGATE_", "RAY_"))}
    env["RAY_ADDRESS"] = "127.0.0.1:1"
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "mlgate", "run"], cwd=p.root, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "the Ray cluster at 127.0.0.1:1 cannot be reached" in proc.stderr and "Traceback" not in proc.stderr
    assert time.monotonic() - t0 < 60 and not (p.root / "trained.txt").exists()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_runners_missing_the_cache_at_once_compute_the_stage_once(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    import os
    import subprocess

    registry = request.getfixturevalue("postgres_url") if backend == "postgres" else f"sqlite:///{tmp_path / 'r.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLGATE_")}
    env.update(MLGATE_REGISTRY=registry, MLGATE_ARTIFACTS=str(tmp_path / "store"))
    cmd = f"sleep 1 && echo computed >> {tmp_path / 'computed.log'} && echo model > model.txt"
    procs = []
    for i in range(4):  # four CI runners: separate clones, one shared registry and artifact store
        root = tmp_path / f"runner{i}"
        root.mkdir()
        (root / "mlgate.yaml").write_text(f"stages:\n  train:\n    cmd: {cmd}\n    outs: [model.txt]\n")
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "mlgate", "run"], cwd=root, env=env, stdout=subprocess.PIPE, text=True
            )
        )
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stdout.read() if proc.stdout else ""
        if proc.stdout:
            proc.stdout.close()
    assert (tmp_path / "computed.log").read_text().splitlines() == ["computed"], "one runner trained, three restored"
    assert all((tmp_path / f"runner{i}" / "model.txt").read_text() == "model\n" for i in range(4))
