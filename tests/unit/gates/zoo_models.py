"""Model classes for the regression zoo, in their own file so mlgate's pyfunc flavor can store them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


class NanOnLargeTumours:
    """A classifier that answers NaN probabilities for rows whose ``mean radius`` exceeds a threshold."""

    def __init__(self, model: Any, threshold: float) -> None:
        self.model = model
        self.threshold = threshold
        self.classes_ = model.classes_

    def _bad(self, X: Any) -> np.ndarray:
        return np.asarray(X["mean radius"]) > self.threshold

    def predict(self, X: Any) -> np.ndarray:
        out = self.model.predict(X).astype(float)
        out[self._bad(X)] = np.nan
        return out

    def predict_proba(self, X: Any) -> np.ndarray:
        proba = self.model.predict_proba(X)
        proba[self._bad(X)] = np.nan
        return proba

    def save(self, folder: Path) -> None:
        import skops.io as sio

        sio.dump(self.model, folder / "inner.skops")
        (folder / "config.json").write_text(json.dumps({"threshold": self.threshold}))

    @classmethod
    def load(cls, folder: Path) -> NanOnLargeTumours:
        import skops.io as sio

        inner = sio.load(folder / "inner.skops", trusted=sio.get_untrusted_types(file=folder / "inner.skops"))
        return cls(inner, json.loads((folder / "config.json").read_text())["threshold"])


class CategoryCodes:
    """A classifier that reads a categorical column by its pandas codes, as LightGBM and XGBoost do.

    Its codes are those of the categories the training frame had; a frame whose categories are ordered
    otherwise (JSON strings parsed into a fresh ``category`` column) moves every row to another code.
    """

    def __init__(self, model: Any, column: str) -> None:
        self.model = model
        self.column = column
        self.classes_ = model.classes_

    def _codes(self, X: Any) -> Any:
        col = X[self.column]
        col = col if str(col.dtype) == "category" else col.astype("category")  # text: categories sorted
        return X.assign(**{self.column: col.cat.codes.astype(float)})

    def predict(self, X: Any) -> np.ndarray:
        return self.model.predict(self._codes(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        return self.model.predict_proba(self._codes(X))

    def save(self, folder: Path) -> None:
        import skops.io as sio

        sio.dump(self.model, folder / "inner.skops")
        (folder / "config.json").write_text(json.dumps({"column": self.column}))

    @classmethod
    def load(cls, folder: Path) -> CategoryCodes:
        import skops.io as sio

        inner = sio.load(folder / "inner.skops", trusted=sio.get_untrusted_types(file=folder / "inner.skops"))
        return cls(inner, json.loads((folder / "config.json").read_text())["column"])
