"""``delivery:`` in ``mlgate.yaml``: the rollout defaults and the named analyses of canary against stable.

:class:`DeliveryConfig` is read as ``settings.delivery``; :class:`AnalysisConfig` is one entry of
``delivery.analyses`` (``default`` is always there). Errors name ``mlgate.yaml:LINE`` and the key path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgate.config.parse import ConfigFile, optional_str, seconds, section_mapping
from mlgate.errors import ConfigError

ANALYSIS_KEYS = (
    "alpha",
    "min_requests",
    "max_error_increase",
    "max_latency_ratio",
    "max_prediction_shift",
    "deadline",
    "min_agreement",
    "performance",
    "max_performance_drop",
    "max_mae_increase",
)
PERFORMANCE_SOURCES = ("auto", "realized", "estimated", "off")
DELIVERY_KEYS = ("steps", "pause", "analysis", "log", "analyses")


@dataclass(frozen=True)
class AnalysisConfig:
    """One named analysis of ``delivery: analyses:``: how canary and stable are compared between steps.

    Each metric is a difference (canary − stable) with an always-valid confidence sequence at level
    ``alpha``: it passes when the whole sequence lies within the tolerance, fails when it lies wholly
    beyond, and waits otherwise. ``min_requests``: requests each side needs before any decision;
    ``max_error_increase``: error rate, absolute (0.01 = one point); ``max_latency_ratio``: the canary's
    geometric-mean latency over the stable's; ``max_prediction_shift``: the difference of mean predictions
    in standard deviations of the stable's (either way; for class labels, each class's share, the classes
    Bonferroni-split); ``deadline_s``: a step still inconclusive this long after its pause aborts.
    ``min_agreement``: where a shadow of the candidate runs, the floor on the share of rows it predicts the
    same class as the stable version served; ``performance``: where accuracy comes from — ``auto`` (realized
    from labels once each side has ``min_requests`` labelled rows, else estimated (CBPE) where both versions
    are calibrated, else realized on the labels there are), ``realized``, ``estimated`` or ``off``;
    ``max_performance_drop``: how far the canary's accuracy may fall below the stable's, absolute;
    ``max_mae_increase``: for a regression, how far the canary's mean absolute error (realized, from labels)
    may rise above the stable's, relative (0.1 = ten percent).
    """

    name: str = "default"
    alpha: float = 0.01
    min_requests: int = 200
    max_error_increase: float = 0.01
    max_latency_ratio: float = 1.25
    max_prediction_shift: float = 0.25
    deadline_s: float = 1800.0
    min_agreement: float = 0.9
    performance: str = "auto"
    max_performance_drop: float = 0.05
    max_mae_increase: float = 0.10

    @classmethod
    def parse(cls, name: str, value: object, file: ConfigFile) -> AnalysisConfig:
        """Check one ``delivery.analyses.<name>`` mapping; absent keys keep the defaults."""
        key = ("delivery", "analyses", name)
        where = file.line_of(*key)
        if value is not None and not isinstance(value, dict):
            raise ConfigError(f"{where}: delivery.analyses.{name} must be a mapping of settings, got {value!r}")
        section: Mapping[str, Any] = value or {}
        unknown = sorted(set(map(str, section)) - set(ANALYSIS_KEYS))
        if unknown:
            raise ConfigError(
                f"{where}: delivery.analyses.{name} has unknown key {unknown[0]!r}",
                hint=f"known keys are: {', '.join(ANALYSIS_KEYS)}",
            )
        out: dict[str, Any] = {}

        def number(k: str, low: float, high: float, kind: type = float) -> None:
            if k not in section:
                return
            v = section[k]
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and low < v < high
            if not ok or (kind is int and not isinstance(v, int)):
                raise ConfigError(
                    f"{file.line_of(*key, k)}: delivery.analyses.{name}.{k} must be a"
                    f"{'n integer' if kind is int else ' number'} above {low:g}"
                    f"{f' and below {high:g}' if high != float('inf') else ''}, got {v!r}"
                )
            out[k] = kind(v)

        number("alpha", 0.0, 1.0)
        number("min_requests", 0, float("inf"), int)
        number("max_error_increase", 0.0, 1.0)
        number("max_latency_ratio", 1.0, float("inf"))
        number("max_prediction_shift", 0.0, float("inf"))
        number("min_agreement", 0.0, 1.0)
        number("max_performance_drop", 0.0, 1.0)
        number("max_mae_increase", 0.0, float("inf"))
        if "performance" in section:
            source = section["performance"]
            if source is False:  # YAML reads a bare `off` as false
                source = "off"
            if source not in PERFORMANCE_SOURCES:
                raise ConfigError(
                    f"{file.line_of(*key, 'performance')}: delivery.analyses.{name}.performance must be one of "
                    f"{', '.join(PERFORMANCE_SOURCES)}, got {source!r}"
                )
            out["performance"] = source
        if "deadline" in section:
            try:
                out["deadline_s"] = seconds(section["deadline"], f"delivery.analyses.{name}.deadline")
            except ValueError as exc:
                raise ConfigError(f"{file.line_of(*key, 'deadline')}: {exc}") from None
        return cls(name=name, **out)


@dataclass(frozen=True)
class DeliveryConfig:
    """``delivery:`` — rollout defaults (``steps`` in percent, ``pause`` between steps, the ``analysis`` used when
    ``--analysis`` is not given, ``log``: the prediction-log folder the analysis reads, ``serve.log`` by default)
    and the named ``analyses`` (``default`` is always there, with :class:`AnalysisConfig`'s defaults)."""

    steps: tuple[float, ...] = (5.0, 25.0, 50.0, 100.0)
    pause_s: float = 600.0
    analysis: str = "default"
    log: Path | None = None
    analyses: Mapping[str, AnalysisConfig] = field(default_factory=lambda: {"default": AnalysisConfig()})

    @classmethod
    def parse(cls, value: object, file: ConfigFile, root: Path, serve_log: Path | None = None) -> DeliveryConfig:
        """Check ``delivery:``; errors name the line and key path."""
        section = section_mapping(
            value, file, "delivery", "delivery must be a mapping (steps, pause, analysis, analyses)"
        )
        unknown = sorted(set(map(str, section)) - set(DELIVERY_KEYS))
        if unknown:
            raise ConfigError(
                f"{file.line_of('delivery', unknown[0])}: delivery has unknown key {unknown[0]!r}",
                hint=f"known keys are: {', '.join(DELIVERY_KEYS)}",
            )
        out: dict[str, Any] = {}
        steps = section.get("steps")
        if steps is not None:
            if not isinstance(steps, list) or not all(
                isinstance(s, (int, float)) and not isinstance(s, bool) for s in steps
            ):
                raise ConfigError(
                    f"{file.line_of('delivery', 'steps')}: delivery.steps must be a list of percentages, "
                    f"e.g. [5, 25, 50, 100], got {steps!r}"
                )
            out["steps"] = tuple(float(s) for s in steps)
        if "pause" in section:
            try:
                out["pause_s"] = seconds(section["pause"], "delivery.pause")
            except ValueError as exc:
                raise ConfigError(f"{file.line_of('delivery', 'pause')}: {exc}") from None
        log = optional_str(section, file, "delivery", "log", "a folder path")
        out["log"] = (root / log).resolve() if log else serve_log
        named = section_mapping(
            section.get("analyses"), file, "delivery", "delivery.analyses must map names to analyses"
        )
        analyses = {"default": AnalysisConfig()}
        for name, spec in named.items():
            analyses[str(name)] = AnalysisConfig.parse(str(name), spec, file)
        out["analyses"] = analyses
        analysis = optional_str(section, file, "delivery", "analysis", "the name of an analysis")
        if analysis is not None:
            if analysis not in analyses:
                raise ConfigError(
                    f"{file.line_of('delivery', 'analysis')}: delivery.analysis names {analysis!r}, "
                    "which delivery.analyses does not define",
                    hint=f"defined: {', '.join(sorted(analyses))}",
                )
            out["analysis"] = analysis
        return cls(**out)
