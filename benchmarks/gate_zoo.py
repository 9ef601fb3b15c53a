#!/usr/bin/env python
"""False blocks and caught regressions: mlgate's change decisions against a naive point-threshold gate.

**Benign retrains** (``--section benign``). For each bundled data set, a champion is trained on a 90%
sample of the training half, and each benign candidate on another 90% sample of the same rows with the
same hyper-parameters (another seed): an ordinary retrain, which a gate should let through. Each pair
is decided by the task's default gates (binary: ROC AUC, accuracy and Brier, max_drop 0.01; multiclass:
accuracy and Brier, 0.01; regression: RMSE, 2%) under three rules, on the same comparisons:

* ``before``: mlgate's old rule, a change passes only when its interval's pessimistic end is within
  the margin (an undecided check blocks);
* ``after``: pass / fail / undecided, an undecided check blocking only when its point estimate is beyond
  the margin (mlgate's default, ``undecided: point``); ``strict`` is ``undecided: block``;
* ``naive``: block on a point drop beyond the margin or a non-finite metric.

It also prints each metric's per-row spread of the paired difference (``SE × √n_eff``), the figure
``mlgate.gates.resolution.SPREAD`` holds for ``mlgate gate --plan``.

**The zoo** (``--section zoo``): whole gate runs. The cases of ``benchmarks/zoo_cases.py`` (benign retrains
and seeded regressions over binary, multiclass and regression tasks, 500 to 100,000 evaluation rows), each
candidate registered beside its data set's champion at @production in a temporary registry and gated
in-process (``mlgate.gates.evaluate.gate``), and decided by the naive point-threshold gate on the same
rows. It prints a table per case and, per task and overall, the share of regressions caught with the
right reason and of benign retrains blocked, for both; ``--quick`` runs the fast test's cases only.

Run from the repository root::

    .venv/bin/python benchmarks/gate_zoo.py                 # both sections
    .venv/bin/python benchmarks/gate_zoo.py --retrains 5    # a smoke test
    .venv/bin/python benchmarks/gate_zoo.py --section zoo --json zoo.json   # the zoo: ~8 minutes on 2 cores
    .venv/bin/python benchmarks/gate_zoo.py --section zoo --quick           # its fast subset, ~1 minute
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))  # `benchmarks.zoo_cases`

from mlgate.gates import evaluate, stats
from mlgate.gates.metrics import get_metric
from mlgate.gates.spec import GateSpec
from mlgate.gates.types import Check, Pred

DEFAULTS = {
    "binary": [("roc_auc", 0.01, False), ("accuracy", 0.01, False), ("brier", 0.01, False)],
    "multiclass": [("accuracy", 0.01, False), ("brier", 0.01, False)],
    "regression": [("rmse", 0.05, True)],
}


@dataclass
class Dataset:
    name: str
    task: str
    X: np.ndarray
    y: np.ndarray
    make: Callable[[int], Any]


def datasets() -> list[Dataset]:
    from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    cancer, digits, diabetes = load_breast_cancer(), load_digits(), load_diabetes()
    forest = lambda seed: RandomForestClassifier(n_estimators=200, random_state=seed)  # noqa: E731
    return [
        Dataset("breast cancer", "binary", cancer.data, cancer.target, forest),
        Dataset("digits", "multiclass", digits.data, digits.target, forest),
        Dataset("diabetes", "regression", diabetes.data, diabetes.target,
                lambda seed: RandomForestRegressor(n_estimators=200, min_samples_leaf=5, random_state=seed)),
    ]  # fmt: skip


def _pred(model: Any, X: np.ndarray, task: str) -> Pred:
    if task == "regression":
        return Pred(value=model.predict(X).astype(np.float64))
    return Pred(label=model.predict(X).astype(np.int64), proba=model.predict_proba(X))


def _retrain(ds: Dataset, X: np.ndarray, y: np.ndarray, seed: int) -> Any:
    rows = np.random.default_rng(seed).choice(len(y), int(0.9 * len(y)), replace=False)
    return ds.make(seed).fit(X[rows], y[rows])


def benign(ds: Dataset, retrains: int) -> dict[str, Any]:
    from sklearn.model_selection import train_test_split

    stratify = ds.y if ds.task != "regression" else None
    X_tr, X_ev, y_tr, y_ev = train_test_split(ds.X, ds.y, test_size=0.5, random_state=0, stratify=stratify)
    champ = _pred(_retrain(ds, X_tr, y_tr, 0), X_ev, ds.task)
    blocked = {"before": 0, "after": 0, "strict": 0, "naive": 0}
    statuses: dict[str, int] = {}
    spread: dict[str, list[float]] = {}
    half: dict[str, list[float]] = {}
    for seed in range(1, retrains + 1):
        cand = _pred(_retrain(ds, X_tr, y_tr, seed), X_ev, ds.task)
        verdicts = dict.fromkeys(blocked, False)
        for name, drop, relative in DEFAULTS[ds.task]:
            metric = get_metric(name, ds.task)
            spec = GateSpec("change", f"{name} vs production", metric=name, vs="production",
                            max_drop=drop, relative=relative)  # fmt: skip
            margin = drop * abs(metric.compute(y_ev, champ)) if relative else drop
            cmp = stats.compare(metric, y_ev, cand, champ, margin=margin)
            check = evaluate._verdict(spec, metric, cmp, Check(spec.name, "change", "error"))
            strict = evaluate._verdict(
                GateSpec(**{**spec.__dict__, "undecided": "block"}), metric, cmp, Check(spec.name, "change", "error")
            )
            statuses[check.status] = statuses.get(check.status, 0) + 1
            oriented = cmp.delta if metric.higher_is_better else -cmp.delta
            verdicts["before"] |= evaluate._worst(metric, cmp.ci) < -margin
            verdicts["after"] |= check.blocking
            verdicts["strict"] |= strict.blocking
            verdicts["naive"] |= (not math.isfinite(cmp.delta)) or oriented < -margin
            n_eff = _n_eff(name, y_ev)
            se = cmp.se or (cmp.ci[1] - cmp.ci[0]) / 2 / NormalDist().inv_cdf(0.975)
            spread.setdefault(name, []).append(se * math.sqrt(n_eff))
            half.setdefault(name, []).append((cmp.ci[1] - cmp.ci[0]) / 2)
        for k, v in verdicts.items():
            blocked[k] += int(v)
    return {
        "dataset": ds.name,
        "task": ds.task,
        "eval_rows": len(y_ev),
        "retrains": retrains,
        "blocked": blocked,
        "statuses": statuses,
        "spread": {k: statistics.median(v) for k, v in spread.items()},
        "half_width": {k: statistics.median(v) for k, v in half.items()},
    }


def _n_eff(metric: str, y: np.ndarray) -> int:
    if metric in ("roc_auc", "pr_auc"):
        return int(np.unique(y, return_counts=True)[1].min())
    return len(y)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--retrains", type=int, default=20)
    parser.add_argument("--section", choices=["benign", "zoo", "all"], default="all")
    parser.add_argument("--quick", action="store_true", help="zoo: only the cases of the fast test")
    parser.add_argument("--case", action="append", help="zoo: only this case id or data set (repeatable)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    doc: dict[str, Any] = {}
    if args.section in ("zoo", "all"):
        doc["zoo"] = zoo(args)
    if args.section == "zoo":
        _dump(args.json, doc)
        return 0
    results = [benign(ds, args.retrains) for ds in datasets()]
    rules = " ".join(f"{k:>7}" for k in ("before", "after", "strict", "naive"))
    print(f"{'data set':<14} {'rows':>5} {'retrains':>8}  false blocks: {rules}")
    total = dict.fromkeys(("before", "after", "strict", "naive"), 0)
    for r in results:
        b = r["blocked"]
        for k in total:
            total[k] += b[k]
        print(f"{r['dataset']:<14} {r['eval_rows']:>5} {r['retrains']:>8}  {'':>13} "
              + " ".join(f"{b[k] / r['retrains']:>7.0%}" for k in total))  # fmt: skip
        print(f"{'':<14} statuses {r['statuses']}, half-width {_fmt(r['half_width'])}, spread {_fmt(r['spread'])}")
    n = sum(r["retrains"] for r in results)
    print(f"{'all':<14} {'':>5} {n:>8}  {'':>13} " + " ".join(f"{total[k] / n:>7.0%}" for k in total))
    _dump(args.json, {**doc, "benign": results})
    return 0


def _dump(path: str | None, doc: dict[str, Any]) -> None:
    if path:
        with open(path, "w") as fh:
            json.dump(doc, fh, indent=2)


def zoo(args: argparse.Namespace) -> dict[str, Any]:
    """The gate zoo (``benchmarks/zoo_cases.py``): every case through mlgate and the naive gate, a table, the rates."""
    import subprocess
    import tempfile
    from pathlib import Path

    from benchmarks import zoo_cases
    from rich.console import Console
    from rich.table import Table
    from threadpoolctl import threadpool_limits

    # the gate code measured: the commit, and any uncommitted change to the gates or reports when the run began
    git = lambda *a: subprocess.run(["git", *a], capture_output=True, text=True).stdout.strip()  # noqa: E731
    head, dirty = git("rev-parse", "--short", "HEAD"), git("status", "--short", "src/mlgate/gates", "src/mlgate/report")
    cases = [c for c in zoo_cases.CASES if not args.quick or c.quick]
    if args.case:
        cases = [c for c in cases if c.id in args.case or c.data in args.case]
    console = Console(stderr=True)
    # one thread for OpenMP and BLAS: on a shared 2-core machine, gradient boosting's parallel regions wait
    # on descheduled threads (benchmarks/README.md, the whole gate), which would time the machine, not the gate
    with threadpool_limits(1), tempfile.TemporaryDirectory() as tmp:
        outcomes = zoo_cases.run_all(cases, Path(tmp), say=lambda m: console.print(m, style="dim"))
    table = Table(title="gate zoo: each case, mlgate and the naive point-threshold gate", show_lines=False)
    for col in ("case", "task", "rows", "expected", "mlgate", "mlgate reason (slice)", "ok", "naive", "ok", "gate s"):
        table.add_column(col, justify="right" if col in ("rows", "gate s") else "left")
    for o in outcomes:
        lead = o.reasons[0] if o.reasons else {}
        named = f"{lead.get('class')} ({lead.get('slice')})" if lead.get("slice") else (lead.get("class") or "")
        expected = "pass" if o.case.benign else o.case.expect + (f" ({o.case.column})" if o.case.column else "")
        table.add_row(
            o.case.id, o.task, f"{o.rows:,}", expected, "block" if o.blocked else "pass", named,
            "✓" if o.right else "✗", f"block ({o.naive_reason})" if o.naive_blocked else "pass",
            "✓" if o.naive_right else "✗", f"{o.gate_s:.1f}",
        )  # fmt: skip
    out = Console(width=None if sys.stdout.isatty() else 200)
    out.print(table)
    summary = zoo_cases.rates(outcomes)
    rates = Table(title="rates: regressions caught with the right reason; benign retrains blocked")
    for col in ("task", "regressions", "mlgate caught", "… reason leading", "naive caught", "benign", "mlgate false blocks",
                "naive false blocks"):  # fmt: skip
        rates.add_column(col, justify="left" if col == "task" else "right")
    for task, r in summary.items():
        pct = lambda k, n, r=r: f"{r[k]}/{r[n]} ({r[k] / r[n]:.0%})" if r[n] else "—"  # noqa: E731
        rates.add_row(task, str(r["regressions"]), pct("mlgate_caught_right", "regressions"),
                      pct("mlgate_caught_leading", "regressions"),
                      pct("naive_caught_right", "regressions"), str(r["benign"]),
                      pct("mlgate_false_blocks", "benign"), pct("naive_false_blocks", "benign"))  # fmt: skip
    out.print(rates)
    missed = [o for o in outcomes if not o.right]
    for o in missed:
        lead = o.reasons[0]["message"][:160] if o.reasons else "passed"
        out.print(f"mlgate {'false block' if o.case.benign else 'miss'}: {o.case.id}: {lead}")
    out.print(f"gate code: commit {head}" + (f", uncommitted: {' '.join(dirty.split())}" if dirty else ""))
    gate_s = sorted(o.gate_s for o in outcomes)
    out.print(f"gate call: median {gate_s[len(gate_s) // 2]:.1f} s, max {gate_s[-1]:.1f} s "
              f"(registered candidate, the report stored; OpenMP/BLAS limited to one thread)")  # fmt: skip
    return {"commit": head, "uncommitted": dirty, "cases": [o.to_dict() for o in outcomes], "rates": summary}


def _fmt(d: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.3g}" for k, v in d.items())


if __name__ == "__main__":
    sys.exit(main())
