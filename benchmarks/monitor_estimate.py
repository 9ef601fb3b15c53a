"""Estimated vs realized performance for multiclass classifiers and regressors, NannyML side by side.

Imported by ``benchmarks/monitor.py --section estimation`` (the binary stream lives there). Each stream is
a covariate shift: the inputs' distribution moves, P(y | x) does not. mlgate's estimate is computed the
way ``mlgate monitor`` computes it: each window's rows go through the monitor's partials (the additive
sums a cached run merges), then ``estimate`` with what it learns from the gate's stored evaluation
outputs. With ``--nannyml-python``, NannyML's CBPE (multiclass) and DLE (regression) are fitted on the
same evaluation rows and estimate the same windows (``chunk_size`` = the window), in that Python.

* ``multiclass``: Gaussian naive Bayes on four noisy copies each of three latent variables (and four of
  noise), 4 classes: far too sure of itself. 2,000 evaluation rows; ``--est-windows`` windows of 2,000
  rows whose first latent's mean moves from 0 to 1.5 sd.
* ``digits``: a logistic regression on scikit-learn's digits (800 training rows, 500 evaluation rows);
  windows of 500 rows resampled from the remaining 497 with weight exp(b · ink), b from -1.5 to 1.5.
* ``regression``: gradient-boosted trees on six inputs whose noise grows with |x0|; 2,000 evaluation
  rows; windows of 2,000 rows whose x0 moves from 0 to 1.5 sd.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _partial(columns: dict[str, Any], inputs: list[str]) -> Any:
    import polars as pl

    from mlgate.monitor.partials import Columns, compute

    n = len(next(iter(columns.values())))
    frame = pl.DataFrame(
        {
            "time": [START] * n,
            "request_id": [str(i) for i in range(n)],
            "row": [0] * n,
            "status": [200] * n,
            "latency_ms": [1.0] * n,
            **columns,
        }
    )
    (part,) = compute(frame, dt.timedelta(hours=1), Columns({c: c for c in inputs}, ["prediction"]), None).values()
    return part


def _classifier_frame(proba: Any, classes: list[str], y: Any = None) -> dict[str, Any]:
    out = {"prediction": proba.argmax(axis=1), **{f"proba_{c}": proba[:, j] for j, c in enumerate(classes)}}
    if y is not None:
        out["y_true"] = y
    return out


class Stream:
    """One stream: the evaluation rows (as the gate stores them) and the windows, with the realized figures."""

    def __init__(self, name: str, task: str, metrics: tuple[str, ...]) -> None:
        self.name, self.task, self.metrics = name, task, metrics
        self.reference: dict[str, Any] = {}  # columns of the evaluation rows, for NannyML
        self.windows: list[dict[str, Any]] = []  # columns of each window (log columns, y_true)
        self.inputs: list[str] = []
        self.classes: list[str] = []
        self.realized: list[dict[str, float]] = []
        self.mlgate: list[dict[str, float]] = []
        self.raw: list[dict[str, float]] = []

    def mae(self, which: list[dict[str, float]], metric: str) -> float:
        import numpy as np

        return float(np.mean([abs(e[metric] - r[metric]) for e, r in zip(which, self.realized, strict=True)]))


def multiclass_stream(windows: int, seed: int) -> Stream:
    import numpy as np
    from sklearn.naive_bayes import GaussianNB

    rng = np.random.default_rng(seed)

    def draw(n: int, shift: float) -> tuple[Any, Any]:
        z = rng.normal(size=(n, 3))
        z[:, 0] += shift
        X = np.hstack([np.repeat(z, 4, axis=1) + rng.normal(scale=0.7, size=(n, 12)), rng.normal(size=(n, 4))])
        score = np.stack([z[:, 0], z[:, 1], z[:, 2] - z[:, 0], 0.5 * z[:, 1] - z[:, 2]], axis=1)
        return X, (score + rng.normal(scale=0.8, size=(n, 4))).argmax(axis=1)

    model = GaussianNB().fit(*draw(5_000, 0.0))
    X_eval, y_eval = draw(2_000, 0.0)
    s = Stream("multiclass (4 classes, Gaussian NB)", "multiclass", ("accuracy", "roc_auc"))
    return _classification(
        s, model, X_eval, y_eval, [draw(2_000, 1.5 * w / max(windows - 1, 1)) for w in range(windows)]
    )


def digits_stream(windows: int, seed: int) -> Stream:
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression

    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    train, held, pool = order[:800], order[800:1300], order[1300:]
    model = LogisticRegression(max_iter=3000).fit(X[train], y[train])
    ink = X[pool].mean(axis=1)
    ink = (ink - ink.mean()) / ink.std()
    drawn = []
    for w in range(windows):
        weight = np.exp((-1.5 + 3 * w / max(windows - 1, 1)) * ink)
        rows = rng.choice(pool, size=500, p=weight / weight.sum())
        drawn.append((X[rows], y[rows]))
    s = Stream("digits (10 classes, logistic regression)", "multiclass", ("accuracy", "roc_auc"))
    return _classification(s, model, X[held], y[held], drawn)


def _classification(s: Stream, model: Any, X_eval: Any, y_eval: Any, drawn: list[tuple[Any, Any]]) -> Stream:
    import numpy as np
    from sklearn.metrics import roc_auc_score

    from mlgate.gates.outputs import StoredOutputs
    from mlgate.monitor.estimate import calibration, estimate

    s.classes = [str(c) for c in model.classes_]
    p_eval = model.predict_proba(X_eval)
    cal = calibration(StoredOutputs("classification", s.classes, y_eval, p_eval.argmax(axis=1), p_eval))
    s.reference = _classifier_frame(p_eval, s.classes, y_eval)
    for X, y in drawn:
        proba = model.predict_proba(X)
        part = _partial(_classifier_frame(proba, s.classes), [])
        s.windows.append(_classifier_frame(proba, s.classes, y))
        s.realized.append(
            {
                "accuracy": float((proba.argmax(axis=1) == y).mean()),
                "roc_auc": float(np.mean([roc_auc_score(y == k, proba[:, k]) for k in range(len(s.classes))])),
            }
        )
        for store, with_cal in ((s.mlgate, cal), (s.raw, None)):
            est = estimate(part, with_cal)
            assert est is not None
            store.append(est.metrics)
    return s


def regression_stream(windows: int, seed: int) -> Stream:
    import numpy as np
    from sklearn.ensemble import HistGradientBoostingRegressor

    from mlgate.monitor.estimate import ErrorModel, estimate

    rng = np.random.default_rng(seed)
    names = [f"x{i}" for i in range(6)]

    def draw(n: int, shift: float) -> tuple[Any, Any]:
        X = rng.normal(size=(n, len(names)))
        X[:, 0] += shift
        noise = rng.normal(size=n) * (0.3 + 0.7 * np.abs(X[:, 0]))
        return X, 2 * X[:, 0] - X[:, 1] + 0.5 * X[:, 2] ** 2 + noise

    model = HistGradientBoostingRegressor(random_state=0).fit(*draw(5_000, 0.0))
    X_eval, y_eval = draw(2_000, 0.0)
    p_eval = model.predict(X_eval)
    em = ErrorModel.fit(X_eval, names, p_eval, y_eval)
    assert em is not None
    s = Stream("regression (6 inputs, noise grows with |x0|)", "regression", ("mae", "rmse"))
    s.inputs = names
    s.reference = {**{c: X_eval[:, j] for j, c in enumerate(names)}, "prediction": p_eval, "y_true": y_eval}
    eval_mae = float(np.abs(p_eval - y_eval).mean())
    eval_rmse = float(np.sqrt(((p_eval - y_eval) ** 2).mean()))
    for w in range(windows):
        X, y = draw(2_000, 1.5 * w / max(windows - 1, 1))
        pred = model.predict(X)
        cols = {**{c: X[:, j] for j, c in enumerate(names)}, "prediction": pred}
        s.windows.append({**cols, "y_true": y})
        s.realized.append({"mae": float(np.abs(pred - y).mean()), "rmse": float(np.sqrt(((pred - y) ** 2).mean()))})
        est = estimate(_partial(cols, names), em)
        assert est is not None
        s.mlgate.append(est.metrics)
        s.raw.append({"mae": eval_mae, "rmse": eval_rmse})  # no estimate: the evaluation set's own figure
    return s


NANNYML_SCRIPT = r"""
import json, sys, warnings
import pandas as pd
import nannyml as nml
warnings.filterwarnings("ignore")
spec = json.load(open(sys.argv[1]))
out = {}
for s in spec:
    ref = pd.read_parquet(s["reference"])
    ana = pd.read_parquet(s["analysis"])
    if s["task"] == "multiclass":
        est = nml.CBPE(
            y_pred_proba={c: "proba_" + c for c in s["classes"]}, y_pred="prediction", y_true="y_true",
            problem_type="classification_multiclass", metrics=["accuracy", "roc_auc"], chunk_size=s["chunk"],
        )
        ref["prediction"] = ref["prediction"].astype(str)
        ana["prediction"] = ana["prediction"].astype(str)
        ref["y_true"] = ref["y_true"].astype(str)
        metrics = ["accuracy", "roc_auc"]
    else:
        est = nml.DLE(
            feature_column_names=s["inputs"], y_pred="prediction", y_true="y_true", metrics=["mae", "rmse"],
            chunk_size=s["chunk"],
        )
        metrics = ["mae", "rmse"]
    est.fit(ref)
    df = est.estimate(ana.drop(columns=["y_true"])).filter(period="analysis").to_df()
    out[s["name"]] = [{m: float(df[(m, "value")].iloc[i]) for m in metrics} for i in range(len(df))]
