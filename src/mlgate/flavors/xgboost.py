"""XGBoost models in XGBoost's own binary JSON format (UBJSON), never pickled.

The scikit-learn wrappers keep their extra attributes (classes, objective) inside the same file, so
loading rebuilds the recorded wrapper class and calls its ``load_model``. A raw ``Booster`` predicts
on a ``DMatrix`` built from the input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlgate.errors import UnsupportedModelError
from mlgate.flavors import Flavor, artifact_file

_WRAPPERS = ("XGBClassifier", "XGBRegressor", "XGBRanker", "XGBRFClassifier", "XGBRFRegressor")


class XGBoostFlavor(Flavor):
    """``xgboost.Booster`` and the scikit-learn wrappers (``XGBClassifier``, ``XGBRegressor``, …)."""

    name = "xgboost"
    packages = ("xgboost", "numpy")
    priority = 20
    model_files = (".ubj", ".json")

    @classmethod
    def detect(cls, obj: Any) -> bool:
        return any(
            c.__module__.startswith("xgboost") and c.__name__ in ("Booster", "XGBModel") for c in type(obj).__mro__
        )

    @classmethod
    def reads_file(cls, path: Path, named: str | None) -> bool:
        # .json is generic: it is XGBoost's only when no other flavor was asked for
        return super().reads_file(path, named) and named in (None, cls.name)

    @classmethod
    def read_model_file(cls, path: Path, *, allow_pickle: bool = False) -> Any:
        from mlgate.errors import require

        xgb = require("xgboost", "boost", "registering an XGBoost model")
        booster = xgb.Booster()
        booster.load_model(str(path))
        return booster

    def save(self, obj: Any, path: Path, *, sample_input: Any, **options: Any) -> dict[str, Any]:
        wrapper = next(
            (c.__name__ for c in type(obj).__mro__ if c.__module__.startswith("xgboost") and c.__name__ in _WRAPPERS),
            None,
        )
        if wrapper is None and type(obj).__name__ != "Booster":
            raise UnsupportedModelError(
                f"the xgboost flavor stores Booster and {', '.join(_WRAPPERS)}, not {type(obj).__qualname__}"
            )
        obj.save_model(str(path / "model.ubj"))
        names = obj.feature_names if wrapper is None else getattr(obj, "feature_names_in_", None)
        return {"file": "model.ubj", "class": wrapper or "Booster", "feature_names": names is not None}

    def load(self, path: Path, config: dict[str, Any], *, allow_pickle: bool = False) -> Any:
        import xgboost

        name = config["class"]
        if name not in (*_WRAPPERS, "Booster"):
            raise UnsupportedModelError(f"unknown xgboost model class {name!r} in the stored config")
        model = getattr(xgboost, name)()
        model.load_model(str(artifact_file(path, config["file"])))
        return model

    def input_format(self, config: dict[str, Any]) -> str:
        return "pandas" if config.get("feature_names") else "numpy"

    def predict(self, model: Any, data: Any) -> Any:
        if _is_booster(model):
            import xgboost

            return model.predict(xgboost.DMatrix(data))
        return model.predict(data)

    def predict_proba(self, model: Any, data: Any) -> Any | None:
        return None if _is_booster(model) else super().predict_proba(model, data)


def _is_booster(model: Any) -> bool:
    return type(model).__name__ == "Booster"
