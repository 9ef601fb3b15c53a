"""One suite every flavor passes: a real model is logged, loaded back and must answer as before.

Each case trains a small model on data that ships with scikit-learn (breast cancer for classifiers,
diabetes for regressors). The checks: the right flavor is detected, predictions and probabilities of
the loaded model equal the original's, the signature is recorded, the digest names exactly the stored
files, and a corrupted file is refused with its name.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import mlgate
from mlgate.errors import IntegrityError, UsageError
from mlgate.hashing import digest_path, manifest_digest
from mlgate.models import ARTIFACT_META
from mlgate.registry.blobs import blob_key
from mlgate.signature import infer_schema


@dataclass(frozen=True)
class Case:
    """A trained model, what to log it with, and what it answered before it was stored."""

    flavor: str
    model: Any
    sample: Any
    rows: Any
    predictions: Any
    probabilities: Any | None = None
    reproducible: bool = True
    config: dict[str, Any] = field(default_factory=dict)


@functools.cache
def _breast_cancer() -> tuple[Any, Any]:
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer(return_X_y=True, as_frame=True)


@functools.cache
def _diabetes() -> tuple[Any, Any]:
    from sklearn.datasets import load_diabetes

    return load_diabetes(return_X_y=True, as_frame=True)


def _rows(X: Any) -> Any:
    return X.iloc[100:120]


def sklearn_classifier(_: Path) -> Case:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _breast_cancer()
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)
    rows = _rows(X)
    proba = clf.predict_proba(rows)
    config = {"serialization": "skops"}
    return Case("sklearn", clf, X.head(5), rows, clf.predict(rows), proba, reproducible=False, config=config)


def sklearn_regressor(_: Path) -> Case:
    from sklearn.linear_model import Ridge

    X, y = _diabetes()
    reg = Ridge().fit(X, y)
    rows = _rows(X)
    return Case("sklearn", reg, X.head(5), rows, reg.predict(rows), reproducible=False)


def _onnx_case(zipmap: bool, sample_as_frame: bool) -> Case:
    pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")
    skl2onnx = pytest.importorskip("skl2onnx", reason="skl2onnx (dev extra) is not installed")
    import onnxruntime as ort
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _breast_cancer()
    X32 = X.to_numpy(np.float32)
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X32, y)
    proto = skl2onnx.to_onnx(clf, X32[:5], options={"zipmap": zipmap})
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    rows = _rows(X)
    labels, proba = session.run(None, {"X": rows.to_numpy(np.float32)})
    if zipmap:
        proba = np.array([[p[k] for k in sorted(p)] for p in proba])
    if sample_as_frame:
        return Case("onnx", proto, X.head(5), rows, labels, proba)
    return Case("onnx", proto, X32[:5], rows.to_numpy(np.float32), labels, proba)


def onnx_classifier(_: Path) -> Case:
    return _onnx_case(zipmap=False, sample_as_frame=False)


def onnx_zipmap_from_frame(_: Path) -> Case:
    return _onnx_case(zipmap=True, sample_as_frame=True)


@functools.cache
def _mlp() -> tuple[Any, Any]:
    """A small MLP trained for 50 steps on the standardised breast-cancer data, and that data."""
    torch = pytest.importorskip("torch", reason="the torch extra is not installed")
    X, y = _breast_cancer()
    Xs = ((X - X.mean()) / X.std()).astype("float32")
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(30, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    xt, yt = torch.tensor(Xs.to_numpy()), torch.tensor(y.to_numpy())
    for _ in range(50):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(xt), yt).backward()
        opt.step()
    return net.eval(), Xs


def _torch_case(model: Any, sample: Any, rows: Any) -> Case:
    import torch

    net, _ = _mlp()
    with torch.no_grad():
        expected = net(torch.tensor(np.asarray(rows, dtype=np.float32))).numpy()
    return Case("torch", model, sample, rows, expected, reproducible=False)


def torch_module(_: Path) -> Case:
    net, Xs = _mlp()
    case = _torch_case(net, Xs.to_numpy()[:5], _rows(Xs).to_numpy())
    return replace(case, config={"kind": "export", "dtype": "float32"})


def torch_script_from_float64_frame(_: Path) -> Case:
    torch = pytest.importorskip("torch", reason="the torch extra is not installed")
    net, Xs = _mlp()
    frame = Xs.astype("float64")
    case = _torch_case(torch.jit.script(net), frame.head(5), _rows(frame))
    return replace(case, config={"kind": "torchscript", "dtype": "float32"})


def torch_exported_program(_: Path) -> Case:
    torch = pytest.importorskip("torch", reason="the torch extra is not installed")
    net, Xs = _mlp()
    sample = torch.tensor(Xs.to_numpy()[:5])
    program = torch.export.export(net, (sample,), dynamic_shapes=({0: torch.export.Dim.DYNAMIC},))
    return replace(_torch_case(program, sample, _rows(Xs).to_numpy()), config={"kind": "export"})


def xgboost_classifier(_: Path) -> Case:
    xgboost = pytest.importorskip("xgboost", reason="the boost extra is not installed")
    X, y = _breast_cancer()
    clf = xgboost.XGBClassifier(n_estimators=20, max_depth=3).fit(X, y)
    rows = _rows(X)
    proba = clf.predict_proba(rows)
    return Case("xgboost", clf, X.head(5), rows, clf.predict(rows), proba, config={"class": "XGBClassifier"})


def xgboost_regressor_on_arrays(_: Path) -> Case:
    xgboost = pytest.importorskip("xgboost", reason="the boost extra is not installed")
    X, y = _diabetes()
    reg = xgboost.XGBRegressor(n_estimators=20, max_depth=3).fit(X.to_numpy(), y.to_numpy())
    rows = _rows(X).to_numpy()
    return Case("xgboost", reg, X.to_numpy()[:5], rows, reg.predict(rows), config={"class": "XGBRegressor"})


def xgboost_booster(_: Path) -> Case:
    xgboost = pytest.importorskip("xgboost", reason="the boost extra is not installed")
    X, y = _breast_cancer()
    booster = xgboost.train({"objective": "binary:logistic", "max_depth": 3}, xgboost.DMatrix(X, y), 20)
    rows = _rows(X)
    expected = booster.predict(xgboost.DMatrix(rows))
    return Case("xgboost", booster, X.head(5), rows, expected, config={"class": "Booster"})


def lightgbm_classifier(_: Path) -> Case:
    lightgbm = pytest.importorskip("lightgbm", reason="the boost extra is not installed")
    X, y = _breast_cancer()
    clf = lightgbm.LGBMClassifier(n_estimators=20, verbose=-1).fit(X, y)
    rows = _rows(X)
    proba = clf.predict_proba(rows)
    return Case("lightgbm", clf, X.head(5), rows, clf.predict(rows), proba, config={"kind": "classifier"})


def lightgbm_string_labels_on_arrays(_: Path) -> Case:
    lightgbm = pytest.importorskip("lightgbm", reason="the boost extra is not installed")
    X, y = _breast_cancer()
    labels = np.where(y.to_numpy() == 1, "benign", "malignant")
    clf = lightgbm.LGBMClassifier(n_estimators=20, verbose=-1).fit(X.to_numpy(), labels)
    rows = _rows(X).to_numpy()
    config = {"kind": "classifier", "classes": ["benign", "malignant"], "feature_names": False}
    proba = clf.predict_proba(rows)
    return Case("lightgbm", clf, X.to_numpy()[:5], rows, clf.predict(rows), proba, config=config)


def lightgbm_regressor(_: Path) -> Case:
    lightgbm = pytest.importorskip("lightgbm", reason="the boost extra is not installed")
    X, y = _diabetes()
    reg = lightgbm.LGBMRegressor(n_estimators=20, verbose=-1).fit(X, y)
    rows = _rows(X)
    return Case("lightgbm", reg, X.head(5), rows, reg.predict(rows), config={"kind": "regressor"})


def lightgbm_booster(_: Path) -> Case:
    lightgbm = pytest.importorskip("lightgbm", reason="the boost extra is not installed")
    X, y = _diabetes()
    booster = lightgbm.train({"objective": "regression", "verbose": -1}, lightgbm.Dataset(X, y), 20)
    rows = _rows(X)
    return Case("lightgbm", booster, X.head(5), rows, booster.predict(rows), config={"kind": "booster"})


CENTROID_SOURCE = '''"""A nearest-centroid classifier in plain NumPy, outside any installed package."""

from __future__ import annotations

from pathlib import Path

import numpy as np


class NearestCentroid:
    """Predicts the class whose mean is closest in standardised feature space."""

    def __init__(self, X, y):
        X = np.asarray(X, dtype=float)
        y = np.asarray(y)
        self.mean = X.mean(axis=0)
        self.scale = X.std(axis=0)
        self.classes = np.unique(y)
        Z = (X - self.mean) / self.scale
        self.centroids = np.stack([Z[y == c].mean(axis=0) for c in self.classes])

    def _scores(self, X):
        Z = (np.asarray(X, dtype=float) - self.mean) / self.scale
        return -((Z[:, None, :] - self.centroids[None]) ** 2).sum(axis=2) / 2

    def predict(self, X):
        return self.classes[self._scores(X).argmax(axis=1)]

    def predict_proba(self, X):
        s = self._scores(X)
        e = np.exp(s - s.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)


class SelfSavingCentroid(NearestCentroid):
    """The same model, stored by its own save/load instead of pickle."""

    FIELDS = ("mean", "scale", "classes", "centroids")

    def save(self, folder):
        for name in self.FIELDS:
            np.save(Path(folder) / f"{name}.npy", getattr(self, name))

    @classmethod
    def load(cls, folder):
        obj = cls.__new__(cls)
        for name in cls.FIELDS:
            setattr(obj, name, np.load(Path(folder) / f"{name}.npy"))
        return obj
'''


def _centroid_module(folder: Path) -> Any:
    """The helper module, written to ``folder`` and imported like a user's own module."""
    name = "mlgate_test_centroid"
    if name in sys.modules:
        return sys.modules[name]
    path = folder / f"{name}.py"
    path.write_text(CENTROID_SOURCE)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def pyfunc_pickled(folder: Path) -> Case:
    X, y = _breast_cancer()
    model = _centroid_module(folder).NearestCentroid(X, y)
    rows = _rows(X)
    proba = model.predict_proba(rows)
    return Case("pyfunc", model, X.head(5), rows, model.predict(rows), proba, config={"method": "pickle"})


