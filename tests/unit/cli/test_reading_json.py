"""Every command that reads takes ``--json`` (the README promises it); the exceptions are listed with why."""

from __future__ import annotations

NOT_READING = {
    "ci": "runs the pull-request steps and writes its report files",
    "init": "writes mlgate.yaml and the registry",
    "quickstart": "a guided demo in a temporary folder",
    "serve": "a long-running server",
    "model describe": "writes a description",
    "model keygen": "writes a key pair",
}


def _commands(cmd, path=()):  # type: ignore[no-untyped-def]
    if hasattr(cmd, "commands"):
        for name, sub in cmd.commands.items():
            yield from _commands(sub, (*path, name))
    else:
        yield " ".join(path), cmd


def test_every_reading_command_takes_json() -> None:
    import typer

    from mlgate.cli.app import app

    missing = [
        name
        for name, cmd in _commands(typer.main.get_command(app))
        if name not in NOT_READING and "--json" not in {o for p in cmd.params for o in p.opts}
    ]
    assert missing == [], f"add --json to: {', '.join(missing)} (or list it in NOT_READING with the reason)"


def test_model_verify_json(cli, model_file) -> None:  # type: ignore[no-untyped-def]
    path, data = model_file
    mv = cli("model", "register", str(path), "--name", "bc", "--data", str(data), "--json").json()
    r = cli("model", "verify", "bc:1", "--json")
    assert r.code == 0, r.err
    out = r.json()
    assert (out["ref"], out["digest"], out["metadata_bound"]) == ("bc:1", mv["digest"], True)
    assert out["files"] >= 2 and out["signatures"] == 0 and out["accepted_key"] is None
