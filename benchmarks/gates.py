#!/usr/bin/env python
"""Gate cost: mlgate's paired bootstrap and a whole gate run, each against the naive way of doing the same.

**The bootstrap** (``--section bootstrap``). Generates labels and the scores of two correlated binary
models (30% positives, ROC AUC about 0.90 each), then times, on the same rows and in the same process:

* ``mlgate``: ``mlgate.gates.stats.compare`` with 1,000 resamples: ROC AUC (paired bootstrap over 2,000
  random blocks, ``W @ S`` on rank-bucket counts), accuracy with ``method="bootstrap"``, and accuracy as
  gates run it by default (McNemar's exact test with the Agresti–Min interval: no resampling at all);
* the anchor: the loop everyone writes first — per resample, draw row indices with replacement and call
  sklearn's ``roc_auc_score`` / ``accuracy_score`` on both models. It is timed on a few resamples (20 by
  default) and extrapolated to 1,000; the output says so.

**The whole gate** (``--section gate``). Generates a churn-like table (100,000 evaluation rows, 2
categorical and 3 numeric slice columns, 8 more features), trains two scikit-learn pipelines on 50,000
other rows (the champion a logistic regression, the candidate gradient-boosted trees), registers both in
a temporary SQLite registry (the champion at @production), writes the evaluation rows to Parquet, and
times ``mlgate.gates.evaluate.gate`` with change gates on ROC AUC and accuracy, slice gates on both over
the 5 columns (24 automatic slices each), behaviour and latency; the report's ``timings`` split each run
into scoring, statistics and behaviour + latency. The anchor reads the file with pandas, predicts with
the native models and runs sklearn's metrics with a naive paired bootstrap on all rows and on each
slice, timed on a few resamples per slice and extrapolated.

**The command line** (in ``--section gate``). On the same project, ``mlgate gate CANDIDATE`` as a user runs
it (a fresh process in the project folder, the report stored) against a naive evaluation script, also a
fresh process: read the Parquet file with pandas, load both versions from the registry with
``mlgate.load_model``, predict with both, compute ROC AUC and accuracy with sklearn. Both are timed as
whole processes (interpreter start and imports included), alternating, after one untimed run of each;
the ratio of the medians is the issue's target (within 2×).

Run from the repository root::

    .venv/bin/python benchmarks/gates.py                  # both sections: 2–5 minutes on 2 cores
    .venv/bin/python benchmarks/gates.py --section gate   # the whole gate only
    .venv/bin/python benchmarks/gates.py --quick          # 100,000 and 20,000 rows, a smoke test
    .venv/bin/python benchmarks/gates.py --json out.json

See benchmarks/README.md ("Gates") for what each row measures.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

TARGET_S = 2.0  # the target for the paired bootstrap of 1,000 resamples over 1,000,000 predictions
SEED = 20_241_123
POSITIVE_SHARE = 0.3
TARGET_AUC = 0.90
CORRELATION = 0.7  # of the two models' noise: they make many of the same mistakes, as real successors do


# -- data ------------------------------------------------------------------------------------------


def generate(rows: int, seed: int = SEED) -> tuple[Any, Any, Any]:
    """Labels and two binary models' outputs (``Pred``) with ROC AUC ≈ 0.90 and correlated errors."""
    import numpy as np

    from mlgate.gates.types import Pred

    rng = np.random.default_rng(seed)
    y = (rng.random(rows) < POSITIVE_SHARE).astype(np.int64)
    shared = rng.normal(size=rows)
    # Two unit-variance normals a distance d apart have AUC Φ(d/√2).
    d = math.sqrt(2) * statistics.NormalDist().inv_cdf(TARGET_AUC)

    def model(shift: float) -> Pred:
        noise = CORRELATION * shared + math.sqrt(1 - CORRELATION**2) * rng.normal(size=rows)
        p = 1 / (1 + np.exp(-1.5 * (shift * y + noise - shift / 2)))
        return Pred(label=(p > 0.5).astype(np.int64), proba=np.column_stack([1 - p, p]))

    return y, model(d * 1.01), model(d)


# -- measurements: one function each ------------------------------------------------------------------


