"""``executor: ray``: each stage's command runs as a Ray task, with the local executor's cache semantics.

Only the execution moves: the driver still checks staleness, restores from the run cache, removes stale
outputs before the command, verifies the declared outputs afterwards and stores them. The task runs the
command with ``/bin/sh`` in the project folder, so the folder must be reachable at the same path on the
node that runs it: always true on a local Ray; on a cluster, put the project on a shared file system.
The address comes from ``ray_address`` in ``mlgate.yaml`` or ``RAY_ADDRESS``; without one a local Ray is
started (or the one this process already initialised is reused).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from mlgate.errors import EnvironmentProblem, MissingDependency

_REMOTE: dict[str, Any] = {}
_REMOTE_LOCK = threading.Lock()


def _shell(cmd: str, cwd: str, extra_env: dict[str, str]) -> tuple[int, bytes]:
    """Runs inside the Ray worker: the command, its exit code and its combined output."""
    import os
    import subprocess

    proc = subprocess.run(
        cmd,
        shell=True,
        cwd=cwd,
        env={**os.environ, **extra_env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        check=False,
    )
    return proc.returncode, proc.stdout


def connect(address: str | None) -> Any:
    """The ``ray`` module, initialised: connected to ``address``, or reusing or starting a local Ray."""
    try:
        import ray
    except ImportError as exc:
        raise MissingDependency("ray", "ray", "running stages with --executor ray") from exc
    with _REMOTE_LOCK:
        if not ray.is_initialized():
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                # "local" starts a Ray here even when RAY_ADDRESS is set: mlgate's settings choose the address
                ray.init(address="local", include_dashboard=False, log_to_driver=False)
        if "shell" not in _REMOTE:
            # one CPU per stage; a stage that needs more can use Ray from inside its own command
            _REMOTE["shell"] = ray.remote(num_cpus=1, max_retries=0)(_shell)
    return ray


def run_command(cmd: str, root: Path, env: dict[str, str], log: Path, *, address: str | None = None) -> int:
    """Run ``cmd`` as a Ray task in ``root``; its output goes to ``log``; returns its exit code."""
    ray = connect(address)
    ref = _REMOTE["shell"].remote(cmd, str(root), env)
    try:
        returncode, output = ray.get(ref)
    except BaseException as exc:
        ray.cancel(ref, force=True)  # Ctrl-C or a lost worker: stop the command, cache nothing
        if isinstance(exc, ray.exceptions.RayError):
            raise EnvironmentProblem(
                f"the Ray task running `{cmd}` failed: {type(exc).__name__}: {exc}",
                hint="check the Ray cluster (`ray status`), or run with --executor local",
            ) from exc
        raise
    log.write_bytes(output)
    return int(returncode)
