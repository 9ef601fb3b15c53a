"""Serving faults for the gate zoo: a fitted scikit-learn model with one fault injected at prediction time.

This file is self-contained (NumPy, pandas and skops only) because mlgate's pyfunc flavor stores a model
class by copying the source file that defines it; the inner model is stored with skops.

Faults:

* ``nan``: NaN outputs (labels and probabilities, or values) on the rows where ``column`` equals ``value``
  (or is at least ``value`` with ``op: ge``): a subgroup the feature code cannot handle;
* ``constant``: the same output for every row (the training prior, or the training mean);
* ``zero``: ``column`` replaced by ``value`` before predicting: an upstream feature that went missing and
  was filled with a constant;
* ``sharpen``: probabilities raised to the power ``1 / temperature`` and renormalised (over-confidence);
  the labels are those of the inner model, so accuracy and ROC AUC do not move.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


class FaultyRegressor:
    """A fitted regressor with one serving fault (see the module docstring)."""

    def __init__(self, model: Any, fault: str, **config: Any) -> None:
        self.model = model
        self.fault = fault
        self.config = config

    def _mask(self, X: Any) -> np.ndarray:
        column = np.asarray(pd.DataFrame(X)[self.config["column"]])
        value = self.config["value"]
        return column >= value if self.config.get("op") == "ge" else column == value

    def _input(self, X: Any) -> Any:
        if self.fault != "zero":
            return X
        X = pd.DataFrame(X).copy()
        X[self.config["column"]] = self.config["value"]
        return X

    def predict(self, X: Any) -> np.ndarray:
        if self.fault == "constant":
            return np.full(len(X), float(self.config["constant"]))
        out = np.asarray(self.model.predict(self._input(X)))
        if self.fault == "nan":
            out = out.astype(np.float64)
            out[self._mask(X)] = np.nan
        return out

    def save(self, folder: Path) -> None:
        import skops.io as sio

        sio.dump(self.model, folder / "inner.skops")
        (folder / "config.json").write_text(json.dumps({"fault": self.fault, "config": self.config}))

    @classmethod
    def load(cls, folder: Path) -> Any:
        import skops.io as sio

        inner = sio.load(folder / "inner.skops", trusted=sio.get_untrusted_types(file=folder / "inner.skops"))
        doc = json.loads((folder / "config.json").read_text())
        return cls(inner, doc["fault"], **doc["config"])


class FaultyClassifier(FaultyRegressor):
    """A fitted classifier with one serving fault; ``constant`` answers the training prior for every row."""

    def __init__(self, model: Any, fault: str, **config: Any) -> None:
        super().__init__(model, fault, **config)
        self.classes_ = model.classes_

    def predict(self, X: Any) -> np.ndarray:
        if self.fault == "constant":
            prior = np.asarray(self.config["constant"])
            return np.repeat(self.classes_[int(np.argmax(prior))], len(X))
        if self.fault == "sharpen":
            return np.asarray(self.model.predict(X))
        return super().predict(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        if self.fault == "constant":
            return np.tile(np.asarray(self.config["constant"], dtype=np.float64), (len(X), 1))
        proba = np.asarray(self.model.predict_proba(self._input(X)), dtype=np.float64)
        if self.fault == "nan":
            proba[self._mask(X)] = np.nan
        elif self.fault == "sharpen":
            proba = np.power(np.clip(proba, 1e-12, 1.0), 1.0 / float(self.config["temperature"]))
            proba /= proba.sum(axis=1, keepdims=True)
        return proba
