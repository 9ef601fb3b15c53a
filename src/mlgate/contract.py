"""The input contract a version was registered with: a few sample rows exactly as given, and its outputs on them.

``log_model`` writes it as ``mlgate-contract.json`` among the version's files, so the version's digest
covers it. The document (``mlgate.contract/1``)::

    {"format": "mlgate.contract/1", "kind": "columns",
     "columns": [{"name": "age", "dtype": "int64"}, …],      # the sample's own order and dtypes
     "data": [[41, …], …],                                     # up to MAX_ROWS rows, JSON values
     "outputs": [0, 1, …], "proba": [[0.8, 0.2], …] or null}

``kind`` is ``"array"`` for a 2-D NumPy sample (``dtype`` and ``data`` then; no names: such a model reads
its input by position). Samples of other shapes (images, named tensors) store no contract. The gate's
``input contract`` check (:mod:`mlgate.gates.contract`) scores the rows again the way serving would.
"""

from __future__ import annotations

import contextlib
import json
import math
from pathlib import Path
from typing import Any

CONTRACT_FILE = "mlgate-contract.json"
FORMAT = "mlgate.contract/1"
MAX_ROWS = 64
MAX_VALUES = 20_000  # a wider sample (images flattened to columns) is not worth storing


def write_contract(folder: Path, flavor: Any, native: Any, config: dict[str, Any], signature: dict[str, Any],
                   sample: Any) -> None:  # fmt: skip
    """Store the contract of ``sample`` in ``folder`` (nothing for samples it cannot represent).

    The outputs are the model's on the stored rows, predicted here through ``mlgate.inputs.prepare`` as
    ``log_model`` predicts; a model that cannot predict on them was already refused by ``log_model``.
    """
    doc = capture(sample)
    if doc is None:
        return
    from mlgate.inputs import prepare

    try:
        shaped = prepare(rebuild(doc), signature, flavor.input_format(config))
        doc["outputs"] = _json_list(flavor.predict(native, shaped))
    except Exception:  # the whole sample predicted in log_model; a contract is a bonus, never a refusal
        return
    try:
        proba = flavor.predict_proba(native, shaped)
    except Exception:  # a classifier without probabilities for this input is judged on its labels
        proba = None
    doc["proba"] = None if proba is None else _json_list(proba)
    if doc["outputs"] is None:
        return
    (folder / CONTRACT_FILE).write_text(json.dumps(doc, sort_keys=True, allow_nan=False))


def capture(sample: Any) -> dict[str, Any] | None:
    """The first rows of ``sample`` as JSON with their names and dtypes, or None when it is no table."""
    import numpy as np

    from mlgate.inputs import to_pandas

    mod = type(sample).__module__
    # the first rows before any conversion: a sample may be the whole training set
    if mod.startswith("pyarrow") and hasattr(sample, "slice"):
        sample = sample.slice(0, MAX_ROWS)
    elif mod.startswith(("pandas", "polars")) and hasattr(sample, "head"):
        sample = sample.head(MAX_ROWS)
    elif isinstance(sample, list) and sample and isinstance(sample[0], dict):
        sample = sample[:MAX_ROWS]
    frame = to_pandas(sample)
    if frame is not None:
        frame = frame.head(MAX_ROWS)
        if frame.size == 0 or frame.size > MAX_VALUES:
            return None
        columns = [_column(c, t) for c, t in frame.dtypes.items()]
        rows = [[_json_value(v) for v in row] for row in frame.itertuples(index=False, name=None)]
        return {"format": FORMAT, "kind": "columns", "columns": columns, "data": rows}
    if type(sample).__module__.startswith("numpy") or isinstance(sample, list):
        try:
            arr = np.asarray(sample)
        except (TypeError, ValueError):
            return None
        if arr.ndim != 2 or arr.dtype.kind not in "biuf" or arr.size == 0:
            return None
        arr = arr[:MAX_ROWS]
        if arr.size > MAX_VALUES:
            return None
        return {"format": FORMAT, "kind": "array", "dtype": str(arr.dtype), "data": _json_list(arr)}
    return None


def rebuild(doc: dict[str, Any]) -> Any:
    """The stored rows as the caller gave them: a DataFrame in the stored column order and dtypes, or an array."""
    import numpy as np

    if doc["kind"] == "array":
        return np.array([[math.nan if v is None else v for v in row] for row in doc["data"]], dtype=doc["dtype"])
    import pandas as pd

    names = [c["name"] for c in doc["columns"]]
    frame = pd.DataFrame.from_records(doc["data"], columns=names)
    for c in doc["columns"]:
        dtype: Any = c["dtype"]
        if "categories" in c:  # the training categories and their order: the codes a model may read
            dtype = pd.CategoricalDtype(c["categories"], ordered=c.get("ordered", False))
        # failing, the JSON value is the best there is (a dtype of another pandas version)
        with contextlib.suppress(TypeError, ValueError):
            frame[c["name"]] = frame[c["name"]].astype(dtype)
    return frame


def _column(name: Any, dtype: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": str(name), "dtype": str(dtype)}
    if str(dtype) == "category":
        out["categories"] = [_json_value(v) for v in dtype.categories.tolist()]
        out["ordered"] = bool(dtype.ordered)
    return out


def read_contract(folder: Path) -> dict[str, Any] | None:
    """The contract stored with a materialized version, or None when it was registered without one."""
    path = folder / CONTRACT_FILE
    if not path.is_file():
        return None
    doc = json.loads(path.read_text())
    return doc if isinstance(doc, dict) and doc.get("format") == FORMAT else None


def _json_value(value: Any) -> Any:
    """A cell as JSON: NumPy scalars as Python, NaN and missing as null, dates as ISO text."""
    import numpy as np

    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if not math.isfinite(value) else value
    if isinstance(value, bool | int | str):
        return value
    if hasattr(value, "isoformat"):
        try:
            import pandas as pd

            if pd.isna(value):
                return None
        except (TypeError, ValueError):
            pass
        return value.isoformat()
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _json_list(values: Any) -> list[Any] | None:
    """Model outputs (1-D or 2-D) as nested JSON lists, or None when they are neither."""
    import numpy as np

    try:
        arr = np.asarray(values)
    except (TypeError, ValueError):
        return None
    if arr.ndim not in (1, 2):
        return None
    if arr.ndim == 1:
        return [_json_value(v) for v in arr.tolist()]
    return [[_json_value(v) for v in row] for row in arr.tolist()]
