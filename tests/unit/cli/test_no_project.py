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
    from mlgate.registry.store import Registry

    db = tmp_path / "elsewhere.db"
    with Registry(f"sqlite:///{db}", artifacts=str(tmp_path / "artifacts")) as reg:
        _ = reg.engine
    r = data_cli("--registry", f"sqlite:///{db}", "model", "list")
    assert r.code == 0 and "no models registered yet" in r.out
    monkeypatch.setenv("MLGATE_REGISTRY", f"sqlite:///{db}")
    assert data_cli("model", "list", "--json").json() == []
    assert list(Path.cwd().iterdir()) == []


READ_COMMANDS = [
    ("model", "list"),
    ("model", "list", "wine"),
    ("model", "show", "wine:1"),
    ("model", "history", "wine"),
    ("model", "verify", "wine:1"),
    ("gate", "wine:1"),
    ("promote", "wine:1", "--to", "production"),
    ("rollback", "wine"),
    ("runs", "list"),
    ("gc",),
]


@pytest.mark.parametrize("args", READ_COMMANDS)
def test_a_mistyped_registry_path_is_refused_and_never_created(data_cli, tmp_path: Path, monkeypatch, args) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "nonexistent" / "dir" / "r.db"
    monkeypatch.setenv("MLGATE_REGISTRY", str(db))
    r = data_cli(*args)
    assert r.code == 2, r.err
    assert f"registry database {db} does not exist" in r.err
    assert "--registry" in r.err and "MLGATE_REGISTRY" in r.err and "mlgate init" in r.err
    assert "not registered" not in r.err and "Traceback" not in r.err
    assert not db.parent.parent.exists()


def test_a_mistyped_registry_in_mlgate_yaml_names_its_line(data_cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlgate.yaml").write_text("project: wine\nregistry: .mlgate/registyr.db\n", encoding="utf-8")
    r = data_cli("model", "list")
    assert r.code == 2, r.out
    assert f"registry database {tmp_path / '.mlgate' / 'registyr.db'} does not exist" in r.err
    assert f"'registry:' at {tmp_path / 'mlgate.yaml'}:2" in r.err and "no models registered" not in r.out
    assert not (tmp_path / ".mlgate").exists()


def test_a_project_without_its_registry_yet_says_how_to_make_it(data_cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlgate.yaml").write_text("project: wine\n", encoding="utf-8")
    r = data_cli("model", "show", "wine:1")
    assert r.code == 2
    assert f"registry database {tmp_path / '.mlgate' / 'registry.db'} does not exist" in r.err
    assert "mlgate init" in r.err and "mlgate model register" in r.err
    assert not (tmp_path / ".mlgate").exists()
    assert data_cli("init").code == 0
    assert data_cli("model", "list").code == 0


def test_registering_at_a_new_registry_path_still_creates_it(data_cli, model_file, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path, data = model_file
    db = tmp_path / "new" / "r.db"
    monkeypatch.setenv("MLGATE_REGISTRY", str(db))
    r = data_cli("model", "register", str(path), "--name", "bc", "--data", str(data))
    assert r.code == 0, r.err
    assert db.is_file()
    assert data_cli("model", "list", "--json").json()[0]["name"] == "bc"


def test_registering_starts_the_default_registry_and_reads_then_find_it(data_cli, model_file) -> None:  # type: ignore[no-untyped-def]
    path, data = model_file
    r = data_cli("model", "register", str(path), "--name", "bc", "--data", str(data))
    assert r.code == 0, r.err
    assert (Path.cwd() / ".mlgate" / "registry.db").is_file()
    listed = data_cli("model", "list", "--json")
    assert listed.code == 0 and listed.json()[0]["name"] == "bc"


def test_the_hint_holds_init_creates_the_registry_the_option_names(data_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "shared" / "r.db"
    refused = data_cli("--registry", str(db), "model", "list")
    assert refused.code == 2 and "mlgate init" in refused.err and not db.exists()
    made = data_cli("--registry", str(db), "init", str(tmp_path / "proj"))
    assert made.code == 0, made.err
    assert db.is_file() and not (tmp_path / "proj" / ".mlgate" / "registry.db").exists()
    assert data_cli("--registry", str(db), "model", "list").code == 0
