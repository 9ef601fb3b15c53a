"""A stage's command: the environment it runs with, running it (here or as a Ray task), what it left.

:func:`stage_environment` is what every stage process gets, locally or on a Ray worker: the registry,
artifacts, S3 endpoint and actor the driver resolved. :func:`run_stage_command` removes the declared
outputs (a stale file cannot pass for a new one), runs the command with its output in the stage's log,
and returns the model versions the command registered; a command that failed raises :class:`StageError`
with the last lines of its log (:func:`tail_of`, secrets masked).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.errors import MlgateError
from mlgate.pipeline.spec import Stage, check_real_path

if TYPE_CHECKING:
    from mlgate.config import Settings


LOG_TAIL = 15
LOG_LINE = 2000  # characters of one log-tail line that are shown


class StageError(MlgateError):
    """A stage could not produce its outputs (exit 1 through the run's result)."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None, log_tail: list[str] | None = None) -> None:
        super().__init__(message, hint=hint)
        self.log_tail = log_tail or []


def run_stage_command(
    stage: Stage,
    log: Path,
    *,
    root: Path,
    state: Path,
    env: dict[str, str],
    run_id: str,
    executor: str = "local",
    ray_address: str | None = None,
) -> list[dict[str, Any]]:
    """Run the stage's command; returns the model versions it registered (name, number, digest)."""
    for o in stage.outs:  # checked before anything is deleted: a symlink may have appeared since loading
        check_real_path(root, o.path, o.where, f"output of stage {stage.name!r}")
    for o in stage.outs:
        target = root / o.path
        if target.is_dir() and not target.is_symlink():
            import shutil

            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    if log.is_symlink():  # a link planted in .mlgate/ must not aim the log at a file elsewhere
        log.unlink()
    noted = state / "registered" / f"{run_id}-{stage.name}.jsonl"
    noted.unlink(missing_ok=True)
    env = {**env, "MLGATE_REGISTERED_FILE": str(noted)}
    if executor == "ray":
        from mlgate.pipeline.ray_executor import run_command

        returncode = run_command(stage.cmd, root, env, log, address=ray_address)
    else:
        returncode = _run_local(stage.cmd, root, env, log)
    registered = _read_registered(noted)
    if returncode == 0:
        return registered
    tail = tail_of(log)
    if returncode == 127:
        raise StageError(
            f"stage {stage.name!r}: the command was not found: {stage.cmd!r} ({stage.where})",
            hint="check the program name in 'cmd' and that it is installed and on PATH",
            log_tail=tail,
        )
    how = f"was killed by signal {-returncode}" if returncode < 0 else f"exited with {returncode}"
    raise StageError(
        f"stage {stage.name!r} failed: `{stage.cmd}` {how}; its outputs were not cached",
        hint=f"the full log is {log}",
        log_tail=tail,
    )


def stage_environment(settings: Settings, run_id: str) -> dict[str, str]:
    """What every stage process gets, locally or on a Ray worker: the settings this run resolved.

    Flags and the driver's ``MLGATE_*`` variables beat ``mlgate.yaml``; without them here a stage would
    read ``mlgate.yaml`` again and register its model somewhere else than the run records to.
    ``MLGATE_RUN_REGISTRY`` makes a registration into any other registry fail loudly.
    """
    env = {
        "MLGATE_RUN_ID": run_id,
        "MLGATE_REGISTRY": settings.registry,
        "MLGATE_RUN_REGISTRY": settings.registry,
        "MLGATE_ARTIFACTS": settings.artifacts,
        "MLGATE_ACTOR": settings.actor,
        "MLGATE_SQLITE_BUSY_TIMEOUT": str(settings.sqlite_busy_timeout),
    }
    if settings.config_path is not None:
        env["MLGATE_CONFIG"] = str(settings.config_path)
    if settings.s3_endpoint_url:
        env["MLGATE_S3_ENDPOINT_URL"] = settings.s3_endpoint_url
    return env


def _read_registered(path: Path) -> list[dict[str, Any]]:
    """The versions a stage's command registered, as ``Registry.register`` noted them."""
    import json

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    finally:
        path.unlink(missing_ok=True)
    out = []
    for line in lines:
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict) and {"name", "number", "digest"} <= item.keys():
            out.append({"name": str(item["name"]), "number": int(item["number"]), "digest": str(item["digest"])})
    return out


def _run_local(cmd: str, root: Path, env: dict[str, str], log: Path) -> int:
    """Run a stage's command in the project root with ``/bin/sh``; its output goes to ``log``."""
    import subprocess

    # the child inherits this process's environment plus the run's variables (MLGATE_RUN_ID, smoke)
    with open(log, "wb") as fh:
        proc = subprocess.run(
            cmd, shell=True, cwd=root, env={**os.environ, **env}, stdout=fh, stderr=subprocess.STDOUT, check=False
        )
    return proc.returncode


def tail_of(log: Path, n: int = LOG_TAIL) -> list[str]:
    """The last ``n`` lines of a stage's log, secrets masked and each cut at ``LOG_LINE`` characters."""
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    from mlgate.redact import redact

    # the tail is printed and lands in CI logs; the stage had the registry URL in its environment. A line
    # is cut at LOG_LINE characters: one huge line would take minutes to lay out in a terminal
    return [
        redact(line if len(line) <= LOG_LINE else f"{line[:LOG_LINE]}… ({len(line):,} characters)")
        for line in lines[-n:]
    ]
