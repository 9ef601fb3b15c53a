"""LightGBM models in LightGBM's own text format, never pickled.

Only the Booster is stored. For the scikit-learn wrappers the config records what the Booster does
not know (the classes, whether the model saw column names), and loading wraps the Booster in a
:class:`LightGBMPredictor` that answers ``predict`` and ``predict_proba`` like the wrapper did.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlgate.errors import UnsupportedModelError
from mlgate.flavors import Flavor, artifact_file


class LightGBMFlavor(Flavor):
    """``lightgbm.Booster`` and the scikit-learn wrappers (``LGBMClassifier``, ``LGBMRegressor``, …)."""

    name = "lightgbm"
    packages = ("lightgbm", "numpy")
    priority = 20
    model_files = (".txt",)

    @classmethod
    def detect(cls, obj: Any) -> bool:
        return any(
            c.__module__.startswith("lightgbm") and c.__name__ in ("Booster", "LGBMModel") for c in type(obj).__mro__
        )

    @classmethod
    def reads_file(cls, path: Path, named: str | None) -> bool:
        # LightGBM's text models have no fixed suffix: asked for by name, it reads any file
        return super().reads_file(path, named) or named == cls.name

    @classmethod
    def read_model_file(cls, path: Path, *, allow_pickle: bool = False) -> Any:
        from mlgate.errors import require

        lgb = require("lightgbm", "boost", "registering a LightGBM model")
        return lgb.Booster(model_file=str(path))

    def save(self, obj: Any, path: Path, *, sample_input: Any, **options: Any) -> dict[str, Any]:
        wrapper = type(obj).__name__ != "Booster"
        booster = obj.booster_ if wrapper else obj
        booster.save_model(str(path / "model.txt"))
        config: dict[str, Any] = {"file": "model.txt", "kind": "booster", "feature_names": True}
        if not wrapper:
            return config
        config["feature_names"] = hasattr(obj, "feature_names_in_")
        if hasattr(obj, "classes_"):
            config["kind"] = "classifier"
            config["classes"] = obj.classes_.tolist()
        else:
            config["kind"] = "regressor"
        return config

    def load(self, path: Path, config: dict[str, Any], *, allow_pickle: bool = False) -> Any:
        import lightgbm

        booster = lightgbm.Booster(model_file=str(artifact_file(path, config["file"])))
        if config["kind"] == "booster":
            return booster
        if config["kind"] not in ("classifier", "regressor"):
            raise UnsupportedModelError(f"unknown lightgbm model kind {config['kind']!r} in the stored config")
        return LightGBMPredictor(booster, config.get("classes"))

    def input_format(self, config: dict[str, Any]) -> str:
        return "pandas" if config.get("feature_names", True) else "numpy"

    def predict_proba(self, model: Any, data: Any) -> Any | None:
        return model.predict_proba(data) if isinstance(model, LightGBMPredictor) else None


class LightGBMPredictor:
    """A stored Booster answering like the scikit-learn wrapper it came from."""

    def __init__(self, booster: Any, classes: list[Any] | None = None) -> None:
        self.booster = booster
        self.classes = classes

    def __repr__(self) -> str:
        kind = "classifier" if self.classes is not None else "regressor"
        return f"<LightGBM {kind}, {self.booster.num_trees()} trees>"

    def predict(self, data: Any) -> Any:
        """Class labels for a classifier, values for a regressor."""
        import numpy as np

        if self.classes is None:
            return self.booster.predict(data)
        proba = self.predict_proba(data)
        assert proba is not None  # a classifier has probabilities
        return np.asarray(self.classes)[np.argmax(proba, axis=1)]

    def predict_proba(self, data: Any) -> Any | None:
        """One column of probabilities per class; None for a regressor."""
        import numpy as np

        if self.classes is None:
            return None
        raw = np.asarray(self.booster.predict(data))
        return np.column_stack([1.0 - raw, raw]) if raw.ndim == 1 else raw
