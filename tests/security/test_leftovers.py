"""Leftovers of killed processes: ``mlgate gc`` finds and sweeps them, under the same ``--min-age`` guard.

Real processes are killed with ``kill -9`` mid-way: a registration (``log_model``) stopped at a
failpoint, and a blob writer blocked on a pipe halfway through its copy.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlgate.registry.blobs import LocalBlobStore
from mlgate.registry.store import Registry

REGISTER = """
import sys
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression
import mlgate
from mlgate.registry.store import Registry
X, y = load_breast_cancer(return_X_y=True, as_frame=True)
model = LogisticRegression(max_iter=200).fit(X, y)
mlgate.log_model(model, "fraud", sample_input=X.head(5), registry=Registry(sys.argv[1], artifacts=sys.argv[2]))
"""

# put_file copies from a named pipe that never ends: the writer sits inside the copy, its .tmp- file open
WRITE = """
import sys
from pathlib import Path
from mlgate.registry.blobs import LocalBlobStore
LocalBlobStore(sys.argv[1]).put_file("blake3:" + "ab" * 32, Path(sys.argv[2]))
"""


def _wait(condition, proc: subprocess.Popen[bytes], what: str, timeout: float = 120) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert proc.poll() is None, f"the process died before {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _gc(root: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlgate", "gc", *args], cwd=root, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A project folder and the environment its commands run with: a private temporary directory."""
    root = tmp_path / "p"
    root.mkdir()
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLGATE_")}
    env |= {
        "TMPDIR": str(temp),
        "MLGATE_REGISTRY": f"sqlite:///{tmp_path / 'registry.db'}",
        "MLGATE_ARTIFACTS": str(tmp_path / "artifacts"),
    }
    with Registry(env["MLGATE_REGISTRY"], artifacts=env["MLGATE_ARTIFACTS"]) as reg:
        _ = reg.engine  # the registry exists, as after `mlgate init`: gc never runs against a missing one
    return root, env


def test_a_killed_registration_leaves_a_folder_that_gc_sweeps(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    temp = Path(env["TMPDIR"])
    marker = temp.parent / "marker"
    env_kill = env | {"MLGATE_FAILPOINTS": "register.after_blobs=pause", "MLGATE_FAILPOINT_MARKER": str(marker)}
    proc = subprocess.Popen(
        [sys.executable, "-c", REGISTER, env["MLGATE_REGISTRY"], env["MLGATE_ARTIFACTS"]], cwd=root, env=env_kill
    )
    _wait(marker.exists, proc, "the failpoint")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    (left,) = temp.glob("mlgate-log-*")
    assert any(left.rglob("*")), "the saved model files are still there"

    young = _gc(root, env, "--yes")  # default --min-age 1h: a registration this recent may still be running
    assert young.returncode == 0, young.stderr
    assert left.is_dir()
    listed = json.loads(_gc(root, env, "--min-age", "0", "--json").stdout)
    assert [item["kind"] for item in listed["leftovers"]] == ["registration folder"]
    assert listed["leftovers"][0]["path"] == str(left) and left.is_dir()  # listed, not deleted

    swept = _gc(root, env, "--yes", "--min-age", "0")
    assert swept.returncode == 0, swept.stderr
    assert "registration folder" in swept.stdout and "deleted 1 of them" in swept.stdout
    assert not left.exists()
    assert "no temporary files left by killed processes" in _gc(root, env, "--min-age", "0").stdout


def test_a_killed_blob_write_leaves_a_temp_file_that_gc_sweeps(project: tuple[Path, dict[str, str]]) -> None:
    root, env = project
    store = Path(env["MLGATE_ARTIFACTS"])
    fifo = root.parent / "pipe"
    os.mkfifo(fifo)
    proc = subprocess.Popen([sys.executable, "-c", WRITE, str(store), str(fifo)], env=env)
    with open(fifo, "wb") as feed:
        feed.write(b"half of a blob" * 1000)
        feed.flush()
        _wait(lambda: any((store / "blobs").glob("*/.tmp-*")), proc, "the temporary file")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    (tmp,) = (store / "blobs").glob("*/.tmp-*")

    assert _gc(root, env, "--yes").returncode == 0  # younger than the default hour: kept
    assert tmp.exists()
    old = time.time() - 2 * 3600
    os.utime(tmp, (old, old))
    listed = _gc(root, env)
    assert "temporary blob" in listed.stdout and "nothing deleted" in listed.stdout and tmp.exists()
    swept = _gc(root, env, "--yes")
    assert swept.returncode == 0 and "deleted 1 of them" in swept.stdout
    assert not tmp.exists()


def test_the_run_cache_temp_files_are_swept_and_a_live_write_is_kept(tmp_path: Path) -> None:
    artifacts = tmp_path / "artifacts"
    reg = Registry(f"sqlite:///{tmp_path / 'r.db'}", artifacts=str(artifacts))
    cache_store = LocalBlobStore(artifacts / "pipeline")
    stale = artifacts / "pipeline" / "blobs" / "ab" / ".tmp-dead"
    live = artifacts / "blobs" / "cd" / ".tmp-live"
    for path in (stale, live):
        path.parent.mkdir(parents=True)
        path.write_bytes(b"x" * 10)
    old = time.time() - 7200
    os.utime(stale, (old, old))
    result = reg.gc(delete=True, min_age_s=3600, extra_stores=[cache_store])
    assert [(item.kind, item.path, item.size) for item in result.leftovers] == [("temporary blob", str(stale), 10)]
    assert result.removed_leftovers == [str(stale)]
    assert not stale.exists() and live.exists()
    reg.close()


def test_a_killed_cache_restore_leaves_a_copy_beside_its_output_that_gc_sweeps(
    project: tuple[Path, dict[str, str]],
) -> None:
    from mlgate.registry.leftovers import RESTORE_PREFIX

    root, env = project
    (root / "mlgate.yaml").write_text("stages:\n  prep:\n    cmd: echo\n    outs: [data/clean]\n", encoding="utf-8")
    data = root / "data"
    (data / "clean").mkdir(parents=True)
    (data / "clean" / "part.csv").write_text("a\n1\n")
    old = data / f"{RESTORE_PREFIX}1a2b3c4d"  # what `RunCache.restore` writes before its rename
    (old / "nested").mkdir(parents=True)
    (old / "nested" / "part.csv").write_text("a\n1\n")
    young = data / f"{RESTORE_PREFIX}5e6f7a8b"
    young.write_text("half a file")
    hour_ago = time.time() - 7200
    for path in (old / "nested" / "part.csv", old / "nested", old):
        os.utime(path, (hour_ago, hour_ago))

    listed = json.loads(_gc(root, env, "--json").stdout)
    assert [(item["kind"], Path(item["path"]).name) for item in listed["leftovers"]] == [("restore copy", old.name)], (
        "the young copy may belong to a restore that is still running"
    )
    swept = _gc(root, env, "--yes")
    assert swept.returncode == 0, swept.stderr
    assert not old.exists() and young.exists()
    assert (data / "clean" / "part.csv").read_text() == "a\n1\n", "the output itself is untouched"
