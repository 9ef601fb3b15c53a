#!/usr/bin/env python
"""Gate statistics cost: mlgate's vectorized paired bootstrap against the naive resampling loop, in one run.

Generates labels and the scores of two correlated binary models (30% positives, ROC AUC about 0.90
each), then times, on the same rows and in the same process:

* ``mlgate``: ``mlgate.gates.stats.compare`` with 1,000 resamples: ROC AUC (paired bootstrap over 2,000
  random blocks, ``W @ S`` on rank-bucket counts), accuracy with ``method="bootstrap"``, and accuracy as
  gates run it by default (McNemar's exact test with the Agresti–Min interval: no resampling at all);
* the anchor: the loop everyone writes first — per resample, draw row indices with replacement and call
  sklearn's ``roc_auc_score`` / ``accuracy_score`` on both models. It is timed on a few resamples (20 by
  default) and extrapolated to 1,000; the output says so.

Run from the repository root::

    .venv/bin/python benchmarks/gates.py                 # 1,000,000 rows, under a minute on 2 cores
    .venv/bin/python benchmarks/gates.py --quick         # 100,000 rows, a smoke test
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="predictions per model (default 1,000,000)")
    parser.add_argument("--quick", action="store_true", help="100,000 rows: a smoke test, not figures to quote")
    parser.add_argument("--resamples", type=int, default=1000, help="bootstrap resamples (default 1,000)")
    parser.add_argument("--anchor-resamples", type=int, default=20, help="resamples the anchor runs (default 20)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of mlgate per row; the median is reported")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write every figure to PATH")
    args = parser.parse_args(argv)
    n = 100_000 if args.quick else args.rows
    if n < 1000 or args.repeat < 1 or args.anchor_resamples < 1 or args.resamples < 10:
        parser.error("--rows ≥ 1000, --repeat ≥ 1, --anchor-resamples ≥ 1 and --resamples ≥ 10")

    say = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    info = machine()
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

    print_report(rows, info, args, n)
    if args.json:
        payload = {"rows": n, "resamples": args.resamples, "machine": info, "target_s": TARGET_S}
        payload["results"] = [asdict(r) | {"median_s": r.median, "ratio": r.ratio, "verdict": r.verdict} for r in rows]
        args.json.write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
