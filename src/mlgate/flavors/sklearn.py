"""scikit-learn estimators and pipelines, stored with skops.

skops records which types the file needs; loading trusts exactly the types recorded at save time
and nothing else. Plain pickle (joblib) is available only when asked for (``serialization="pickle"``)
and then needs ``allow_pickle=True`` to load, because unpickling runs arbitrary code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlgate.errors import UnsupportedModelError, UsageError
from mlgate.flavors import Flavor, mro_modules


class SklearnFlavor(Flavor):
    """scikit-learn estimators (including Pipelines) via skops."""

    name = "sklearn"
    packages = ("scikit-learn", "skops", "numpy", "scipy")
    priority = 60

    @classmethod
    def detect(cls, obj: Any) -> bool:
        return "sklearn" in mro_modules(obj)

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

            return joblib.load(path / config["file"])
        import skops.io as sio

        return sio.load(path / config["file"], trusted=list(config.get("trusted_types", [])))

    def runs_code_for(self, config: dict[str, Any]) -> bool:
        return config.get("serialization") == "pickle"

    def input_format(self, config: dict[str, Any]) -> str:
        # an estimator fitted on a bare array warns when given a DataFrame, and vice versa
        return "pandas" if config.get("feature_names", True) else "numpy"
