"""Turn what a caller passes (pandas, Polars, NumPy, records) into what a model was built for.

Columns are matched by name and put in the order of the signature, so a caller's column order never
matters; missing columns are an error naming each one.
"""

from __future__ import annotations

from typing import Any

from mlgate.errors import InputError


def to_pandas(data: Any) -> Any:
    """A pandas DataFrame from a DataFrame, Polars frame, records, or dict of columns."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        return data
    mod = type(data).__module__
    if mod.startswith("polars"):
        return pd.DataFrame(data.to_dict(as_series=False))
    if mod.startswith("pyarrow"):
        return data.to_pandas()
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return pd.DataFrame.from_records(data)
    if isinstance(data, dict):
        return pd.DataFrame(data)
    return None


def prepare(data: Any, signature: dict[str, Any], fmt: str) -> Any:
    """Shape ``data`` for a model whose signature is ``signature``; ``fmt`` is "pandas" or "numpy"."""
    import numpy as np

    spec = signature.get("inputs", {})
    if spec.get("type") == "columns":
        names = [c["name"] for c in spec["columns"]]
        frame = to_pandas(data)
        if frame is None:
            arr = np.asarray(data)
            if arr.ndim == 1 and len(names) > 1:
                arr = arr.reshape(1, -1)
            if arr.ndim != 2 or arr.shape[1] != len(names):
                raise InputError(
                    f"expected a table with the {len(names)} columns {_short(names)}, got an array of shape {arr.shape}"
                )
            import pandas as pd

            frame = pd.DataFrame(arr, columns=names)
        missing = [n for n in names if n not in frame.columns]
        if missing:
            raise InputError(
                f"input is missing {len(missing)} column(s) the model needs: {_short(missing)}",
                hint=f"the model takes the columns {_short(names)}",
            )
        frame = frame[names]
        if fmt == "numpy":
            return np.array(frame.to_numpy())  # pandas 3 hands out read-only views
        return frame
    if spec.get("type") == "tensor":
        frame = to_pandas(data)
        arr = np.array(frame.to_numpy()) if frame is not None else data
        if type(arr).__module__.startswith("torch"):
            return arr
        arr = np.asarray(arr)
        want = spec.get("shape", [])
        if want and arr.ndim == len(want) - 1 and list(arr.shape) == want[1:]:
            arr = arr[None, ...]  # one example without its batch dimension
        if want and (arr.ndim != len(want) or any(w not in (-1, g) for w, g in zip(want, arr.shape, strict=False))):
            raise InputError(f"expected an array of shape {want} (-1: any size), got {list(arr.shape)}")
        dtype = spec.get("dtype")
        if dtype and dtype not in ("object", "string") and str(arr.dtype) != dtype:
            try:
                arr = arr.astype(dtype)
            except (TypeError, ValueError) as exc:
                raise InputError(f"cannot convert input of dtype {arr.dtype} to {dtype}: {exc}") from exc
        return arr
    return data


def _short(names: list[str], limit: int = 8) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