@dataclass
class Row:
    name: str
    call: str
    mlgate_s: list[float] = field(default_factory=list)  # every timed run
    anchor_s: float | None = None  # extrapolated to the full resample count
    anchor_timed: int = 0  # resamples the anchor actually ran
    sums_s: float | None = None  # the additive statistics of both models
    exact_s: float | None = None  # the exact metric of both models
    target: str = "report only"
    method: str = ""
    result: dict[str, Any] = field(default_factory=dict)

    @property
    def median(self) -> float:
        return statistics.median(self.mlgate_s)

    @property
    def ratio(self) -> float | None:
        return None if self.anchor_s is None else self.anchor_s / self.median

    @property
    def verdict(self) -> str:
        if self.target == "report only":
            return "report only"
        return "PASS" if self.median <= TARGET_S else f"FAIL: {self.median:.2f} s > {TARGET_S} s"


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def bench_bootstrap(
    metric_name: str, data: tuple[Any, Any, Any], *, resamples: int, repeat: int, method: str = "bootstrap"
) -> Row:
    """mlgate's compare(), timed ``repeat`` times, and its parts: the sums and the exact values of both models.

    The share spent resampling is the rest: drawing the weights, ``W @ S``, the metric per resample, quantiles.
    """
    from mlgate.gates.metrics import METRICS
    from mlgate.gates.stats import compare, resampling

    y, cand, champ = data
    metric = METRICS[metric_name]
    label = metric_name if method == "bootstrap" else f"{metric_name} (gates' default)"
    row = Row(label, f'compare(METRICS["{metric_name}"], y, cand, champ, resamples={resamples}, method="{method}")')
    for _ in range(repeat):
        seconds, cmp = _timed(lambda: compare(metric, y, cand, champ, resamples=resamples, method=method))
        row.mlgate_s.append(seconds)
    row.method = cmp.method
    row.result = {"delta": cmp.delta, "ci": list(cmp.ci), "p_value": cmp.p_value, "mde": cmp.mde}
    row.exact_s = _timed(lambda: (metric.compute(y, cand), metric.compute(y, champ)))[0]
    if cmp.method.startswith("paired bootstrap"):
        plan = resampling(y.size, resamples=resamples)
        row.sums_s = _timed(lambda: [metric.sums(y, p, plan.groups, plan.n_groups) for p in (cand, champ)])[0]
        row.target = f"≤ {TARGET_S:g} s"
    return row


def bench_anchor(metric_name: str, data: tuple[Any, Any, Any], *, timed: int, resamples: int) -> float:
    """The naive paired bootstrap with sklearn, run ``timed`` times and scaled to ``resamples``."""
    import numpy as np
    from sklearn.metrics import accuracy_score, roc_auc_score

    y, cand, champ = data
    rng = np.random.default_rng(0)
    if metric_name == "roc_auc":
        a, b = cand.proba[:, 1], champ.proba[:, 1]
        score: Callable[[Any, Any], float] = roc_auc_score
    else:
        a, b = cand.label, champ.label
        score = accuracy_score
    deltas = []
    t = time.perf_counter()
    for _ in range(timed):
        index = rng.integers(0, y.size, y.size)
        deltas.append(score(y[index], a[index]) - score(y[index], b[index]))
    np.quantile(deltas, [0.025, 0.975])
    return (time.perf_counter() - t) * resamples / timed


def machine() -> dict[str, Any]:
    import numpy as np

    threads = None
    try:
        from threadpoolctl import threadpool_info

        threads = {i["internal_api"]: i["num_threads"] for i in threadpool_info()}
    except ImportError:
        pass
    cpu_model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model,
        "platform": platform.platform(),
        "numpy": np.__version__,
        "blas_threads": threads,
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


# -- output ---------------------------------------------------------------------------------------


