"""``mlgate.gate``: score the candidate and the champion on the same rows and decide every gate.

The steps: resolve both versions (the champion is whatever the alias holds now), read the evaluation
data once, predict with both, encode outputs for the metrics, evaluate each configured gate, apply
waivers, and store the report in the registry bound to (candidate, champion, dataset, gate config).
Gates fail closed: a check that errors or cannot decide is a failure unless a waiver names it.

The steps live in their own modules: :mod:`mlgate.gates.scoring` (reading and predicting),
:mod:`mlgate.gates.deciding` (every gate, waivers, reasons) and :mod:`mlgate.gates.document` (the report).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate import threads
from mlgate.config import Settings, load_settings
from mlgate.errors import MlgateError, NotFoundError, UsageError

# names that stay importable from here (tests and benchmarks use them)
from mlgate.gates.deciding import CALIBRATION_METRICS as CALIBRATION_METRICS
from mlgate.gates.deciding import _apply_waivers as _apply_waivers
from mlgate.gates.deciding import _change as _change
from mlgate.gates.deciding import _classify as _classify
from mlgate.gates.deciding import _explain_twins as _explain_twins
from mlgate.gates.deciding import _run_spec as _run_spec
from mlgate.gates.deciding import _slices as _slices
from mlgate.gates.deciding import _verdict as _verdict
from mlgate.gates.deciding import _worst as _worst
from mlgate.gates.deciding import reasons as reasons
from mlgate.gates.document import _report as _report
from mlgate.gates.document import report_json as report_json
from mlgate.gates.scoring import Evaluation as Evaluation
from mlgate.gates.scoring import _constant as _constant
from mlgate.gates.scoring import _lost_classes as _lost_classes
from mlgate.gates.scoring import _pandas as _pandas
from mlgate.gates.scoring import _read as _read
from mlgate.gates.scoring import _score as _score
from mlgate.gates.spec import parse_gates
from mlgate.gates.types import Check

if TYPE_CHECKING:
    from mlgate.data.dataset import Dataset
    from mlgate.registry.store import Registry

Say = Callable[[str], None]


@dataclass
class GateResult:
    """A gate run's verdict, its checks and the stored report."""

    passed: bool
    checks: list[Check]
    report: dict[str, Any]
    record: Any = None  # registry GateRecord when stored
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1


def gate(
    ref: str,
    *,
    against: str = "production",
    data: Any = None,
    target: str | None = None,
    config: str | Path | Settings | None = None,
    registry: Registry | None = None,
    store: bool = True,
    say: Say | None = None,
) -> GateResult:
    """Gate ``ref`` against the version ``against`` holds now, on ``data`` (default: ``data.eval``)."""
    from mlgate.models import load_model
    from mlgate.registry.store import Registry

    started = time.perf_counter()
    say = say or (lambda _msg: None)
    settings = config if isinstance(config, Settings) else load_settings(config=config)
    reg = registry if registry is not None else Registry(settings=settings)
    cand_mv = reg.get(ref)
    try:
        champ_mv = reg.get(f"{cand_mv.name}@{against}")
    except NotFoundError:
        champ_mv = None
    data, target = eval_source(settings, data, target)

    say(f"loading {cand_mv.ref}" + (f" and the champion {champ_mv.ref}" if champ_mv else ""))
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        candidate = load_model(cand_mv, registry=reg)
        champion, champion_error = None, None
        if champ_mv is not None:
            try:
                champion = load_model(champ_mv, registry=reg)
            except MlgateError as exc:
                champion_error = f"the champion {champ_mv.ref} cannot be loaded here: {exc}"
    notes.extend(str(w.message) for w in caught if "ran code" in str(w.message))

    say("scoring both models on the evaluation rows")
    t0 = time.perf_counter()
    frame, dataset_digest, label = _read(data, target)
    threads.rescan()  # the pools the two models brought
    with threads.limited():  # one thread per pool: faster on shared cores, and how serving predicts
        ev = _score(frame, target, candidate, champion, champion_error, settings.data, label)
    scoring_s = time.perf_counter() - t0

    specs, waivers, defaulted = parse_gates(settings, task=ev.task, against=against)
    if defaulted:
        notes.append("no gates: section in mlgate.yaml; the default gates for this task were used")
    if champ_mv is None:
        notes.append(f"skipped: no champion — nothing holds @{against} yet, so change gates were not evaluated")
    if ev.champion_error:
        notes.append(ev.champion_error)

    from mlgate.gates import contract

    # the contract check leads: a lost class or a constant output is often its symptom
    with threads.limited():
        checks: list[Check] = [contract.check(candidate, ev.features)]
    if ev.lost_classes:
        checks.append(_lost_classes(ev, champ_mv))
    constant = _constant(ev)
    if constant is not None:
        checks.append(constant)
    slices_rows: list[dict[str, Any]] = []
    metrics: dict[str, dict[str, Any]] = {}
    timings = {"scoring_s": scoring_s, "statistics_s": 0.0, "behaviour_s": 0.0}
    for spec in specs:
        if spec.options.get("disabled"):
            notes.append(f"gate {spec.name!r} is disabled in the config")
            continue
        say(f"gate: {spec.name}")
        t = time.perf_counter()
        # behaviour and latency make ~170 small predict calls: latency is measured as `mlgate serve` runs
        with threads.limited():
            new = _run_spec(spec, ev, cand_mv, champ_mv, candidate, settings, slices_rows, metrics, notes)
        for c in new:
            c.details.setdefault("gate", spec.name)
        checks.extend(new)
        bucket = "statistics_s" if spec.kind in ("bound", "change", "slices", "critical") else "behaviour_s"
        timings[bucket] += time.perf_counter() - t

    _explain_twins(checks, slices_rows, ev)
    _apply_waivers(checks, waivers, notes)
    _classify(checks)
    passed = not any(c.blocking for c in checks)
    timings["total_s"] = time.perf_counter() - started
    report = _report(
        cand_mv, champ_mv, against, ev, label, dataset_digest, settings, specs, checks, passed, metrics,
        slices_rows, notes, timings, reg.actor, waivers,
    )  # fmt: skip
    result = GateResult(passed, checks, report, notes=notes)
    if store:
        from mlgate.gates import outputs

        # the candidate's outputs on the evaluation rows, with the labels: the monitor's reference for
        # prediction drift and the calibration of its estimate (gates/outputs.py)
        kept = outputs.store(reg, ev)
        if kept is not None:
            report[outputs.KEY] = kept
        result.record = reg.record_gate_report(
            cand_mv.ref,
            report_json(report).encode(),
            champion_digest=champ_mv.digest if champ_mv else None,
            against=against,
            dataset_digest=dataset_digest,
            config_digest=report["config"]["digest"],
            passed=passed,
        )
        report["id"] = result.record.report_digest
    return result


def eval_source(settings: Settings, data: Any, target: str | None) -> tuple[Dataset, str]:
    """The evaluation :class:`~mlgate.data.dataset.Dataset` and target column: the arguments, else
    ``data.eval`` and ``data.target``. Gate, promotion and CI resolve and digest it by this one rule."""
    from mlgate.data.dataset import configured_dataset

    dataset = configured_dataset(settings.data, settings.root, given=data)
    if dataset is None:
        raise UsageError(
            "no evaluation data: pass --data FILE or set data.eval in mlgate.yaml",
            hint="the gate scores both models on the same rows; name them",
        )
    target = target or settings.data.target
    if not target:
        raise UsageError("no target column: pass --target COLUMN or set data.target in mlgate.yaml")
    return dataset, target
