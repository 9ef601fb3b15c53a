"""The command tree (cli/app.py): every command has help, help stays light, global options reach settings."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.unit.cli.conftest import Result

Cli = Callable[..., Result]

HEAVY = ("numpy", "pandas", "polars", "sklearn", "scipy", "sqlalchemy", "matplotlib", "pyarrow", "starlette")

# In a fresh interpreter: --help of the root, every group and every command, then what got imported.
PROBE = """
import contextlib, io, json, sys
import typer.main
from mlgate.cli import main
from mlgate.cli.app import app

def paths(cmd, prefix):
    yield prefix
    if hasattr(cmd, "commands"):  # a group (Typer may vendor its own Click)
        for name, sub in cmd.commands.items():
            yield from paths(sub, [*prefix, name])

codes = {}
for path in paths(typer.main.get_command(app), []):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([*path, "--help"])
    codes[" ".join(path) or "mlgate"] = (code, out.getvalue())
print(json.dumps({"codes": codes, "heavy": [m for m in sys.argv[1:] if m in sys.modules]}))
"""


def test_every_command_has_help_and_help_imports_no_heavy_library() -> None:
    run = subprocess.run([sys.executable, "-c", PROBE, *HEAVY], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    probe = json.loads(run.stdout)
    assert probe["heavy"] == []  # heavy imports happen inside commands, so --help stays fast
    codes = probe["codes"]
    assert {"mlgate", "model register", "data validate", "gate", "promote", "serve", "run"} <= set(codes)
    for command, (code, text) in codes.items():
        assert code == 0, command
        assert text.startswith("Usage: "), command
        assert len(text.splitlines()) > 2, f"{command} has no description"


def test_global_options_reach_the_settings(data_cli: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    r = data_cli("--registry", f"sqlite:///{missing}", "model", "list")
    assert r.code == 2
    assert f"registry database {missing} does not exist" in r.err
    assert "check the --registry option or MLGATE_REGISTRY" in r.err


def test_version_is_eager(data_cli: Cli) -> None:
    r = data_cli("--version", "model", "nonsense-subcommand")
    assert r.code == 0 and r.out.startswith("mlgate ")
