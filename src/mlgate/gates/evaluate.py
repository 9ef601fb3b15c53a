"""``mlgate.gate``: score the candidate and the champion on the same rows and decide every gate.

The steps: resolve both versions (the champion is whatever the alias holds now), read the evaluation
data once, predict with both, encode outputs for the metrics, evaluate each configured gate, apply
waivers, and store the report in the registry bound to (candidate, champion, dataset, gate config).
Gates fail closed: a check that errors or cannot decide is a failure unless a waiver names it.
"""

from __future__ import annotations

import io
import platform
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from mlgate import threads
from mlgate.config import Settings, load_settings
from mlgate.errors import ConfigError, InputError, MlgateError, NotFoundError, UsageError
from mlgate.gates.spec import GateSpec, Waiver, config_digest, parse_gates
from mlgate.gates.types import REPORT_SCHEMA, Check, Pred

Say = Callable[[str], None]


@dataclass
class Evaluation:
    """The rows and both models' outputs on them, shared by every gate."""

    frame: Any  # Polars DataFrame: features, target and any slice columns
    features: Any  # pandas DataFrame handed to the models
    y: np.ndarray
    task: str
    classes: list[str] | None
    candidate: Pred
    champion: Pred | None
    champion_error: str | None
    target: str
    candidate_error: str | None = None  # set when the candidate's outputs cannot be scored (NaN, inf)
    lost_classes: list[str] = field(default_factory=list)  # classes the champion knows and the candidate lost
    slice_masks: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)  # (gate, slice) → rows


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
    registry: Any = None,
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
    data_cfg = settings.raw.get("data") or {}
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
        ev = _score(frame, target, candidate, champion, champion_error, data_cfg, label)
    scoring_s = time.perf_counter() - t0

    specs, waivers, defaulted = parse_gates(settings, task=ev.task, against=against)
    if defaulted:
        notes.append("no gates: section in mlgate.yaml; the default gates for this task were used")
    if champ_mv is None:
        notes.append(f"skipped: no champion — nothing holds @{against} yet, so change gates were not evaluated")
    if ev.champion_error:
        notes.append(ev.champion_error)

    checks: list[Check] = [_lost_classes(ev, champ_mv)] if ev.lost_classes else []
    constant = _constant(ev)
    if constant is not None:
        checks.append(constant)
    from mlgate.gates import contract

    with threads.limited():
        checks.append(contract.check(candidate, ev.features))
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


def eval_source(settings: Settings, data: Any, target: str | None) -> tuple[Any, str]:
    """The evaluation data and target column: the arguments, else ``data.eval`` and ``data.target``."""
    data_cfg = settings.raw.get("data") or {}
    given = data
    data = data if data is not None else data_cfg.get("eval")
    if data is None:
        raise UsageError(
            "no evaluation data: pass --data FILE or set data.eval in mlgate.yaml",
            hint="the gate scores both models on the same rows; name them",
        )
    target = target or data_cfg.get("target")
    if not target:
        raise UsageError("no target column: pass --target COLUMN or set data.target in mlgate.yaml")
    return resolve_eval_data(settings, data, from_config=given is None), target


def resolve_eval_data(settings: Settings, data: Any, *, from_config: bool) -> Any:
    """Evaluation data as gate and promote both read it: a relative path from the current folder when it
    exists there, else from the project folder; NotFoundError naming where a missing path was given."""
    if isinstance(data, str | Path) and not Path(data).is_absolute() and not any(c in str(data) for c in "*?["):
        data = settings.root / data if not Path(data).exists() else Path(data)
    if isinstance(data, str | Path):
        _check_exists(settings, data, from_config=from_config)
    return data


def _check_exists(settings: Settings, data: str | Path, *, from_config: bool) -> None:
    """A missing evaluation file named by where it was given: ``data.eval`` at its mlgate.yaml line, or --data."""
    import glob as globlib

    from mlgate.files import project_relative

    text = str(data)
    glob = any(c in text for c in "*?[")
    if globlib.glob(text, recursive=True) if glob else Path(text).exists():
        return
    shown = project_relative(text, settings.root)
    missing = "matches no files" if glob else "does not exist"
    if from_config:
        raise NotFoundError(
            f"{settings.line_of('data', 'eval')}: data.eval {shown} {missing}",
            hint="fix the path in mlgate.yaml (relative paths are read from the project folder), or pass --data FILE",
        )
    raise NotFoundError(
        f"--data {shown} {missing}",
        hint="check the --data path, or leave --data out to use data.eval from mlgate.yaml",
    )


def report_json(report: dict[str, Any]) -> str:
    """The stored form of a report: sorted keys, two-space indents, no NaN."""
    import json

    return json.dumps(report, sort_keys=True, indent=2, allow_nan=False)


def dataset_digest_of(data: Any) -> str:
    """The digest a gate binds its report to: of the files, or of the table's Arrow IPC bytes."""
    from mlgate.hashing import digest_bytes, digest_path

    if isinstance(data, str | Path) and not any(c in str(data) for c in "*?["):
        return digest_path(data)
    from mlgate.data.io import collect, resolve, scan

    if isinstance(data, str | Path):
        from mlgate.hashing import digest_json

        return digest_json({str(f): digest_path(f) for f in resolve(data).files})
    buf = io.BytesIO()
    collect(scan(data)).write_ipc(buf)
    return digest_bytes(buf.getvalue())


