"""CLI fixtures: run ``mlgate`` in-process through ``main()`` (the exit-code table lives there)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from mlgate.cli import main


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self):  # type: ignore[no-untyped-def]
        return json.loads(self.out)


@pytest.fixture
def data_cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """``data_cli("data", "profile", …)`` → Result(code, out, err), for commands that need no registry."""
    monkeypatch.setenv("COLUMNS", "200")

    def run(*args: str) -> Result:
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def cli(data_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch, registry_url: str, tmp_path: Path):
    """``cli("model", "list")`` → Result(code, out, err) against a fresh registry (SQLite and PostgreSQL)."""
    from mlgate.registry.store import Registry

    with Registry(registry_url, artifacts=str(tmp_path / "artifacts")) as reg:
        _ = reg.engine  # created here, as `mlgate init` would: read commands never create a registry
    monkeypatch.setenv("MLGATE_REGISTRY", registry_url)
    monkeypatch.setenv("MLGATE_ARTIFACTS", str(tmp_path / "artifacts"))
    return data_cli


@pytest.fixture
def model_file(tmp_path: Path, sk_model: object, breast_cancer) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    """A real model saved with skops, and a CSV of training data holding its feature columns."""
    import skops.io as sio

    X, y = breast_cancer
    path = tmp_path / "model.skops"
    sio.dump(sk_model, path)
    data = tmp_path / "train.csv"
    X.assign(target=y).head(200).to_csv(data, index=False)
    return path, data
