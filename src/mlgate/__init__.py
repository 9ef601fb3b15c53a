"""mlgate: CI/CD for machine learning.

The public API is small and loaded lazily, so ``import mlgate`` (and ``mlgate --help``) stay fast::

    import mlgate
    mv = mlgate.log_model(model, "fraud", sample_input=X[:5], data=["data/train.csv"])
    result = mlgate.gate(mv.ref, against="production", data="data/test.csv")
    if result.passed:
        mlgate.promote(mv.ref, "production")       # needs that passing report
    model = mlgate.load_model("fraud@production")
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "log_model": "mlgate.models",
    "load_model": "mlgate.models",
    "LoadedModel": "mlgate.models",
    "Registry": "mlgate.registry.store",
    "ModelVersion": "mlgate.registry.types",
    "AliasEvent": "mlgate.registry.types",
    "Settings": "mlgate.config",
    "load_settings": "mlgate.config",
    "parse_ref": "mlgate.refs",
    "Flavor": "mlgate.flavors",
    "MlgateError": "mlgate.errors",
    "ConflictError": "mlgate.errors",
    "NotFoundError": "mlgate.errors",
    "IntegrityError": "mlgate.errors",
    "training_profile": "mlgate.models",
    "profile": "mlgate.data.profile",
    "Profile": "mlgate.data.profile",
    "infer_schema": "mlgate.data.schema",
    "validate": "mlgate.data.validate",
    "drift": "mlgate.data.drift",
    "gate": "mlgate.gates.evaluate",
    "GateResult": "mlgate.gates.evaluate",
    "Check": "mlgate.gates.types",
    "promote": "mlgate.promotion",
    "check_model": "mlgate.testing",
}

__all__ = [
    "AliasEvent",
    "Check",
    "ConflictError",
    "Flavor",
    "GateResult",
    "IntegrityError",
    "LoadedModel",
    "MlgateError",
    "ModelVersion",
    "NotFoundError",
    "Profile",
    "Registry",
    "Settings",
    "__version__",
    "check_model",
    "drift",
    "gate",
    "infer_schema",
    "load_model",
    "load_settings",
    "log_model",
    "parse_ref",
    "profile",
    "promote",
    "training_profile",
    "validate",
]

if TYPE_CHECKING:
    from mlgate.config import Settings, load_settings
    from mlgate.data.drift import drift
    from mlgate.data.profile import Profile, profile
    from mlgate.data.schema import infer_schema
    from mlgate.data.validate import validate
    from mlgate.errors import ConflictError, IntegrityError, MlgateError, NotFoundError
    from mlgate.flavors import Flavor
    from mlgate.gates.evaluate import GateResult, gate
    from mlgate.gates.types import Check
    from mlgate.models import LoadedModel, load_model, log_model, training_profile
    from mlgate.promotion import promote
    from mlgate.refs import parse_ref
    from mlgate.registry.store import Registry
    from mlgate.registry.types import AliasEvent, ModelVersion
    from mlgate.testing import check_model


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mlgate' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