def _read(data: Any, target: str) -> tuple[Any, str, str]:
    from mlgate.data.io import collect, scan

    label = str(data) if isinstance(data, str | Path) else f"<{type(data).__name__}>"
    frame = collect(scan(data), label=label)
    if frame.height == 0:
        raise InputError(f"{label}: the evaluation data has no rows")
    if target not in frame.columns:
        raise InputError(
            f"{label}: the target column {target!r} is not in the evaluation data",
            hint=f"columns are: {', '.join(frame.columns[:20])}; set data.target or pass --target",
        )
    nulls = frame.get_column(target).null_count()
    if nulls:
        raise InputError(f"{label}: the target column {target!r} has {nulls} empty value(s); every row needs one")
    return frame, dataset_digest_of(data), label


def _pandas(frame: Any) -> Any:
    """A pandas copy of a Polars frame, column by column through NumPy (no pyarrow needed)."""
    import pandas as pd

    return pd.DataFrame({c: frame.get_column(c).to_numpy() for c in frame.columns})


def _task(y_raw: np.ndarray, cand_out: np.ndarray, declared: str | None, classifier: bool = False) -> str:
    if declared:
        if declared not in ("binary", "multiclass", "regression", "classification"):
            raise ConfigError(f"data.task must be binary, multiclass, classification or regression, got {declared!r}")
        if declared != "classification":
            return declared
    if declared != "classification" and cand_out.dtype.kind == "f":
        # a target of whole numbers (counts, prices) often reads as integers; a regressor's outputs still are not
        if not classifier and not np.all(cand_out == np.round(cand_out)):
            return "regression"
        if y_raw.dtype.kind == "f":
            integral = np.all(np.isnan(y_raw) | (y_raw == np.round(y_raw)))
            if not integral or np.unique(y_raw).size > 20:
                return "regression"
    return "binary" if np.unique(y_raw).size <= 2 else "multiclass"


def _predict(model: Any, X: Any) -> tuple[np.ndarray, np.ndarray | None]:
    out = np.asarray(model.predict(X))
    if out.ndim == 2 and out.shape[1] == 1:
        out = out[:, 0]
    proba = model.predict_proba(X)
    return out, (None if proba is None else np.asarray(proba, dtype=np.float64))


def _classes_of(model: Any) -> list[str] | None:
    classes = getattr(model.native, "classes_", None)
    return None if classes is None else [str(c) for c in np.asarray(classes).tolist()]


def _encode(
    out: np.ndarray, proba: np.ndarray | None, model_classes: list[str] | None, classes: list[str], who: str
) -> Pred:
    index = {c: i for i, c in enumerate(classes)}
    labels = np.array([str(v) for v in (out.tolist() if out.dtype.kind != "f" else _ints(out))])
    unknown = sorted(set(labels.tolist()) - set(index))
    if unknown:
        raise InputError(f"{who} predicts classes the evaluation target never has: {', '.join(unknown[:5])}")
    label = np.array([index[v] for v in labels], dtype=np.int64)
    if proba is not None:
        order = model_classes if model_classes is not None and len(model_classes) == proba.shape[1] else None
        if order is None and proba.shape[1] == len(classes):
            order = classes
        if order is None:
            proba = None
        else:
            full = np.zeros((len(out), len(classes)))
            for j, c in enumerate(order):
                if c in index:
                    full[:, index[c]] = proba[:, j]
            proba = full
    return Pred(label=label, proba=proba)


def _ints(out: np.ndarray) -> list[Any]:
    return [int(v) if np.isfinite(v) and v == int(v) else v for v in out.tolist()]


def _finite(
    model: Any, out: np.ndarray, proba: np.ndarray | None, y_raw: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None, str | None]:
    """Outputs with NaN/inf rows replaced by placeholders, and the reason metrics cannot use them."""
    bad = np.zeros(len(out), dtype=bool)
    if out.dtype.kind in "fc":
        bad |= ~np.isfinite(out)
    if proba is not None:
        bad |= ~np.isfinite(proba).all(axis=1)
    if not bad.any():
        return out, proba, None
    rows = ", ".join(str(i) for i in np.flatnonzero(bad)[:5])
    reason = (
        f"{model.metadata.ref} returned NaN or infinite outputs for {int(bad.sum())} of {len(out)} rows "
        f"(rows {rows}{' …' if bad.sum() > 5 else ''}), so its metrics cannot be computed"
    )
    out = out.copy()
    finite = out[~bad]
    out[bad] = finite[0] if finite.size else y_raw[0]  # placeholders only: no metric is computed on them
    if proba is not None:
        proba = proba.copy()
        proba[bad] = 1.0 / proba.shape[1]
    return out, proba, reason