print("RESULT " + json.dumps(out))
"""


def run_nannyml(python: str, streams: list[Stream]) -> dict[str, list[dict[str, float]]]:
    import pandas as pd

    with tempfile.TemporaryDirectory(prefix="mlgate-nannyml-") as tmp:
        spec = []
        for i, s in enumerate(streams):
            chunk = len(next(iter(s.windows[0].values())))
            ref, ana = Path(tmp, f"ref{i}.parquet"), Path(tmp, f"ana{i}.parquet")
            pd.DataFrame(s.reference).to_parquet(ref)
            pd.concat([pd.DataFrame(w) for w in s.windows], ignore_index=True).to_parquet(ana)
            spec.append(
                {
                    "name": s.name,
                    "task": s.task,
                    "classes": s.classes,
                    "inputs": s.inputs,
                    "chunk": chunk,
                    "reference": str(ref),
                    "analysis": str(ana),
                }
            )
        Path(tmp, "spec.json").write_text(json.dumps(spec), encoding="utf-8")
        done = subprocess.run(
            [python, "-c", NANNYML_SCRIPT, str(Path(tmp, "spec.json"))], capture_output=True, text=True, check=False
        )
    if done.returncode != 0:
        raise RuntimeError(f"NannyML failed: {done.stderr.strip().splitlines()[-1:]}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    return dict(json.loads(line[len("RESULT ") :]))


def run(windows: int, seed: int, nannyml_python: str | None) -> None:
    """Build the three streams, estimate, and print the mean absolute error of each estimate per metric."""
    streams = [multiclass_stream(windows, seed), digits_stream(windows, seed), regression_stream(windows, seed)]
    nanny: dict[str, list[dict[str, float]]] = {}
    if nannyml_python:
        try:
            nanny = run_nannyml(nannyml_python, streams)
        except (RuntimeError, OSError, StopIteration) as exc:
            print(f"NannyML did not run: {exc}")
    for s in streams:
        rows = len(next(iter(s.windows[0].values())))
        print()
        print(f"{s.name}: {len(s.windows)} windows of {rows:,} rows, covariate shift")
        print(f"{'estimate':42} " + " ".join(f"{'MAE ' + m:>12}" for m in s.metrics))
        if s.task == "regression":
            named = [("the evaluation set's own figure", s.raw), ("mlgate DLE (additive error model)", s.mlgate)]
            realized_mean = {m: sum(r[m] for r in s.realized) / len(s.realized) for m in s.metrics}
        else:
            named = [("probabilities as logged", s.raw), ("mlgate CBPE, calibrated one-vs-rest", s.mlgate)]
            realized_mean = {}
        if s.name in nanny:
            named.append(("NannyML " + ("DLE (LightGBM)" if s.task == "regression" else "CBPE"), nanny[s.name]))
        for label, values in named:
            print(f"{label:42} " + " ".join(f"{s.mae(values, m):>12.4f}" for m in s.metrics))
        if realized_mean:
            print(f"{'(realized mean, for scale)':42} " + " ".join(f"{realized_mean[m]:>12.4f}" for m in s.metrics))