def pyfunc_self_saving(folder: Path) -> Case:
    X, y = _breast_cancer()
    model = _centroid_module(folder).SelfSavingCentroid(X, y)
    rows = _rows(X)
    proba = model.predict_proba(rows)
    return Case("pyfunc", model, X.head(5), rows, model.predict(rows), proba, config={"method": "save"})


BUILDERS: dict[str, Callable[[Path], Case]] = {
    f.__name__: f
    for f in (
        sklearn_classifier,
        sklearn_regressor,
        onnx_classifier,
        onnx_zipmap_from_frame,
        torch_module,
        torch_script_from_float64_frame,
        torch_exported_program,
        xgboost_classifier,
        xgboost_regressor_on_arrays,
        xgboost_booster,
        lightgbm_classifier,
        lightgbm_string_labels_on_arrays,
        lightgbm_regressor,
        lightgbm_booster,
        pyfunc_pickled,
        pyfunc_self_saving,
    )
}
BUILT_IN = {"sklearn", "onnx", "torch", "xgboost", "lightgbm", "pyfunc"}


@pytest.fixture(scope="module")
def _helper_modules() -> Iterator[None]:
    yield
    sys.modules.pop("mlgate_test_centroid", None)


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def case(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, _helper_modules: None) -> Case:
    """One trained model per flavor variant, built once for the whole module."""
    return BUILDERS[request.param](tmp_path_factory.mktemp("models"))