def _score(
    frame: Any,
    target: str,
    candidate: Any,
    champion: Any,
    champion_error: str | None,
    data_cfg: dict[str, Any],
    label: str,
) -> Evaluation:
    y_series = frame.get_column(target)
    features = _pandas(frame.drop(target))
    y_raw = y_series.to_numpy()
    try:
        cand_out, cand_proba = _predict(candidate, features)
    except InputError as exc:  # the data does not fit the candidate: the caller's to fix, exit 2
        raise InputError(
            f"{label}: {candidate.metadata.ref} cannot score the evaluation data: {exc.message}", hint=exc.hint
        ) from exc
    if len(cand_out) != frame.height:
        raise InputError(f"{candidate.metadata.ref} returned {len(cand_out)} predictions for {frame.height} rows")
    champ_out = champ_proba = None
    if champion is not None:
        try:
            champ_out, champ_proba = _predict(champion, features)
        except MlgateError as exc:
            champion_error = f"the champion {champion.metadata.ref} cannot score this data: {exc}"
        except Exception as exc:  # a model's own failure must not hide the candidate's verdict
            champion_error = f"the champion {champion.metadata.ref} failed while predicting: {exc!r}"
    cand_out, cand_proba, candidate_error = _finite(candidate, cand_out, cand_proba, y_raw)
    if champ_out is not None:
        champ_out, champ_proba, bad = _finite(champion, champ_out, champ_proba, y_raw)
        if bad:
            champion_error, champ_out, champ_proba = bad, None, None
    task = _task(y_raw, cand_out, data_cfg.get("task"), classifier=_classes_of(candidate) is not None)
    if task == "regression":
        y = y_raw.astype(np.float64)
        cand = Pred(value=cand_out.astype(np.float64))
        champ = None if champ_out is None else Pred(value=champ_out.astype(np.float64))
        return Evaluation(frame, features, y, task, None, cand, champ, champion_error, target, candidate_error)
    model_classes = _classes_of(candidate)
    y_text = [str(v) for v in (_ints(y_raw) if y_raw.dtype.kind == "f" else y_raw.tolist())]
    lost: list[str] = []
    if model_classes is not None:
        unseen = sorted(set(y_text) - set(model_classes))
        # a class the champion knows and the candidate lost is the candidate's failure, not the data's
        champ_classes = _classes_of(champion) if champ_out is not None else None
        lost = [c for c in unseen if champ_classes and c in champ_classes]
        unknown = [c for c in unseen if c not in lost]
        if unknown:
            count = sum(v in unknown for v in y_text)
            raise InputError(
                f"{label}: the target {target!r} has classes the model never saw: {', '.join(unknown[:5])} "
                f"({count} rows); {candidate.metadata.ref} knows {', '.join(model_classes[:10])}"
                + ("; the champion does not know them either" if champ_classes else ""),
                hint="evaluate on data labelled like the training data, or retrain with these classes",
            )
        classes = list(model_classes) + lost
    else:
        classes = sorted(set(y_text) | {str(v) for v in cand_out.tolist()})
    positive = data_cfg.get("positive")
    if positive is not None and len(classes) == 2:
        if str(positive) not in classes:
            raise ConfigError(f"data.positive: {positive!r} is not one of the classes {classes}")
        classes = [c for c in classes if c != str(positive)] + [str(positive)]
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[v] for v in y_text], dtype=np.int64)
    cand = _encode(cand_out, cand_proba, model_classes, classes, candidate.metadata.ref)
    champ = None
    if champ_out is not None:
        try:
            champ = _encode(champ_out, champ_proba, _classes_of(champion), classes, champion.metadata.ref)
        except InputError as exc:
            champion_error = str(exc)
    if task == "binary" and len(classes) > 2:
        task = "multiclass"
    if champ is not None:  # known to the candidate, yet never predicted where the champion predicts it
        for i, c in enumerate(classes):
            if c not in lost and (y == i).any() and (champ.label == i).sum() >= 5 and not (cand.label == i).any():
                lost.append(c)
    return Evaluation(
        frame, features, y, task, classes, cand, champ, champion_error, target, candidate_error, lost_classes=lost
    )


def _constant(ev: Evaluation) -> Check | None:
    """A candidate that answers the same on every row, where the target varies, has stopped being a model."""
    if ev.candidate_error or len(ev.y) < 2 or np.unique(ev.y).size < 2:
        return None
    out = ev.candidate.label if ev.candidate.label is not None else ev.candidate.value
    if out is None or np.unique(out).size > 1:
        return None
    shown = ev.classes[int(out[0])] if ev.classes and ev.candidate.label is not None else f"{float(out[0]):.4g}"
    return Check(
        "varying output",
        "behaviour",
        "fail",
        message=f"the candidate predicts {shown} for all {len(ev.y)} evaluation rows, where the target varies",
        rows=len(ev.y),
        reason="constant output",
    )


def _lost_classes(ev: Evaluation, champ_mv: Any) -> Check:
    assert ev.classes is not None and ev.champion is not None
    parts = []
    for c in ev.lost_classes:
        i = ev.classes.index(c)
        parts.append(
            f"{c} ({int((ev.y == i).sum())} rows, champion predicts it on {int((ev.champion.label == i).sum())})"
        )
    return Check(
        "classes kept",
        "behaviour",
        "fail",
        message=f"the candidate never predicts {len(parts)} class(es) that {champ_mv.ref} predicts and the "
        f"evaluation data has: {', '.join(parts[:5])}",
        rows=len(ev.y),
        details={"lost": ev.lost_classes},
        reason="lost class",
    )


def _metric(spec: GateSpec, ev: Evaluation) -> Any:
    from mlgate.gates.metrics import get_metric

    return get_metric(spec.metric or "", ev.task, where=spec.where)


def _needs_missing(metric: Any, pred: Pred | None) -> bool:
    return metric.needs == "proba" and (pred is None or pred.proba is None)


