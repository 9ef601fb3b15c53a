"""Read a saved model file and a sample table from disk, for ``mlgate model register PATH``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlgate.errors import InputError, NotFoundError, UsageError


def read_model_file(
    path: str | Path, *, flavor: str | None = None, allow_pickle: bool = False
) -> tuple[Any, str | None]:
    """The model object stored in ``path`` and the flavor it implies (None: detect from the object)."""
    p = Path(path)
    if not p.exists():
        raise NotFoundError(f"model file {p} does not exist")
    suffix = p.suffix.lower()
    if p.is_dir():
        raise UsageError(
            f"{p} is a folder; give the model file inside it (.skops, .joblib, .pkl, .onnx, .pt, .pt2, "
            ".ubj, .json or .txt)"
        )
    if suffix == ".skops":
        import skops.io as sio

        from mlgate.flavors.sklearn import unsafe_types

        try:
            untrusted = sio.get_untrusted_types(file=p)
        except Exception as exc:  # a damaged zip or schema.json: skops raises whatever it hits
            raise InputError(f"{p} is not a readable .skops file: {type(exc).__name__}: {exc}") from exc
        unsafe = unsafe_types(untrusted)
        if unsafe and not allow_pickle:
            raise UsageError(
                f"{p} needs types that can run code when loaded (not data types of scikit-learn, NumPy or "
                f"SciPy): {', '.join(unsafe[:5])}",
                hint="pass --allow-pickle only if you trust who made this file; the version is then marked "
                "as running code",
            )
        return sio.load(p, trusted=untrusted), flavor
    if suffix in (".pkl", ".pickle", ".joblib"):
        if not allow_pickle:
            raise UsageError(
                f"{p} is a pickle; loading it runs whatever code it contains",
                hint="pass --allow-pickle if you trust this file; mlgate then stores it with skops when it can",
            )
        import joblib

        return joblib.load(p), flavor
    if suffix == ".onnx":
        from mlgate.errors import require

        onnx = require("onnx", "onnx", "registering an ONNX model")
        return onnx.load(str(p)), "onnx"
    if suffix == ".pt":
        from mlgate.errors import require

        torch = require("torch", "torch", "registering a TorchScript model")
        return torch.jit.load(str(p), map_location="cpu"), "torch"
    if suffix == ".pt2":
        from mlgate.errors import require

        torch = require("torch", "torch", "registering an exported PyTorch program")
        return torch.export.load(str(p)), "torch"
    if suffix in (".ubj", ".json") and flavor in (None, "xgboost"):
        from mlgate.errors import require

        xgb = require("xgboost", "boost", "registering an XGBoost model")
        booster = xgb.Booster()
        booster.load_model(str(p))
        return booster, "xgboost"
    if suffix == ".txt" or flavor == "lightgbm":
        from mlgate.errors import require

        lgb = require("lightgbm", "boost", "registering a LightGBM model")
        return lgb.Booster(model_file=str(p)), "lightgbm"
    raise UsageError(
        f"cannot tell what kind of model {p} holds from its extension {suffix!r}",
        hint="use .skops, .joblib/.pkl (with --allow-pickle), .onnx, .pt, .pt2, .ubj/.json (XGBoost) or "
        ".txt (LightGBM)",
    )


def read_table(path: str | Path, *, rows: int | None = None) -> Any:
    """A pandas DataFrame (or NumPy array for .npy) from CSV, JSON lines, Parquet or .npy."""
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise NotFoundError(f"data file {p} does not exist")
    suffix = p.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(p, nrows=rows)
        if suffix in (".jsonl", ".ndjson"):
            return pd.read_json(p, lines=True, nrows=rows)
        if suffix == ".json":
            return pd.DataFrame(json.loads(p.read_text(encoding="utf-8"))).head(rows)
        if suffix == ".parquet":
            frame = pd.read_parquet(p)
            return frame.head(rows) if rows else frame
        if suffix == ".npy":
            import numpy as np

            arr = np.load(p, allow_pickle=False)
            return arr[:rows] if rows else arr
    except (ValueError, UnicodeDecodeError, ImportError) as exc:
        raise InputError(f"cannot read {p}: {exc}") from exc
    raise UsageError(f"cannot read tables from {p}: use .csv, .jsonl, .json, .parquet or .npy")


def sample_from(model: Any, sample: str | Path | None, data: list[str]) -> Any:
    """A few input rows: from ``--sample``, or from the first data table using the model's feature names."""
    if sample is not None:
        return read_table(sample, rows=20)
    names = getattr(model, "feature_names_in_", None)
    for item in data:
        p = Path(item)
        if p.is_file() and p.suffix.lower() in (".csv", ".parquet", ".jsonl"):
            frame = read_table(p, rows=20)
            if names is not None:
                missing = [n for n in names if n not in frame.columns]
                if not missing:
                    return frame[list(names)]
    raise UsageError(
        "mlgate needs a few input rows to record the model's signature",
        hint="pass --sample FILE (a .csv, .parquet, .jsonl or .npy with the model's input columns)",
    )