def _assert_same(got: Any, want: Any) -> None:
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape
    if want.dtype.kind in "fc":
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_array_equal(got, want)


def test_every_built_in_flavor_has_a_case() -> None:
    ours = {ep.name for ep in entry_points(group="mlgate.flavors") if ep.value.startswith("mlgate.flavors.")}
    assert ours == BUILT_IN
    assert {BUILDERS[name].__name__.split("_")[0] for name in BUILDERS} == BUILT_IN


def test_round_trip_predicts_like_the_original(case: Case, registry: Any) -> None:
    mv = mlgate.log_model(case.model, "conformance", sample_input=case.sample, registry=registry)
    assert mv.flavor == case.flavor
    assert case.config.items() <= mv.flavor_config.items()
    assert mv.signature["inputs"] == infer_schema(case.sample)
    assert mv.signature["outputs"]["type"] == "tensor"
    loaded = _load(mv, registry)
    _assert_same(loaded.predict(case.rows), case.predictions)
    if hasattr(case.rows, "columns"):
        _assert_same(loaded.predict(case.rows[case.rows.columns[::-1]]), case.predictions)
    proba = loaded.predict_proba(case.rows)
    if case.probabilities is None:
        assert proba is None
    else:
        _assert_same(proba, case.probabilities)


def _load(mv: Any, registry: Any) -> Any:
    if not mv.runs_code:
        return mlgate.load_model(mv.ref, registry=registry)
    with pytest.raises(UsageError, match="runs code"):  # stored code runs only with consent
        mlgate.load_model(mv.ref, registry=registry)
    with pytest.warns(RuntimeWarning, match="ran code stored in its artifact"):
        return mlgate.load_model(mv.ref, registry=registry, allow_code=True)