def _run_spec(
    spec: GateSpec,
    ev: Evaluation,
    cand_mv: Any,
    champ_mv: Any,
    candidate: Any,
    settings: Settings,
    slices_rows: list[dict[str, Any]],
    metrics: dict[str, dict[str, Any]],
    notes: list[str],
) -> list[Check]:
    if spec.kind in ("bound", "change", "slices", "critical") and ev.candidate_error:
        kind = {"critical": "slice", "bound": "bound", "change": "change"}.get(spec.kind, "slices")
        return [Check(spec.name, kind, "error", message=ev.candidate_error, metric=spec.metric)]
    if spec.kind == "bound":
        return [_bound(spec, ev, metrics)]
    if spec.kind in ("change", "slices", "critical"):
        metric = _metric(spec, ev)
        base = Check(spec.name, "change" if spec.kind == "change" else "slices", "skip", metric=metric.name)
        if champ_mv is None:
            base.message = f"skipped: no champion — nothing holds @{spec.vs} yet (first model)"
            return [base]
        if ev.champion is None:
            base.status, base.message = "error", ev.champion_error or "the champion could not be scored"
            return [base]
        if _needs_missing(metric, ev.candidate) or _needs_missing(metric, ev.champion):
            base.status = "error"
            base.message = f"{metric.name} needs class probabilities and a model gives none (no predict_proba)"
            return [base]
        if spec.kind == "change":
            return [_change(spec, metric, ev, metrics)]
        if spec.kind == "critical":
            return [_critical(spec, metric, ev)]
        return [_slices(spec, metric, ev, slices_rows, notes)]
    if spec.kind == "behaviour":
        from mlgate.gates import behaviour

        n_classes = len(ev.classes) if ev.classes else None
        return behaviour.run(candidate, ev.features, task=ev.task, n_classes=n_classes, config=spec.options)
    if spec.kind == "golden":
        return [_golden(spec, ev, candidate, settings)]
    if spec.kind == "latency":
        from mlgate.gates import budgets

        return budgets.latency(candidate, ev.features, **spec.options)
    if spec.kind == "size":
        from mlgate.gates import budgets

        return [budgets.size(cand_mv, max_mb=spec.options["max_mb"])]
    if spec.kind == "environment":
        from mlgate.gates import environment

        return [environment.check(cand_mv, **spec.options)]
    raise ConfigError(f"{spec.where}: unknown gate kind {spec.kind!r}")  # parse_gates prevents this


def _bound(spec: GateSpec, ev: Evaluation, metrics: dict[str, dict[str, Any]]) -> Check:
    from mlgate.gates import stats

    metric = _metric(spec, ev)
    check = Check(spec.name, "bound", "error", metric=metric.name, rows=len(ev.y))
    if _needs_missing(metric, ev.candidate):
        check.message = f"{metric.name} needs class probabilities and the candidate gives none (no predict_proba)"
        return check
    try:
        value = metric.compute(ev.y, ev.candidate)
        check.ci = stats.interval(metric, ev.y, ev.candidate, confidence=spec.confidence, resamples=spec.resamples)
    except InputError as exc:
        check.message = f"cannot compute {metric.name}: {exc}"
        return check
    check.value = value
    lo, hi = spec.min, spec.max
    ok = (lo is None or value >= lo) and (hi is None or value <= hi)
    check.bound = lo if lo is not None else hi
    check.details["op"] = ">=" if lo is not None else "<="
    check.status = "pass" if ok else "fail"
    want = " and ".join(([f">= {lo:g}"] if lo is not None else []) + ([f"<= {hi:g}"] if hi is not None else []))
    check.message = f"{metric.name} = {value:.4g} (interval {check.ci[0]:.4g} to {check.ci[1]:.4g}); required {want}"
    metrics.setdefault(metric.name, {"candidate": value, "higher_is_better": metric.higher_is_better})
    return check


def _margin(spec: GateSpec, champion_value: float) -> float:
    return spec.max_drop * abs(champion_value) if spec.relative else spec.max_drop


def _worst(metric: Any, ci: tuple[float, float]) -> float:
    """The most pessimistic end of the interval, as a change where positive means better."""
    return ci[0] if metric.higher_is_better else -ci[1]


def _compare(spec: GateSpec, metric: Any, ev: Evaluation, mask: np.ndarray | None = None) -> Any:
    from mlgate.gates import stats

    y, cand, champ = ev.y, ev.candidate, ev.champion
    assert champ is not None
    if mask is not None:
        y, cand, champ = y[mask], cand.take(mask), champ.take(mask)
    champ_value = metric.compute(y, champ)
    return stats.compare(
        metric,
        y,
        cand,
        champ,
        margin=_margin(spec, champ_value),
        confidence=spec.confidence,
        resamples=spec.resamples,
        seed=spec.seed,
    )


def _verdict(spec: GateSpec, metric: Any, cmp: Any, check: Check, reason: str = "aggregate drop") -> Check:
    """Pass, fail (harm shown) or undecided (the interval straddles the margin), with the set's resolution."""
    from mlgate.gates.resolution import describe, resolution

    margin = _margin(spec, cmp.champion)
    worst = _worst(metric, cmp.ci)
    best = cmp.ci[1] if metric.higher_is_better else -cmp.ci[0]
    oriented = cmp.delta if metric.higher_is_better else -cmp.delta
    check.value, check.champion, check.delta, check.ci = cmp.candidate, cmp.champion, cmp.delta, cmp.ci
    check.bound, check.p_value, check.mde, check.rows = margin, cmp.p_value, cmp.mde, cmp.n
    res = resolution(cmp.ci, cmp.n, margin)
    check.details.update(method=cmp.method, undecided_rule=spec.undecided, **res)
    f = _precision(cmp.candidate, cmp.champion)
    allowed = f(margin) + (f" ({spec.max_drop:.1%} of {f(cmp.champion)})" if spec.relative else "")
    pct = round(spec.confidence * 100)
    head = (
        f"{metric.name} {f(cmp.candidate)} vs {f(cmp.champion)}: change {f(cmp.delta, sign=True)}, "
        f"{pct}% interval [{f(cmp.ci[0], sign=True)}, {f(cmp.ci[1], sign=True)}]"
    )
    words = "rise" if not metric.higher_is_better else "drop"
    # a change of exactly the margin is allowed: 20 of 2,000 rows is -0.010000000000000009 in floating point
    margin += 1e-9 * max(1.0, abs(margin), abs(cmp.champion))
    if worst >= -margin:
        check.status = "pass"
        check.message = f"{head}; at worst it may {_worse(metric, -worst, f)}, within the allowed {words} {allowed}"
    elif best < -margin:
        check.status, check.reason = "fail", reason
        harm = f"harm shown: even at best it would {_worse(metric, -best, f)}"
        check.message = f"{head}; {harm}, more than the allowed {words} {allowed}"
    else:
        check.status = "undecided"
        check.blocks = spec.undecided == "block" or oriented < -margin
        check.reason = reason if check.blocks else None
        if spec.undecided == "block":
            rule = "blocks (undecided: block)"
        elif check.blocks:
            rule = f"blocks: the point estimate is beyond the allowed {words}"
        else:
            rule = "does not block: the point estimate is within the allowed " + words
        check.message = (
            f"{head}; undecided: it may {_worse(metric, -worst, f)}, more than the allowed {allowed}; {rule}"
        )
    if res["below_resolution"]:
        check.message += f". {describe(res, margin)}"
    return check


