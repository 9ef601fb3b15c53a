"""The ``monitor.rules`` of mlgate.yaml judged on a monitor report: figures per window, sustained streaks.

A rule names one figure of a window (:data:`FIGURES`, ``realized.<metric>`` for a metric of the gate's
catalogue, ``estimated.<metric>`` for one of :data:`ESTIMATED`, or ``realized.slice.<key>.<metric>`` for
that metric on the labelled rows of one of the gate's critical slices, :mod:`mlgate.monitor.slices`), a
comparison and a number of windows in a row (``for``). Only whole windows count (one that ends after the
report's end is still filling), each once: the state (:class:`~mlgate.registry.monitoring.RuleState`)
remembers the last window judged. A window where the figure has no value (no traffic, no labels yet, no
labelled row in the slice) neither extends nor breaks a streak. A rule *fires* when its streak reaches
``for`` and stays open, without firing again, until a window where the figure has a value and the
condition does not hold: then it *resolves*.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from mlgate.config.sections import RuleConfig
from mlgate.errors import ConfigError
from mlgate.registry.monitoring import RuleState

if TYPE_CHECKING:
    from mlgate.monitor.report import MonitorReport, WindowResult

PREFIXED = ("realized", "estimated")
# what :mod:`mlgate.monitor.estimate` computes: CBPE/DLE for a classifier, the error model for a regressor
ESTIMATED = ("accuracy", "roc_auc", "mae", "rmse")


def _latency(q: str) -> Callable[[WindowResult], float | None]:
    return lambda w: None if w.latency_ms is None else w.latency_ms.get(q)


FIGURES: dict[str, tuple[str, Callable[[WindowResult], float | None]]] = {
    "volume.requests": ("requests in the window", lambda w: float(w.requests)),
    "volume.rows": ("scored rows in the window", lambda w: float(w.rows)),
    "errors.rate": (
        "5xx requests over requests (none without traffic)",
        lambda w: w.error_rate if w.requests else None,
    ),
    "errors.count": ("5xx requests", lambda w: float(w.errors)),
    "errors.refused": ("4xx (refused) requests", lambda w: float(w.refused)),
    "latency.p50_ms": ("median request latency, ms", _latency("p50")),
    "latency.p95_ms": ("95th percentile request latency, ms", _latency("p95")),
    "latency.p99_ms": ("99th percentile request latency, ms", _latency("p99")),
    "drift.share": (
        "share of input columns drifted from the training profile",
        lambda w: None if w.input_drift is None else w.input_drift.drifted_share,
    ),
    "drift.columns": (
        "input columns drifted from the training profile",
        lambda w: None if w.input_drift is None else float(len(w.input_drift.drifted_columns)),
    ),
    "prediction_drift.share": (
        "share of output columns drifted from the reference window",
        lambda w: None if w.prediction_drift is None else w.prediction_drift.drifted_share,
    ),
    "quality.violations": (
        "data-quality issues (null spikes, out of range, unseen categories); none without rows",
        lambda w: float(len(w.quality)) if w.rows else None,
    ),
}


SLICE = "realized.slice."


def known_figures() -> list[str]:
    """Every figure a rule may name (``realized.*`` and ``estimated.*`` as patterns)."""
    return [*FIGURES, "realized.<metric>", "estimated.<metric>", "realized.slice.<key>.<metric>"]


def check_rules(rules: Sequence[RuleConfig]) -> None:
    """Every rule names a known figure; otherwise a ConfigError (exit 2) naming the rule, its line and the figures."""
    for rule in rules:
        prefix, _, metric = rule.figure.partition(".")
        if rule.figure in FIGURES:
            continue
        if rule.figure.startswith(SLICE):
            key, dot, metric = rule.figure.removeprefix(SLICE).rpartition(".")
            if not dot or not key:
                raise ConfigError(
                    f"{rule.where}: {rule.key} ({rule.name!r}) names {rule.figure!r}, which needs a slice key and a "
                    "metric: realized.slice.<key>.<metric>",
                    hint="the report's notes list the critical slices' keys (age >= 65 is age_ge_65)",
                )
            prefix = "realized"
        if prefix == "estimated" and metric not in ESTIMATED:
            raise ConfigError(
                f"{rule.where}: {rule.key} ({rule.name!r}) names {rule.figure!r}, but {metric!r} is not estimated "
                "without labels: the rule could never fire",
                hint=f"estimated figures: {', '.join(f'estimated.{m}' for m in ESTIMATED)}; "
                f"or realized.{metric} on labelled predictions",
            )
        if prefix in PREFIXED:
            from mlgate.gates.metrics import METRICS

            if metric in METRICS:
                continue
            raise ConfigError(
                f"{rule.where}: {rule.key} ({rule.name!r}) names {rule.figure!r}, but {metric!r} is not a metric",
                hint=f"{prefix}.<metric> takes one of {', '.join(sorted(METRICS))}",
            )
        raise ConfigError(
            f"{rule.where}: {rule.key} ({rule.name!r}) names an unknown figure {rule.figure!r}",
            hint=f"known figures: {', '.join(known_figures())}",
        )


def state_key(rule: RuleConfig) -> str:
    """The key of a rule's stored state: its name and a digest of its condition (``slow#1a2b3c4d5e6f``).

    An edited ``when:`` under the same name is another rule: it starts with no streak and not firing,
    rather than inheriting what the old condition counted. ``for``, severity and actions may change freely.
    """
    import hashlib

    digest = hashlib.sha256(repr((rule.name, rule.figure, rule.op, rule.threshold)).encode()).hexdigest()[:12]
    return f"{rule.name[:180]}#{digest}"  # the registry's column holds 200 characters


def figure(window: WindowResult, name: str) -> float | None:
    """The value of one figure in one window; None when the window has none."""
    if name in FIGURES:
        return FIGURES[name][1](window)
    if name.startswith(SLICE):
        key, _, metric = name.removeprefix(SLICE).rpartition(".")
        real = window.realized
        sub = None if real is None else real.slices.get(key)
        value = None if sub is None else sub.metrics.get(metric)
        return None if value is None else float(value)
    prefix, _, metric = name.partition(".")
    part: Any = getattr(window, prefix, None) if prefix in PREFIXED else None
    if part is None:
        return None
    metrics = part.get("metrics", part) if isinstance(part, Mapping) else getattr(part, "metrics", None)
    value = None if metrics is None else metrics.get(metric)
    return None if value is None else float(value)


def stamp(when: dt.datetime) -> str:
    """``2024-05-01T12:00Z``, with the seconds when a window ends within a minute (``--window 30s``)."""
    return f"{when:%Y-%m-%dT%H:%M:%SZ}" if when.second or when.microsecond else f"{when:%Y-%m-%dT%H:%MZ}"


@dataclass(frozen=True)
class Transition:
    """A rule that fired or resolved in a window."""

    rule: RuleConfig
    kind: str  # fired, resolved
    window_start: dt.datetime
    window_end: dt.datetime
    value: float
    streak: int

    def describe(self) -> str:
        """``drift.share > 0.3 fired: 0.42 in 3 windows up to 2024-05-01T12:00Z``."""
        span = f"{self.streak} window(s) in a row up to {stamp(self.window_end)}"
        if self.kind == "fired":
            return f"{self.rule.name}: {self.rule.condition} held for {span} (now {self.value:g})"
        return f"{self.rule.name}: resolved, {self.rule.figure} = {self.value:g} at {stamp(self.window_end)}"


@dataclass(frozen=True)
class Judgement:
    """One rule after a report: its new state, what changed, and its last value."""

    rule: RuleConfig
    state: RuleState
    transitions: tuple[Transition, ...]
    value: float | None
    judged: int  # whole windows judged this time

    @property
    def firing(self) -> bool:
        """Whether the rule is open after this report."""
        return self.state.open


def judge(
    rules: Sequence[RuleConfig],
    report: MonitorReport,
    states: Mapping[str, RuleState],
    *,
    until: dt.datetime,
) -> list[Judgement]:
    """Advance each rule's state (``states`` by :func:`state_key`) over the report's whole windows not judged yet.

    Whole windows are those ending by ``until``.
    """
    out = []
    for rule in rules:
        st = states.get(state_key(rule), RuleState())
        transitions: list[Transition] = []
        value: float | None = None
        judged = 0
        for w in report.windows:
            end = w.window.end
            if end > until or (st.last_window is not None and end <= st.last_window):
                continue
            judged += 1
            v = figure(w, rule.figure)
            st = replace(st, last_window=end)
            if v is None:
                continue
            value = v
            if rule.holds(v):
                st = replace(st, streak=st.streak + 1)
                if not st.open and st.streak >= rule.windows:
                    st = replace(st, open=True, opened_at=end)
                    transitions.append(Transition(rule, "fired", w.window.start, end, v, st.streak))
            else:
                if st.open:
                    transitions.append(Transition(rule, "resolved", w.window.start, end, v, st.streak))
                st = replace(st, streak=0, open=False, opened_at=None)
        out.append(Judgement(rule, st, tuple(transitions), value, judged))
    return out
