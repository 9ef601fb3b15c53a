"""Versions that start failing once they serve, for the monitor loop end to end (tests and benchmark).

Each wraps a good classifier, so ``log_model`` (a 5-row sample) and the gate (1 row or the whole
evaluation set per call) see a good model; the fault shows only on requests of :data:`ROWS` rows, the
size the load generator sends: ``nan`` answers NaN predictions and probabilities; ``ok`` and ``slow``
sleep ``delay`` seconds before answering (the latency case: a good version whose time is a lookup's
``delay``, and one three times slower; a sleep stays put when the machine is loaded, compute does not).
The pyfunc flavor stores this module's source with the version, so the server loads the same class.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

ROWS = 8


class Failing:
    """A classifier with one behaviour on :data:`ROWS`-row requests: ``nan``, ``ok`` or ``slow``."""

    def __init__(self, model: Any, mode: str, delay: float = 0.0) -> None:
        self.model = model
        self.mode = mode
        self.delay = delay
        self.classes_ = model.classes_

    def _faulty(self, X: Any) -> bool:
        return len(X) == ROWS

    def predict(self, X: Any) -> np.ndarray:
        if self._faulty(X):
            if self.mode == "nan":
                return np.full(len(X), np.nan)
            time.sleep(self.delay)
        return np.asarray(self.model.predict(X))

    def predict_proba(self, X: Any) -> np.ndarray:
        if self._faulty(X) and self.mode == "nan":
            return np.full((len(X), len(self.classes_)), np.nan)
        return np.asarray(self.model.predict_proba(X))

    def save(self, folder: Path) -> None:
        import skops.io as sio

        sio.dump(self.model, folder / "inner.skops")
        (folder / "config.json").write_text(json.dumps({"mode": self.mode, "delay": self.delay}))

    @classmethod
    def load(cls, folder: Path) -> Failing:
        import skops.io as sio

        inner = sio.load(folder / "inner.skops", trusted=sio.get_untrusted_types(file=folder / "inner.skops"))
        config = json.loads((folder / "config.json").read_text())
        return cls(inner, config["mode"], config["delay"])
