"""Faulty canaries for the rollout end-to-end tests, in their own file so the pyfunc flavor can store them.

Each wraps a good classifier, so the gate (accuracy on the whole evaluation set, one call) passes it;
the fault shows only when it serves the tests' requests of 5 rows: ``slow`` sleeps 30 ms per call,
``flaky`` raises on every 20th (5% of them fail). The gate's checks predict 1 row or the whole set.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np


class Faulty:
    """A classifier with one fault, ``slow`` or ``flaky``."""

    def __init__(self, model: Any, mode: str) -> None:
        self.model = model
        self.mode = mode
        self.classes_ = model.classes_
        self.calls = 0

    def predict(self, X: Any) -> np.ndarray:
        if len(X) == 5:
            self.calls += 1
            if self.mode == "slow":
                time.sleep(0.03)
            elif self.mode == "flaky" and self.calls % 20 == 0:
                raise RuntimeError("injected failure")
        return self.model.predict(X)

    def save(self, folder: Path) -> None:
        import skops.io as sio

        sio.dump(self.model, folder / "inner.skops")
        (folder / "config.json").write_text(json.dumps({"mode": self.mode}))

    @classmethod
    def load(cls, folder: Path) -> Faulty:
        import skops.io as sio

        inner = sio.load(folder / "inner.skops", trusted=sio.get_untrusted_types(file=folder / "inner.skops"))
        return cls(inner, json.loads((folder / "config.json").read_text())["mode"])
