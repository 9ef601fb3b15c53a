"""The gate report document (``mlgate.gate-report/1``, docs/gate-report.md) and its stored JSON form."""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from typing import Any

import numpy as np

from mlgate.config import Settings
from mlgate.gates.deciding import reasons
from mlgate.gates.scoring import Evaluation
from mlgate.gates.spec import GateSpec, Waiver, config_digest
from mlgate.gates.types import REPORT_SCHEMA, Check


def report_json(report: dict[str, Any]) -> str:
    """The stored form of a report: sorted keys, two-space indents, no NaN."""
    import json

    return json.dumps(report, sort_keys=True, indent=2, allow_nan=False)


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
            who: None
            if p is None or p.value is None
            else {"predicted": p.value[idx].tolist(), "actual": ev.y[idx].tolist()}
            for who, p in (("candidate", ev.candidate), ("champion", ev.champion))
        }
        return out
    if ev.task != "binary" or len(np.unique(ev.y)) < 2:
        return out
    roc: dict[str, Any] = {}
    pr: dict[str, Any] = {}
    cal: dict[str, Any] = {}
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
