"""Scoring: read the evaluation rows once, predict with both models and encode their outputs for the metrics.

An :class:`Evaluation` holds the rows and both models' outputs, shared by every gate. A candidate whose
outputs are NaN or infinite keeps placeholders and the reason (metrics on it fail closed); a class the
champion knows and the candidate lost is recorded for the ``classes kept`` check, and a candidate that
answers the same on every row gets the ``varying output`` check.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from mlgate.errors import ConfigError, InputError, MlgateError
from mlgate.gates.types import Check, Pred

if TYPE_CHECKING:
    from mlgate.config import DataConfig
    from mlgate.data.dataset import Dataset


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


def _read(dataset: Dataset, target: str) -> tuple[Any, str, str]:
    """The evaluation rows, the dataset's digest and how messages name it."""
    from mlgate.data.io import collect

    label = dataset.name
    frame = collect(dataset.scan(), label=label)
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
    return frame, dataset.digest, label


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
    data_cfg: DataConfig,
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
    task = _task(y_raw, cand_out, data_cfg.task, classifier=_classes_of(candidate) is not None)
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
    positive = data_cfg.positive
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
        assert champ.label is not None and cand.label is not None  # _encode sets both
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
    assert ev.classes is not None and ev.champion is not None and ev.champion.label is not None
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
