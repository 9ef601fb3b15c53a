"""log_model and load_model on a real scikit-learn model and a real SQLite registry."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest

from mlgate.errors import InputError, IntegrityError, NotFoundError, UnsupportedModelError
from mlgate.models import LoadedModel, load_model, log_model, training_profile
from mlgate.registry.store import Registry


@pytest.fixture
def reg(tmp_path: Path) -> Iterator[Registry]:
    registry = Registry(f"sqlite:///{tmp_path / 'registry.db'}", artifacts=str(tmp_path / "artifacts"))
    yield registry
    registry.close()


def test_a_logged_model_loads_back_and_predicts_as_the_original(
    reg: Registry, sk_model: Any, breast_cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, _ = breast_cancer
    mv = log_model(sk_model, "bc", sample_input=X.head(5), params={"C": 1.0}, tags={"team": "risk"}, registry=reg)
    assert (mv.ref, mv.number, mv.flavor, mv.semver) == ("bc:1", 1, "sklearn", "1.0.0-rc.1")
    assert [c["name"] for c in mv.signature["inputs"]["columns"]] == list(X.columns)
    assert mv.signature["outputs"] == {"type": "tensor", "dtype": "int64", "shape": [-1]}
    assert mv.lineage["params"] == {"C": 1.0}
    assert mv.tags == {"team": "risk"}
    assert mv.environment["packages"]["scikit-learn"]

    loaded = load_model("bc:1", registry=reg)
    assert isinstance(loaded, LoadedModel)
    assert loaded.metadata.digest == mv.digest
    np.testing.assert_array_equal(loaded.predict(X), sk_model.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), sk_model.predict_proba(X))
    # columns by name: a Polars frame in another column order scores the same
    np.testing.assert_array_equal(loaded.predict(pl.from_pandas(X[X.columns[::-1]])), sk_model.predict(X))


def test_a_model_that_cannot_predict_its_sample_is_refused_and_nothing_is_registered(
    reg: Registry, sk_model: Any, breast_cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, _ = breast_cancer
    too_few = X.drop(columns=[X.columns[0]]).head(5)  # the model was fitted on 30 columns
    with pytest.raises(InputError, match="the sklearn model cannot predict on the sample input: ValueError") as info:
        log_model(sk_model, "bc", sample_input=too_few, registry=reg)
    assert info.value.hint == "pass a sample_input with the columns and types the model was trained on"
    with pytest.raises(NotFoundError):
        reg.get("bc:1")
    with pytest.raises(InputError, match="sample_input is required"):
        log_model(sk_model, "bc", sample_input=None, registry=reg)


def test_an_object_no_flavor_knows_is_refused(reg: Registry, breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    X, _ = breast_cancer
    with pytest.raises(UnsupportedModelError):
        log_model(object(), "bc", sample_input=X.head(5), registry=reg)


def test_load_verifies_the_bytes_before_anything_is_loaded(
    reg: Registry, sk_model: Any, breast_cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, _ = breast_cancer
    mv = log_model(sk_model, "bc", sample_input=X.head(5), registry=reg)
    blobs = [p for p in (Path(reg.blobs.location) / "blobs").rglob("*") if p.is_file()]
    model_blob = max(blobs, key=lambda p: p.stat().st_size)  # the serialized estimator
    model_blob.chmod(0o644)
    data = bytearray(model_blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    model_blob.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=r"bc:1: file '[^']+' is corrupt"):
        load_model(mv, registry=reg)


def test_an_incompatible_signature_bumps_the_major_version_on_promotion(
    reg: Registry, breast_cancer: tuple[pd.DataFrame, pd.Series]
) -> None:
    from sklearn.tree import DecisionTreeClassifier

    X, y = breast_cancer
    fewer = X[X.columns[:5]]
    narrow = DecisionTreeClassifier(max_depth=3, random_state=0).fit(fewer, y)
    for model, sample in [
        (DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y), X),
        (DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y), X),  # same columns: a minor bump
        (narrow, fewer),  # 25 columns fewer: callers of 1.x break, a major bump
    ]:
        mv = log_model(model, "bc", sample_input=sample.head(5), registry=reg)
        reg.set_alias("bc", "production", mv.number)
    assert [v.semver for v in reg.versions("bc")] == ["1.0.0", "1.1.0", "2.0.0"]
    # the stored signature shapes the input: the narrow version takes its five columns out of all 30
    np.testing.assert_array_equal(load_model("bc:3", registry=reg).predict(X), narrow.predict(fewer))


def test_the_training_data_profile_travels_with_the_version(
    reg: Registry, sk_model: Any, breast_cancer: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    X, _ = breast_cancer
    train = tmp_path / "train.csv"
    X.to_csv(train, index=False)
    with_data = log_model(sk_model, "bc", sample_input=X.head(5), data=train, registry=reg)
    without = log_model(sk_model, "bc", sample_input=X.head(5), registry=reg)
    profile = training_profile(with_data.ref, registry=reg)
    assert profile is not None and profile.rows == len(X)
    assert with_data.lineage["data"] == {str(train): with_data.lineage["data"][str(train)]}
    assert training_profile(without, registry=reg) is None
