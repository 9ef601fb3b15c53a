"""Invariants under concurrency and crashes, with real processes on SQLite and PostgreSQL.

8 processes registering at once; two promotions racing on the same --expect; ``kill -9`` between
blobs and commit and inside the open transaction; a SQLite database locked past the busy timeout.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlgate.errors import ConflictError, EnvironmentProblem, NotFoundError
from mlgate.registry.store import Registry

SIG = {"inputs": {"type": "columns", "columns": [{"name": "a", "dtype": "float64"}]}, "outputs": {}}
WORKERS = 8
PER_WORKER = 4


def _worker(url: str, artifacts: str, worker: int, barrier, out) -> None:  # type: ignore[no-untyped-def]
    import tempfile

    reg = Registry(url, artifacts=artifacts)
    barrier.wait(timeout=60)
    numbers = []
    for i in range(PER_WORKER):
        folder = Path(tempfile.mkdtemp())
        (folder / "m.bin").write_text(f"worker {worker} model {i}")
        numbers.append(reg.register("fraud", folder, flavor="test", signature=SIG).number)
    out.put((worker, numbers))


def test_eight_processes_register_at_once(registry_url, tmp_path):
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(WORKERS)
    out = ctx.Queue()
    artifacts = str(tmp_path / "artifacts")
    procs = [ctx.Process(target=_worker, args=(registry_url, artifacts, w, barrier, out)) for w in range(WORKERS)]
    for p in procs:
        p.start()
    results = dict(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    numbers = sorted(n for ns in results.values() for n in ns)
    assert numbers == list(range(1, WORKERS * PER_WORKER + 1)), "no duplicate numbers, none lost"
    reg = Registry(registry_url, artifacts=artifacts)
    stored = reg.versions("fraud")
    assert len(stored) == WORKERS * PER_WORKER
    assert len({v.digest for v in stored}) == WORKERS * PER_WORKER
    for v in stored[:3]:
        reg.verify(v.ref)


def _promote(url: str, artifacts: str, target: int, barrier, out) -> None:  # type: ignore[no-untyped-def]
    reg = Registry(url, artifacts=artifacts)
    reg.get("fraud:1")
    barrier.wait(timeout=60)
    try:
        reg.set_alias("fraud", "production", target, expect=1)
        out.put((target, "won"))
    except ConflictError as exc:
        out.put((target, f"conflict: {exc.message}"))


def _seed(url: str, artifacts: str, tmp_path: Path, n: int) -> Registry:
    reg = Registry(url, artifacts=artifacts)
    for i in range(n):
        folder = tmp_path / f"seed{i}"
        folder.mkdir()
        (folder / "m.bin").write_text(f"seed {i}")
        reg.register("fraud", folder, flavor="test", signature=SIG)
    reg.set_alias("fraud", "production", 1)
    return reg


@pytest.mark.parametrize("round_", range(3))
def test_two_promotions_with_the_same_expect_exactly_one_wins(registry_url, tmp_path, round_):
    artifacts = str(tmp_path / "artifacts")
    reg = _seed(registry_url, artifacts, tmp_path, 3)
    ctx = mp.get_context("spawn")
    barrier, out = ctx.Barrier(2), ctx.Queue()
    procs = [ctx.Process(target=_promote, args=(registry_url, artifacts, t, barrier, out)) for t in (2, 3)]
    for p in procs:
        p.start()
    results = dict(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=60)
    winners = [t for t, r in results.items() if r == "won"]
    assert len(winners) == 1, results
    loser = ({2, 3} - set(winners)).pop()
    assert results[loser].startswith("conflict: fraud@production")
    assert reg.get("fraud@production").number == winners[0]
    assert [(e.from_number, e.to_number) for e in reg.history("fraud", "production")] == [
        (None, 1),
        (1, winners[0]),
    ]


def _cli(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "mlgate", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_cli_promotions_race_one_exits_0_the_other_1(registry_url, tmp_path):
    artifacts = str(tmp_path / "artifacts")
    _seed(registry_url, artifacts, tmp_path, 3)
    env = dict(os.environ, MLGATE_REGISTRY=registry_url, MLGATE_ARTIFACTS=artifacts)
    procs = [
        _cli(["promote", f"fraud:{n}", "--to", "production", "--expect", "1", "--force", "--reason", "race"], env)
        for n in (2, 3)
    ]
    outcomes = []
    for p in procs:
        _, err = p.communicate(timeout=120)
        outcomes.append((p.returncode, err))
    codes = sorted(code for code, _ in outcomes)
    assert codes == [0, 1], outcomes
    loser_err = next(err for code, err in outcomes if code == 1)
    assert "someone moved it first" in loser_err or "at the same time" in loser_err
    assert "Traceback" not in loser_err


KILL_SCRIPT = """
import sys
from pathlib import Path
from mlgate.registry.store import Registry
folder = Path(sys.argv[3])
folder.mkdir()
(folder / "weights.bin").write_bytes(b"w" * 100000)
(folder / "config.json").write_text("{}")
Registry(sys.argv[1], artifacts=sys.argv[2]).register("fraud", folder, flavor="test", signature={})
"""


@pytest.mark.parametrize("failpoint", ["register.after_blobs", "register.before_commit"])
def test_kill_9_during_registration_leaves_no_visible_version(registry_url, tmp_path, failpoint):
    artifacts = str(tmp_path / "artifacts")
    reg = Registry(registry_url, artifacts=artifacts)
    reg.engine  # noqa: B018 - create the schema before the crash
    marker = tmp_path / "marker"
    env = dict(os.environ, MLGATE_FAILPOINTS=f"{failpoint}=pause", MLGATE_FAILPOINT_MARKER=str(marker))
    proc = subprocess.Popen(
        [sys.executable, "-c", KILL_SCRIPT, registry_url, artifacts, str(tmp_path / "model")], env=env
    )
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None, "the registering process died before reaching the failpoint"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    with pytest.raises(NotFoundError):
        reg.get("fraud:1")
    orphans = reg.gc()
    assert len(orphans.orphans) == 2, "both blobs were written and nothing references them"
    assert len(reg.gc(delete=True, min_age_s=0).deleted) == 2
    folder = tmp_path / "again"
    folder.mkdir()
    (folder / "m.bin").write_text("after the crash")
    assert reg.register("fraud", folder, flavor="test", signature={}).number >= 1


def test_locked_sqlite_database_is_a_clear_environment_error(tmp_path, monkeypatch):
    db = tmp_path / "locked.db"
    url = f"sqlite:///{db}"
    Registry(url, artifacts=str(tmp_path / "a")).engine  # noqa: B018
    monkeypatch.setenv("MLGATE_SQLITE_BUSY_TIMEOUT", "0.2")
    locker = sqlite3.connect(db, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        folder = tmp_path / "m"
        folder.mkdir()
        (folder / "m.bin").write_text("x")
        reg = Registry(url, artifacts=str(tmp_path / "a"))
        started = time.monotonic()
        with pytest.raises(EnvironmentProblem, match="locked by another process") as info:
            reg.register("fraud", folder, flavor="test", signature={})
        assert time.monotonic() - started < 10
        assert info.value.exit_code == 3
        assert "sqlite_busy_timeout" in (info.value.hint or "")
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert reg.register("fraud", folder, flavor="test", signature={}).number == 1


@pytest.mark.parametrize(
    ("url", "exc_name", "match"),
    [
        (
            "postgresql://postgres@127.0.0.1:1/nowhere",
            "EnvironmentProblem",
            "cannot use the registry database",
        ),
        ("mysql://root@localhost/x", "ConfigError", "unsupported scheme 'mysql'"),
        ("postgresql://", "ConfigError", "names no host or database"),
        ("sqlite://", "ConfigError", "names no database file"),
        ("https://registry.example.com", "ConfigError", "remote HTTP registry is not supported yet"),
    ],
)
def test_unreachable_or_malformed_registry_urls(tmp_path, url, exc_name, match):
    import mlgate.errors as errors

    with pytest.raises(getattr(errors, exc_name), match=match):
        Registry(url, artifacts=str(tmp_path / "a")).get("fraud")


def test_sigterm_free_registry_survives_killed_reader(tmp_path):
    """A reader killed mid-connection leaves the SQLite file usable (WAL recovery)."""
    url = f"sqlite:///{tmp_path / 'r.db'}"
    reg = _seed(url, str(tmp_path / "a"), tmp_path, 1)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys,time\nfrom mlgate.registry.store import Registry\n"
            "r=Registry(sys.argv[1], artifacts=sys.argv[2])\nwhile True: r.get('fraud@production')",
            url,
            str(tmp_path / "a"),
        ]
    )
    time.sleep(1.5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert reg.get("fraud@production").number == 1
