"""Any object with a ``predict`` method, stored with the source file of its class.

The module that defines the class is copied into ``code/``. The instance is stored by the class's
own ``save(folder)`` when it also has a classmethod ``load(folder)``, and pickled otherwise. Loading
imports the copied module under a fresh name, so it never collides with a module already imported,
and resolves the recorded class to that copy. Loading therefore runs the stored code: versions of
this flavor are marked ``runs_code``, and :meth:`PyfuncFlavor.load` refuses unless the caller
consented (``allow_pickle=True`` here; :func:`mlgate.load_model` asks for ``allow_code=True`` or a
trust policy).
"""

from __future__ import annotations

import importlib.util
import inspect
import pickle
import shutil
import sys
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

from mlgate.errors import UnsupportedModelError, UsageError
from mlgate.flavors import Flavor, artifact_file


class PyfuncFlavor(Flavor):
    """Objects with a callable ``predict`` that no other flavor claims."""

    name = "pyfunc"
    priority = 90
    runs_code = True

    @classmethod
    def detect(cls, obj: Any) -> bool:
        return not isinstance(obj, type) and callable(getattr(obj, "predict", None))

    def save(self, obj: Any, path: Path, *, sample_input: Any, **options: Any) -> dict[str, Any]:
        cls = type(obj)
        if "<locals>" in cls.__qualname__:
            raise UnsupportedModelError(
                f"{cls.__qualname__} is defined inside a function, so it cannot be found again when loading",
                hint="define the model class at the top level of a module",
            )
        try:
            source = inspect.getsourcefile(cls)
        except (TypeError, OSError):
            source = None
        if not source or not Path(source).is_file():
            raise UnsupportedModelError(
                f"cannot find the source file of {cls.__module__}.{cls.__qualname__}",
                hint="define the model class in a .py file, not in a notebook cell or an interactive session",
            )
        code = Path("code") / Path(source).name
        (path / "code").mkdir()
        shutil.copyfile(source, path / code)
        config = {"module": cls.__module__, "qualname": cls.__qualname__, "code": code.as_posix()}
        if callable(getattr(obj, "save", None)) and isinstance(inspect.getattr_static(cls, "load", None), classmethod):
            (path / "state").mkdir()
            obj.save(path / "state")
            return {**config, "state": "state", "method": "save"}
        with open(path / "state.pkl", "wb") as fh:
            pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
        return {**config, "state": "state.pkl", "method": "pickle"}

    def load(self, path: Path, config: dict[str, Any], *, allow_pickle: bool = False) -> Any:
        if not allow_pickle:
            raise UsageError(
                "this version is a pyfunc model: loading it runs the Python code stored in its artifact",
                hint="load it with allow_code=True (CLI: --allow-code) only if you trust who registered it",
            )
        code = artifact_file(path, config["code"])
        state = artifact_file(path, config["state"])
        module = _import_copy(code, config["module"])
        if config["method"] == "save":
            cls: Any = module
            for part in config["qualname"].split("."):
                cls = getattr(cls, part)
            state.mkdir(exist_ok=True)
            return cls.load(state)
        with open(state, "rb") as fh:
            return _Unpickler(fh, {config["module"]: module}).load()


def _import_copy(file: Path, original: str) -> ModuleType:
    """Import ``file`` as a new module with a unique name in the original's package.

    Inside the same package, the copy's relative imports find the installed sibling modules.
    """
    package, _, stem = original.rpartition(".")
    unique = f"mlgate_pyfunc_{uuid.uuid4().hex}_{stem.lstrip('_')}"
    name = f"{package}.{unique}" if package else unique
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise UnsupportedModelError(f"cannot import the stored model code {file.name}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


class _Unpickler(pickle.Unpickler):
    """Resolves classes of the recorded modules to their imported copies."""

    def __init__(self, fh: Any, modules: dict[str, ModuleType]) -> None:
        super().__init__(fh)
        self._modules = modules

    def find_class(self, module: str, name: str) -> Any:
        if module in self._modules:
            target: Any = self._modules[module]
            for part in name.split("."):
                target = getattr(target, part)
            return target
        return super().find_class(module, name)