def print_report(rows: list[Row], info: dict[str, Any], args: argparse.Namespace, n: int) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console() if sys.stdout.isatty() else Console(width=160)
    console.print(
        f"Python {info['python']} on {info['cpus']} CPUs ({info['cpu_model']}), {info['platform']}; "
        f"numpy {info['numpy']}, BLAS threads {info['blas_threads']}; load average before: {info['load_average']}"
    )
    console.print(
        f"{n:,} rows, {POSITIVE_SHARE:.0%} positives, two models with ROC AUC ≈ {TARGET_AUC} and correlated noise; "
        f"{args.resamples:,} resamples; mlgate median of {args.repeat} runs"
    )
    table = Table(title="Paired bootstrap, candidate vs champion on the same rows")
    for col in ("metric", "mlgate s", "anchor s", "× faster", "sums", "exact", "resampling", "target", "verdict"):
        table.add_column(col, justify="left" if col in ("metric", "target", "verdict") else "right")
    for r in rows:
        share = {}
        for part, seconds in (("sums", r.sums_s), ("exact", r.exact_s)):
            share[part] = "" if seconds is None else f"{min(seconds / r.median, 1):.0%}"
        rest = r.median - (r.sums_s or 0) - (r.exact_s or 0)
        share["resampling"] = f"{max(rest, 0) / r.median:.0%}" if r.sums_s is not None else "none"
        table.add_row(
            r.name,
            f"{r.median:.3f}",
            "" if r.anchor_s is None else f"{r.anchor_s:.1f}",
            "" if r.ratio is None else f"{r.ratio:,.0f}×",
            share["sums"],
            share["exact"],
            share["resampling"],
            r.target,
            r.verdict,
        )
    console.print(table)
    console.print(
        f"anchor s: the naive loop (row indices with replacement, sklearn on both models) timed on "
        f"{args.anchor_resamples} resamples and extrapolated to {args.resamples:,}. sums / exact: the share of "
        f"mlgate's time spent on the additive statistics / the exact values of both models, each timed on its "
        f"own; resampling: the rest (weights, W @ S, the metric per resample, quantiles)."
    )
    for r in rows:
        console.print(f"[dim]{r.name}: {r.call} → {r.method}; delta {r.result['delta']:+.5f}, ci {r.result['ci']}[/]")


# -- the whole gate: real models on 100,000 rows, automatic slices over 5 columns ---------------------

GATE_ROWS = 100_000
TRAIN_ROWS = 50_000
TARGET = "churned"
CATEGORICAL = ("region", "plan")
NUMERIC = ("age", "income", "tenure")
SLICE_COLUMNS = CATEGORICAL + NUMERIC
# level: (share of rows, shift of the churn logit)
REGIONS = {"north": (0.35, 0.0), "south": (0.25, 0.3), "east": (0.2, -0.2), "west": (0.15, 0.1), "islands": (0.05, 0.6)}
PLANS = {"basic": (0.5, 0.4), "plus": (0.3, 0.0), "pro": (0.15, -0.3), "enterprise": (0.05, -0.8)}
SIGNALS = 8  # x0 … x7, besides the slice columns
GATE_CONFIG = """\
registry: sqlite:///{root}/registry.db
artifacts: {root}/artifacts
data: {{eval: {eval}, target: {target}}}
trust: {{run_code: {{models: [churn]}}}}  # the benchmark registered both pickles itself
gates:
  - {{metric: roc_auc, vs: production, max_drop: 0.01}}
  - {{metric: accuracy, vs: production, max_drop: 0.01}}
  - {{metric: roc_auc, vs: production, slices: [{slices}], max_drop: 0.02}}
  - {{metric: accuracy, vs: production, slices: [{slices}], max_drop: 0.02}}
  - behaviour: true
  - latency: true
"""
PARTS = (  # report timings key → what the row holds
    ("scoring_s", "scoring: read the Parquet file, digest it, predict with both models, encode"),
    ("statistics_s", "statistics: 2 change gates and 2 slice gates (intervals, p-values, Benjamini–Hochberg)"),
    ("behaviour_s", "behaviour + latency (and the environment check)"),
)


