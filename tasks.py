#!/usr/bin/env python3
"""Project tasks with nothing but Python and pip: ``python3 tasks.py quickstart`` or ``python3 tasks.py test``.

Each task creates ``.venv`` when missing, installs what it needs (reinstalling only when
pyproject.toml changed), then runs. Extra arguments after ``test`` go to pytest.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"

# The main job needs the core and the small serving stack; the test suite installs every extra it exercises.
# torch is pinned to the CPU build this project tests against.
PROFILES = {
    "core": ["-e", ".[serve]"],  # core + the small serving stack, so the quickstart can serve
    "test": ["-e", ".[dev,torch,ray,bench]", "torch==2.13.0"],
}


def ensure_venv() -> None:
    """Create .venv with pip if it is not there."""
    if not PY.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)


def install(profile: str) -> None:
    """Install a profile unless the same pyproject.toml was installed for it already."""
    ensure_venv()
    stamp = VENV / f".installed-{profile}"
    key = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + " ".join(PROFILES[profile]).encode()).hexdigest()
    if stamp.exists() and stamp.read_text() == key:
        return
    print(f"installing the {profile} dependencies into {VENV} (first run takes a minute or two)", flush=True)
    cmd = [str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q", *PROFILES[profile]]
    subprocess.run(cmd, cwd=ROOT, check=True)
    stamp.write_text(key)


def run(*args: str) -> int:
    """Run a command from the virtual environment, returning its exit code."""
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env.pop("PYTHONPATH", None)
    return subprocess.run(list(args), cwd=ROOT, env=env).returncode


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("quickstart", "test", "setup", "lint"):
        print(__doc__)
        print("tasks: quickstart [DIR] · test [PYTEST ARGS] · setup · lint")
        return 2
    task, rest = argv[0], argv[1:]
    if task == "quickstart":
        install("core")
        return run(str(BIN / "mlgate"), "quickstart", *rest)
    install("test")
    if task == "setup":
        return 0
    if task == "lint":
        return (
            run(str(BIN / "ruff"), "check", ".")
            or run(str(BIN / "ruff"), "format", "--check", ".")
            or run(str(BIN / "lint-imports"))
            or run(str(BIN / "mypy"))
        )
    return run(str(PY), "-m", "pytest", *(rest or ["-q"]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
