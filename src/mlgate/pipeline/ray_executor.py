"""``executor: ray``: each stage's command runs as a Ray task, with the local executor's cache semantics.

Only the execution moves: the driver still checks staleness, restores from the run cache, removes stale
outputs before the command, verifies the declared outputs afterwards and stores them. The task runs the
command with ``/bin/sh`` in the project folder, so the folder must be reachable at the same path on the
node that runs it: always true on a local Ray; on a cluster, put the project on a shared file system.
The address comes from ``ray_address`` in ``mlgate.yaml`` or ``RAY_ADDRESS``; without one a local Ray is
started (or the one this process already initialised is reused). An address is tried first
(``CONNECT_TIMEOUT_S``): a TCP connection, then an HTTP/2 preface that a gRPC server answers at once.
``ray.init`` against an address nothing answers, or a port that accepts and stays silent, waits for
minutes and ignores Ctrl-C, so an unreachable cluster is an environment error (exit 3) within seconds.
Every task gets the run's settings in its environment (``runner.stage_environment``), never the worker's own.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from mlgate.errors import EnvironmentProblem, MissingDependency

CONNECT_TIMEOUT_S = 5.0
# an HTTP/2 client preface and an empty SETTINGS frame: what a gRPC client sends first
_HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
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


def host_port(address: str) -> tuple[str, int] | None:
    """``(host, port)`` of a Ray address (``ray://host:10001``, ``host:6379``); None for ``auto``/``local``."""
    from urllib.parse import urlsplit

    if address in ("auto", "local"):
        return None
    parts = urlsplit(address if "://" in address else f"ray://{address}")
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None:
        from mlgate.errors import ConfigError

        raise ConfigError(
            f"Ray address {address!r} names no host and port",
            hint="use ray://HOST:10001 (Ray Client) or HOST:6379 (the head node's GCS), e.g. in RAY_ADDRESS",
        )
    return parts.hostname, port


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Raise EnvironmentProblem (exit 3) unless something accepts a TCP connection at the Ray address."""
    import socket

    target = host_port(address)
    if target is None:
        return
    hint = (
        "check RAY_ADDRESS or ray_address in mlgate.yaml and that the head node is up (`ray status` "
        "there); a cluster started with token authentication also needs RAY_AUTH_MODE=token and its "
        "token here; or run the stages here with --executor local"
    )
    try:
        with socket.create_connection(target, timeout=timeout) as conn:
            # Ray speaks gRPC (HTTP/2), whose server answers a client preface with its SETTINGS at once. A port
            # that accepts and then says nothing (another service, a stuck proxy) would hold ray.init for minutes.
            conn.sendall(_HTTP2_PREFACE)
            conn.recv(1)  # any answer, or a close (TLS), leaves the verdict to ray.init
    except TimeoutError:
        raise EnvironmentProblem(
            f"the Ray cluster at {address} cannot be reached: the port accepts connections but nothing answers "
            f"as a Ray cluster would within {timeout:g} s",
            hint=hint,
        ) from None
    except OSError as exc:
        raise EnvironmentProblem(
            f"the Ray cluster at {address} cannot be reached ({exc.strerror or type(exc).__name__} within "
            f"{timeout:g} s)",
            hint=hint,
        ) from None


def connect(address: str | None) -> Any:
    """The ``ray`` module, initialised: connected to ``address``, or reusing or starting a local Ray."""
    try:
        import ray
    except ImportError as exc:
        raise MissingDependency("ray", "ray", "running stages with --executor ray") from exc
    with _REMOTE_LOCK:
        if not ray.is_initialized():
            if address:
                check_reachable(address)
                try:
                    ray.init(address=address, log_to_driver=False)
                except (ConnectionError, RuntimeError, TimeoutError) as exc:
                    # Ray reports a refused token only in its log lines; its exception just says it failed
                    auth = "auth" in str(exc).lower() or "token" in str(exc).lower()
                    raise EnvironmentProblem(
                        f"could not connect to the Ray cluster at {address}: {exc}",
                        hint="the cluster uses token authentication: set RAY_AUTH_MODE=token and its token"
                        if auth
                        else "check the address and that the cluster's Ray version matches this one (`ray status`); "
                        "a cluster with token authentication also needs RAY_AUTH_MODE=token (and its token)",
                    ) from exc
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
