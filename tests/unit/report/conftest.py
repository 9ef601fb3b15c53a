"""Gate report dicts built from real models on bundled data: a blocked binary report with slices, a first
model (no champion) and a regression report. The figures are computed; only the statuses follow simple
rules here, because deciding them is the gates' job, not the renderers'."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from mlgate.gates.types import REPORT_SCHEMA, Check

FEW = ["mean texture", "mean smoothness"]  # the weaker candidate sees only these
RESAMPLES = 300


def _bootstrap(
    y: np.ndarray, a: np.ndarray, b: np.ndarray | None, metric: Any, seed: int = 0, *, two_classes: bool = False
) -> np.ndarray:
    """Paired bootstrap of metric(a) − metric(b) (or of metric(a) alone); ROC AUC needs ``two_classes``."""
    rng = np.random.default_rng(seed)
    out = []
    for index in rng.integers(0, len(y), (RESAMPLES, len(y))):
        if two_classes and len(np.unique(y[index])) < 2:
            continue
        value = metric(y[index], a[index])
        out.append(value if b is None else value - metric(y[index], b[index]))
    return np.asarray(out)


# Bootstrap resamples use these NumPy forms (sklearn's validation costs ~1 ms a call); the point figures
# in the reports come from sklearn.metrics.
def _accuracy(y: np.ndarray, score: np.ndarray) -> float:
    return float(np.mean((score > 0.5) == y))


def _recall(y: np.ndarray, score: np.ndarray) -> float:
    return float(np.mean(score[y == 1] > 0.5))


def _roc_auc(y: np.ndarray, score: np.ndarray) -> float:
    from scipy.stats import rankdata

    positives = int(y.sum())
    negatives = len(y) - positives
    return float((rankdata(score)[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def _rmse(y: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.sqrt(np.mean((y - predicted) ** 2)))


def _mae(y: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.mean(np.abs(y - predicted)))


def _ci(samples: np.ndarray) -> list[float]:
    return [float(np.quantile(samples, 0.025)), float(np.quantile(samples, 0.975))]


def _header(model: str, task: str, champion: bool) -> dict[str, Any]:
    return {
        "schema": REPORT_SCHEMA,
        "id": None,
        "created_at": "2026-11-23T14:00:00+00:00",
        "created_by": "alice",
        "model": model,
        "candidate": {
            "ref": f"{model}:3",
            "digest": "blake3:" + "3c" * 32,
            "semver": "1.2.0-rc.1",
            "flavor": "sklearn",
        },
        "against": "production",
        "champion": (
            {"ref": f"{model}:2", "digest": "blake3:" + "2b" * 32, "semver": "1.1.0", "flavor": "sklearn"}
            if champion
            else None
        ),
        "dataset": {"path": "data/test.csv", "digest": "blake3:" + "d0" * 32, "rows": 143, "target": "target"},
        "config": {
            "digest": "blake3:" + "c0" * 32,
            "path": "mlgate.yaml",
            "gates": [{"metric": "roc_auc", "min": 0.8}],
            "waivers": [{"gate": "scikit-learn matches production", "until": "2026-12-31", "reason": "#42"}],
        },
        "task": task,
        "timings": {"scoring_s": 0.1, "statistics_s": 0.4, "behaviour_s": 0.2, "total_s": 0.8},
        "environment": {"python": "3.11.9", "platform": "Linux-6.8-x86_64", "packages": {"scikit-learn": "1.7.0"}},
        "notes": [],
    }


def _summary(checks: list[dict[str, Any]]) -> dict[str, int]:
    status = [c["status"] for c in checks]
    waived = sum(1 for c in checks if c["waived"])
    return {
        "checks": len(checks),
        "passed": status.count("pass"),
        "failed": sum(1 for c in checks if c["status"] == "fail" and not c["waived"]),
        "errors": sum(1 for c in checks if c["status"] == "error" and not c["waived"]),
        "skipped": status.count("skip"),
        "warnings": status.count("warn"),
        "waived": waived,
    }


def _curves(y: np.ndarray, score: np.ndarray) -> dict[str, Any]:
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

    fpr, tpr, _ = roc_curve(y, score)
    precision, recall, _ = precision_recall_curve(y, score)
    fraction, predicted = calibration_curve(y, score, n_bins=8)
    counts = np.histogram(score, bins=np.linspace(0, 1, 9))[0]
    return {
        "roc": {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "auc": float(roc_auc_score(y, score))},
        "pr": {
            "recall": recall.tolist(),
            "precision": precision.tolist(),
            "ap": float(average_precision_score(y, score)),
        },
        "calibration": {
            "mean_predicted": predicted.tolist(),
            "fraction_positive": fraction.tolist(),
            "count": [int(c) for c in counts if c],
        },
    }


@pytest.fixture(scope="session")
def scored(breast_cancer: tuple[Any, Any]) -> dict[str, Any]:
    """Held-out breast-cancer rows scored by a 2-feature candidate and an all-feature champion."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = breast_cancer
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    champion = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X_train, y_train)
    candidate = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X_train[FEW], y_train)
    return {
        "X": X_test,
        "y": y_test.to_numpy(),
        "candidate": candidate.predict_proba(X_test[FEW])[:, 1],
        "champion": champion.predict_proba(X_test)[:, 1],
    }