def customers(rows: int, seed: int) -> Any:
    """A churn-like table: 2 categorical and 3 numeric slice columns, 8 signal columns, a 0/1 target (36% ones)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    cols: dict[str, Any] = {}
    effect = np.zeros(rows)
    for name, levels in (("region", REGIONS), ("plan", PLANS)):
        share, shift = (np.array(v) for v in zip(*levels.values(), strict=True))
        index = rng.choice(len(levels), size=rows, p=share)
        cols[name] = np.array(list(levels))[index]
        effect += shift[index]
    age = rng.integers(18, 90, size=rows)
    income = np.round(rng.lognormal(10.6, 0.5, size=rows), 2)
    tenure = np.round(rng.exponential(24.0, size=rows), 1)
    x = rng.normal(size=(rows, SIGNALS))
    logit = (
        x[:, 0] - 0.7 * x[:, 1] + 0.6 * x[:, 2] * x[:, 3] + 0.6 * np.sin(2 * x[:, 4]) + 0.3 * x[:, 5]
        + effect + 0.02 * (age - 50) - 0.5 * np.log(income / 40_000) - 0.02 * tenure - 0.6
    )  # fmt: skip
    frame = pd.DataFrame({**cols, "age": age, "income": income, "tenure": tenure})
    for j in range(SIGNALS):
        frame[f"x{j}"] = x[:, j]
    frame[TARGET] = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    return frame


def train_models(train: Any) -> tuple[Any, Any]:
    """The candidate (gradient-boosted trees) and the champion (a logistic regression), both scikit-learn pipelines."""
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    X, y = train.drop(columns=TARGET), train[TARGET]
    numeric = [c for c in X.columns if c not in CATEGORICAL]
    champion = make_pipeline(
        make_column_transformer((OneHotEncoder(), list(CATEGORICAL)), (StandardScaler(), numeric)),
        LogisticRegression(max_iter=1000),
    ).fit(X, y)
    candidate = make_pipeline(
        make_column_transformer((OrdinalEncoder(), list(CATEGORICAL)), remainder="passthrough"),
        HistGradientBoostingClassifier(categorical_features=[0, 1], random_state=0),
    ).fit(X, y)
    return candidate, champion


@dataclass
class GateProject:
    """A registry with the champion at @production and the candidate, the evaluation file and the config."""

    folder: Path
    settings: Any
    registry: Any
    candidate_ref: str
    eval_path: Path
    natives: tuple[Any, Any]  # the candidate and the champion as trained, for the anchor
    positives: float


def gate_project(folder: Path, rows: int) -> GateProject:
    """Train both models, register them in a SQLite registry under ``folder``, write the eval set to Parquet."""
    import polars as pl

    import mlgate
    from mlgate.config import load_settings
    from mlgate.registry.store import Registry

    train, evaluation = customers(TRAIN_ROWS, SEED), customers(rows, SEED + 1)
    candidate, champion = train_models(train)
    eval_path = folder / "eval.parquet"
    pl.from_pandas(evaluation).write_parquet(eval_path)
    config = GATE_CONFIG.format(root=folder, eval=eval_path, target=TARGET, slices=", ".join(SLICE_COLUMNS))
    (folder / "mlgate.yaml").write_text(config)
    settings = load_settings(config=folder / "mlgate.yaml")
    reg = Registry(settings=settings)
    sample = train.drop(columns=TARGET).head(5)
    first = mlgate.log_model(champion, "churn", sample_input=sample, registry=reg)
    reg.set_alias("churn", "production", first.number)
    second = mlgate.log_model(candidate, "churn", sample_input=sample, registry=reg)
    positives = float(evaluation[TARGET].mean())
    return GateProject(folder, settings, reg, second.ref, eval_path, (candidate, champion), positives)


NAIVE_EVAL = """\
import sys

import pandas as pd
from sklearn.metrics import accuracy_score, roc_auc_score

import mlgate
from mlgate.config import load_settings
from mlgate.registry.store import Registry

folder, target, candidate = sys.argv[1:4]
registry = Registry(settings=load_settings(config=f"{folder}/mlgate.yaml"))
frame = pd.read_parquet(f"{folder}/eval.parquet")
X, y = frame.drop(columns=target), frame[target].to_numpy()
for ref in (candidate, "churn@production"):
    model = mlgate.load_model(ref, registry=registry).native
    print(ref, roc_auc_score(y, model.predict_proba(X)[:, 1]), accuracy_score(y, model.predict(X)))
