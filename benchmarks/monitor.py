#!/usr/bin/env python
"""Monitor cost and detection: ``mlgate monitor`` against a bare Polars pass over the same prediction log.

Sets up a real registry holding a logistic regression on 20 float features, registered with its
training data, and writes a prediction log the way the server lays it out (one Parquet file per hour
under ``model=/version=/hour=``, meta columns, the 20 inputs, the prediction and two probabilities).

* ``cost``: ``--rows`` rows over ``--hours`` hours. Each side runs in a subprocess of its own, one after
  the other, so each wall time and peak memory (``ru_maxrss`` from ``os.wait4``) are its own:

  - ``polars floor``: one lazy scan of every file, grouped by hour: rows, nulls, mean, std, min and max
    of each input and output column and the latency's p50/p95/p99, collected with the streaming engine;
    the least a tool that reads the log once per window must do;
  - ``mlgate cold``: ``monitor()`` with an empty cache: per file partials (profiles, quality counts,
    CBPE sums), drift of each window against the training profile, prediction drift, latency;
  - ``mlgate incremental``: one more hour is logged, then ``monitor()`` again on the warm cache: the
    100 profiled hours come from the cache, only the new hour is read and judged.

  Timings are of the job inside the process, plus the whole process. Polars is imported before the
  job's clock starts on both sides of the cold comparison (the floor needs nothing else); the monitor's
  other imports (DataSketches, SciPy's special functions, the registry's) count in its job time, and
  the incremental pass counts every import, Polars' too, since they are most of what it costs.
* ``detection``: streams of ``--windows`` windows of 1,000 rows (no change; a sudden shift of 8 of the
  20 features by 0.5 sd; a gradual shift growing to 1 sd over 50 windows; label shift: the positive
  class's share goes from 0.5 to 0.65 with each class's inputs unchanged; one upstream feature broken
  to a constant 0), the change starting at window 20; mlgate's defaults (``--drift-share 0.5``, the
  drift tests and thresholds of ``data drift``, the quality tests). Reported: windows from the change to
  the first breach (any, and by kind: input drift, prediction drift, data quality), and breaches per 100
  windows on the stream with no change. Evidently's ``DataDriftPreset`` runs on the same windows when
  ``evidently`` imports in ``--evidently-python``: on the 20 inputs (its dataset drift) and on the
  positive probability alone (its prediction drift), against the training rows and their probabilities.
  The no-change stream is drawn ``--null-streams`` times (default 8): one stream's false-alarm rate
  depends on how typical its reference window happens to be.
* ``estimation``: CBPE against realized accuracy and ROC AUC for an over-confident model on a
  covariate-shift stream, with the probabilities as logged and calibrated on an evaluation set; then
  (``benchmarks/monitor_estimate.py``) a 4-class and a digits classifier (CBPE calibrated one-vs-rest,
  accuracy and macro ROC AUC) and a regressor (DLE: MAE and RMSE) on covariate-shift streams, with
  NannyML's CBPE and DLE on the same windows when ``nannyml`` imports in ``--nannyml-python``.

Run from the repository root::

    .venv/bin/python benchmarks/monitor.py                   # 10,000,000 rows x 20 features, 100 hours
    .venv/bin/python benchmarks/monitor.py --rows 1000000    # a tenth
    .venv/bin/python benchmarks/monitor.py --section detection
    .venv/bin/python benchmarks/monitor.py --section estimation --nannyml-python /work/venvs/nannyml/bin/python

See benchmarks/README.md ("Monitoring") for the figures on the project's 2-core machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SEED = 20_261_206
N_FEATURES = 20
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
TARGET_RATIO = 1.5
TARGET_INCREMENTAL_S = 0.5


# ---------------------------------------------------------------- set-up (runs in the parent)


def setup(root: Path, hours: int, rows_per_hour: int) -> dict[str, Any]:
    """A registry with ``m:1`` (production) registered with its training data, and ``hours`` logged hours."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    import mlgate
    from mlgate.registry.store import Registry

    rng = np.random.default_rng(SEED)
    names = [f"f{i}" for i in range(N_FEATURES)]
    X = pd.DataFrame(rng.normal(size=(20_000, N_FEATURES)), columns=names)
    y = (X["f0"] + X["f1"] - X["f2"] + rng.normal(scale=0.5, size=len(X)) > 0).astype(int)
    train = root / "train.parquet"
    X.to_parquet(train)
    model = LogisticRegression(max_iter=500).fit(X, y)
    os.environ.setdefault("MLGATE_ACTOR", "bench")
    url = f"sqlite:///{root / 'registry.db'}"
    reg = Registry(url, artifacts=str(root / "artifacts"))
    mv = mlgate.log_model(model, "m", sample_input=X.head(20), data=train, registry=reg)
    reg.set_alias("m", "production", mv.number, reason="bench")
    reg.close()
    coef = model.coef_[0].tolist()
    intercept = float(model.intercept_[0])
    log = root / "log"
    for h in range(hours):
        write_hour(log, START + dt.timedelta(hours=h), rows_per_hour, coef, intercept, seed=h)
    return {"url": url, "artifacts": str(root / "artifacts"), "log": str(log), "coef": coef, "intercept": intercept}


