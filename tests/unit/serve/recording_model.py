"""A classifier that records every batch it is asked to predict (stored with its source, the pyfunc flavor)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


class Recording:
    """Wraps a fitted classifier; ``calls`` lists each batch predicted since it was loaded, as float rows.

    ``broken_proba``: once loaded, ``predict_proba`` raises (registration still predicts normally).
    """

    def __init__(self, model: Any, broken_proba: bool = False) -> None:
        self.model = model
        self.classes_ = model.classes_
        self.broken_proba = broken_proba
        self.loaded = False
        self.calls: list[list[list[float]]] = []

    def predict(self, X: Any) -> np.ndarray:
        self.calls.append(np.asarray(X, dtype=float).tolist())
        return np.asarray(self.model.predict(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        if self.loaded and self.broken_proba:
            raise RuntimeError("probabilities are broken in this build")
        return np.asarray(self.model.predict_proba(X))

    def save(self, folder: Path) -> None:
        import skops.io as sio

        sio.dump(self.model, folder / "inner.skops")
        (folder / "config.json").write_text(json.dumps({"broken_proba": self.broken_proba}))

    @classmethod
    def load(cls, folder: Path) -> Recording:
        import skops.io as sio

        inner = sio.load(folder / "inner.skops", trusted=sio.get_untrusted_types(file=folder / "inner.skops"))
        out = cls(inner, json.loads((folder / "config.json").read_text())["broken_proba"])
        out.loaded = True
        return out