def test_digest_names_the_stored_files(case: Case, registry: Any, tmp_path: Path) -> None:
    mv = mlgate.log_model(case.model, "conformance", sample_input=case.sample, registry=registry)
    assert ARTIFACT_META in mv.manifest
    assert mv.digest == manifest_digest(mv.manifest)
    assert registry.get(mv.ref).digest == mv.digest
    folder = registry.materialize(mv, tmp_path / "copy")
    assert digest_path(folder) == mv.digest
    again = mlgate.log_model(case.model, "conformance", sample_input=case.sample, registry=registry)
    assert again.number == mv.number + 1
    if case.reproducible:
        assert again.digest == mv.digest


def test_corrupt_file_is_refused_by_name(case: Case, registry: Any, tmp_path: Path) -> None:
    mv = mlgate.log_model(case.model, "conformance", sample_input=case.sample, registry=registry)
    rel, info = max(((r, i) for r, i in mv.manifest.items() if r != ARTIFACT_META), key=lambda ri: ri[1]["size"])
    blob = tmp_path / "artifacts" / blob_key(info["digest"])
    blob.chmod(0o644)
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match=rf"file {re.escape(repr(rel))} is corrupt"):
        mlgate.load_model(mv.ref, registry=registry)


def test_the_file_a_flavor_saves_it_reads_back_as_a_model_file(case: Case, tmp_path: Path) -> None:
    """A flavor that declares ``model_files`` reads the file it saves (``mlgate model register FILE``)."""
    from mlgate.flavors import detect_flavor, get_flavor
    from mlgate.loaders import read_model_file

    fl = get_flavor(case.flavor)
    assert all(s.startswith(".") and s == s.lower() for s in fl.model_files)
    config = fl.save(case.model, tmp_path, sample_input=case.sample)
    stored = tmp_path / str(config.get("file", ""))
    if not fl.model_files or stored.suffix.lower() not in fl.model_files:
        pytest.skip(f"the {case.flavor} flavor saves no single file it declares")
    obj, implied = read_model_file(stored, allow_pickle=fl.runs_code_for(config))
    assert implied in (case.flavor, None)
    assert detect_flavor(obj).name == case.flavor