"""


@dataclass
class CliRow:
    """``mlgate gate`` as a command vs a naive evaluation script, each a whole process, alternating."""

    mlgate_s: list[float] = field(default_factory=list)
    naive_s: list[float] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)  # the 1-minute load average before each pair
    exit_code: int | None = None

    @property
    def ratio(self) -> float:
        return statistics.median(self.mlgate_s) / statistics.median(self.naive_s)


def bench_cli(project: GateProject, *, repeat: int) -> CliRow:
    """One untimed run of each, then ``repeat`` pairs: the naive script, then ``mlgate gate`` (report stored)."""
    import subprocess

    script = project.folder / "naive_eval.py"
    script.write_text(NAIVE_EVAL)
    exe = Path(sys.executable).with_name("mlgate")
    command = [str(exe)] if exe.exists() else [sys.executable, "-m", "mlgate"]
    runs = {
        "naive": [sys.executable, str(script), str(project.folder), TARGET, project.candidate_ref],
        "mlgate": [*command, "gate", project.candidate_ref],
    }
    row = CliRow()
    for i in range(repeat + 1):
        if hasattr(os, "getloadavg"):
            row.loads.append(os.getloadavg()[0])
        for name, argv in runs.items():
            start = time.perf_counter()
            done = subprocess.run(argv, cwd=project.folder, capture_output=True, text=True, check=False)
            seconds = time.perf_counter() - start
            if done.returncode not in (0, 1) or (name == "naive" and done.returncode):
                raise SystemExit(f"{name} exited {done.returncode}:\n{done.stderr[-2000:]}")
            if name == "mlgate":
                row.exit_code = done.returncode
            if i:
                (row.mlgate_s if name == "mlgate" else row.naive_s).append(seconds)
    return row


@dataclass
class GateRow:
    """The whole gate call, timed ``repeat`` times after a first call, with the report's timings of each run."""

    wall_s: list[float] = field(default_factory=list)  # the gate() call, report stored
    timings: list[dict[str, float]] = field(default_factory=list)  # report["timings"] of each timed run
    first_s: float = 0.0  # the first call in the process (imports of the metric and statistics code)
    load_before: Any = None  # the load average when the timed runs began
    passed: bool | None = None
    checks: dict[str, str] = field(default_factory=dict)  # check name → status
    slices: dict[str, Any] = field(default_factory=dict)  # per slice gate: found, evaluated, too small
    anchor: dict[str, Any] = field(default_factory=dict)
    cli: CliRow | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.wall_s)

    def part(self, key: str) -> float:
        return statistics.median(t[key] for t in self.timings)

    @property
    def rest(self) -> float:
        """Loading both models, reading the config, the report (its plot data included) and storing it."""
        return statistics.median(
            w - sum(t[k] for k, _ in PARTS) for w, t in zip(self.wall_s, self.timings, strict=True)
        )


def bench_gate(project: GateProject, *, repeat: int) -> GateRow:
    """``mlgate.gates.evaluate.gate`` on the project: one first call, then ``repeat`` timed ones."""
    from mlgate.gates.evaluate import gate

    row = GateRow(load_before=os.getloadavg() if hasattr(os, "getloadavg") else None)
    for i in range(repeat + 1):
        seconds, result = _timed(
            lambda: gate(project.candidate_ref, config=project.settings, registry=project.registry)
        )
        if i == 0:
            row.first_s = seconds
            continue
        row.wall_s.append(seconds)
        row.timings.append(dict(result.report["timings"]))
    row.passed = result.passed
    row.checks = {c.name: c.status for c in result.checks}
    for c in result.checks:
        if c.kind == "slices":
            row.slices[c.name] = {k: c.details.get(k) for k in ("slices", "evaluated", "too_small", "undefined")}
    return row


def naive_slices(frame: Any) -> list[tuple[str, Any]]:
    """The slices as one writes them with pandas: each value of a categorical column, quintiles of a numeric one."""
    import pandas as pd

    out = []
    for col in CATEGORICAL:
        for value in frame[col].value_counts().index:
            out.append((f"{col} = {value}", (frame[col] == value).to_numpy()))
    for col in NUMERIC:
        bins = pd.qcut(frame[col], 5, duplicates="drop")
        for interval in bins.cat.categories:
            out.append((f"{col} in {interval}", (bins == interval).to_numpy()))
    return out


