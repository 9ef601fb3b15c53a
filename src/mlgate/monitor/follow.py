"""One monitor pass with its rules (:func:`check`), and ``mlgate monitor --follow``: passes on an interval.

A pass runs :func:`mlgate.monitor.monitor` up to now, then :func:`mlgate.monitor.actions.apply_rules`
on its whole windows. Everything a rule remembers is in the registry (streaks, open alerts, the last
window judged, the acts), so ``--follow`` keeps no state of its own: killed and restarted, it judges
each window once and alerts once. A pass that cannot reach the registry or a webhook is reported and
the next pass tries again; a configuration error stops the loop (exit 2).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.errors import EnvironmentProblem

if TYPE_CHECKING:
    from mlgate.config.sections import MonitorConfig
    from mlgate.monitor.actions import Evaluation, Retry
    from mlgate.monitor.report import MonitorReport
    from mlgate.registry.store import Registry

UTC = dt.UTC
LOG_SETTLE = dt.timedelta(seconds=3)  # the server's log writer flushes every second; a loaded disk is slower


@dataclass
class Outcome:
    """A monitor report and, where ``monitor.rules`` has rules, what they judged and did."""

    report: MonitorReport
    evaluation: Evaluation | None = None
    until: dt.datetime | None = None  # the pass's end: windows ending by it are whole

    @property
    def failed(self) -> bool:
        """A window breached a limit, or a rule is firing."""
        return self.report.breached or bool(self.evaluation and self.evaluation.firing)

    def to_dict(self) -> dict[str, Any]:
        """The report's JSON with ``rules`` added (None without rules)."""
        return {**self.report.to_dict(), "rules": None if self.evaluation is None else self.evaluation.to_dict()}

    def to_markdown(self) -> str:
        """The report's Markdown, then the rules section."""
        text = self.report.to_markdown()
        return text if self.evaluation is None else text + "\n" + self.evaluation.to_markdown()


def check(
    ref: str,
    log: str | Path,
    config: MonitorConfig,
    *,
    registry: Registry,
    environ: Mapping[str, str],
    root: Path | None = None,
    act: bool = True,
    retry: Retry | None = None,
    until: dt.datetime | None = None,
    **monitor_args: Any,
) -> Outcome:
    """One pass: the monitor report up to ``until`` (now), then the rules on its whole windows.

    Without ``until``, the rules judge the windows that ended :data:`LOG_SETTLE` ago or earlier: the rows of
    the last second may still wait in the server's log queue.
    """
    from mlgate.monitor.actions import Retry, apply_rules
    from mlgate.monitor.rules import check_rules
    from mlgate.monitor.run import monitor

    check_rules(config.rules)  # a bad rule is exit 2 before the log is read
    now = until or dt.datetime.now(UTC)
    report = monitor(ref, log, until=now, registry=registry, **monitor_args)
    # a window is whole once the server's log writer has written its last rows (it writes every second):
    # judged before, it would be judged on part of its rows, and never again
    settled = until or now - LOG_SETTLE
    if not config.rules:
        return Outcome(report, None, settled)
    evaluation = apply_rules(
        report, config, registry=registry, until=settled, environ=environ, root=root, act=act, retry=retry or Retry()
    )
    return Outcome(report, evaluation, settled)


def follow(
    ref: str,
    log: str | Path,
    config: MonitorConfig,
    *,
    registry: Registry,
    environ: Mapping[str, str],
    interval: dt.timedelta,
    on_pass: Callable[[Outcome | None, Exception | None], None],
    root: Path | None = None,
    stop: threading.Event | None = None,
    passes: int | None = None,
    retry: Retry | None = None,
    **monitor_args: Any,
) -> int:
    """Run :func:`check` every ``interval`` until ``stop`` is set (or ``passes`` have run); returns the passes.

    ``on_pass`` gets each outcome, or the environment problem that cut a pass short (the loop goes on).
    """
    stop = stop or threading.Event()
    done = 0
    while not stop.is_set() and (passes is None or done < passes):
        try:
            outcome = check(
                ref, log, config, registry=registry, environ=environ, root=root, retry=retry, **monitor_args
            )
        except EnvironmentProblem as exc:
            on_pass(None, exc)
        else:
            on_pass(outcome, None)
        done += 1
        if passes is not None and done >= passes:
            break
        stop.wait(interval.total_seconds())
    return done