def write_hour(
    log: Path,
    start: dt.datetime,
    rows: int,
    coef: list[float],
    intercept: float,
    *,
    seed: int,
    shift: dict[int, float] | None = None,
    broken: int | None = None,
    prior: float | None = None,
) -> None:
    """One hour of logged predictions (requests of 10 rows), scored by the model's own formula.

    ``prior``: label shift, the positive class's share becomes ``prior`` while each class's inputs stay
    as they were (rows drawn as in training, kept by rejection with a weight per class).
    """
    import numpy as np
    import polars as pl

    from mlgate.serve.logfiles import HOUR_FORMAT, write_part

    rng = np.random.default_rng(SEED + seed)
    X = rng.normal(size=(rows, N_FEATURES)) if prior is None else label_shifted(rng, rows, coef, intercept, prior)
    for j, by in (shift or {}).items():
        X[:, j] += by
    if broken is not None:
        X[:, broken] = 0.0
    p1 = 1.0 / (1.0 + np.exp(-(X @ np.asarray(coef) + intercept)))
    idx = np.arange(rows)
    micro = (idx * (3_600_000_000 // max(rows, 1))).astype("int64")
    frame = pl.DataFrame(
        {
            "time": pl.Series(micro + int(start.timestamp() * 1_000_000)).cast(pl.Datetime("us", "UTC")),
            "request_id": pl.Series((idx // 10).astype(str)),
            "row": pl.Series((idx % 10).astype("int32")),
            "route": pl.Series(["stable"] * rows),
            "endpoint": pl.Series(["predict"] * rows),
            "model": pl.Series(["m"] * rows),
            "version": pl.Series(np.ones(rows, dtype="int64")),
            "status": pl.Series(np.full(rows, 200, dtype="int16")),
            "latency_ms": pl.Series(rng.gamma(2.0, 2.0, size=rows)),
            "error": pl.Series([None] * rows, dtype=pl.String),
            **{f"f{j}": X[:, j] for j in range(N_FEATURES)},
            "prediction": pl.Series((p1 > 0.5).astype("int64")),
            "proba_0": 1.0 - p1,
            "proba_1": p1,
        }
    )
    write_part(log, "m", 1, start.strftime(HOUR_FORMAT), frame, "part-0.parquet")


# ---------------------------------------------------------------- the measured jobs (run in children)


def job_floor(log: str) -> dict[str, Any]:
    import polars as pl

    t0 = time.perf_counter()
    lf = pl.scan_parquet(f"{log}/**/*.parquet", hive_partitioning=False)
    cols = [f"f{j}" for j in range(N_FEATURES)] + ["prediction", "proba_0", "proba_1"]
    aggs: list[Any] = [pl.len().alias("rows")]
    for c in cols:
        aggs += [
            pl.col(c).null_count().alias(f"{c}_nulls"),
            pl.col(c).mean().alias(f"{c}_mean"),
            pl.col(c).std().alias(f"{c}_std"),
            pl.col(c).min().alias(f"{c}_min"),
            pl.col(c).max().alias(f"{c}_max"),
        ]
    aggs += [pl.col("latency_ms").quantile(q).alias(f"p{int(q * 100)}") for q in (0.5, 0.95, 0.99)]
    out = lf.group_by(pl.col("time").dt.truncate("1h").alias("w")).agg(aggs).collect(engine="streaming")
    return {"seconds": time.perf_counter() - t0, "windows": out.height}


def job_monitor(info: dict[str, Any], cache: str | None) -> dict[str, Any]:
    if info.get("import_polars"):
        import polars  # noqa: F401  # as job_floor imports it before its clock starts

    from mlgate.monitor import monitor
    from mlgate.registry.store import Registry

    reg = Registry(info["url"], artifacts=info["artifacts"])
    t0 = time.perf_counter()
    report = monitor(
        "m@production",
        info["log"],
        registry=reg,
        cache=Path(cache) if cache else None,
        until=dt.datetime.fromisoformat(str(info["until"])),
    )
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "windows": len(report.windows),
        "files_read": report.files_read,
        "files_cached": report.files_cached,
        "windows_cached": report.windows_cached,
        "breaches": sum(bool(w.breaches) for w in report.windows),
    }


def child(args: argparse.Namespace) -> None:
    info = json.loads(Path(args.child_info).read_text())
    if args.child == "setup":
        made = setup(Path(info["root"]), info["hours"], info["per_hour"])
        Path(args.child_info).write_text(json.dumps(made))
        return
    if args.child == "hour":
        start = START + dt.timedelta(hours=info["hour"])
        write_hour(Path(info["log"]), start, info["per_hour"], info["coef"], info["intercept"], seed=10_000)
        return
    result = job_floor(info["log"]) if args.child == "floor" else job_monitor(info, info.get("cache"))
    print("RESULT " + json.dumps(result))


def run_child(kind: str, info: dict[str, Any], root: Path) -> dict[str, Any]:
    """Run one job in its own process; its job time, whole-process wall time and peak memory."""
    path = root / f"{kind}.json"
    path.write_text(json.dumps(info, default=str))
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", kind, "--child-info", str(path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"{kind} failed: {out[-2000:]}")
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    result = json.loads(line[len("RESULT ") :])
    result["process_s"] = wall
    result["peak_mib"] = usage.ru_maxrss / 1024
    return result


def cost(args: argparse.Namespace) -> None:
    per_hour = args.rows // args.hours
    with tempfile.TemporaryDirectory(prefix="mlgate-monitor-bench-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        # the set-up runs in a child too: a child inherits its parent's peak memory across fork and exec
        spec = root / "setup.json"
        spec.write_text(json.dumps({"root": str(root), "hours": args.hours, "per_hour": per_hour}))
        subprocess.run([sys.executable, __file__, "--child", "setup", "--child-info", str(spec)], check=True)
        info = json.loads(spec.read_text())
        print(
            f"set-up: {args.hours} hours x {per_hour:,} rows x {N_FEATURES} features in {time.perf_counter() - t0:.1f} s"
        )
        size = sum(p.stat().st_size for p in Path(info["log"]).rglob("*.parquet"))
        print(f"log: {size / 2**20:.0f} MiB of Parquet (zstd)")
        info["until"] = START + dt.timedelta(hours=args.hours + 1)
        rows: list[tuple[str, dict[str, Any]]] = []
        rows.append(("polars floor", run_child("floor", info, root)))
        rows.append(("mlgate cold", run_child("monitor", {**info, "cache": None, "import_polars": True}, root)))
        cache = str(root / "cache")
        run_child("monitor", {**info, "cache": cache}, root)  # fills the cache (not reported)
        spec.write_text(json.dumps({**info, "hour": args.hours, "per_hour": per_hour}, default=str))
        subprocess.run([sys.executable, __file__, "--child", "hour", "--child-info", str(spec)], check=True)
        info["until"] = START + dt.timedelta(hours=args.hours + 2)
        rows.append(("mlgate incremental (+1 hour)", run_child("monitor", {**info, "cache": cache}, root)))
    floor = rows[0][1]
    print()
    print(f"{'':30} {'job s':>8} {'process s':>10} {'peak MiB':>9} {'x floor (job)':>14} {'x floor (MiB)':>14}")
    for name, r in rows:
        print(
            f"{name:30} {r['seconds']:8.2f} {r['process_s']:10.2f} {r['peak_mib']:9.0f} "
            f"{r['seconds'] / floor['seconds']:14.2f} {r['peak_mib'] / floor['peak_mib']:14.2f}"
        )
    cold, inc = rows[1][1], rows[2][1]
    print()
    print(
        f"cold pass: {cold['seconds'] / floor['seconds']:.2f}x the floor (target <= {TARGET_RATIO}x), "
        f"{cold['windows']} windows, {cold['files_read']} files read"
    )
    print(
        f"incremental: {inc['seconds']:.2f} s (target <= {TARGET_INCREMENTAL_S} s), {inc['files_read']} file read, "
        f"{inc['files_cached']} from the cache, {inc['windows_cached']} windows' verdicts from the cache"
    )


# ---------------------------------------------------------------- detection on simulated streams

ROWS_PER_WINDOW = 1_000
CHANGE_AT = 20
LABEL_PRIOR = 0.65  # the label-shift stream's positive share (about 0.5 in training)


def label_shifted(rng: Any, rows: int, coef: list[float], intercept: float, prior: float) -> Any:
    """``rows`` inputs whose class mix is ``prior`` positive, each class's inputs as in training (P(x | y) kept).

    The outcome of a training row is drawn from the model's own formula (its probabilities are right);
    rows are kept with probability ``prior / base`` for positives and ``(1 - prior) / (1 - base)`` for
    negatives (scaled to at most 1), ``base`` the training share of positives.
    """
    import numpy as np

    base = 0.5  # f0 + f1 - f2 is symmetric around 0 and the fitted intercept is about 0
    keep = np.asarray([(1 - prior) / (1 - base), prior / base])
    keep = keep / keep.max()
    out: list[Any] = []
    while sum(len(x) for x in out) < rows:
        X = rng.normal(size=(2 * rows, N_FEATURES))
        p1 = 1.0 / (1.0 + np.exp(-(X @ np.asarray(coef) + intercept)))
        y = (rng.random(len(X)) < p1).astype(int)
        out.append(X[rng.random(len(X)) < keep[y]])
    return np.vstack(out)[:rows]


def scenario(name: str, w: int) -> dict[str, Any]:
    """How window ``w`` of stream ``name`` is drawn."""
    if name == "no change" or w < CHANGE_AT:
        return {}
    if name == "sudden shift":
        return {"shift": dict.fromkeys(range(8), 0.5)}
    if name == "gradual shift":
        grown = min(1.0, (w - CHANGE_AT + 1) / 50)
        return {"shift": dict.fromkeys(range(8), grown)}
    if name == "broken feature":
        return {"broken": 3}
    if name == "label shift":
        return {"prior": LABEL_PRIOR}
    raise ValueError(name)


STREAMS = ("no change", "sudden shift", "gradual shift", "label shift", "broken feature")
KINDS = ("input drift", "prediction drift", "data quality")


def detection(args: argparse.Namespace) -> None:
    from mlgate.monitor import monitor
    from mlgate.registry.store import Registry

    print(
        f"detection: {args.windows} windows of {ROWS_PER_WINDOW:,} rows, change at window {CHANGE_AT}, mlgate defaults"
    )
    results: dict[str, Any] = {}
    evidently: dict[str, dict[str, list[bool]]] = {}
    with tempfile.TemporaryDirectory(prefix="mlgate-monitor-detect-") as tmp:
        root = Path(tmp)
        info = setup(root, 0, 0)
        reg = Registry(info["url"], artifacts=info["artifacts"])
        if args.gate_rows:
            gate_on_eval(root, reg, info, args.gate_rows)
        if args.evidently_python:
            evidently_reference(root, info)
        for s, name in enumerate(STREAMS):
            flags: list[bool] = []
            by_kind: dict[str, list[bool]] = {k: [] for k in KINDS}
            counts: dict[str, int] = {}
            # the no-change stream is drawn --null-streams times: one stream's rate depends on how typical
            # its reference windows and its few extreme windows happen to be (a 3.9 sd window in the first)
            for copy in range(args.null_streams if name == "no change" else 1):
                log = root / f"log-{s}-{copy}"
                for w in range(args.windows):
                    write_hour(
                        log,
                        START + dt.timedelta(hours=w),
                        ROWS_PER_WINDOW,
                        info["coef"],
                        info["intercept"],
                        seed=1000 * (s + 1) + w + 100_000 * copy,
                        **scenario(name, w),
                    )
                report = monitor(
                    "m@production", log, registry=reg, cache=None, until=START + dt.timedelta(hours=args.windows)
                )
                these = [bool(r.breaches) for r in report.windows]
                for kind in KINDS:
                    by_kind[kind] += [any(b.startswith(kind) for b in r.breaches) for r in report.windows]
                for r in report.windows:
                    for b in r.breaches:
                        kind = b.split(":")[0]
                        counts[kind] = counts.get(kind, 0) + 1
                if copy == 0:
                    results[name + "/first"] = summarise(name, these)
                    if args.evidently_python:
                        evidently[name] = run_evidently(args.evidently_python, root / "evidently-ref.parquet", log)
                flags += these
                # a monitor.rules entry with `for: 2` fires on the second breached window in a row
                for2 = [i > 0 and f and these[i - 1] for i, f in enumerate(these)]
                results.setdefault(name + "/for2flags", []).extend(for2)
            results[name] = summarise(name, flags)
            results[name + "/for2"] = summarise(name, results.pop(name + "/for2flags"))
            for kind in KINDS:
                results[f"{name}/{kind}"] = summarise(name, by_kind[kind])
            results[name + "/kinds"] = counts
        reg.close()
    print()
    print(f"{'stream':16} {'tool':34} {'windows to detect':>18} {'false alarms / 100 windows':>27}")
    for name in STREAMS:
        rows = [("mlgate, any breach", results[name])]
        rows += [(f"mlgate, {kind}", results[f"{name}/{kind}"]) for kind in KINDS]
        rows.append(("mlgate, a rule with for: 2", results[name + "/for2"]))
        if name == "no change":
            rows.insert(1, ("mlgate, any breach (1st stream)", results[name + "/first"]))
        if name in evidently:
            rows.append(("evidently DataDriftPreset, inputs", summarise(name, evidently[name]["inputs"])))
            rows.append(("evidently, proba_1 column drift", summarise(name, evidently[name]["prediction"])))
        for tool, r in rows:
            print(f"{name:16} {tool:34} {r['detect']:>18} {r['false_per_100']:>27.1f}")
    print()
    print(
        f"no change: {args.null_streams} streams of {args.windows} windows; breaches by kind:",
        results["no change/kinds"],
    )
    if evidently:
        print(f"evidently: the no-change stream's first draw only ({args.windows} windows)")


def evidently_reference(root: Path, info: dict[str, Any]) -> None:
    """Evidently's reference: the training rows with the model's positive probability, as mlgate's reference
    is the training profile (inputs) and the gate's outputs (predictions)."""
    import numpy as np
    import pandas as pd

    train = pd.read_parquet(root / "train.parquet")
    z = train.to_numpy() @ np.asarray(info["coef"]) + info["intercept"]
    train["proba_1"] = 1.0 / (1.0 + np.exp(-z))
    train.to_parquet(root / "evidently-ref.parquet")


def gate_on_eval(root: Path, reg: Any, info: dict[str, Any], rows: int) -> None:
    """Gate m:1 on ``rows`` held-out rows of the training distribution: the monitor's reference becomes
    the outputs the gate keeps, as in a project whose versions pass a gate before they serve."""
    import numpy as np
    import pandas as pd

    from mlgate.config import load_settings
    from mlgate.gates.evaluate import gate

    rng = np.random.default_rng(SEED + 7)
    X = rng.normal(size=(rows, N_FEATURES))
    p1 = 1.0 / (1.0 + np.exp(-(X @ np.asarray(info["coef"]) + info["intercept"])))
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(N_FEATURES)])
    frame["target"] = (rng.random(rows) < p1).astype(int)
    frame.to_parquet(root / "eval.parquet")
    (root / "mlgate.yaml").write_text(f"data: {{eval: {root / 'eval.parquet'}, target: target}}\n", encoding="utf-8")
    result = gate("m:1", config=load_settings(config=root / "mlgate.yaml"), registry=reg)
    print(
        f"gate on {rows:,} evaluation rows: {'passed' if result.passed else 'blocked'}; its outputs are the reference"
    )


def summarise(name: str, flags: list[bool]) -> dict[str, Any]:
    """Windows from the change to the first flag (1 = the change's own window), and flags per 100 unchanged windows."""
    before = flags if name == "no change" else flags[:CHANGE_AT]
    false = 100 * sum(before) / max(len(before), 1)
    if name == "no change":
        return {"detect": "-", "false_per_100": false}
    after = flags[CHANGE_AT:]
    first = next((i + 1 for i, f in enumerate(after) if f), None)
    return {"detect": "never" if first is None else str(first), "false_per_100": false}


EVIDENTLY_SCRIPT = r"""
import json, sys, glob
import pandas as pd
try:
    from evidently.report import Report
    from evidently.metric_preset import DataDriftPreset
except ImportError:  # evidently >= 0.7 keeps the Report API under evidently.legacy
    from evidently.legacy.report import Report
    from evidently.legacy.metric_preset import DataDriftPreset
ref = pd.read_parquet(sys.argv[1])
inputs = [c for c in ref.columns if c != "proba_1"]
flags = {"inputs": [], "prediction": []}
for path in sorted(glob.glob(sys.argv[2] + "/**/*.parquet", recursive=True)):
    cur = pd.read_parquet(path, columns=list(ref.columns))
    rep = Report(metrics=[DataDriftPreset()])
    rep.run(reference_data=ref[inputs], current_data=cur[inputs])
    flags["inputs"].append(bool(rep.as_dict()["metrics"][0]["result"]["dataset_drift"]))
    rep = Report(metrics=[DataDriftPreset()])
    rep.run(reference_data=ref[["proba_1"]], current_data=cur[["proba_1"]])
    flags["prediction"].append(bool(rep.as_dict()["metrics"][0]["result"]["dataset_drift"]))
print("RESULT " + json.dumps(flags))
"""


def run_evidently(python: str, reference: Path, log: Path) -> dict[str, list[bool]]:
    """Evidently's DataDriftPreset per window: on the 20 inputs (its dataset drift: half the columns drifted)
    and on the positive probability alone (its prediction drift), against the training rows."""
    out = subprocess.run(
        [python, "-c", EVIDENTLY_SCRIPT, str(reference), str(log)], capture_output=True, text=True, check=True
    )
    line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT "))
    return dict(json.loads(line[len("RESULT ") :]))


# ---------------------------------------------------------------- estimated vs realized performance


def estimation(args: argparse.Namespace) -> None:
    """CBPE against the realized accuracy and ROC AUC on a covariate-shift stream, for an over-confident model.

    Gaussian naive Bayes on features that are four noisy copies each of three latent variables (and four
    of noise): it counts each latent's evidence four times, so its probabilities are far too sure. The
    gate's evaluation set (2,000 rows of the training distribution) calibrates the estimate; the stream
    is ``--est-windows`` windows of 2,000 rows whose first latent's mean moves from 0 to 1.5 sd.
    """
    import numpy as np
    import polars as pl
    from sklearn.metrics import roc_auc_score
    from sklearn.naive_bayes import GaussianNB

    from mlgate.monitor.estimate import Calibration, estimate
    from mlgate.monitor.partials import Columns, compute

    rng = np.random.default_rng(SEED)

    def draw(n: int, shift: float) -> tuple[Any, Any]:
        z = rng.normal(size=(n, 3))
        z[:, 0] += shift
        copies = np.repeat(z, 4, axis=1) + rng.normal(scale=0.7, size=(n, 12))
        X = np.hstack([copies, rng.normal(size=(n, 4))])
        y = (z[:, 0] + z[:, 1] - z[:, 2] + rng.normal(scale=0.8, size=n) > 0.75).astype(int)
        return X, y

    model = GaussianNB().fit(*draw(5_000, 0.0))
    X_eval, y_eval = draw(2_000, 0.0)
    cal = Calibration.fit(model.predict_proba(X_eval)[:, 1], y_eval == 1)
    errors: dict[str, list[float]] = {"raw accuracy": [], "raw roc_auc": [], "cal accuracy": [], "cal roc_auc": []}
    n = 2_000
    for w in range(args.est_windows):
        X, y = draw(n, 1.5 * w / max(args.est_windows - 1, 1))
        p1 = model.predict_proba(X)[:, 1]
        frame = pl.DataFrame(
            {
                "time": [START] * n,
                "request_id": [str(i) for i in range(n)],
                "row": [0] * n,
                "status": [200] * n,
                "latency_ms": [1.0] * n,
                "prediction": (p1 >= 0.5).astype(int),
                "proba_0": 1 - p1,
                "proba_1": p1,
            }
        )
        (part,) = compute(frame, dt.timedelta(hours=1), Columns({}, ["prediction"]), None).values()
        realized = {"accuracy": float(((p1 >= 0.5) == (y == 1)).mean()), "roc_auc": float(roc_auc_score(y, p1))}
        for tag, est in (("raw", estimate(part)), ("cal", estimate(part, cal))):
            assert est is not None
            for metric in ("accuracy", "roc_auc"):
                errors[f"{tag} {metric}"].append(abs(est.metrics[metric] - realized[metric]))
    print()
    print(f"estimation: {args.est_windows} windows of {n:,} rows, covariate shift 0 to 1.5 sd, Gaussian NB")
    print(f"{'estimate':28} {'MAE accuracy':>13} {'MAE roc_auc':>12}")
    for tag, label in (("raw", "probabilities as logged"), ("cal", "calibrated on the eval set")):
        acc, auc = np.mean(errors[f"{tag} accuracy"]), np.mean(errors[f"{tag} roc_auc"])
        print(f"{label:28} {acc:>13.4f} {auc:>12.4f}")
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import monitor_estimate

    monitor_estimate.run(args.est_windows, SEED, args.nannyml_python)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--section", choices=("cost", "detection", "estimation", "all"), default="all")
    parser.add_argument("--rows", type=int, default=10_000_000, help="logged rows for the cost section")
    parser.add_argument("--hours", type=int, default=100, help="hours the rows are spread over")
    parser.add_argument("--windows", type=int, default=120, help="windows per detection stream")
    parser.add_argument("--est-windows", type=int, default=30, help="windows of the estimation stream")
    parser.add_argument("--gate-rows", type=int, default=0, help="gate on this many rows first (0: no gate)")
    parser.add_argument("--null-streams", type=int, default=8, help="no-change streams (each its own draw)")
    parser.add_argument("--evidently-python", default=None, help="a Python with evidently installed")
    parser.add_argument("--nannyml-python", default=None, help="a Python with nannyml installed (estimation)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child-info", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    print(f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}")
    if args.section in ("cost", "all"):
        cost(args)
    if args.section in ("detection", "all"):
        detection(args)
    if args.section in ("estimation", "all"):
        estimation(args)


if __name__ == "__main__":
    main()