def bench_gate_anchor(project: GateProject, *, timed: int, resamples: int) -> dict[str, Any]:
    """The same scoring and statistics written the naive way, the bootstrap loops timed on ``timed`` resamples.

    Scoring: ``pd.read_parquet`` and both scikit-learn models' ``predict_proba``/``predict``, timed in full.
    Statistics: per metric (roc_auc, accuracy), on all rows and on each slice, the exact values with sklearn and a
    paired bootstrap (row indices with replacement inside the slice, sklearn on both models), its percentile
    interval and count p-value; then Benjamini–Hochberg. The loops are scaled to ``resamples``.
    """
    import numpy as np
    import pandas as pd
    from scipy.stats import false_discovery_control
    from sklearn.metrics import accuracy_score, roc_auc_score

    start = time.perf_counter()
    frame = pd.read_parquet(project.eval_path)
    X, y = frame.drop(columns=TARGET), frame[TARGET].to_numpy()
    outputs = [(m.predict_proba(X)[:, 1], m.predict(X)) for m in project.natives]
    scoring = time.perf_counter() - start

    start = time.perf_counter()
    slices = naive_slices(frame)
    exact = time.perf_counter() - start
    loops = 0.0
    rng = np.random.default_rng(0)
    metrics: list[tuple[str, Callable[[Any, Any], float], int]] = [
        ("roc_auc", roc_auc_score, 0),
        ("accuracy", accuracy_score, 1),
    ]
    for _, score, which in metrics:
        a, b = outputs[0][which], outputs[1][which]
        p_values = []
        for _, mask in [("all rows", np.ones(y.size, dtype=bool)), *slices]:
            t = time.perf_counter()
            rows = np.flatnonzero(mask)
            delta = score(y[rows], a[rows]) - score(y[rows], b[rows])
            exact += time.perf_counter() - t
            t = time.perf_counter()
            deltas = []
            for _ in range(timed):
                index = rng.choice(rows, size=rows.size, replace=True)
                deltas.append(score(y[index], a[index]) - score(y[index], b[index]))
            centred = np.asarray(deltas) - delta
            np.quantile(centred, [0.025, 0.975])
            p_values.append((1 + np.count_nonzero(delta + centred >= -0.02)) / (len(deltas) + 1))
            loops += (time.perf_counter() - t) * resamples / timed
        t = time.perf_counter()
        false_discovery_control(np.asarray(p_values[1:]), method="bh")
        exact += time.perf_counter() - t
    return {
        "scoring_s": scoring,
        "statistics_s": exact + loops,
        "exact_s": exact,
        "bootstrap_s": loops,
        "slices": len(slices),
        "timed_resamples": timed,
        "resamples": resamples,
    }