def _slices(scored: dict[str, Any], columns: list[str], max_drop: float) -> list[dict[str, Any]]:
    from scipy.stats import false_discovery_control
    from sklearn.metrics import accuracy_score

    y, cand, champ = scored["y"], scored["candidate"], scored["champion"]
    slices = []
    for column in columns:
        values = scored["X"][column].to_numpy()
        edges = np.quantile(values, [0, 0.25, 0.5, 0.75, 1])
        bins = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, 3)
        for b in range(4):
            m = bins == b
            deltas = _bootstrap(y[m], cand[m], champ[m], _accuracy, seed=b)
            a, c = float(accuracy_score(y[m], cand[m] > 0.5)), float(accuracy_score(y[m], champ[m] > 0.5))
            slices.append(
                {
                    "gate": "accuracy by slice vs production",
                    "slice": f"{column} in [{edges[b]:.4g}, {edges[b + 1]:.4g})",
                    "column": column,
                    "rows": int(m.sum()),
                    "metric": "accuracy",
                    "candidate": a,
                    "champion": c,
                    "delta": a - c,
                    "ci": _ci(deltas),
                    # one-sided: the share of resamples in which the drop is no larger than max_drop
                    "p_value": float((np.sum(deltas >= -max_drop) + 1) / (len(deltas) + 1)),
                    "max_drop": max_drop,
                }
            )
    adjusted = false_discovery_control([s["p_value"] for s in slices])
    for s, p in zip(slices, adjusted, strict=True):
        s["p_adjusted"] = float(p)
        s["status"] = "fail" if p < 0.05 else "pass"
    return slices


@pytest.fixture(scope="session")
def binary_report(scored: dict[str, Any]) -> dict[str, Any]:
    """A blocked report: the candidate loses ROC AUC; one slice table; a waiver; a name with a pipe."""
    from sklearn.metrics import accuracy_score, recall_score, roc_auc_score

    y, cand, champ = scored["y"], scored["candidate"], scored["champion"]

    point = {
        "roc_auc": (roc_auc_score, _roc_auc),
        "accuracy": (lambda y, s: accuracy_score(y, s > 0.5), _accuracy),
        "recall": (lambda y, s: recall_score(y, s > 0.5), _recall),
    }
    metrics, change = {}, {}
    for name, (exact, fast) in point.items():
        a, c = float(exact(y, cand)), float(exact(y, champ))
        ci = _ci(_bootstrap(y, cand, champ, fast, two_classes=True))
        metrics[name] = {
            "candidate": a,
            "champion": c,
            "delta": a - c,
            "ci": ci,
            "higher_is_better": True,
            "method": f"paired bootstrap, {RESAMPLES} resamples over rows",
            "mde": None,
            "p_value": None,
        }
        change[name] = (a, c, ci)
    auc_ci = _ci(_bootstrap(y, cand, None, _roc_auc, two_classes=True))
    slices = _slices(scored, ["mean radius", "mean texture"], max_drop=0.0)
    failing_slices = [s for s in slices if s["status"] == "fail"]

    def changed(name: str, label: str, max_drop: float) -> Check:
        a, c, ci = change[name]
        ok = ci[0] >= -max_drop
        return Check(
            name=label,
            kind="change",
            status="pass" if ok else "fail",
            message=f"lower end of the 95% CI of Δ is {ci[0]:+.4f}; allowed drop {max_drop}",
            metric=name,
            value=a,
            champion=c,
            delta=a - c,
            ci=(ci[0], ci[1]),
            bound=max_drop,
            rows=len(y),
        )

    checks = [
        Check(
            name="roc_auc >= 0.8",
            kind="bound",
            status="pass",
            metric="roc_auc",
            value=metrics["roc_auc"]["candidate"],
            ci=(auc_ci[0], auc_ci[1]),
            bound=0.8,
            details={"op": ">="},
        ),
        changed("roc_auc", "roc_auc vs production", max_drop=0.005),
        changed("recall", "recall | class 1 vs production", max_drop=0.05),
        Check(name="no NaN outputs", kind="behaviour", status="pass", message="143 of 143 rows scored"),
        Check(name="golden examples", kind="golden", status="skip", message="no golden file configured"),
        Check(
            name="model size <= 5 MB",
            kind="size",
            status="warn",
            message="within 5% of the bound",
            value=4.8,
            bound=5.0,
            details={"op": "<=", "unit": "MB = 10^6 bytes"},
        ),
        Check(
            name="accuracy by slice vs production",
            kind="slices",
            status="fail" if failing_slices else "pass",
            message=f"{len(failing_slices)} of {len(slices)} slices dropped",
            metric="accuracy",
        ),
        Check(
            name="scikit-learn matches production",
            kind="environment",
            status="fail",
            message="candidate 1.7.0, champion 1.6.1",
            waived={"until": "2026-12-31", "reason": "upgrade rolled out in #42"},
        ),
    ]
    report = _header("breast-cancer", "binary", champion=True)
    candidate_curves, champion_curves = _curves(y, cand), _curves(y, champ)
    report_checks = [c.to_dict() for c in checks]
    report.update(
        classes=["0", "1"],
        passed=not any(c.blocking for c in checks),
        summary=_summary(report_checks),
        checks=report_checks,
        metrics=metrics,
        slices=slices,
        # as the gates write it when a waiver applied
        notes=["waived until 2026-12-31: 'scikit-learn matches production' — upgrade rolled out in #42"],
        plots={
            name: {"candidate": candidate_curves[name], "champion": champion_curves[name]}
            for name in ("roc", "pr", "calibration")
        }
        | {"residuals": None},
    )
    return report


