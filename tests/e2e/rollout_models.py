"""Faulty canaries for the rollout end-to-end tests, in their own file so the pyfunc flavor can store them.

Each wraps a good classifier, so the gate (accuracy on the whole evaluation set, one call) passes it;
the fault shows only when it serves the tests' requests of 5 rows (the gate predicts 1 row or the whole
set, and the tests register with a 3-row sample):

- ``slow``: waits ``delay_s`` per call (the tests set it to a whole request's latency on the stable:
  twice as slow);
- ``flaky``: raises on every 20th call (5% of its requests fail);
- ``nan``: NaN for the slice ``mean radius > 19.5`` (10% of the rows; a 5-row request has one 41% of
  the time). Its predictions are floats on every call, so its signature says so;
- ``shifted``: predicts the positive class from a probability of 1e-5 instead of 0.5, which moves the
  share of positives from 63% to 85%: about half a standard deviation of the stable's predictions.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

SLICE_COLUMN, SLICE_ABOVE = "mean radius", 19.5


class Faulty:
    """A classifier with one fault: ``slow``, ``flaky``, ``nan`` or ``shifted``."""

    def __init__(self, model: Any, mode: str, delay_s: float = 0.03) -> None:
        self.model = model
        self.mode = mode
        self.delay_s = delay_s
        self.classes_ = model.classes_
        self.calls = 0

    def predict(self, X: Any) -> np.ndarray:
        preds = self.model.predict(X)
        if self.mode == "nan":
            preds = preds.astype(np.float64)
        if len(X) != 5:
            return preds
        self.calls += 1
        if self.mode == "slow":
            time.sleep(self.delay_s)
        elif self.mode == "flaky" and self.calls % 20 == 0:
            raise RuntimeError("injected failure")
        elif self.mode == "nan":
            radius = np.asarray(X[SLICE_COLUMN] if hasattr(X, "columns") else np.asarray(X)[:, 0], dtype=float)
            preds[radius > SLICE_ABOVE] = np.nan
        elif self.mode == "shifted":
            preds = np.where(self.model.predict_proba(X)[:, 1] > 1e-5, self.classes_[1], self.classes_[0])
        return preds

    def save(self, folder: Path) -> None:
        import skops.io as sio

        sio.dump(self.model, folder / "inner.skops")
        (folder / "config.json").write_text(json.dumps({"mode": self.mode, "delay_s": self.delay_s}))

    @classmethod
    def load(cls, folder: Path) -> Faulty:
        import skops.io as sio

        inner = sio.load(folder / "inner.skops", trusted=sio.get_untrusted_types(file=folder / "inner.skops"))
        config = json.loads((folder / "config.json").read_text())
        return cls(inner, config["mode"], config.get("delay_s", 0.03))