def print_gate_report(row: GateRow, project: GateProject, args: argparse.Namespace, rows: int) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console() if sys.stdout.isatty() else Console(width=160)
    threads = "library thread defaults (the gate limits its own pools)"
    console.print(
        f"{rows:,} evaluation rows ({project.positives:.0%} positives), {len(SLICE_COLUMNS)} slice columns "
        f"({', '.join(CATEGORICAL)} categorical; {', '.join(NUMERIC)} numeric, 5 quantile bins), {SIGNALS} more "
        f"features; candidate HistGradientBoosting vs champion LogisticRegression (scikit-learn pipelines, "
        f"registered with mlgate in SQLite); median of {args.gate_repeat} runs after a first call; {threads}; "
        f"load average before: {row.load_before}"
    )
    table = Table(title="Whole gate run: mlgate.gates.evaluate.gate(…) vs the naive equivalent")
    for col in ("part", "mlgate s", "runs", "share", "anchor s", "× faster"):
        table.add_column(col, justify="left" if col == "part" else "right")
    anchor = row.anchor
    whole_anchor = anchor["scoring_s"] + anchor["statistics_s"]

    def spread(values: list[float]) -> str:
        return f"{min(values):.2f}–{max(values):.2f}"

    table.add_row("whole gate call (report stored)", f"{row.median:.2f}", spread(row.wall_s), "100%",
                  f"{whole_anchor:.1f}", f"{whole_anchor / row.median:,.0f}×")  # fmt: skip
    for key, label in PARTS:
        seconds = row.part(key)
        a = anchor.get(key)
        table.add_row(
            label,
            f"{seconds:.2f}",
            spread([t[key] for t in row.timings]),
            f"{seconds / row.median:.0%}",
            "" if a is None else f"{a:.1f}",
            "" if a is None else f"{a / seconds:,.1f}×",
        )
    table.add_row("the rest: load both models, config, report (plot data) and storing it", f"{row.rest:.2f}",
                  "", f"{row.rest / row.median:.0%}", "", "")  # fmt: skip
    console.print(table)
    slices = "; ".join(f"{name}: {d['evaluated']} of {d['slices']} slices evaluated" for name, d in row.slices.items())
    console.print(
        f"first call in the process {row.first_s:.2f} s. Verdict: {'PASS' if row.passed else 'FAIL'} "
        f"({len(row.checks)} checks). {slices}. Shares are of the median call, each part's median."
    )
    console.print(
        f"anchor: pd.read_parquet and predict_proba/predict of both native models ({anchor['scoring_s']:.2f} s, "
        f"timed in full); per metric, on all rows and on each of {anchor['slices']} pandas slices, sklearn's exact "
        f"values and a paired bootstrap loop timed on {anchor['timed_resamples']} resamples and extrapolated to "
        f"{anchor['resamples']:,} ({anchor['bootstrap_s']:.1f} s), then Benjamini–Hochberg. It does no behaviour, "
        f"latency or report: its × faster on the whole call compares it with everything mlgate does."
    )
    cli = row.cli
    if cli is not None:
        table = Table(title="Command line: `mlgate gate` vs a naive evaluation script, whole processes")
        for col in ("process", "median s", "runs"):
            table.add_column(col, justify="left" if col == "process" else "right")
        table.add_row(
            f"mlgate gate {project.candidate_ref} (report stored, exit {cli.exit_code})",
            f"{statistics.median(cli.mlgate_s):.2f}",
            spread(cli.mlgate_s),
        )
        table.add_row(
            "naive: pd.read_parquet, load_model ×2, predict_proba/predict, roc_auc_score, accuracy_score",
            f"{statistics.median(cli.naive_s):.2f}",
            spread(cli.naive_s),
        )
        console.print(table)
        console.print(
            f"mlgate gate takes {cli.ratio:.2f}× the naive evaluation (target ≤ 2×); {len(cli.mlgate_s)} "
            f"alternating pairs after one untimed run of each; load average before each pair: "
            f"{', '.join(f'{x:.1f}' for x in cli.loads)}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--section",
        choices=("all", "bootstrap", "gate", "cli"),
        default="all",
        help="what to run (default all; cli: only the command-line pairs of the gate section)",
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="predictions per model (default 1,000,000)")
    parser.add_argument(
        "--quick", action="store_true", help="100,000 and 20,000 rows: a smoke test, not figures to quote"
    )
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples (default 1,000)")
    parser.add_argument("--anchor-resamples", type=int, default=20, help="resamples the anchor runs (default 20)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of mlgate per row; the median is reported")
    parser.add_argument("--gate-rows", type=int, default=GATE_ROWS, help="evaluation rows of the whole gate (100,000)")
    parser.add_argument("--gate-repeat", type=int, default=3, help="timed gate runs after the first (default 3)")
    parser.add_argument("--gate-anchor-resamples", type=int, default=5, help="resamples per slice the naive gate runs")
    parser.add_argument("--cli-repeat", type=int, default=3, help="timed command-line pairs after the first (3)")
    parser.add_argument("--keep", action="store_true", help="keep the whole gate's project folder and say where it is")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write every figure to PATH")
    args = parser.parse_args(argv)
    n = 100_000 if args.quick else args.rows
    gate_rows = 20_000 if args.quick else args.gate_rows
    if n < 1000 or args.repeat < 1 or args.anchor_resamples < 1 or args.resamples < 10:
        parser.error("--rows ≥ 1000, --repeat ≥ 1, --anchor-resamples ≥ 1 and --resamples ≥ 10")
    if gate_rows < 1000 or args.gate_repeat < 1 or args.gate_anchor_resamples < 1 or args.cli_repeat < 1:
        parser.error("--gate-rows ≥ 1000, --gate-repeat ≥ 1, --gate-anchor-resamples ≥ 1 and --cli-repeat ≥ 1")

    say = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    info = machine()
    payload: dict[str, Any] = {"machine": info, "target_s": TARGET_S}
    if args.section in ("all", "bootstrap"):
        say(f"generating {n:,} rows …")
        data = generate(n)
        say("warming up (imports, first BLAS call) …")
        small = generate(20_000, seed=1)
        for metric_name, method in (("roc_auc", "bootstrap"), ("accuracy", "auto")):
            bench_bootstrap(metric_name, small, resamples=100, repeat=1, method=method)

        rows = []
        for metric_name, method in (("roc_auc", "bootstrap"), ("accuracy", "bootstrap"), ("accuracy", "auto")):
            say(f"mlgate: {metric_name}, method={method} …")
            rows.append(bench_bootstrap(metric_name, data, resamples=args.resamples, repeat=args.repeat, method=method))
        for metric_name in ("roc_auc", "accuracy"):
            say(f"anchor: {metric_name}, {args.anchor_resamples} resamples …")
            anchor = bench_anchor(metric_name, data, timed=args.anchor_resamples, resamples=args.resamples)
            for r in rows:
                if r.name.startswith(metric_name):
                    r.anchor_s, r.anchor_timed = anchor, args.anchor_resamples
        del data
        print_report(rows, info, args, n)
        payload |= {"rows": n, "resamples": args.resamples}
        payload["results"] = [asdict(r) | {"median_s": r.median, "ratio": r.ratio, "verdict": r.verdict} for r in rows]
    if args.section in ("all", "gate"):
        payload["gate"] = run_gate_section(args, gate_rows, say)
    if args.section == "cli":
        payload["cli"] = run_cli_section(args, gate_rows, say)
    if args.json:
        args.json.write_text(json.dumps(payload, indent=2))
    return 0


