"""How drift is tested: the methods, their default thresholds, the columns they fit, and ``DriftConfig``."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from mlgate.errors import UsageError

METHODS = ("ks", "chi2", "wasserstein", "jensenshannon", "psi")
P_VALUE_METHODS = frozenset({"ks", "chi2"})
DEFAULT_THRESHOLDS = {"ks": 0.05, "chi2": 0.05, "wasserstein": 0.1, "jensenshannon": 0.1, "psi": 0.2}
APPLIES_TO = {
    "ks": frozenset({"numeric"}),
    "wasserstein": frozenset({"numeric"}),
    "chi2": frozenset({"numeric", "categorical"}),
    "jensenshannon": frozenset({"numeric", "categorical"}),
    "psi": frozenset({"numeric", "categorical"}),
}
ENGINES = ("auto", "exact", "sketch")
SMALL_SAMPLE = 1000
EXACT_MAX_ROWS = 1_000_000
PSI_BINS = 10
PSI_FLOOR = 1e-4
STD_FLOOR = 0.001
WASSERSTEIN_TOLERANCE = 0.02
PROFILE_FORMAT_PREFIX = "mlgate.profile/"
_TINY = 5e-324


def _check_method(method: Any, where: str, *, allow_auto: bool) -> str | None:
    if method is None or (allow_auto and method == "auto"):
        return method
    if method not in METHODS:
        names = ", ".join((("auto",) if allow_auto else ()) + METHODS)
        raise UsageError(f"unknown drift method {method!r} for {where}; use one of {names}")
    return method


def _check_threshold(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UsageError(f"drift threshold for {where} must be a number, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise UsageError(
            f"drift threshold for {where} must be a positive number, got {value!r}",
            hint="p-value methods (ks, chi2) take a significance level in (0, 1); distances take a positive cut-off",
        )
    return float(value)


@dataclass(frozen=True)
class ColumnDriftConfig:
    """One column's method and threshold; ``None`` keeps the dataset-wide choice."""

    method: str | None = None
    threshold: float | None = None

    def __post_init__(self) -> None:
        _check_method(self.method, "a column", allow_auto=True)
        _check_threshold(self.threshold, "a column")


@dataclass(frozen=True)
class DriftConfig:
    """How to test drift: method and threshold for all columns, per-column overrides, and the share of
    drifted columns at which the whole dataset counts as drifted."""

    method: str = "auto"
    threshold: float | None = None
    share: float = 0.5
    columns: Mapping[str, ColumnDriftConfig] = field(default_factory=dict)
    ignore: Iterable[str] = ()
    engine: str = "auto"

    def __post_init__(self) -> None:
        _check_method(self.method, "the dataset", allow_auto=True)
        _check_threshold(self.threshold, "the dataset")
        share = self.share
        if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
            raise UsageError(f"drift share must be a number in (0, 1], got {share!r}")
        if self.engine not in ENGINES:
            raise UsageError(f"unknown drift engine {self.engine!r}; use one of {', '.join(ENGINES)}")
        cols = {}
        for name, cfg in dict(self.columns).items():
            if isinstance(cfg, Mapping):
                unknown = set(cfg) - {f.name for f in fields(ColumnDriftConfig)}
                if unknown:
                    raise UsageError(f"drift settings for column {name!r} have unknown keys {sorted(unknown)}")
                cfg = ColumnDriftConfig(**cfg)
            elif not isinstance(cfg, ColumnDriftConfig):
                raise UsageError(f"drift settings for column {name!r} must be a ColumnDriftConfig or a mapping")
            _check_method(cfg.method, f"column {name!r}", allow_auto=True)
            _check_threshold(cfg.threshold, f"column {name!r}")
            cols[name] = cfg
        object.__setattr__(self, "columns", cols)
        object.__setattr__(self, "ignore", tuple(self.ignore))
