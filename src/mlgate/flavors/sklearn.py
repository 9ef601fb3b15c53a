"""scikit-learn estimators and pipelines, stored with skops.

skops records which types a file needs beyond its own defaults. mlgate trusts of those only the
types that are data (:func:`unsafe_types` says which are not): builtin values, and classes of
scikit-learn, NumPy and SciPy. Anything else (a function, ``builtins.exec``, ``operator.*``, a class of
another package) can run code while loading, so it needs ``allow_pickle=True`` and the version is
recorded as ``runs_code``. Plain pickle (joblib) is available only when asked for
(``serialization="pickle"``) and needs the same consent to load.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mlgate.errors import InputError, UnsupportedModelError, UsageError
from mlgate.flavors import Flavor, artifact_file, mro_modules

# builtins that are values; every other builtin (exec, eval, getattr, open, __import__ …) is a callable
_DATA_BUILTINS = frozenset(
    {
        "NoneType",
        "bool",
        "bytearray",
        "bytes",
        "complex",
        "dict",
        "float",
        "frozenset",
        "int",
        "list",
        "range",
        "slice",
        "str",
        "tuple",
    }
)
_LIBRARIES = ("sklearn.", "numpy.", "scipy.")
# parts of a library's module path whose classes read or write files or import test helpers
_DENIED_PARTS = ("io", "npyio", "_datasource", "memmap", "f2py", "distutils", "ctypeslib", "externals", "parallel")


def unsafe_types(names: Iterable[str]) -> list[str]:
    """The skops type names in ``names`` that are not plain data: loading them may run code.

    Trusted are builtin values and *classes* of scikit-learn, NumPy and SciPy (a stored class is
    instantiated; a stored function would be called with stored arguments, so functions are not).
    """
    return sorted({n for n in names if not _is_data_type(n)})


def _is_data_type(name: str) -> bool:
    module, _, attr = name.rpartition(".")
    if module == "builtins":
        return attr in _DATA_BUILTINS
    if module == "collections":  # containers; a defaultdict's factory is a node of its own, checked apart
        return attr in ("OrderedDict", "defaultdict", "Counter", "deque")
    if not name.startswith(_LIBRARIES) or not attr:
        return False
    parts = module.split(".")
    if any(p.startswith("__") or "test" in p or p in _DENIED_PARTS for p in parts):
        return False
    try:
        target: Any = importlib.import_module(module)
        for part in attr.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError):
        return False
    if not isinstance(target, type):  # functions, ufuncs, instances: called with stored arguments
        return False
    import numpy as np

    return not issubclass(target, np.memmap)  # constructing one opens (or creates) a file


class SklearnFlavor(Flavor):
    """scikit-learn estimators (including Pipelines) via skops."""

    name = "sklearn"
    packages = ("scikit-learn", "skops", "numpy", "scipy")
    priority = 60
    model_files = (".skops", ".joblib", ".pkl", ".pickle")
    file_implies_flavor = False  # a .skops file or a pickle may hold any estimator: the object decides

    @classmethod
    def detect(cls, obj: Any) -> bool:
        return "sklearn" in mro_modules(obj)

    @classmethod
    def read_model_file(cls, path: Path, *, allow_pickle: bool = False) -> Any:
        if path.suffix.lower() != ".skops":
            if not allow_pickle:
                raise UsageError(
                    f"{path} is a pickle; loading it runs whatever code it contains",
                    hint="pass --allow-pickle if you trust this file; mlgate then stores it with skops when it can",
                )
            import joblib

            return joblib.load(path)
        import skops.io as sio

        try:
            untrusted = sio.get_untrusted_types(file=path)
        except Exception as exc:  # a damaged zip or schema.json: skops raises whatever it hits
            raise InputError(f"{path} is not a readable .skops file: {type(exc).__name__}: {exc}") from exc
        unsafe = unsafe_types(untrusted)
        if unsafe and not allow_pickle:
            raise UsageError(
                f"{path} needs types that can run code when loaded (not data types of scikit-learn, NumPy or "
                f"SciPy): {', '.join(unsafe[:5])}",
                hint="pass --allow-pickle only if you trust who made this file; the version is then marked "
                "as running code",
            )
        return sio.load(path, trusted=untrusted)

    def save(
        self, obj: Any, path: Path, *, sample_input: Any, serialization: str = "skops", **options: Any
    ) -> dict[str, Any]:
        if serialization == "pickle":
            import joblib

            joblib.dump(obj, path / "model.joblib")
            return {
                "serialization": "pickle",
                "file": "model.joblib",
                "feature_names": hasattr(obj, "feature_names_in_"),
            }
        if serialization != "skops":
            raise UsageError(f"serialization must be 'skops' or 'pickle', got {serialization!r}")
        import skops.io as sio

        target = path / "model.skops"
        try:
            sio.dump(obj, target)
        except Exception as exc:
            raise UnsupportedModelError(
                f"skops cannot store this {type(obj).__name__}: {exc}",
                hint="pass serialization='pickle' (CLI: --allow-pickle) if you accept that loading it will run code",
            ) from exc
        trusted = sorted(sio.get_untrusted_types(file=target))
        return {
            "serialization": "skops",
            "file": "model.skops",
            "trusted_types": trusted,
            "feature_names": hasattr(obj, "feature_names_in_"),
        }

    def load(self, path: Path, config: dict[str, Any], *, allow_pickle: bool = False) -> Any:
        if config.get("serialization") == "pickle":
            if not allow_pickle:
                raise UsageError(
                    "this version is stored as a pickle, and loading a pickle runs arbitrary code",
                    hint="load it with allow_pickle=True (CLI: --allow-pickle) only if you trust who registered it",
                )
            import joblib

            return joblib.load(artifact_file(path, config["file"]))
        import skops.io as sio

        file = artifact_file(path, config["file"])
        needed = sio.get_untrusted_types(file=file)
        unsafe = unsafe_types(needed)
        if unsafe and not allow_pickle:
            raise UsageError(
                f"this version's model.skops needs types that can run code when loaded: {', '.join(unsafe[:5])}",
                hint="load it with allow_pickle=True (CLI: --allow-pickle) only if you trust who registered it",
            )
        return sio.load(file, trusted=needed)

    def runs_code_for(self, config: dict[str, Any]) -> bool:
        return config.get("serialization") == "pickle" or bool(unsafe_types(config.get("trusted_types", [])))

    def input_format(self, config: dict[str, Any]) -> str:
        # an estimator fitted on a bare array warns when given a DataFrame, and vice versa
        return "pandas" if config.get("feature_names", True) else "numpy"
