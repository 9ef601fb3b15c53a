"""``mlgate model …``, ``promote``, ``rollback`` and ``gc`` through the real entry point."""

from __future__ import annotations

import pytest


def register(cli, model_file, *extra: str):  # type: ignore[no-untyped-def]
    path, data = model_file
    return cli("model", "register", str(path), "--name", "bc", "--data", str(data), *extra)


def test_register_show_list_json(cli, model_file, tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("train:\n  C: 0.5\n")
    r = register(cli, model_file, "--params", str(params), "--tag", "team=risk", "--json")
    assert r.code == 0, r.err
    mv = r.json()
    assert (mv["name"], mv["number"], mv["semver"], mv["flavor"]) == ("bc", 1, "1.0.0-rc.1", "sklearn")
    assert mv["lineage"]["params"] == {"train": {"C": 0.5}}
    assert mv["tags"] == {"team": "risk"}
    assert next(iter(mv["lineage"]["data"].values())).startswith("blake3:")
    assert mv["environment"]["packages"]["scikit-learn"]
    shown = cli("model", "show", "bc:1", "--json").json()
    assert shown["digest"] == mv["digest"]
    full = cli("model", "show", "bc:1", "--json", "--full").json()
    assert "model.skops" in full["manifest"] and "distributions" in full["environment"]
    table = cli("model", "list", "bc")
    assert table.code == 0 and "1.0.0-rc.1" in table.out and "sklearn" in table.out
    assert cli("model", "list", "--json").json()[0]["name"] == "bc"


def test_promote_history_rollback(cli, model_file, tmp_path):
    (tmp_path / "mlgate.yaml").write_text("promote: {protected: []}\n")  # these moves are not gated
    register(cli, model_file)
    register(cli, model_file)
    assert cli("promote", "bc:1", "--to", "production", "--expect", "none").code == 0
    r = cli("promote", "bc:2", "--to", "production", "--expect", "1", "--reason", "better")
    assert r.code == 0 and "bc:1 → bc:2" in r.out
    again = cli("promote", "bc:2", "--to", "production")
    assert again.code == 0 and "nothing changed" in again.out
    stale = cli("promote", "bc:1", "--to", "production", "--expect", "1")
    assert stale.code == 1 and "now points to bc:2" in stale.err and "Traceback" not in stale.err
    rb = cli("rollback", "bc")
    assert rb.code == 0 and "bc:2 → bc:1" in rb.out
    events = cli("model", "history", "bc", "--json").json()
    assert [(e["from_number"], e["to_number"], e["kind"]) for e in events] == [
        (None, 1, "set"),
        (1, 2, "set"),
        (2, 1, "rollback"),
    ]
    assert events[1]["reason"] == "better"
    at = cli("model", "history", "bc", "--alias", "production", "--at", events[1]["created_at"], "--json")
    assert at.json()["version"]["number"] == 2


def test_tags_describe_events(cli, model_file):
    register(cli, model_file)
    assert cli("model", "tag", "bc:1", "stage=qa", "owner=ana").code == 0
    assert cli("model", "tag", "bc:1", "--remove", "owner", "--json").json() == {"stage": "qa"}
    assert cli("model", "describe", "bc:1", "baseline model").code == 0
    changes = cli("model", "events", "bc:1", "--json").json()
    assert [c["field"] for c in changes] == ["tag", "tag", "tag", "description"]


def test_verify_and_gc(cli, model_file, tmp_path):
    register(cli, model_file)
    assert "match" in cli("model", "verify", "bc:1").out
    blobs = [p for p in (tmp_path / "artifacts" / "blobs").rglob("*") if p.is_file()]
    orphan = tmp_path / "artifacts" / "blobs" / "00" / ("0" * 64)
    orphan.parent.mkdir(exist_ok=True)
    orphan.write_bytes(b"orphan")
    listed = cli("gc", "--json").json()
    assert [o["digest"] for o in listed["orphans"]] == ["blake3:" + "0" * 64] and listed["deleted"] == []
    assert orphan.exists()
    assert cli("gc", "--yes", "--min-age", "0s").code == 0
    assert not orphan.exists()
    assert cli("model", "verify", "bc:1").code == 0
    digest = cli("model", "show", "bc:1", "--json", "--full").json()["manifest"]["model.skops"]["digest"]
    victim = next(p for p in blobs if p.name == digest.removeprefix("blake3:"))
    victim.chmod(0o644)
    victim.write_bytes(b"corrupt")
    bad = cli("model", "verify", "bc:1")
    assert bad.code == 3 and "is corrupt" in bad.err and "Traceback" not in bad.err


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["model", "show", "nope"], 2, "model 'nope' is not registered"),
        (["model", "show", "bc:9"], 2, "version bc:9 does not exist"),
        (["model", "show", "bc@production"], 2, "alias 'production' of model 'bc' does not exist"),
        (["model", "show", "bc@"], 2, "malformed"),
        (["model", "show", ":x"], 2, "malformed"),
        (["model", "show", "a b"], 2, "malformed"),
        (["promote", "bc:1", "--to", "9bad"], 2, "alias '9bad' is not valid"),
        (["rollback", "bc"], 2, "nothing to roll back"),
        (["gc", "--min-age", "soon"], 2, "not a duration"),
        (["model", "history", "bc", "--at", "yesterday", "--alias", "production"], 2, "not an ISO time"),
        (["model", "tag", "bc:1", "novalue"], 2, "must look like KEY=VALUE"),
        (["model", "frobnicate"], 2, "No such command"),
    ],
)
def test_bad_usage_exit_codes(cli, model_file, args, code, message):
    register(cli, model_file)
    r = cli(*args)
    assert r.code == code, (r.out, r.err)
    assert message in r.err
    assert "Traceback" not in r.err