@pytest.fixture(scope="session")
def first_model_report(scored: dict[str, Any]) -> dict[str, Any]:
    """The first model of a name: nothing at production, change gates skipped, curves of one model."""
    from sklearn.metrics import roc_auc_score

    y, cand = scored["y"], scored["candidate"]
    auc = float(roc_auc_score(y, cand))
    checks = [
        Check(name="roc_auc >= 0.8", kind="bound", status="pass", metric="roc_auc", value=auc, bound=0.8).to_dict(),
        Check(name="roc_auc vs production", kind="change", status="skip", message="no champion").to_dict(),
    ]
    report = _header("breast-cancer", "binary", champion=False)
    curves = _curves(y, cand)
    report.update(
        classes=["0", "1"],
        passed=True,
        summary=_summary(checks),
        checks=checks,
        metrics={"roc_auc": {"candidate": auc, "champion": None, "delta": None, "ci": None, "higher_is_better": True}},
        slices=[],
        plots={name: {"candidate": curves[name], "champion": None} for name in ("roc", "pr", "calibration")},
        notes=["skipped: no champion — change gates were not evaluated (first model)"],
    )
    return report


@pytest.fixture(scope="session")
def regression_report() -> dict[str, Any]:
    """Ridge against plain least squares on the diabetes data; the candidate passes."""
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import LinearRegression, Ridge
    from sklearn.metrics import mean_absolute_error, root_mean_squared_error

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = X.iloc[:331], X.iloc[331:], y.iloc[:331], y.iloc[331:]
    cand = Ridge(alpha=0.1).fit(X_train, y_train).predict(X_test)
    champ = LinearRegression().fit(X_train[["bmi", "s5"]], y_train).predict(X_test[["bmi", "s5"]])
    actual = y_test.to_numpy()
    metrics, checks = {}, []
    for name, exact, fast in (("rmse", root_mean_squared_error, _rmse), ("mae", mean_absolute_error, _mae)):
        a, c = float(exact(actual, cand)), float(exact(actual, champ))
        ci = _ci(_bootstrap(actual, cand, champ, fast))
        metrics[name] = {"candidate": a, "champion": c, "delta": a - c, "ci": ci, "higher_is_better": False}
        checks.append(
            Check(
                name=f"{name} vs production",
                kind="change",
                status="pass" if ci[1] <= 2.0 else "fail",
                metric=name,
                value=a,
                champion=c,
                delta=a - c,
                ci=(ci[0], ci[1]),
                bound=2.0,
            ).to_dict()
        )
    report = _header("diabetes", "regression", champion=True)
    report["dataset"]["rows"] = len(actual)
    report.update(
        classes=None,
        passed=all(c["status"] == "pass" for c in checks),
        summary=_summary(checks),
        checks=checks,
        metrics=metrics,
        slices=[],
        plots={
            "roc": None,
            "pr": None,
            "calibration": None,
            "residuals": {
                "candidate": {"predicted": cand.tolist(), "actual": actual.tolist()},
                "champion": {"predicted": champ.tolist(), "actual": actual.tolist()},
            },
        },
    )
    return report
