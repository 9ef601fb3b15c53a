"""Where a model came from: git state, data digests, parameters, and the environment it was built in."""

from __future__ import annotations

import functools
import json
import platform
import subprocess
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlgate.errors import ConfigError, InputError, NotFoundError
from mlgate.hashing import digest_bytes, digest_json, digest_path


def _git(root: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=root, capture_output=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return out.decode("utf-8", "replace")


def git_state(root: Path) -> dict[str, Any] | None:
    """Commit, branch, dirty flag and (when dirty) a digest of the diff; None outside a repository."""
    commit = _git(root, "rev-parse", "HEAD")
    if commit is None:
        return None
    status = _git(root, "status", "--porcelain", "--untracked-files=no") or ""
    dirty = bool(status.strip())
    state: dict[str, Any] = {
        "commit": commit.strip(),
        "branch": (_git(root, "rev-parse", "--abbrev-ref", "HEAD") or "").strip() or None,
        "dirty": dirty,
    }
    if dirty:
        diff = _git(root, "diff", "HEAD") or ""
        state["diff_digest"] = digest_bytes(diff.encode())
    remote = _git(root, "config", "--get", "remote.origin.url")
    if remote and remote.strip():
        from mlgate.redact import mask_url

        # GitLab runners clone from https://gitlab-ci-token:<job token>@…: the token must not be stored
        state["remote"] = mask_url(remote.strip())
    return state


def load_params(params: Mapping[str, Any] | str | Path | None, root: Path) -> tuple[dict[str, Any] | None, str | None]:
    """Params from a dict or a YAML/JSON file; returns ``(params, digest)``."""
    if params is None:
        return None, None
    if isinstance(params, Mapping):
        values = dict(params)
    else:
        path = Path(params)
        path = path if path.is_absolute() else root / path
        if not path.is_file():
            raise NotFoundError(f"params file {path} does not exist")
        text = path.read_text(encoding="utf-8")
        try:
            if path.suffix == ".json":
                values = json.loads(text)
            else:
                from mlgate.config import _yaml_with_lines

                # the same checks as mlgate.yaml: an alias bomb here would hang the digest below
                values = _yaml_with_lines(path)[0]
        except ConfigError:
            raise
        except (ValueError, Exception) as exc:
            raise InputError(f"params file {path} cannot be parsed: {exc}") from exc
        if not isinstance(values, dict):
            raise InputError(f"params file {path} must hold a mapping of names to values")
    try:
        return values, digest_json(values)
    except TypeError as exc:
        raise InputError(f"params must be JSON-serialisable: {exc}") from exc


def data_digests(data: Sequence[str | Path] | str | Path | None, root: Path) -> dict[str, str]:
    """``{path as given: digest}`` for each data file or folder."""
    if data is None:
        return {}
    items = [data] if isinstance(data, str | Path) else list(data)
    out: dict[str, str] = {}
    for item in items:
        p = Path(item)
        full = p if p.is_absolute() else root / p
        if not full.exists():
            raise NotFoundError(f"data path {full} does not exist", hint="give files or folders that exist")
        out[str(item)] = digest_path(full)
    return out


@functools.cache
def distributions() -> dict[str, str]:
    """Every installed distribution and its version: the environment's full lock."""
    from importlib.metadata import distributions as dists

    out: dict[str, str] = {}
    for d in dists():
        names = d.metadata.get_all("Name")  # a broken install may have none
        if names and names[0]:
            out[_canon(names[0])] = d.version
    return dict(sorted(out.items()))


def _canon(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def environment(packages: Sequence[str] = ()) -> dict[str, Any]:
    """Python, platform, the flavor's packages and the full lock of installed distributions."""
    lock = distributions()
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "packages": {p: lock.get(_canon(p)) for p in packages},
        "distributions": lock,
        "executable": sys.executable,
    }


def effective_params(
    params: Mapping[str, Any] | str | Path | None, stage_env: Mapping[str, str]
) -> Mapping[str, Any] | str | Path | None:
    """The params a stage really ran with: in a smoke run, a params file stands for the merged smoke params.

    ``mlgate run --smoke`` writes ``params.yaml`` with its ``smoke:`` overrides merged in and hands its path
    over as ``MLGATE_PARAMS_FILE``. A script that passes ``params="params.yaml"`` (or any other file name)
    trained with the merged values if it read that variable, and lineage must not claim the full ones.
    Values passed as a mapping are what the script says it used, and are kept.
    """
    smoke_file = stage_env.get("MLGATE_PARAMS_FILE")
    if stage_env.get("MLGATE_SMOKE") == "1" and smoke_file and isinstance(params, str | Path):
        return Path(smoke_file)
    return params


def lineage(
    *,
    root: Path,
    data: Sequence[str | Path] | str | Path | None = None,
    params: Mapping[str, Any] | str | Path | None = None,
    run_id: str | None = None,
    user: str = "unknown",
    stage_env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Everything needed to say how a version was produced; ``stage_env`` is the stage's (Settings.stage_env)."""
    stage_env = stage_env or {}
    values, params_digest = load_params(effective_params(params, stage_env), root)
    out: dict[str, Any] = {
        "git": git_state(root),
        "data": data_digests(data, root),
        "params": values,
        "params_digest": params_digest,
        "run_id": run_id,
        "user": user,
        "time": datetime.now(UTC).isoformat(),
    }
    if stage_env.get("MLGATE_SMOKE") == "1":
        out["smoke"] = True
    return out