def _worse(metric: Any, amount: float, f: Callable[..., str] = lambda x: f"{x:.4g}") -> str:
    """A worsening in the metric's own words: "drop by 0.02" for accuracy, "rise by 0.1089" for RMSE."""
    if amount > 0:
        return f"{'drop' if metric.higher_is_better else 'rise'} by {f(amount)}"
    return f"improve by {f(-amount)}" if amount < 0 else "stay equal"


def _precision(*values: float) -> Callable[..., str]:
    """One number format for a metric across a message: decimals from the metric's magnitude (0.9404, 54.21)."""
    scale = max((abs(v) for v in values if np.isfinite(v)), default=1.0) or 1.0
    # four significant digits at the metric's magnitude; a metric on [0, 1] keeps 4 decimals even at 1.0
    decimals = int(min(8, max(4 if scale <= 1 else 1, 3 - np.floor(np.log10(scale)))))

    def fmt(x: float, *, sign: bool = False) -> str:
        return f"{x:+.{decimals}f}" if sign else f"{x:.{decimals}f}"

    return fmt


# change gates on these metrics measure the probabilities themselves, so a worse one is `calibration worse`
CALIBRATION_METRICS = frozenset({"brier", "ece", "log_loss"})


def _change(spec: GateSpec, metric: Any, ev: Evaluation, metrics: dict[str, dict[str, Any]]) -> Check:
    check = Check(spec.name, "change", "error", metric=metric.name, rows=len(ev.y))
    try:
        cmp = _compare(spec, metric, ev)
    except InputError as exc:
        check.message = f"cannot compare {metric.name}: {exc}"
        return check
    metrics[metric.name] = {
        "candidate": cmp.candidate,
        "champion": cmp.champion,
        "delta": cmp.delta,
        "ci": list(cmp.ci),
        "mde": cmp.mde,
        "p_value": cmp.p_value,
        "higher_is_better": metric.higher_is_better,
        "method": cmp.method,
    }
    reason = "calibration worse" if metric.name in CALIBRATION_METRICS else "aggregate drop"
    return _verdict(spec, metric, cmp, check, reason=reason)


def _critical(spec: GateSpec, metric: Any, ev: Evaluation) -> Check:
    from mlgate.gates.slices import by_filter

    sl = by_filter(ev.frame, spec.slice or "", where=spec.where)
    check = Check(spec.name, "slice", "error", metric=metric.name, rows=sl.rows, slice=sl.name)
    if sl.rows == 0:
        check.message = f"the critical slice {sl.name!r} matches no evaluation rows, so it cannot be checked"
        return check
    if sl.rows < spec.min_rows:
        check.message = (
            f"the critical slice {sl.name!r} has {sl.rows} rows; at least {spec.min_rows} are needed to decide"
        )
        return check
    try:
        cmp = _compare(spec, metric, ev, sl.mask)
    except InputError as exc:
        check.message = f"cannot compare {metric.name} on {sl.name!r}: {exc}"
        return check
    ev.slice_masks[(spec.name, sl.name)] = sl.mask
    return _verdict(spec, metric, cmp, check, reason="slice drop")


# metrics that stay defined on the rows of one true class (there they are that class's recall)
_PER_CLASS = {"accuracy", "balanced_accuracy", "recall_macro", "recall_weighted"}


