#!/usr/bin/env python
"""The monitor loop end to end under load: a version that starts failing is alerted and rolled back.

Runs the loop of ``tests/e2e/test_monitor_loop.py`` (``tests/e2e/monitor_loop.py``) with more senders:
a project in a temporary folder, a real SQLite registry, ``bc:1`` (a logistic regression on scikit-learn's
breast-cancer data) in production behind a real ``mlgate serve`` process with the prediction log on,
``--senders`` threads posting 8-row requests without pause, a real webhook receiver that verifies
signatures, and ``mlgate monitor bc@production --follow`` in its own process with one rule
(``for: --for`` windows of ``--window`` seconds, a pass every ``--interval`` seconds, actions alert and
rollback). Then a faulty ``bc:2`` goes through its gate and ``mlgate promote``:

* ``nan``: bc:2 answers NaN outputs (the server fails those requests, 500); rule ``errors.rate > 0.01``;
* ``shift``: bc:2 is a good retrain, but the traffic's ``mean radius`` triples from its first answer on
  (an upstream change shipped with it); rule ``quality.violations > 0``;
* ``slow``: bc:1 takes a 50 ms lookup per request, bc:2 three times that; rule ``latency.p50_ms > 100``.

Printed per fault: requests sent (and per second), failed requests split into the faulty version's own
answers and the others (the monitor, the swap, the rollback: the loop's own failures), the time from
the promotion to the alert at the webhook and to the rollback's alias event, from the rollback to the
server answering with bc:1 only, and the windows the rule used. No other tool closes this loop (an
alert and a compare-and-set rollback recorded with its evidence), so there is no anchor to run beside it.

    .venv/bin/python benchmarks/monitor_loop.py                 # the three faults, 6 senders
    .venv/bin/python benchmarks/monitor_loop.py --fault slow --senders 2

See benchmarks/README.md ("Monitoring", ``monitor_loop.py``) for the figures on the project's 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the loop and its fault models live beside the e2e test

from tests.e2e.monitor_loop import FAULTS, LoopResult, run_loop  # noqa: E402


def swap_back_s(r: LoopResult) -> float | None:
    """Seconds from the rollback to the first answer after which every answer in the run was bc:1's."""
    if r.rollback_at is None:
        return None
    after = [s for s in r.sent if s.at > r.rollback_at]
    last_other = max((s.at for s in after if s.version != "bc:1"), default=r.rollback_at)
    first_clean = min((s.at for s in after if s.at > last_other and s.version == "bc:1"), default=None)
    return None if first_clean is None else first_clean - r.rollback_at


def latency_ms(r: LoopResult, version: str) -> float | None:
    took = [s.took * 1000 for s in r.sent if s.version == version and s.status == 200]
    return statistics.median(took) if took else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fault", choices=(*FAULTS, "all"), default="all")
    parser.add_argument("--senders", type=int, default=6, help="threads posting requests without pause")
    parser.add_argument("--window", type=float, default=2.0, help="window length, seconds")
    parser.add_argument("--for", dest="windows", type=int, default=2, help="windows in a row the rule must hold")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between the monitor's passes")
    args = parser.parse_args()
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    print(
        f"# monitor loop: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"
    )
    print(
        f"# {args.senders} senders, 8-row requests; rule for {args.windows} windows of {args.window:g} s, "
        f"a pass every {args.interval:g} s"
    )
    header = (
        "fault", "requests", "req/s", "failed: faulty", "failed: other", "alert s", "rollback s",
        "swap back s", "alert windows", "fired value", "p50 bc:1 ms", "p50 bc:2 ms", "rule",
    )  # fmt: skip
    rows = []
    for fault in FAULTS if args.fault == "all" else (args.fault,):
        with tempfile.TemporaryDirectory(prefix="mlgate-monitor-loop-") as tmp:
            began = time.time()
            r = run_loop(
                Path(tmp) / "project", fault, X, y,
                window_s=args.window, windows=args.windows, interval_s=args.interval, senders=args.senders,
            )  # fmt: skip
            took = time.time() - began
        alert = r.first_alert
        failed = r.failed_by()
        span = (r.sent[-1].at - r.sent[0].at) if r.sent else 0.0
        alert_s = None if alert is None else alert["at"] - r.fault_at
        rollback_s = None if r.rollback_at is None else r.rollback_at - r.fault_at
        fmt = lambda v: "-" if v is None else f"{v:.1f}"  # noqa: E731
        rows.append(
            (
                fault, str(len(r.sent)), f"{len(r.sent) / span:.0f}" if span else "-",
                str(failed["faulty version"]), str(failed["other"]), fmt(alert_s), fmt(rollback_s),
                fmt(swap_back_s(r)), fmt(None if alert_s is None else alert_s / r.window_s),
                "-" if alert is None else f"{alert['body']['value']:.3g}", fmt(latency_ms(r, "bc:1")), fmt(latency_ms(r, "bc:2")), r.rule,
            )
        )  # fmt: skip
        print(f"# {fault}: done in {took:.0f} s", file=sys.stderr)
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |")
    print(
        "# alert/rollback s: from the promotion's alias event; swap back s: from the rollback's alias event to "
        "the first of only bc:1 answers; alert windows: alert s over the window length; fired value: the rule's "
        "figure in the window that fired (the server's own latency for slow); p50: client-side, queueing included"
    )


if __name__ == "__main__":
    main()
