"""Real processes: kill -9 in the middle of a stage leaves nothing cached, and two runs in one project wait
for each other, the waiter naming the holder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from mlgate.errors import EnvironmentProblem
from mlgate.pipeline.cache import RunCache
from mlgate.pipeline.lock import read_lock

from .conftest import Project, outcomes

# writes half its output, says so, then waits while the file `hold` exists
SLOW = """\
stages:
  slow:
    cmd:
      - echo slow >> ran.log
      - echo partial > out.txt
      - touch started
      - while [ -e hold ]; do sleep 0.05; done
      - echo done >> out.txt
    outs: [out.txt]
"""


def _start(root: Path, *args: str) -> subprocess.Popen[bytes]:
    with open(root.parent / "mlgate-output.txt", "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "mlgate", "run", *args],
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so the test can kill mlgate and the stage together
        )


def _wait_for(path: Path, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            out = (path.parent.parent / "mlgate-output.txt").read_text()
            pytest.fail(f"mlgate run exited early ({proc.returncode}): {out}")
        if time.monotonic() > deadline:
            pytest.fail(f"{path} never appeared")
        time.sleep(0.05)


def test_kill_9_mid_stage_leaves_no_cached_partial_output(make_project: Callable[..., Project]) -> None:
    p = make_project(SLOW, files={"hold": ""}, params=None)
    proc = _start(p.root)
    _wait_for(p.root / "started", proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert (p.root / "out.txt").read_text() == "partial\n"  # the partial file is there ...
    assert list(RunCache(p.settings().artifacts).entries.list()) == []  # ... but nothing was cached
    assert read_lock(p.root) == {}
    assert p.status()[0].stale
    (p.root / "hold").unlink()
    p.ran()
    result = p.run()
    assert outcomes(result) == {"slow": "ran"}  # the next run runs it again, it is not taken from a cache
    assert p.ran() == ["slow"]
    assert (p.root / "out.txt").read_text() == "partial\ndone\n"


@pytest.mark.parametrize("jobs", ["1", "2"])  # a serial run and one through the thread pool
def test_ctrl_c_mid_stage_exits_130_and_caches_nothing(make_project: Callable[..., Project], jobs: str) -> None:
    p = make_project(SLOW, files={"hold": ""}, params=None)
    proc = _start(p.root, "--jobs", jobs)
    _wait_for(p.root / "started", proc)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal sends to the whole foreground group
    assert proc.wait(timeout=60) == 130
    said = (p.root.parent / "mlgate-output.txt").read_text()
    assert "interrupted" in said and "Traceback" not in said
    assert list(RunCache(p.settings().artifacts).entries.list()) == []
    assert read_lock(p.root) == {} and p.status()[0].stale
    (p.root / "hold").unlink()
    assert outcomes(p.run()) == {"slow": "ran"}  # the project lock was released


def test_two_runs_wait_for_each_other_and_name_the_holder(make_project: Callable[..., Project]) -> None:
    p = make_project(SLOW, files={"hold": ""}, params=None)
    proc = _start(p.root)
    try:
        _wait_for(p.root / "started", proc)
        waits: list[str] = []
        with pytest.raises(
            EnvironmentProblem, match=rf"another `mlgate run` holds the project lock .*pid {proc.pid} on"
        ):
            p.run(lock_timeout=0.3, on_event=lambda kind, who: waits.append(str(who)) if kind == "wait" else None)
        assert waits and f"pid {proc.pid}" in waits[0]

        # a second run with a long enough timeout waits, then finds the stage already done
        results = []
        waiter = threading.Thread(target=lambda: results.append(p.run(lock_timeout=60)))
        waiter.start()
        time.sleep(0.3)
        assert waiter.is_alive()  # still waiting on the lock
        (p.root / "hold").unlink()
        assert proc.wait(timeout=60) == 0
        waiter.join(timeout=60)
        assert outcomes(results[0]) == {"slow": "cached"}
        assert p.ran() == ["slow"]  # the command ran once, in the first process
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
