"""How often rollouts promote a healthy canary and abort faulty ones, on a simulated clock with synthetic traffic.

The controller's own decision rule (:func:`mlgate.delivery.rollout.next_action`) and analysis
(:func:`mlgate.delivery.analysis.analyse`, the default analysis of ``delivery:``) run on requests drawn
tick by tick: ``--rps`` requests a second split by the current weight, a tick every ``--tick`` seconds,
steps 5, 25, 50, 100 with ``--pause`` seconds each. The stable version fails 0.1% of requests, answers in
a log-normal 20 ms (σ of the log 0.3) and predicts N(0.3, 0.1). Faults: a canary failing 5% more of its
requests, one returning NaN for a slice (10% of rows), one twice as slow, one whose predictions are shifted
by half a standard deviation. Multiclass scenarios: the stable predicts classes 0/1/2 in the mix 0.5/0.3/0.2
with accuracy 0.9, a shadow of the candidate mirrors every request the stable serves (agreeing on 97% of
rows when healthy), and half the rows get a label 60 s after they are served. Faults: a canary whose mix is
0.35/0.6/0.05 (the same mean label, 0.7), a shadow agreeing on only 80% of rows, a canary whose accuracy is
0.8. The ``*_estimated`` ones add, on both sides, each row's calibrated chance of being right (CBPE,
available at once; Beta-distributed around the side's accuracy, the labelled rows right with that
chance), so ``performance: auto`` can use the estimate until each side has enough labels. Per scenario: promoted and aborted shares, the median time to the decision, the requests the canary
served before an abort (median and maximum), and which metric failed (``-``: aborted at the deadline).

    python benchmarks/delivery.py --rollouts 50
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from mlgate.config.sections import AnalysisConfig
from mlgate.delivery.analysis import Arm, analyse
from mlgate.delivery.rollout import ABORT, ADVANCE, PROMOTE, next_action

STEPS = (5.0, 25.0, 50.0, 100.0)
MIX = (0.5, 0.3, 0.2)  # the stable's class mix, 3 classes; a mean label of 0.7
# multiclass scenarios: a shadow of the candidate mirrors the stable's requests, and half the rows get a
# label LABEL_DELAY seconds after they were served
MULTICLASS = {"mix": MIX, "accuracy": 0.9, "agreement": 0.97, "labelled": 0.5}
LABEL_DELAY = 60.0
SCENARIOS: dict[str, dict[str, Any]] = {
    "healthy": {},
    "errors_5pct": {"errors": 0.05},
    "nan_slice": {"nan": 0.10},
    "slow_2x": {"slow": 2.0},
    "shifted": {"shift": 0.5},
    "multiclass_healthy": MULTICLASS,
    # the same mean label (0.7), another mix: invisible to a comparison of mean predictions
    "class_mix_shift": {**MULTICLASS, "mix": (0.35, 0.6, 0.05)},
    "shadow_disagrees": {**MULTICLASS, "agreement": 0.8},
    "accuracy_drop": {**MULTICLASS, "accuracy": 0.8},
    # multiclass_healthy with an hour's deadline: room for the labels at the 5% step
    "multiclass_healthy_deadline_1h": {**MULTICLASS, "spec": {"deadline_s": 3600.0}},
    # both versions calibrated (their gates kept their outputs): each row's expected correctness (CBPE) is
    # there at once, and the rows that get a label are right with that chance
    "multiclass_healthy_estimated": {**MULTICLASS, "estimated": True},
    "accuracy_drop_estimated": {**MULTICLASS, "estimated": True, "accuracy": 0.8},
}
# the calibrated chance a row is right: Beta with the side's accuracy as its mean, this many pseudo-rows
EXPECTED_CONCENTRATION = 10.0
FIELDS = ("errors", "latency_ms", "predictions", "classes", "agreement", "correct", "expected")


def _draw(rng: np.random.Generator, n: int, fault: dict[str, Any], base: dict[str, Any]) -> dict[str, np.ndarray]:
    """``n`` requests of one row each; ``base`` is the stable's behaviour (multiclass or not), ``fault`` the side's."""
    errors = rng.random(n) < 0.001 + fault.get("errors", 0.0)
    latency = np.exp(rng.normal(np.log(20.0), 0.3, n)) * fault.get("slow", 1.0)
    out = {"errors": errors, "latency_ms": latency}
    if "mix" in base:
        labels = rng.choice(len(MIX), size=n, p=fault.get("mix", base["mix"]))
        out["predictions"] = labels.astype(float)  # integer class labels, as the log reader gives them
        out["classes"] = labels.astype(str).astype(object)
        labelled = rng.random(n) < base["labelled"]
        accuracy = fault.get("accuracy", base["accuracy"])
        if base.get("estimated"):
            k = EXPECTED_CONCENTRATION
            out["expected"] = rng.beta(accuracy * k, (1 - accuracy) * k, n)
            out["correct"] = (rng.random(int(labelled.sum())) < out["expected"][labelled]).astype(float)
            return out
        out["correct"] = (rng.random(int(labelled.sum())) < accuracy).astype(float)
        return out
    preds = rng.normal(0.3 + 0.1 * fault.get("shift", 0.0), 0.1, n)
    nan = rng.random(n) < fault.get("nan", 0.0)
    preds[nan] = np.nan
    out["errors"] = errors | nan  # the server's analysis counts a NaN prediction as a failed request
    out["predictions"] = preds
    return out


def simulate(
    fault: dict[str, Any], spec: AnalysisConfig, rng: np.random.Generator, *, rps: float, tick: float, pause: float
) -> dict[str, float | str]:
    """One rollout to its end: ``outcome``, ``seconds``, ``canary_requests`` served."""
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    now, step, started = t0, 0, t0
    base = {**MULTICLASS, "estimated": fault.get("estimated", False)} if "mix" in fault else {}
    drawn: dict[str, list[tuple[float, dict[str, np.ndarray]]]] = {"canary": [], "stable": []}
    while True:
        n = int(rng.poisson(rps * tick))
        to_canary = int(rng.binomial(n, STEPS[step] / 100.0))
        elapsed = (now - t0).total_seconds()
        drawn["canary"].append((elapsed, _draw(rng, to_canary, fault, base)))
        stable = _draw(rng, n - to_canary, {}, base)
        drawn["stable"].append((elapsed, stable))
        if "agreement" in base:  # the candidate, as the shadow, scores each request the stable version served
            drawn["canary"][-1][1]["agreement"] = rng.random(n - to_canary) < fault["agreement"]
        now += timedelta(seconds=tick)
        arms = {side: _arm(parts, (now - t0).total_seconds()) for side, parts in drawn.items()}
        result = analyse(arms["canary"], arms["stable"], spec)
        action, _ = next_action(STEPS, step, started, pause, spec.deadline_s, result, now)
        if action in (ABORT, PROMOTE):
            return {
                "outcome": action,
                "seconds": (now - t0).total_seconds(),
                "canary_requests": arms["canary"].requests,
                "metric": ",".join(m.name for m in result.metrics if m.decision == "fail") or "-",
            }
        if action == ADVANCE:
            step, started = step + 1, now


def _arm(parts: list[tuple[float, dict[str, np.ndarray]]], now: float) -> Arm:
    """What the analysis sees at ``now``: every request so far, and the labels that have arrived."""
    got: dict[str, np.ndarray] = {}
    for name in FIELDS:
        pieces = [p[name] for t, p in parts if name in p and (name != "correct" or t + LABEL_DELAY <= now)]
        if pieces:
            got[name] = np.concatenate(pieces)
    return Arm(**got)


def main() -> None:
    """Run every scenario and print one JSON line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rollouts", type=int, default=50)
    parser.add_argument("--rps", type=float, default=20.0)
    parser.add_argument("--tick", type=float, default=10.0)
    parser.add_argument("--pause", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--only", default="", help="comma-separated scenarios to run (default: all)")
    args = parser.parse_args()
    spec = AnalysisConfig()
    rng = np.random.default_rng(args.seed)
    for name, fault in SCENARIOS.items():
        if args.only and name not in args.only.split(","):
            continue
        spec_of = replace(spec, **fault.get("spec", {}))
        runs = [
            simulate(fault, spec_of, rng, rps=args.rps, tick=args.tick, pause=args.pause) for _ in range(args.rollouts)
        ]
        aborted = [r for r in runs if r["outcome"] == ABORT]
        served = [float(r["canary_requests"]) for r in aborted]
        print(
            json.dumps(
                {
                    "scenario": name,
                    "rollouts": len(runs),
                    "promoted": sum(r["outcome"] == PROMOTE for r in runs) / len(runs),
                    "aborted": len(aborted) / len(runs),
                    "median_seconds": statistics.median(float(r["seconds"]) for r in runs),
                    "canary_requests_before_abort_median": statistics.median(served) if served else None,
                    "canary_requests_before_abort_max": max(served) if served else None,
                    "failed_metrics": dict(Counter(str(r["metric"]) for r in aborted)),
                }
            ),
            flush=True,
        )


# -- end to end (--section e2e): the same faults on two real `mlgate serve` replicas ------------------------------


def e2e_main() -> None:
    """``--section e2e``: each fault (and a healthy canary) rolled out ``--runs`` times on two real replicas.

    The runs of :mod:`tests.e2e.rollout_harness` (what ``tests/e2e/test_rollout_faults.py`` asserts on):
    for each mode, one project and two ``mlgate serve`` replicas on loopback; then, ``--runs`` times, a
    new candidate rolled out at 50% with ``mlgate rollout start`` and ``mlgate rollout run --follow`` while
    a load generator sends random 5-row requests to both replicas. The controller's interval holds the
    canary requests the default-level analysis needs at the rate the machine sustained just before. Per
    mode, one JSON line: aborts and promotions, the abort latency from the first request the canary served
    to the recorded abort in analysis intervals (median, max), the requests the canary served before the
    abort (median, max), and the failed requests that were not the canary's own before it stopped (0).

        python benchmarks/delivery.py --section e2e --runs 5
    """
    import sys
    import tempfile
    import warnings
    from pathlib import Path

    parser = argparse.ArgumentParser(description=e2e_main.__doc__.splitlines()[0] if e2e_main.__doc__ else None)
    parser.add_argument("--section", choices=["e2e"], required=True)
    parser.add_argument("--runs", type=int, default=5, help="rollouts per mode")
    parser.add_argument("--modes", default="flaky,nan,slow,shifted,healthy")
    parser.add_argument("--rate", type=float, default=80.0, help="requests a second to each replica (the aim)")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `tests.e2e.rollout_harness`
    warnings.filterwarnings("ignore", message=".*ran code stored in its artifact", category=RuntimeWarning)
    from sklearn.datasets import load_breast_cancer
    from tests.e2e.rollout_harness import Stage, summary

    data = load_breast_cancer(return_X_y=True, as_frame=True)
    with tempfile.TemporaryDirectory(prefix="mlgate-delivery-e2e-") as tmp:
        for mode in args.modes.split(","):
            with Stage(Path(tmp) / mode, data, rate=args.rate) as stage:
                runs = [stage.rollout(mode, seed=i) for i in range(args.runs)]
            line = {"section": "e2e", **summary(runs), "runs_detail": [r.figures() for r in runs]}
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    import sys

    if "--section" in sys.argv[1:]:
        e2e_main()
    else:
        main()
