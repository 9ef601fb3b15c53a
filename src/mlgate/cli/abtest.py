"""``mlgate abtest``: plan an A/B test's size, and report B against A on labelled outcomes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from mlgate.cli._common import console, print_json, registry, settings

if TYPE_CHECKING:
    from mlgate.delivery.abtest import Effect

app = typer.Typer(
    help="A/B tests on outcomes: rows needed up front, a sequential test, per-slice effects, a ratio check.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.command("plan")
def plan(
    baseline: float = typer.Option(..., "--baseline", help="The outcome's mean under A: a rate such as 0.90."),
    mde: float = typer.Option(..., "--mde", help="The smallest absolute effect worth finding, e.g. 0.02."),
    split: float = typer.Option(50.0, "--split", help="B's share of the traffic, in percent."),
    alpha: float = typer.Option(0.05, "--alpha", help="False-positive rate of the test."),
    power: float = typer.Option(0.8, "--power", help="Chance to find an effect of --mde."),
    sd: float | None = typer.Option(None, "--sd", help="The outcome's standard deviation (not a rate)."),
    as_json: bool = typer.Option(False, "--json", help="Print the plan as JSON."),
) -> None:
    """Rows needed for the minimum effect: for one test at the end, and for the test that may be read any time."""
    from mlgate.delivery.abtest import plan as make_plan

    p = make_plan(baseline, mde, split=split / 100.0, alpha=alpha, power=power, sd=sd)
    if as_json:
        print_json(p.to_dict())
        return
    console().print(
        f"to find {mde:g} on a baseline of {baseline:g} ({split:g}% to B, alpha {alpha:g}, power {power:g}): "
        f"{p.fixed} rows read once at the end, {p.sequential} rows with the sequential test (read at any time)"
    )


def _line(e: Effect) -> str:
    return (
        f"{e.slice}: A {e.mean_a:.4g} (n={e.rows_a})  B {e.mean_b:.4g} (n={e.rows_b})  effect {e.effect:+.4g}  "
        f"95% [{e.ci95[0]:+.4g}, {e.ci95[1]:+.4g}]  sequence [{e.cs[0]:+.4g}, {e.cs[1]:+.4g}]  {e.decision}"
    )


@app.command("report")
def report(
    ctx: typer.Context,
    target: str = typer.Argument(..., help="The rollout holding the split: fraud@production."),
    log: Path | None = typer.Option(None, "--log", help="The prediction log (default: delivery.log, serve.log)."),
    labels: Path | None = typer.Option(None, "--labels", help="The labels folder (default: .mlgate/monitor/labels)."),
    outcome: str = typer.Option("correct", "--outcome", help="correct (prediction = label) or label (its value)."),
    slice_by: str | None = typer.Option(None, "--slice", help="An input column to report effects by."),
    alpha: float = typer.Option(0.05, "--alpha", help="Level of the confidence sequences."),
    min_rows: int = typer.Option(100, "--min-rows", help="Rows each arm needs before a decision."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """B (the rollout's candidate) against A (its stable) on labelled outcomes; exit 1 on a sample ratio mismatch."""
    from datetime import UTC, datetime

    from mlgate.cli.labels import labels_folder
    from mlgate.delivery.abtest import analyse_outcomes, outcomes_from_log
    from mlgate.delivery.rollout import split_target
    from mlgate.errors import UsageError

    cfg = settings(ctx)
    name, alias = split_target(target)
    r = registry(ctx).rollout(name, alias)
    folder = log or cfg.delivery.log
    if folder is None:
        raise UsageError("no prediction log: pass --log or set serve.log in mlgate.yaml")
    until = datetime.now(UTC) if r.active else r.updated_at
    a, b, sa, sb = outcomes_from_log(
        folder,
        labels_folder(ctx, labels),
        name,
        r.stable,
        r.candidate,
        since=r.created_at,
        until=until,
        outcome=outcome,
        slice_by=slice_by,
    )
    split = r.steps[r.step] / 100.0
    result = analyse_outcomes(
        a, b, split=split, outcome=outcome, alpha=alpha, slices_a=sa, slices_b=sb, min_rows=min_rows
    )
    if as_json:
        print_json({"a": r.stable_ref, "b": r.candidate_ref, **result.to_dict()})
    else:
        out = console()
        out.print(f"A/B on {target}: A = {r.stable_ref}, B = {r.candidate_ref}, outcome {outcome}, split {split:.0%}")
        out.print(_line(result.overall))
        for e in result.slices:
            out.print("  " + _line(e))
        out.print(f"sample ratio check: p = {result.srm_p:.3g}{' — MISMATCH' if result.srm else ''}")
        for note in result.notes:
            out.print(f"note: {note}")
    if result.srm:
        raise typer.Exit(1)
