"""Which flavor stores which object, and the guards around code that runs when a model loads."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import mlgate
from mlgate.errors import InputError, NotFoundError, UnsupportedModelError, UsageError
from mlgate.flavors import detect_flavor, get_flavor


class Threshold:
    """A model defined in this test module: flags rows whose first column is above a cut-off."""

    def __init__(self, cut: float) -> None:
        self.cut = cut

    def predict(self, data: Any) -> Any:
        return (np.asarray(data, dtype=float)[:, 0] > self.cut).astype(int)


def _xgb_classifier() -> Any:
    return pytest.importorskip("xgboost", reason="the boost extra is not installed").XGBClassifier()


def _xgb_regressor() -> Any:
    return pytest.importorskip("xgboost", reason="the boost extra is not installed").XGBRegressor()


def _xgb_booster() -> Any:
    return pytest.importorskip("xgboost", reason="the boost extra is not installed").Booster()


def _lgbm_classifier() -> Any:
    return pytest.importorskip("lightgbm", reason="the boost extra is not installed").LGBMClassifier()


def _lgbm_regressor() -> Any:
    return pytest.importorskip("lightgbm", reason="the boost extra is not installed").LGBMRegressor()


def _onnx_model() -> Any:
    return pytest.importorskip("onnx", reason="the onnx extra is not installed").ModelProto()


def _torch_module() -> Any:
    return pytest.importorskip("torch", reason="the torch extra is not installed").nn.Linear(3, 1)


def _sklearn_pipeline() -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression())


@pytest.mark.parametrize(
    ("make", "flavor"),
    [
        (_xgb_classifier, "xgboost"),
        (_xgb_regressor, "xgboost"),
        (_xgb_booster, "xgboost"),
        (_lgbm_classifier, "lightgbm"),
        (_lgbm_regressor, "lightgbm"),
        (_onnx_model, "onnx"),
        (_torch_module, "torch"),
        (_sklearn_pipeline, "sklearn"),
        (lambda: Threshold(0.5), "pyfunc"),
    ],
    ids=lambda v: getattr(v, "__name__", v).lstrip("_"),
)
def test_specific_flavors_win_over_general_ones(make: Callable[[], Any], flavor: str) -> None:
    assert detect_flavor(make()).name == flavor


def test_an_object_nobody_stores_is_refused_by_type() -> None:
    with pytest.raises(UnsupportedModelError, match=r"cannot store an object of type builtins\.dict"):
        detect_flavor({"weights": [1, 2, 3]})
    with pytest.raises(UnsupportedModelError, match=r"builtins\.type"):
        detect_flavor(Threshold)


def test_detection_imports_no_model_library() -> None:
    code = textwrap.dedent(
        """
        import sys
        from sklearn.linear_model import LogisticRegression
        from mlgate.flavors import detect_flavor, get_flavor
        assert detect_flavor(LogisticRegression()).name == "sklearn"
        heavy = {"torch", "onnx", "onnxruntime", "xgboost", "lightgbm"} & set(sys.modules)
        assert not heavy, heavy
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_pyfunc_runs_code_and_warns_when_loaded(registry: Any) -> None:
    rows = np.array([[0.2, 1.0], [0.9, 0.0], [0.7, 5.0]])
    mv = mlgate.log_model(Threshold(0.5), "threshold", sample_input=rows, registry=registry)
    assert mv.flavor == "pyfunc"
    assert mv.runs_code is True
    assert registry.get(mv.ref).runs_code is True
    with pytest.raises(UsageError, match=rf"{mv.ref} \(pyfunc\) imports the Python module"):
        mlgate.load_model(mv.ref, registry=registry)  # without consent nothing runs
    with pytest.warns(RuntimeWarning, match=rf"{mv.ref} ran code stored in its artifact"):
        loaded = mlgate.load_model(mv.ref, registry=registry, allow_code=True)
    assert type(loaded.native) is not Threshold
    assert type(loaded.native).__module__.startswith("tests.unit.flavors.mlgate_pyfunc_")
    assert sys.modules[__name__].Threshold is Threshold
    np.testing.assert_array_equal(loaded.predict(rows), [0, 1, 1])
    assert loaded.predict_proba(rows) is None