def run_cli_section(args: argparse.Namespace, rows: int, say: Callable[[str], None]) -> dict[str, Any]:
    """Only the command-line pairs (``mlgate gate`` vs the naive script) on the whole gate's project."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="mlgate-bench-cli-"))
    try:
        say(f"command line: training and registering two models, {rows:,} evaluation rows …")
        project = gate_project(folder, rows)
        say(f"command line: `mlgate gate` and the naive script, one untimed run of each and {args.cli_repeat} pairs …")
        row = bench_cli(project, repeat=args.cli_repeat)
        project.registry.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    loads = ", ".join(f"{x:.1f}" for x in row.loads)
    print(
        f"mlgate gate: median {statistics.median(row.mlgate_s):.2f} s ({', '.join(f'{x:.2f}' for x in row.mlgate_s)})"
    )
    print(f"naive script: median {statistics.median(row.naive_s):.2f} s ({', '.join(f'{x:.2f}' for x in row.naive_s)})")
    print(f"ratio {row.ratio:.2f}x (target <= 2x); load before each pair: {loads}; mlgate exit {row.exit_code}")
    return {"mlgate_s": row.mlgate_s, "naive_s": row.naive_s, "ratio": row.ratio, "loads": row.loads}


def run_gate_section(args: argparse.Namespace, rows: int, say: Callable[[str], None]) -> dict[str, Any]:
    """Set up the project in a temporary folder, time mlgate's gate and the naive anchor, print the table."""
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="mlgate-bench-gate-"))
    try:
        say(
            f"whole gate: generating {TRAIN_ROWS:,} training and {rows:,} evaluation rows, training and registering two models …"
        )
        project = gate_project(folder, rows)
        say(f"whole gate: mlgate, a first call and {args.gate_repeat} timed runs …")
        row = bench_gate(project, repeat=args.gate_repeat)
        say(f"whole gate: the naive anchor, {args.gate_anchor_resamples} resamples per slice …")
        row.anchor = bench_gate_anchor(project, timed=args.gate_anchor_resamples, resamples=args.resamples)
        say(f"command line: `mlgate gate` and the naive script, one untimed run of each and {args.cli_repeat} pairs …")
        row.cli = bench_cli(project, repeat=args.cli_repeat)
        print_gate_report(row, project, args, rows)
        project.registry.close()
    finally:
        if args.keep:
            say(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return {
        "rows": rows,
        "train_rows": TRAIN_ROWS,
        "cli": {
            "mlgate_median_s": statistics.median(row.cli.mlgate_s),
            "naive_median_s": statistics.median(row.cli.naive_s),
            "ratio": row.cli.ratio,
        },
        "slice_columns": list(SLICE_COLUMNS),
        "median_s": row.median,
        "parts_s": {key: row.part(key) for key, _ in PARTS} | {"rest_s": row.rest},
        "ratio": (row.anchor["scoring_s"] + row.anchor["statistics_s"]) / row.median,
        **asdict(row),
    }


if __name__ == "__main__":
    sys.exit(main())
