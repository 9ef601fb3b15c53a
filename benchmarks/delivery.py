"""How often rollouts promote a healthy canary and abort faulty ones, on a simulated clock with synthetic traffic.

The controller's own decision rule (:func:`mlgate.delivery.rollout.next_action`) and analysis
(:func:`mlgate.delivery.analysis.analyse`, the default analysis of ``delivery:``) run on requests drawn
tick by tick: ``--rps`` requests a second split by the current weight, a tick every ``--tick`` seconds,
steps 5, 25, 50, 100 with ``--pause`` seconds each. The stable version fails 0.1% of requests, answers in
a log-normal 20 ms (σ of the log 0.3) and predicts N(0.3, 0.1). Faults: a canary failing 5% more of its
requests, one returning NaN for a slice (10% of rows), one twice as slow, one whose predictions are shifted
by half a standard deviation. Per scenario: promoted and aborted shares, the median time to the decision,
and the requests the canary served before an abort (median and maximum).

    python benchmarks/delivery.py --rollouts 50
"""

from __future__ import annotations

import argparse
import json
import statistics
from datetime import UTC, datetime, timedelta

import numpy as np

from mlgate.config.sections import AnalysisConfig
from mlgate.delivery.analysis import Arm, analyse
from mlgate.delivery.rollout import ABORT, ADVANCE, PROMOTE, next_action

STEPS = (5.0, 25.0, 50.0, 100.0)
SCENARIOS = {
    "healthy": {},
    "errors_5pct": {"errors": 0.05},
    "nan_slice": {"nan": 0.10},
    "slow_2x": {"slow": 2.0},
    "shifted": {"shift": 0.5},
}


def _draw(rng: np.random.Generator, n: int, fault: dict[str, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    errors = rng.random(n) < 0.001 + fault.get("errors", 0.0)
    latency = np.exp(rng.normal(np.log(20.0), 0.3, n)) * fault.get("slow", 1.0)
    preds = rng.normal(0.3 + 0.1 * fault.get("shift", 0.0), 0.1, n)
    nan = rng.random(n) < fault.get("nan", 0.0)
    preds[nan] = np.nan
    errors |= nan  # the server's analysis counts a NaN prediction as a failed request
    return errors, latency, preds


def simulate(
    fault: dict[str, float], spec: AnalysisConfig, rng: np.random.Generator, *, rps: float, tick: float, pause: float
) -> dict[str, float | str]:
    """One rollout to its end: ``outcome``, ``seconds``, ``canary_requests`` served."""
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    now, step, started = t0, 0, t0
    sides: dict[str, list[list[np.ndarray]]] = {"canary": [[], [], []], "stable": [[], [], []]}
    while True:
        n = int(rng.poisson(rps * tick))
        to_canary = int(rng.binomial(n, STEPS[step] / 100.0))
        for side, k, f in (("canary", to_canary, fault), ("stable", n - to_canary, {})):
            for bucket, values in zip(sides[side], _draw(rng, k, f), strict=True):
                bucket.append(values)
        now += timedelta(seconds=tick)
        arms = {s: Arm(*(np.concatenate(b) for b in sides[s])) for s in sides}
        result = analyse(arms["canary"], arms["stable"], spec)
        action, _ = next_action(STEPS, step, started, pause, spec.deadline_s, result, now)
        if action in (ABORT, PROMOTE):
            return {
                "outcome": action,
                "seconds": (now - t0).total_seconds(),
                "canary_requests": arms["canary"].requests,
            }
        if action == ADVANCE:
            step, started = step + 1, now


def main() -> None:
    """Run every scenario and print one JSON line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rollouts", type=int, default=50)
    parser.add_argument("--rps", type=float, default=20.0)
    parser.add_argument("--tick", type=float, default=10.0)
    parser.add_argument("--pause", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    spec = AnalysisConfig()
    rng = np.random.default_rng(args.seed)
    for name, fault in SCENARIOS.items():
        runs = [
            simulate(fault, spec, rng, rps=args.rps, tick=args.tick, pause=args.pause) for _ in range(args.rollouts)
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
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
