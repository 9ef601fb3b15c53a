"""One exception hierarchy for mlgate; each class carries the exit code the CLI returns.

    MlgateError                      (exit 2 unless a subclass says otherwise)
    ├── UsageError                   bad arguments, malformed references            exit 2
    │   └── ReferenceSyntaxError     ``fraud@``, ``:x``, ``a b``                     exit 2
    ├── ConfigError                  mlgate.yaml / settings; names file, line, key   exit 2
    ├── InputError                   data or model objects that cannot be used       exit 2
    │   └── UnsupportedModelError    no flavor knows this object                     exit 2
    ├── NotFoundError (LookupError)  unknown model, version or alias                 exit 2
    ├── CheckFailed                  a check ran and said no (gate, validation)      exit 1
    │   └── ConflictError            a compare-and-set lost (alias moved meanwhile)  exit 1
    ├── IntegrityError               stored bytes do not match their digest          exit 3
    └── EnvironmentProblem           registry unreachable, database locked, missing  exit 3
        └── MissingDependency        an optional extra is not installed              exit 3

Messages name the item, what was found, and what to do; the CLI prints them without a traceback
unless ``--debug`` is given.
"""

from __future__ import annotations

from types import ModuleType


class MlgateError(Exception):
    """Base of every error mlgate raises on purpose."""

    exit_code: int = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        if not message:
            raise ValueError("an MlgateError needs a message")
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message


class UsageError(MlgateError, ValueError):
    """The command or call was given arguments that cannot work."""


class ReferenceSyntaxError(UsageError):
    """A model reference is malformed."""


class ConfigError(MlgateError, ValueError):
    """Configuration is malformed; the message names file, line and key path."""


class InputError(MlgateError, ValueError):
    """Data or a model object cannot be used as given."""


class UnsupportedModelError(InputError, TypeError):
    """No flavor can store this object."""


class NotFoundError(MlgateError, LookupError):
    """A model, version, alias or file does not exist."""


class CheckFailed(MlgateError):
    """A check ran and did not pass."""

    exit_code = 1


class ConflictError(CheckFailed):
    """A compare-and-set lost: someone else changed the value first."""


class IntegrityError(MlgateError):
    """Stored bytes do not match their recorded digest."""

    exit_code = 3


class EnvironmentProblem(MlgateError):
    """The environment or infrastructure failed: registry unreachable, database locked."""

    exit_code = 3


class MissingDependency(EnvironmentProblem, ImportError):
    """An optional dependency is not installed."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the Python package {package!r}, which is not installed",
            hint=f"pip install 'mlgate[{extra}]'",
        )
        self.package = package
        self.extra = extra


def require(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise MissingDependency naming the extra that provides it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependency(module.split(".")[0], extra, purpose) from exc
