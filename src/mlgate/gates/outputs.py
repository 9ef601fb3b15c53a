"""The candidate's outputs on the evaluation rows, kept with its gate report.

The gate scored the candidate on labelled rows; those outputs are what the model looks like when it is
known to be right, so the monitor uses them as the reference for prediction drift and to calibrate its
label-free performance estimate. They are one compressed NumPy ``.npz`` blob in the registry's blob
store, named in the report under ``outputs`` (``{"digest", "format", "rows"}``, docs/gate-report.md):

* ``y``: the true labels, class indices into the report's ``classes`` (int64), or values (float64);
* ``label``: the predicted class indices (int64), classification only;
* ``proba``: the probabilities in the same class order (float32, shape (n, k)), when the model gives them;
* ``value``: the predictions of a regression (float64);
* ``inputs``, ``input_names`` (regression only): the numeric input columns (float32, at most
  ``MAX_INPUT_ROWS`` rows, evenly spaced, their positions in ``input_rows`` when cut), which the
  monitor's regression estimate learns its error model from (monitor/estimate.py).

Float32 probabilities halve the blob and lose nothing a drift test or a calibration map can see.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from mlgate.gates.scoring import Evaluation
    from mlgate.registry.store import Registry

FORMAT = "npz"
KEY = "outputs"
MAX_INPUT_ROWS = 20_000


@dataclass(frozen=True)
class StoredOutputs:
    """A version's outputs on its gate's evaluation rows, with the true labels."""

    task: str
    classes: list[str] | None
    y: np.ndarray
    label: np.ndarray | None = None
    proba: np.ndarray | None = None
    value: np.ndarray | None = None
    inputs: np.ndarray | None = None  # regression: numeric inputs, float (rows of input_rows when given)
    input_names: list[str] | None = None
    input_rows: np.ndarray | None = None

    @property
    def rows(self) -> int:
        """Evaluation rows."""
        return len(self.y)


def encode(ev: Evaluation) -> bytes | None:
    """The npz bytes of the candidate's outputs; None when they could not be scored (NaN, inf)."""
    if ev.candidate_error is not None:
        return None
    arrays: dict[str, np.ndarray] = {"y": np.asarray(ev.y)}
    pred = ev.candidate
    if pred.label is not None:
        arrays["label"] = np.asarray(pred.label, dtype=np.int64)
    if pred.proba is not None:
        arrays["proba"] = np.asarray(pred.proba, dtype=np.float32)
    if pred.value is not None:
        arrays["value"] = np.asarray(pred.value, dtype=np.float64)
        arrays.update(_inputs(ev.features))
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)  # type: ignore[arg-type]
    return buf.getvalue()


def _inputs(features: Any) -> dict[str, np.ndarray]:
    """The numeric input columns of a regression's evaluation rows, at most ``MAX_INPUT_ROWS`` of them."""
    names = [str(c) for c in getattr(features, "columns", []) if _numeric(features[c].dtype)]
    if not names:
        return {}
    n = len(features)
    out: dict[str, np.ndarray] = {"input_names": np.asarray(names, dtype=np.str_)}
    rows = None if n <= MAX_INPUT_ROWS else np.linspace(0, n - 1, MAX_INPUT_ROWS).astype(np.int64)
    frame = features[names] if rows is None else features[names].iloc[rows]
    out["inputs"] = frame.to_numpy(dtype=np.float32, na_value=np.nan)
    if rows is not None:
        out["input_rows"] = rows
    return out


def _numeric(dtype: Any) -> bool:
    return getattr(dtype, "kind", "O") in "biuf"


def store(registry: Registry, ev: Evaluation) -> dict[str, Any] | None:
    """Put the outputs in ``registry``'s blob store; the report's ``outputs`` entry (None: nothing kept)."""
    data = encode(ev)
    if data is None:
        return None
    return {"digest": registry.put_blob(data), "format": FORMAT, "rows": len(ev.y)}


def decode(data: bytes, report: dict[str, Any]) -> StoredOutputs:
    """The outputs of the blob ``data``, read with the task and classes of the ``report`` that names it."""
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        got = {k: np.asarray(npz[k]) for k in npz.files}
    return StoredOutputs(
        str(report.get("task") or ("regression" if "value" in got else "classification")),
        report.get("classes"),
        got["y"],
        got.get("label"),
        None if "proba" not in got else got["proba"].astype(np.float64),
        got.get("value"),
        None if "inputs" not in got else got["inputs"].astype(np.float64),
        None if "input_names" not in got else [str(n) for n in got["input_names"].tolist()],
        got.get("input_rows"),
    )


def load(registry: Registry, report: dict[str, Any]) -> StoredOutputs | None:
    """The outputs a stored gate report names; None for a report from before they were kept."""
    entry = report.get(KEY)
    if not isinstance(entry, dict) or entry.get("format") != FORMAT or not entry.get("digest"):
        return None
    return decode(registry.read_blob(str(entry["digest"]), what="gate outputs"), report)