def _slices(spec: GateSpec, metric: Any, ev: Evaluation, rows_out: list[dict[str, Any]], notes: list[str]) -> Check:
    from mlgate.gates.slices import Slice, discover, intersect, sliceable, weighted_bh

    if spec.slices == "auto":
        columns, left_out = sliceable(ev.frame, target=ev.target, max_categories=spec.max_categories)
        notes.extend(f"{spec.name}: {n}" for n in left_out)
    else:
        columns = list(spec.slices or ())
    found, left_out = discover(ev.frame, columns, bins=spec.bins, max_categories=spec.max_categories, where=spec.where)
    found += intersect(found, budget=spec.intersections, min_rows=spec.min_rows)
    if spec.slices == "auto" and ev.classes and metric.name in _PER_CLASS and len(ev.classes) > 2:
        # per-class figures: the rows of one true class, where these metrics are that class's recall
        found += [Slice(f"{ev.target} = {c}", ev.target, ev.y == i) for i, c in enumerate(ev.classes)]
    notes.extend(f"{spec.name}: {n}" for n in left_out)
    within = metric.within_slice()
    check = Check(spec.name, "slices", "error", metric=metric.name)
    evaluated, small, undefined = [], [], []
    for sl in found:
        if sl.rows < spec.min_rows:
            small.append(sl)
            continue
        preds = [ev.candidate.take(sl.mask)] + ([ev.champion.take(sl.mask)] if ev.champion else [])
        why = within.undefined_on(ev.y[sl.mask], preds)
        if why:
            undefined.append((sl, why))
            continue
        try:
            evaluated.append((sl, _compare(spec, within, ev, sl.mask)))
        except InputError as exc:
            undefined.append((sl, str(exc)))
    ev.slice_masks.update({(spec.name, sl.name): sl.mask for sl, _ in evaluated})
    check.details.update(
        slices=len(found), evaluated=len(evaluated), too_small=len(small), undefined=len(undefined), alpha=spec.alpha,
        screening="Benjamini–Hochberg weighted by slice rows", intersections=sum(sl.weight != 1.0 for sl in found),
    )  # fmt: skip
    if not evaluated:
        check.message = (
            f"no slice could be evaluated: {len(found)} found, {len(small)} under min_rows={spec.min_rows}, "
            f"{len(undefined)} where {metric.name} is undefined"
        )
        return check
    p = np.array([c.p_value for _, c in evaluated])
    scale = np.array([sl.weight for sl, _ in evaluated])  # intersections weigh less per row
    adjusted, weights = weighted_bh(p, np.array([c.n for _, c in evaluated]), scale)
    flagged, effects = [], []
    for (sl, cmp), p_adj, weight in zip(evaluated, adjusted, weights, strict=True):
        margin = _margin(spec, cmp.champion)
        bad = bool(p_adj < spec.alpha) and _worst(metric, cmp.ci) < -margin
        row = {
            "gate": spec.name, "slice": sl.name, "column": sl.column, "rows": cmp.n, "metric": metric.name,
            "candidate": cmp.candidate, "champion": cmp.champion, "delta": cmp.delta, "ci": list(cmp.ci),
            "p_value": cmp.p_value, "p_adjusted": float(p_adj), "weight": float(weight), "max_drop": margin,
            **_slice_outcome(bad, _worst(metric, cmp.ci) < -margin),
        }  # fmt: skip
        rows_out.append(row)
        if bad:
            flagged.append((sl, cmp, float(p_adj)))
        if cmp.p_value < spec.alpha:
            effects.append(row)
    for sl, reason in undefined:
        rows_out.append({"gate": spec.name, "slice": sl.name, "column": sl.column, "rows": sl.rows,
                         "metric": metric.name, "status": "skip", "reason": f"not tested: {reason}"})  # fmt: skip
    sign = 1.0 if metric.higher_is_better else -1.0
    effects.sort(key=lambda r: sign * r["delta"])
    check.details["largest_effects"] = [
        {k: r[k] for k in ("slice", "rows", "delta", "ci", "p_value", "p_adjusted")} for r in effects[:5]
    ]
    flagged.sort(key=lambda f: sign * f[1].delta)
    extra = f"; {len(small)} slice(s) under {spec.min_rows} rows not tested" if small else ""
    if undefined:
        extra += f"; {len(undefined)} not tested ({metric.name} undefined there, or too few rows it counts)"
    if flagged:
        sl, cmp, p_adj = flagged[0]
        check.status, check.reason = "fail", "slice drop"
        check.slice, check.rows = sl.name, cmp.n
        check.value, check.champion, check.delta, check.ci = cmp.candidate, cmp.champion, cmp.delta, cmp.ci
        check.p_value, check.bound = p_adj, _margin(spec, cmp.champion)
        check.message = (
            f"{len(flagged)} of {len(evaluated)} slices regressed: worst {sl.name!r} ({cmp.n} rows) {metric.name} "
            f"{cmp.candidate:.4g} vs {cmp.champion:.4g} ({cmp.delta:+.4g}, interval [{cmp.ci[0]:+.4g}, "
            f"{cmp.ci[1]:+.4g}], p {_p(cmp.p_value)}, adjusted {_p(p_adj)}){extra}"
        )
        check.details["failing"] = [
            {"slice": s.name, "rows": c.n, "delta": c.delta, "p_adjusted": pa} for s, c, pa in flagged
        ]
    else:
        check.status = "pass"
        check.message = (
            f"no slice regressed beyond {spec.max_drop:g}{' (relative)' if spec.relative else ''} "
            f"across {len(evaluated)} slices (Benjamini–Hochberg weighted by rows, at {spec.alpha:g}){extra}"
        )
        if effects:
            top = effects[0]
            check.message += (
                f"; largest effect {top['slice']!r} ({top['rows']} rows) {top['delta']:+.4g} "
                f"[{top['ci'][0]:+.4g}, {top['ci'][1]:+.4g}], p {_p(top['p_value'])}, adjusted {_p(top['p_adjusted'])}"
            )
    return check


def _slice_outcome(bad: bool, straddles: bool) -> dict[str, Any]:
    """A slice row's status, as a change check's: fail blocks; undecided (the interval reaches past the allowed
    drop) does not, because the slice gate decides on its adjusted p-values; its note says so."""
    if bad:
        return {"status": "fail", "blocks": True}
    if straddles:
        note = "undecided: the interval reaches past the allowed drop, not shown after adjustment; does not block"
        return {"status": "undecided", "blocks": False, "note": note}
    return {"status": "pass", "blocks": False}