def test_register_refuses_bad_models_and_samples(cli, tmp_path, breast_cancer):
    X, _ = breast_cancer
    missing = cli("model", "register", str(tmp_path / "absent.skops"), "--name", "bc")
    assert missing.code == 2 and "does not exist" in missing.err
    pkl = tmp_path / "m.pkl"
    import joblib
    from sklearn.linear_model import LogisticRegression

    joblib.dump(LogisticRegression().fit(X.iloc[:, :3], [0, 1] * 284 + [0]), pkl)
    refused = cli("model", "register", str(pkl), "--name", "bc")
    assert refused.code == 2 and "--allow-pickle" in refused.err
    no_sample = cli("model", "register", str(pkl), "--name", "bc", "--allow-pickle")
    assert no_sample.code == 2 and "--sample" in no_sample.err
    sample = tmp_path / "wrong.csv"
    X.iloc[:5, 5:9].to_csv(sample, index=False)
    wrong = cli("model", "register", str(pkl), "--name", "bc", "--allow-pickle", "--sample", str(sample))
    assert wrong.code == 2 and "cannot predict on the sample input" in wrong.err
    unknown = tmp_path / "m.xyz"
    unknown.write_text("?")
    assert "cannot tell what kind of model" in cli("model", "register", str(unknown), "--name", "bc").err
    assert cli("model", "list", "--json").json() == [], "nothing was registered by the failures"


def test_pickle_is_converted_to_skops_when_allowed(cli, tmp_path, sk_model, breast_cancer):
    import joblib

    X, _ = breast_cancer
    pkl = tmp_path / "m.joblib"
    joblib.dump(sk_model, pkl)
    sample = tmp_path / "sample.csv"
    X.head(5).to_csv(sample, index=False)
    r = cli("model", "register", str(pkl), "--name", "bc", "--allow-pickle", "--sample", str(sample), "--json")
    assert r.code == 0, r.err
    assert r.json()["flavor_config"]["serialization"] == "skops"
    assert r.json()["runs_code"] is False


def test_debug_shows_traceback(cli):
    r = cli("--debug", "model", "show", "nope")
    assert r.code == 2 and "Traceback" in r.err


def test_init_writes_config_and_registry(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("MLGATE_REGISTRY")
    monkeypatch.delenv("MLGATE_ARTIFACTS")
    project = tmp_path / "proj"
    r = cli("init", str(project))
    assert r.code == 0
    assert (project / "mlgate.yaml").is_file() and (project / ".mlgate" / "registry.db").is_file()
    assert ".mlgate/" in (project / ".gitignore").read_text()
    again = cli("init", str(project))
    assert "left as it is" in again.out
    monkeypatch.chdir(project)
    assert cli("model", "list", "--json").json() == []


def test_version_and_help(cli):
    assert cli("--version").out.startswith("mlgate ")
    r = cli("--help")
    assert r.code == 0 and "promote" in r.out and "quickstart" in r.out


def test_malformed_config_names_file_and_line(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("MLGATE_REGISTRY")
    cfg = tmp_path / "proj" / "mlgate.yaml"
    cfg.parent.mkdir()
    cfg.write_text("project: x\nregistry: [unclosed\n")
    monkeypatch.chdir(cfg.parent)
    r = cli("model", "list")
    assert r.code == 2 and f"{cfg}:" in r.err and "invalid YAML" in r.err
    cfg.write_text("project: x\nregisty: sqlite:///r.db\n")
    r = cli("model", "list")
    assert r.code == 2 and f"{cfg}:2: unknown key 'registy'" in r.err


def test_unreachable_registry_is_exit_3(cli, monkeypatch):
    monkeypatch.setenv("MLGATE_REGISTRY", "postgresql://postgres@127.0.0.1:1/nothing")
    r = cli("model", "list")
    assert r.code == 3 and "cannot use the registry database" in r.err and "Traceback" not in r.err


def test_verify_checks_the_training_profile_too(cli, model_file, tmp_path):
    register(cli, model_file)
    digest = cli("model", "show", "bc:1", "--json").json()["data_profile_digest"]
    assert digest is not None
    blob = tmp_path / "artifacts" / "blobs" / digest[7:9] / digest[7:]
    blob.chmod(0o644)
    blob.write_text("{}")
    bad = cli("model", "verify", "bc:1")
    assert bad.code == 3 and "training-data profile" in bad.err and "is corrupt" in bad.err
