"""Model flavors: one module per kind of model, one small interface, found through entry points.

Built-in flavors register under the ``mlgate.flavors`` entry-point group exactly as a third-party
package would::

    [project.entry-points."mlgate.flavors"]
    mykind = "mypackage.mlgate_flavor:MyFlavor"

A flavor subclasses :class:`Flavor` and passes ``tests/unit/flavors/test_conformance.py``. A flavor
that can read a model saved as one file by its own library (``mlgate model register model.onnx``)
declares the file suffixes in ``model_files`` and implements :meth:`Flavor.read_model_file`;
:mod:`mlgate.loaders` asks the installed flavors, third-party ones included, which one reads a file.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from mlgate.errors import IntegrityError, UnsupportedModelError, UsageError


class Flavor(ABC):
    """How to save, load and call one kind of model.

    Example of a third-party flavor::

        class MyFlavor(Flavor):
            name = "mykind"
            packages = ("mylib",)

            @classmethod
            def detect(cls, obj):
                return type(obj).__module__.startswith("mylib")

            def save(self, obj, path, *, sample_input, **options):
                obj.write(path / "model.bin")
                return {"file": "model.bin"}

            def load(self, path, config, *, allow_pickle=False):
                import mylib
                return mylib.read(path / config["file"])
    """

    name: ClassVar[str]
    packages: ClassVar[tuple[str, ...]] = ()  # distributions whose versions are recorded and checked
    priority: ClassVar[int] = 50  # detection order, lowest first: specific flavors before general ones
    runs_code: ClassVar[bool] = False  # loading executes code shipped inside the artifact
    # suffixes (lower case, with the dot) of single model files this flavor reads with read_model_file
    model_files: ClassVar[tuple[str, ...]] = ()
    # whether a file this flavor reads is of this flavor (False: the object read decides, as a .skops or
    # a pickle may hold any estimator)
    file_implies_flavor: ClassVar[bool] = True

    @classmethod
    @abstractmethod
    def detect(cls, obj: Any) -> bool:
        """Whether this flavor stores ``obj``. Must not import heavy packages the object does not use."""

    @abstractmethod
    def save(self, obj: Any, path: Path, *, sample_input: Any, **options: Any) -> dict[str, Any]:
        """Write the model's files into the empty folder ``path``; return a JSON-ready config.

        ``options`` are flavor-specific (``serialization="pickle"`` for scikit-learn, say); a flavor
        ignores options it does not know.
        """

    @abstractmethod
    def load(self, path: Path, config: dict[str, Any], *, allow_pickle: bool = False) -> Any:
        """Read the native model back from ``path`` without running code that was not recorded."""

    def predict(self, model: Any, data: Any) -> Any:
        """Outputs for inputs already shaped by :func:`mlgate.inputs.prepare` to the signature."""
        return model.predict(data)

    def predict_proba(self, model: Any, data: Any) -> Any | None:
        """Class probabilities, or None when the model does not give them."""
        fn = getattr(model, "predict_proba", None)
        return fn(data) if callable(fn) else None

    def input_format(self, config: dict[str, Any]) -> str:
        """What :meth:`predict` wants: ``"pandas"`` (a DataFrame) or ``"numpy"`` (an array)."""
        return "pandas"

    def runs_code_for(self, config: dict[str, Any]) -> bool:
        """Whether loading this particular artifact runs code (pickles and pyfunc do)."""
        return self.runs_code

    @classmethod
    def reads_file(cls, path: Path, named: str | None) -> bool:
        """Whether this flavor reads the model file ``path``; ``named`` is the flavor the user asked for.

        The default: the file's suffix is one of :attr:`model_files`. A flavor whose suffix is generic
        (``.json``) or absent can narrow or widen that with ``named``.
        """
        return path.suffix.lower() in cls.model_files

    @classmethod
    def read_model_file(cls, path: Path, *, allow_pickle: bool = False) -> Any:
        """The native model saved in the single file ``path`` by its own library (one of :attr:`model_files`).

        Nothing that runs code is read without ``allow_pickle``; a missing package raises MissingDependency.
        """
        raise NotImplementedError(f"the {cls.name} flavor reads no model files")


@functools.cache
def available() -> dict[str, type[Flavor]]:
    """Every installed flavor by name, from the ``mlgate.flavors`` entry points."""
    from importlib.metadata import entry_points

    out: dict[str, type[Flavor]] = {}
    for ep in entry_points(group="mlgate.flavors"):
        out.setdefault(ep.name, ep)  # type: ignore[arg-type]
    return out


def get_flavor(name: str) -> Flavor:
    """The flavor called ``name``; an error listing the known ones otherwise."""
    table = available()
    if name not in table:
        raise UsageError(f"unknown flavor {name!r}", hint=f"known flavors: {', '.join(sorted(table))}")
    entry = table[name]
    # a Flavor class has a load method of its own, so tell an entry point from a class by type
    cls = entry if isinstance(entry, type) else entry.load()
    return cls()


def detect_flavor(obj: Any) -> Flavor:
    """The flavor that stores ``obj``, trying specific flavors before general ones."""
    classes = []
    for name in available():
        try:
            classes.append(get_flavor(name).__class__)
        except ImportError:
            continue
    for cls in sorted(classes, key=lambda c: (c.priority, c.name)):
        if cls.detect(obj):
            return cls()
    raise UnsupportedModelError(
        f"mlgate cannot store an object of type {type(obj).__module__}.{type(obj).__qualname__}",
        hint="supported: scikit-learn estimators, ONNX models, PyTorch modules, XGBoost and LightGBM "
        "models, or any object with a predict() method (flavor 'pyfunc'); pass flavor=... to choose",
    )


def mro_modules(obj: Any) -> set[str]:
    """Top-level package names of every class in ``obj``'s type hierarchy (cheap: no imports)."""
    return {c.__module__.split(".")[0] for c in type(obj).__mro__}


def artifact_file(root: Path, relative: str) -> Path:
    """``root / relative``, refusing a stored path that leads outside the artifact folder ``root``."""
    base = root.resolve()
    target = (base / str(relative)).resolve()
    if not target.is_relative_to(base):
        raise IntegrityError(
            f"the stored flavor config names {relative!r}, which is outside the model's artifact",
            hint="a version may only load files it contains; do not load this version",
        )
    return target