def _explain_twins(checks: list[Check], slices_rows: list[dict[str, Any]], ev: Evaluation) -> None:
    """A critical slice and an automatic slice over the same rows and metric may disagree: say why, on both."""
    for c in checks:
        mask = ev.slice_masks.get((c.name, c.slice or "")) if c.kind == "slice" else None
        if mask is None or c.status not in ("pass", "fail", "undecided"):
            continue
        for row in slices_rows:
            twin = ev.slice_masks.get((row["gate"], row["slice"]))
            if twin is None or row.get("metric") != c.metric or not np.array_equal(twin, mask):
                continue
            if c.blocking == (row["status"] == "fail"):
                continue
            why = (
                f"the critical slice {c.name!r} is tested alone, at its own interval; the automatic slice "
                f"{row['slice']!r} of {row['gate']!r} is one of many and Benjamini–Hochberg-adjusted "
                f"(p {_p(row['p_value'])}, adjusted {_p(row['p_adjusted'])})"
            )
            row["note"] = (
                f"same rows as the critical slice {c.name!r}, which {'blocks' if c.blocking else 'passes'}: {why}"
            )
            verdict = {"fail": "failed", "undecided": "is undecided"}.get(row["status"], "passed")
            c.message += f". The automatic slice {row['slice']!r} has the same rows and {verdict}: {why}"


def _p(p: float) -> str:
    """A p-value as a reviewer reads it: ``<0.001`` rather than ``0``."""
    return "<0.001" if p < 0.001 else f"{p:.2g}"


def _golden(spec: GateSpec, ev: Evaluation, candidate: Any, settings: Settings) -> Check:
    from mlgate.data.io import collect, scan
    from mlgate.gates import golden

    path = spec.options.get("path") or (settings.raw.get("data") or {}).get("golden")
    if not path:
        return Check(spec.name, "golden", "error", message="no golden set: set data.golden or golden: {path: …}")
    full = Path(path) if Path(path).is_absolute() else settings.root / path
    try:
        frame = _pandas(collect(scan(full), label=str(path)))
    except MlgateError as exc:
        return Check(spec.name, "golden", "error", message=f"cannot read the golden set {path}: {exc}")
    target = spec.options.get("target") or ev.target
    return golden.check(
        candidate,
        frame,
        target=target,
        task=ev.task,
        tolerance=spec.options.get("tolerance", 1e-6),
        rel_tolerance=spec.options.get("rel_tolerance", 0.0),
    )


def _apply_waivers(checks: list[Check], waivers: list[Waiver], notes: list[str]) -> None:
    today = date.today()
    for w in waivers:
        hits = [c for c in checks if w.gate in (c.name, c.details.get("gate"))]
        if not w.active(today):
            if any(c.blocking for c in hits):
                notes.append(f"the waiver for {w.gate!r} expired on {w.until.isoformat()} and was not applied")
            continue
        for c in hits:
            if c.status in ("fail", "error") or (c.status == "undecided" and c.blocks):
                c.waived = {"until": w.until.isoformat(), "reason": w.reason}
        if any(c.waived for c in hits):
            notes.append(f"waived until {w.until.isoformat()}: {w.gate!r} — {w.reason}")


# the reason a blocking check carries when its own code did not set a more specific one
_REASON_BY_NAME = {
    "finite outputs": "non-finite output",
    "input contract": "input mismatch",
    "column order": "input mismatch",
    "output shape": "input mismatch",
    "dtype robustness": "input mismatch",
}
_REASON_BY_KIND = {
    "change": "aggregate drop", "bound": "aggregate drop", "slice": "slice drop", "slices": "slice drop",
    "latency": "latency", "size": "size", "environment": "environment",
}  # fmt: skip


def _classify(checks: list[Check]) -> None:
    """Give every blocking check a reason class; one that errored is a `check error` unless its kind says more."""
    # a candidate that lost a class gives probabilities of another width: the output shape is its symptom
    lost = any(c.name == "classes kept" and c.blocking for c in checks)
    for c in checks:
        if not c.blocking or c.reason:
            continue
        if lost and c.name == "output shape":
            c.reason = "lost class"
        elif c.status == "error" and c.kind in ("change", "bound", "slice", "slices") and "NaN" in c.message:
            c.reason = "non-finite output"
        elif c.status == "error" and c.kind not in ("latency", "size", "environment"):
            c.reason = _REASON_BY_NAME.get(c.name, "check error")
        else:
            c.reason = _REASON_BY_NAME.get(c.name) or _REASON_BY_KIND.get(c.kind, "check error")


def reasons(checks: list[Check]) -> list[dict[str, Any]]:
    """The blocking checks' reasons, most specific class first (``REASONS`` order), then report order."""
    from mlgate.gates.types import REASONS

    order = {r: i for i, r in enumerate(REASONS)}
    blocking = [c for c in checks if c.blocking]
    blocking.sort(key=lambda c: order.get(c.reason or "check error", len(order)))
    return [{"class": c.reason or "check error", "check": c.name, "message": c.message} for c in blocking]


def _version_doc(mv: Any) -> dict[str, Any] | None:
    if mv is None:
        return None
    return {"ref": mv.ref, "digest": mv.digest, "semver": mv.semver, "flavor": mv.flavor}


