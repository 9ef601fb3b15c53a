"""``mlgate abtest``: plan, start, watch, report and stop an A/B test of two versions on one alias."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from mlgate.cli._common import console, print_json, registry, settings

if TYPE_CHECKING:
    from mlgate.delivery.abtest import Effect, Plan
    from mlgate.delivery.experiment import AbStatus

app = typer.Typer(
    help="A/B tests on outcomes: rows needed up front, a sequential test, per-slice effects, a ratio check.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

TARGET = typer.Argument(..., help="The test's model and alias: fraud@production.")
JSON = typer.Option(False, "--json", help="Print the result as JSON.")
LOG = typer.Option(None, "--log", help="The prediction log (default: delivery.log, serve.log).")
LABELS = typer.Option(None, "--labels", help="The labels folder (default: .mlgate/monitor/labels).")
METRIC_HELP = (
    "accuracy (prediction = label), label (the label's number), label=VALUE (share of rows labelled VALUE) "
    "or value (the labels' value column: a business event's amount)"
)


def _plan_line(p: Plan) -> str:
    return (
        f"to find {p.mde:g} on a baseline of {p.baseline:g} ({p.split:.0%} to B, alpha {p.alpha:g}, "
        f"power {p.power:g}): {p.fixed} rows read once at the end, {p.sequential} rows with the sequential "
        "test (read at any time)"
    )


@app.command("plan")
def plan(
    baseline: float = typer.Option(..., "--baseline", help="The outcome's mean under A: a rate such as 0.90."),
    mde: float = typer.Option(..., "--mde", help="The smallest absolute effect worth finding, e.g. 0.02."),
    split: float = typer.Option(50.0, "--split", help="B's share of the traffic, in percent (1 to 100, exclusive)."),
    alpha: float = typer.Option(0.05, "--alpha", help="False-positive rate of the test."),
    power: float = typer.Option(0.8, "--power", help="Chance to find an effect of --mde."),
    sd: float | None = typer.Option(None, "--sd", help="The outcome's standard deviation (not a rate)."),
    as_json: bool = JSON,
) -> None:
    """Rows needed for the minimum effect: for one test at the end, and for the test that may be read any time."""
    from mlgate.delivery.abtest import check_split
    from mlgate.delivery.abtest import plan as make_plan

    p = make_plan(baseline, mde, split=check_split(split) / 100.0, alpha=alpha, power=power, sd=sd)
    if as_json:
        print_json(p.to_dict())
        return
    console().print(_plan_line(p))


@app.command("start")
def start(
    ctx: typer.Context,
    a: str = typer.Argument(..., metavar="A", help="The version the alias serves now: fraud:7."),
    b: str = typer.Argument(..., metavar="B", help="The challenger: fraud:8 (a passing gate report against A)."),
    alias: str = typer.Option("production", "--alias", "-a", help="The alias whose traffic is split."),
    split: float = typer.Option(50.0, "--split", help="B's share of the traffic, in percent (1 to 100, exclusive)."),
    metric: str = typer.Option(..., "--metric", help=METRIC_HELP),
    mde: float | None = typer.Option(None, "--mde", help="The smallest absolute effect worth finding: plans the test."),
    baseline: float | None = typer.Option(None, "--baseline", help="The metric's mean under A (with --mde)."),
    sd: float | None = typer.Option(None, "--sd", help="The metric's standard deviation, for an amount (with --mde)."),
    alpha: float = typer.Option(0.05, "--alpha", help="Level of the sequential test (two-sided)."),
    power: float = typer.Option(0.8, "--power", help="The plan's chance to find an effect of --mde."),
    min_rows: int = typer.Option(100, "--min-rows", help="Labelled rows each arm needs before any decision."),
    missing: str = typer.Option("skip", "--missing", help="Rows without a label: skip, or zero (business events)."),
    max_rows: int | None = typer.Option(None, "--max-rows", help="Labelled rows after which an undecided test ends."),
    deadline: str | None = typer.Option(None, "--deadline", help="Time after which an undecided test ends: 7d, 12h."),
    data: str | None = typer.Option(None, "--data", help="Evaluation data B's gate report was made on."),
    as_json: bool = JSON,
) -> None:
    """Start an A/B test: servers following the alias send --split percent of requests to B, sticky by request key."""
    from mlgate.delivery.experiment import start as run_start

    deadline_s = None
    if deadline is not None:
        from mlgate.config.sections import seconds
        from mlgate.errors import UsageError

        try:
            deadline_s = seconds(deadline, "--deadline")
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    done = run_start(
        a,
        b,
        alias=alias,
        metric=metric,
        split=split,
        mde=mde,
        baseline=baseline,
        sd=sd,
        alpha=alpha,
        power=power,
        min_rows=min_rows,
        missing=missing,
        max_rows=max_rows,
        deadline_s=deadline_s,
        data=data,
        settings=settings(ctx),
        registry=registry(ctx),
    )
    r = done.rollout
    if as_json:
        print_json({**r.to_dict(), "plan": done.plan.to_dict() if done.plan else None})
        return
    out = console()
    out.print(
        f"[green]started[/] A/B test #{r.id} on {r.name}@{r.alias}: A = {r.stable_ref}, B = {r.candidate_ref} "
        f"({r.weight:g}% of requests), metric {metric}"
    )
    if done.plan is not None:
        out.print(_plan_line(done.plan))
    else:
        out.print("no --mde: no plan; the test runs until the sequence decides, --max-rows or --deadline")


def _line(e: Effect) -> str:
    return (
        f"{e.slice}: A {e.mean_a:.4g} (n={e.rows_a})  B {e.mean_b:.4g} (n={e.rows_b})  effect {e.effect:+.4g}  "
        f"95% [{e.ci95[0]:+.4g}, {e.ci95[1]:+.4g}]  sequence [{e.cs[0]:+.4g}, {e.cs[1]:+.4g}]  {e.decision}"
    )


def _show(st: AbStatus, *, full: bool) -> None:
    r, rep = st.rollout, st.report
    out = console()
    out.print(
        f"A/B test #{r.id} on {r.name}@{r.alias} ({r.status}): A = {r.stable_ref}, B = {r.candidate_ref}, "
        f"metric {rep.outcome}, split {rep.split:.0%}"
    )
    out.print(_line(rep.overall))
    for e in rep.slices:
        out.print("  " + _line(e))
    out.print(
        f"sample ratio check: {rep.requests_a} A and {rep.requests_b} B requests, p = {rep.srm_p:.3g}"
        f"{' — MISMATCH' if rep.srm else ''}"
    )
    out.print(f"{'over' if st.done else 'running'}: {st.why}")
    if full:
        for note in rep.notes:
            out.print(f"note: {note}")


def _status(
    ctx: typer.Context, target: str, metric: str | None, slice_by: str | None, log: Path | None, labels: Path | None
) -> AbStatus:
    from mlgate.cli.labels import labels_folder
    from mlgate.delivery.experiment import status as read_status

    return read_status(
        target,
        metric=metric,
        slice_by=slice_by,
        log=log,
        labels=labels_folder(ctx, labels),
        settings=settings(ctx),
        registry=registry(ctx),
    )


@app.command("status")
def status(
    ctx: typer.Context,
    target: str = TARGET,
    log: Path | None = LOG,
    labels: Path | None = LABELS,
    as_json: bool = JSON,
) -> None:
    """The sequential test so far: B better, worse, no difference, or undecided (valid however often it is read)."""
    st = _status(ctx, target, None, None, log, labels)
    if as_json:
        print_json(st.to_dict())
    else:
        _show(st, full=False)


@app.command("report")
def report(
    ctx: typer.Context,
    target: str = TARGET,
    log: Path | None = LOG,
    labels: Path | None = LABELS,
    metric: str | None = typer.Option(None, "--metric", help="Another metric than the test's own: " + METRIC_HELP),
    slice_by: str | None = typer.Option(None, "--slice", help="An input column to report effects by."),
    as_json: bool = JSON,
) -> None:
    """B against A with intervals, per slice, and the sample-ratio check; exit 1 on a sample ratio mismatch."""
    st = _status(ctx, target, metric, slice_by, log, labels)
    if as_json:
        print_json(st.to_dict())
    else:
        _show(st, full=True)
    if st.report.srm:
        raise typer.Exit(1)


@app.command("stop")
def stop(
    ctx: typer.Context,
    target: str = TARGET,
    promote: str | None = typer.Option(None, "--promote", help="B: move the alias to B on the A/B report."),
    force: bool = typer.Option(False, "--force", help="Promote B although the report does not support it."),
    reason: str | None = typer.Option(None, "--reason", help="Why, recorded with the stop or the promotion."),
    log: Path | None = LOG,
    labels: Path | None = LABELS,
    as_json: bool = JSON,
) -> None:
    """End the test: the alias stays on A, unless --promote B moves it (compare-and-set, the report as evidence)."""
    from mlgate.cli.labels import labels_folder
    from mlgate.delivery.experiment import stop as run_stop

    st = run_stop(
        target,
        promote=promote,
        force=force,
        reason=reason,
        log=log,
        labels=labels_folder(ctx, labels),
        settings=settings(ctx),
        registry=registry(ctx),
    )
    if as_json:
        print_json(st.to_dict())
        return
    _show(st, full=False)
