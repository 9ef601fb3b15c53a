"""Read a saved model file and a sample table from disk, for ``mlgate model register PATH``.

Which flavor reads a model file is not decided here: each flavor declares the suffixes it reads
(``Flavor.model_files``, ``Flavor.reads_file``) and reads them (``Flavor.read_model_file``), so a
third-party flavor registered under the ``mlgate.flavors`` entry points reads its files too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.errors import InputError, NotFoundError, UsageError

if TYPE_CHECKING:
    from mlgate.flavors import Flavor


def file_readers() -> list[type[Flavor]]:
    """The installed flavors that read single model files (``model_files``), by priority then name.

    Third-party flavors registered under the ``mlgate.flavors`` entry points are included; a flavor
    whose module cannot be imported is left out, as in detection.
    """
    from mlgate.flavors import available, get_flavor

    readers = []
    for name in available():
        try:
            cls = type(get_flavor(name))
        except ImportError:
            continue
        if cls.model_files:
            readers.append(cls)
    return sorted(readers, key=lambda c: (c.priority, c.name))


def reader_for(path: Path, named: str | None, readers: list[type[Flavor]]) -> type[Flavor] | None:
    """The flavor that reads ``path``: first those that declare its suffix, then any that claims it by name."""
    suffix = path.suffix.lower()
    for cls in sorted(readers, key=lambda c: (suffix not in c.model_files, c.priority, c.name)):
        if cls.reads_file(path, named):
            return cls
    return None


def read_model_file(
    path: str | Path, *, flavor: str | None = None, allow_pickle: bool = False
) -> tuple[Any, str | None]:
    """The model object stored in ``path`` and the flavor it implies (None: detect from the object).

    Which flavor reads the file is what the installed flavors declare (:attr:`Flavor.model_files`,
    :meth:`Flavor.reads_file`).
    """
    p = Path(path)
    if not p.exists():
        raise NotFoundError(f"model file {p} does not exist")
    readers = file_readers()
    if p.is_dir():
        raise UsageError(f"{p} is a folder; give the model file inside it ({_suffixes(readers)})")
    cls = reader_for(p, flavor, readers)
    if cls is None:
        raise UsageError(
            f"cannot tell what kind of model {p} holds from its extension {p.suffix.lower()!r}",
            hint="use "
            + ", ".join(f"{'/'.join(c.model_files)} ({c.name})" for c in readers)
            + "; pickles (.joblib, .pkl) need --allow-pickle",
        )
    return cls.read_model_file(p, allow_pickle=allow_pickle), (cls.name if cls.file_implies_flavor else flavor)


def _suffixes(readers: list[type[Flavor]]) -> str:
    suffixes = [s for c in readers for s in c.model_files]
    return ", ".join(suffixes[:-1]) + " or " + suffixes[-1] if len(suffixes) > 1 else "".join(suffixes)


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