def _report(
    cand_mv: Any,
    champ_mv: Any,
    against: str,
    ev: Evaluation,
    label: str,
    dataset_digest: str,
    settings: Settings,
    specs: list[GateSpec],
    checks: list[Check],
    passed: bool,
    metrics: dict[str, dict[str, Any]],
    slices_rows: list[dict[str, Any]],
    notes: list[str],
    timings: dict[str, float],
    actor: str,
    waivers: list[Waiver],
) -> dict[str, Any]:
    from mlgate.files import project_relative
    from mlgate.gates.environment import installed_version
    from mlgate.gates.types import _plain

    status = [c.status for c in checks]
    summary = {
        "checks": len(checks),
        "passed": status.count("pass"),
        "failed": sum(c.status == "fail" and not c.waived for c in checks),
        "errors": sum(c.status == "error" and not c.waived for c in checks),
        "skipped": status.count("skip"),
        "warnings": status.count("warn"),
        "undecided": sum(c.status == "undecided" and not c.waived for c in checks),
        "undecided_blocking": sum(c.status == "undecided" and c.blocking for c in checks),
        "waived": sum(c.waived is not None for c in checks),
    }
    # the flavor's packages only: the full distribution lock costs ~0.5 s of metadata reads, and is dropped
    packages = {p: installed_version(p) for p in (cand_mv.environment.get("packages") or {})}
    order = {"error": 0, "fail": 1, "undecided": 2, "warn": 2, "pass": 3, "skip": 4}
    slices_rows.sort(key=lambda r: (order.get(r["status"], 5), r.get("delta") or 0.0))
    return _plain(
        {
            "schema": REPORT_SCHEMA,
            "id": None,
            "created_at": datetime.now(UTC).isoformat(),
            "created_by": actor,
            "model": cand_mv.name,
            "candidate": _version_doc(cand_mv),
            "against": against,
            "champion": _version_doc(champ_mv),
            "dataset": {
                "path": project_relative(label, settings.root),
                "digest": dataset_digest,
                "rows": len(ev.y),
                "target": ev.target,
            },
            "config": {
                "digest": config_digest(settings),
                "path": project_relative(settings.config_path, settings.root) if settings.config_path else None,
                "gates": [s.to_dict() for s in specs],
                "waivers": [w.to_dict() for w in waivers],
            },
            "task": ev.task,
            "classes": ev.classes,
            "passed": passed,
            "summary": summary,
            "reasons": reasons(checks),
            "checks": [c.to_dict() for c in checks],
            "metrics": metrics,
            "slices": slices_rows,
            "plots": _plot_data(ev),
            "timings": timings,
            "environment": {
                "python": platform.python_version(),
                "platform": platform.platform(),
                "packages": packages,
            },
            "notes": notes,
        }
    )


def _per_class(ev: Evaluation) -> tuple[dict[str, Any], dict[str, Any]]:
    """Confusion matrices (rows: true class, columns: predicted) and per-class precision, recall and support."""
    assert ev.classes is not None
    k = len(ev.classes)
    confusion: dict[str, Any] = {"classes": ev.classes}
    per_class: dict[str, Any] = {"classes": ev.classes}
    for who, p in (("candidate", ev.candidate), ("champion", ev.champion)):
        if p is None or p.label is None:
            confusion[who] = per_class[who] = None
            continue
        matrix = np.bincount(ev.y * k + p.label, minlength=k * k).reshape(k, k)
        true, predicted, hits = matrix.sum(axis=1), matrix.sum(axis=0), np.diag(matrix)
        confusion[who] = matrix.tolist()
        per_class[who] = {  # None where undefined (no true rows, nothing predicted), never a made-up 0
            "precision": [float(h / d) if d else None for h, d in zip(hits, predicted, strict=True)],
            "recall": [float(h / d) if d else None for h, d in zip(hits, true, strict=True)],
            "support": true.tolist(),
        }
    return confusion, per_class


def _thin(*arrays: np.ndarray, points: int = 200) -> list[list[float]]:
    n = len(arrays[0])
    idx = np.unique(np.linspace(0, n - 1, min(n, points)).round().astype(int)) if n else np.array([], int)
    return [np.asarray(a)[idx].astype(float).tolist() for a in arrays]


def _plot_data(ev: Evaluation) -> dict[str, Any]:
    from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

    out: dict[str, Any] = {
        "roc": None, "pr": None, "calibration": None, "residuals": None, "confusion": None, "per_class": None,
    }  # fmt: skip
    if ev.candidate_error:
        return out
    if ev.task != "regression" and ev.classes:
        out["confusion"], out["per_class"] = _per_class(ev)
    if ev.task == "regression":
        rng = np.random.default_rng(0)
        idx = rng.choice(len(ev.y), size=min(len(ev.y), 500), replace=False)
        out["residuals"] = {
            who: None if p is None else {"predicted": p.value[idx].tolist(), "actual": ev.y[idx].tolist()}
            for who, p in (("candidate", ev.candidate), ("champion", ev.champion))
        }
        return out
    if ev.task != "binary" or len(np.unique(ev.y)) < 2:
        return out
    roc, pr, cal = {}, {}, {}
    for who, p in (("candidate", ev.candidate), ("champion", ev.champion)):
        score = None if p is None else p.score
        if score is None:
            roc[who] = pr[who] = cal[who] = None
            continue
        fpr, tpr, _ = roc_curve(ev.y, score)
        fpr, tpr = _thin(fpr, tpr)
        roc[who] = {"fpr": fpr, "tpr": tpr, "auc": float(roc_auc_score(ev.y, score))}
        precision, recall, _ = precision_recall_curve(ev.y, score)
        precision, recall = _thin(precision, recall)
        pr[who] = {"recall": recall, "precision": precision, "ap": float(average_precision_score(ev.y, score))}
        bins = np.clip((score * 10).astype(int), 0, 9)
        count = np.bincount(bins, minlength=10)
        keep = count > 0
        mean_pred = np.bincount(bins, weights=score, minlength=10)[keep] / count[keep]
        frac_pos = np.bincount(bins, weights=ev.y.astype(float), minlength=10)[keep] / count[keep]
        cal[who] = {
            "mean_predicted": mean_pred.tolist(),
            "fraction_positive": frac_pos.tolist(),
            "count": count[keep].tolist(),
        }
    out.update(roc=roc, pr=pr, calibration=cal)
    return out
