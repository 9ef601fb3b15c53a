"""``mlgate data drift MODEL@ALIAS CURRENT`` reads the reference from the registry the flags name."""

from __future__ import annotations

import pandas as pd


def test_drift_against_a_models_training_profile(cli, model_file, monkeypatch, tmp_path):
    path, data = model_file
    assert cli("model", "register", str(path), "--name", "bc", "--data", str(data)).code == 0
    assert cli("promote", "bc:1", "--to", "production", "--force", "--reason", "test").code == 0
    url, artifacts = monkeypatch_env_out(monkeypatch)
    flags = ["--registry", url, "--artifacts", artifacts]
    same = cli(*flags, "data", "drift", "bc@production", str(data), "--json")
    assert same.code == 0, same.err
    assert same.json()["dataset_drift"] is False
    shifted = pd.read_csv(data)
    shifted.iloc[:, :20] *= 1.5
    batch = tmp_path / "batch.csv"
    shifted.to_csv(batch, index=False)
    drifted = cli(*flags, "data", "drift", "bc@production", str(batch))
    assert drifted.code == 1 and "mean radius" in drifted.out
    unlabelled = tmp_path / "unlabelled.csv"
    pd.read_csv(data).drop(columns=["target"]).to_csv(unlabelled, index=False)
    live = cli(*flags, "data", "drift", "bc@production", str(unlabelled), "--json")
    assert live.code == 0, "the label is not a model input: live data without it is not missing a column"
    assert live.json()["only_in_reference"] == [] and "target" not in {c["column"] for c in live.json()["columns"]}
    features = tmp_path / "features.csv"
    pd.read_csv(data).drop(columns=["target", "worst area"]).to_csv(features, index=False)
    missing = cli(*flags, "data", "drift", "bc@production", str(features))
    assert missing.code == 1 and "missing from current (a failure): worst area" in missing.out


def monkeypatch_env_out(monkeypatch):  # type: ignore[no-untyped-def]
    """Take the registry out of the environment so only the flags can name it."""
    import os

    url, artifacts = os.environ["MLGATE_REGISTRY"], os.environ["MLGATE_ARTIFACTS"]
    monkeypatch.delenv("MLGATE_REGISTRY")
    monkeypatch.delenv("MLGATE_ARTIFACTS")
    return url, artifacts