MAIN_SCRIPT = '''
import sys

import numpy as np

import mlgate
from mlgate.registry.store import Registry


class Doubler:
    """Defined in __main__: a script run directly."""

    def __init__(self, factor):
        self.factor = factor

    def predict(self, data):
        return np.asarray(data, dtype=float).sum(axis=1) * self.factor


if __name__ == "__main__":
    reg = Registry(sys.argv[1], artifacts=sys.argv[2])
    mv = mlgate.log_model(Doubler(2.0), "doubler", sample_input=np.ones((3, 2)), registry=reg)
    reg.close()
    print(mv.ref)
'''


def test_pyfunc_class_defined_in_main_loads_elsewhere(registry: Any, registry_url: str, tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(MAIN_SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), registry_url, str(tmp_path / "artifacts")],
        check=True,
        capture_output=True,
        text=True,
    )
    ref = done.stdout.strip()
    with pytest.warns(RuntimeWarning, match="ran code stored in its artifact"):
        loaded = mlgate.load_model(ref, registry=registry, allow_code=True)
    assert loaded.metadata.flavor_config["module"] == "__main__"
    np.testing.assert_allclose(loaded.predict(np.array([[1.0, 2.0], [3.0, 4.0]])), [6.0, 14.0])


def test_pyfunc_refuses_a_class_defined_inside_a_function() -> None:
    class Local:
        def predict(self, data: Any) -> Any:
            return data

    with pytest.raises(UnsupportedModelError, match="defined inside a function"):
        mlgate.log_model(Local(), "local", sample_input=np.ones((2, 2)))


def test_pickled_sklearn_loads_only_when_allowed(registry: Any, sk_model: Any, breast_cancer: Any) -> None:
    X, _ = breast_cancer
    mv = mlgate.log_model(sk_model, "pickled", sample_input=X.head(5), serialization="pickle", registry=registry)
    assert mv.runs_code is True
    assert mv.flavor_config["serialization"] == "pickle"
    with pytest.raises(UsageError, match="stored as a pickle"):
        mlgate.load_model(mv.ref, registry=registry)
    with pytest.warns(RuntimeWarning, match="ran code stored in its artifact"):
        loaded = mlgate.load_model(mv.ref, registry=registry, allow_pickle=True)
    np.testing.assert_array_equal(loaded.predict(X.head(20)), sk_model.predict(X.head(20)))


def test_skops_sklearn_does_not_run_code(registry: Any, sk_model: Any, breast_cancer: Any) -> None:
    X, _ = breast_cancer
    mv = mlgate.log_model(sk_model, "skops", sample_input=X.head(5), registry=registry)
    assert mv.runs_code is False
    loaded = mlgate.load_model(mv.ref, registry=registry)
    np.testing.assert_array_equal(loaded.predict(X.head(20)), sk_model.predict(X.head(20)))


def test_sample_input_the_model_cannot_use_registers_nothing(
    registry: Any, sk_model: Any, breast_cancer: Any, tmp_path: Path
) -> None:
    X, _ = breast_cancer
    wrong = X.head(5).iloc[:, :10]
    with pytest.raises(InputError, match="the sklearn model cannot predict on the sample input"):
        mlgate.log_model(sk_model, "fresh", sample_input=wrong, registry=registry)
    with pytest.raises(NotFoundError, match="model 'fresh' is not registered"):
        registry.versions("fresh")
    assert not (tmp_path / "artifacts" / "blobs").exists()


def test_torch_falls_back_to_tracing_when_export_fails(registry: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    torch = pytest.importorskip("torch", reason="the torch extra is not installed")

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("export is unavailable")

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh()).eval()
    monkeypatch.setattr(torch.export, "export", refuse)
    sample = np.linspace(0, 1, 20, dtype=np.float32).reshape(5, 4)
    mv = mlgate.log_model(net, "traced", sample_input=sample[:1], registry=registry)
    assert mv.flavor_config["kind"] == "torchscript"
    loaded = mlgate.load_model(mv.ref, registry=registry)
    with torch.no_grad():
        want = net(torch.from_numpy(sample)).numpy()
    np.testing.assert_allclose(loaded.predict(sample), want, rtol=1e-6)


