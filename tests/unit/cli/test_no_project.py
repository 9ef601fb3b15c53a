"""A read command outside a project says so and creates nothing; an explicit registry still works."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.parametrize(
    "args",
    [
        ("model", "list"),
        ("model", "show", "fraud@production"),
        ("model", "history", "fraud"),
        ("gate", "fraud:1"),
        ("promote", "fraud:1", "--to", "production"),
        ("rollback", "fraud"),
        ("runs", "list"),
        ("gc",),
    ],
)
def test_outside_a_project_a_command_says_so_and_creates_nothing(data_cli, args) -> None:  # type: ignore[no-untyped-def]
    here = Path.cwd()
    r = data_cli(*args)
    assert r.code == 2, r.err
    assert f"no mlgate project here: no mlgate.yaml in {here}" in r.err
    assert "mlgate init" in r.err and "--registry" in r.err and "Traceback" not in r.err
    assert list(here.iterdir()) == []


def test_an_explicit_registry_works_without_a_project(data_cli, tmp_path: Path, monkeypatch) -> None:
    db = tmp_path / "elsewhere.db"
    r = data_cli("--registry", f"sqlite:///{db}", "model", "list")
    assert r.code == 0 and "no models registered yet" in r.out
    monkeypatch.setenv("MLGATE_REGISTRY", f"sqlite:///{db}")
    assert data_cli("model", "list", "--json").json() == []
    assert list(Path.cwd().iterdir()) == []


def test_registering_starts_the_default_registry_and_reads_then_find_it(data_cli, model_file) -> None:  # type: ignore[no-untyped-def]
    path, data = model_file
    r = data_cli("model", "register", str(path), "--name", "bc", "--data", str(data))
    assert r.code == 0, r.err
    assert (Path.cwd() / ".mlgate" / "registry.db").is_file()
    listed = data_cli("model", "list", "--json")
    assert listed.code == 0 and listed.json()[0]["name"] == "bc"