def test_torch_computes_in_the_model_dtype(registry: Any) -> None:
    torch = pytest.importorskip("torch", reason="the torch extra is not installed")
    torch.manual_seed(0)
    net = torch.nn.Linear(4, 2).double().eval()
    sample = np.linspace(0, 1, 20, dtype=np.float32).reshape(5, 4)
    mv = mlgate.log_model(net, "double", sample_input=sample, registry=registry)
    assert mv.flavor_config["dtype"] == "float64"
    loaded = mlgate.load_model(mv.ref, registry=registry)
    with torch.no_grad():
        want = net(torch.from_numpy(sample).double()).numpy()
    np.testing.assert_allclose(loaded.predict(sample), want, rtol=1e-12)


def _pickle_one_weight(archive: Path, net: Any) -> str:
    """Rewrite a .pt2 archive so one weight is stored as a pickle, as tensor subclasses are."""
    import torch

    with zipfile.ZipFile(archive) as src:
        entries = {name: src.read(name) for name in src.namelist()}
    config_name = next(n for n in entries if n.endswith("data/weights/model_weights_config.json"))
    config = json.loads(entries[config_name])
    key, meta = next(iter(config["config"].items()))
    meta["use_pickle"] = True
    entries[config_name] = json.dumps(config).encode()
    buffer = io.BytesIO()
    torch.save(torch.nn.Parameter(dict(net.named_parameters())[key].detach().clone()), buffer)
    entries[f"{config_name.split('/')[0]}/data/weights/{meta['path_name']}"] = buffer.getvalue()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as dst:
        for name, data in entries.items():
            dst.writestr(name, data)
    return key


def test_torch_archive_with_pickled_entries_needs_allow_pickle(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch", reason="the torch extra is not installed")
    flavor = get_flavor("torch")
    net = torch.nn.Linear(3, 2).eval()
    sample = np.linspace(0, 1, 12, dtype=np.float32).reshape(4, 3)
    config = flavor.save(net, tmp_path, sample_input=sample)
    assert config["kind"] == "export"
    assert config["pickle"] is False
    assert flavor.runs_code_for(config) is False
    key = _pickle_one_weight(tmp_path / config["file"], net)
    with pytest.raises(UsageError, match=rf"would unpickle or run as compiled code: .*:{key}"):
        flavor.load(tmp_path, config)
    loaded = flavor.load(tmp_path, config, allow_pickle=True)
    with torch.no_grad():
        want = net(torch.from_numpy(sample)).numpy()
    np.testing.assert_allclose(flavor.predict(loaded, sample), want, rtol=1e-6)


def test_pyfunc_class_in_a_package_keeps_its_relative_imports(
    registry: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "src" / "acme_models"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "scaling.py").write_text("def scale(values, factor):\n    return values * factor\n")
    (package / "model.py").write_text(
        "import numpy as np\n\nfrom .scaling import scale\n\n\n"
        "class Scaled:\n    def __init__(self, factor):\n        self.factor = factor\n\n"
        "    def predict(self, data):\n        return scale(np.asarray(data, dtype=float).sum(axis=1), self.factor)\n"
    )
    monkeypatch.syspath_prepend(str(package.parent))
    for name in ("acme_models", "acme_models.scaling", "acme_models.model"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    from acme_models.model import Scaled  # type: ignore[import-not-found]

    mv = mlgate.log_model(Scaled(3.0), "scaled", sample_input=np.ones((2, 2)), registry=registry)
    with pytest.warns(RuntimeWarning, match="ran code stored in its artifact"):
        loaded = mlgate.load_model(mv.ref, registry=registry, allow_code=True)
    assert type(loaded.native).__module__.startswith("acme_models.mlgate_pyfunc_")
    np.testing.assert_allclose(loaded.predict(np.array([[1.0, 2.0]])), [9.0])
