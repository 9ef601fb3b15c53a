"""``mlgate rollout``: start, watch, step, pause, resume, abort and promote a progressive delivery."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from mlgate.cli._common import console, print_json, registry, settings

if TYPE_CHECKING:
    from mlgate.delivery.rollout import StepOutcome
    from mlgate.registry.rollouts import Rollout

app = typer.Typer(
    help="Canary rollouts that analyse themselves: steps of traffic, abort or promotion on evidence.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

TARGET = typer.Argument(..., help="The rollout's model and alias: fraud@production.")
JSON = typer.Option(False, "--json", help="Print the rollout as JSON.")


def _steps(text: str | None) -> list[float] | None:
    from mlgate.errors import UsageError

    if text is None:
        return None
    try:
        return [float(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise UsageError(f"--steps must be percentages separated by commas, e.g. 5,25,50,100; got {text!r}") from None


def _seconds(text: str | None, flag: str) -> float | None:
    from mlgate.config.sections import seconds
    from mlgate.errors import UsageError

    if text is None:
        return None
    try:
        return seconds(text, flag)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def _show(r: Rollout, as_json: bool, verb: str | None = None) -> None:
    if as_json:
        print_json(r.to_dict())
        return
    out = console()
    if verb:
        out.print(verb)
    steps = " → ".join(f"[bold]{s:g}%[/]" if i == r.step else f"{s:g}%" for i, s in enumerate(r.steps))
    out.print(f"rollout #{r.id}: {r.candidate_ref} on {r.name}@{r.alias} (stable {r.stable_ref}) — {r.status}")
    out.print(f"  weight {r.weight:g}%   steps {steps}   pause {r.pause_s:g} s   analysis {r.analysis}")
    if r.last_analysis:
        out.print(f"  {_when(r.last_analysis)}: {r.last_analysis.get('decision')} — {r.last_analysis.get('reason')}")


def _when(analysis: dict[str, object]) -> str:
    """``last analysis 07:13:42, 3 s ago`` (UTC), from the time the controller stored with it."""
    from datetime import UTC, datetime

    at = analysis.get("at")
    if not isinstance(at, str):
        return "last analysis"  # recorded before analyses carried their time
    made = datetime.fromisoformat(at)
    age = max(0.0, (datetime.now(UTC) - made).total_seconds())
    ago = f"{age:.0f} s" if age < 120 else f"{age / 60:.0f} min" if age < 7200 else f"{age / 3600:.0f} h"
    return f"last analysis {made.astimezone(UTC):%H:%M:%S}, {ago} ago"


@app.command("start")
def start(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="The candidate: fraud:8 (it needs a passing gate report for the alias)."),
    alias: str = typer.Option("production", "--alias", "-a", help="The alias the candidate is rolled out on."),
    steps: str | None = typer.Option(None, "--steps", help="Canary weights in percent, e.g. 5,25,50,100."),
    pause: str | None = typer.Option(None, "--pause", help="Time at each step before it may advance: 30s, 10m, 1h."),
    analysis: str | None = typer.Option(None, "--analysis", help="A name under delivery: analyses: in mlgate.yaml."),
    data: str | None = typer.Option(None, "--data", help="Evaluation data the gate report was made on."),
    as_json: bool = JSON,
) -> None:
    """Start a rollout at its first step; servers following the alias send that share to the candidate."""
    from mlgate.delivery.rollout import start as run_start

    r = run_start(
        ref,
        alias=alias,
        steps=_steps(steps),
        pause_s=_seconds(pause, "--pause"),
        analysis=analysis,
        data=data,
        settings=settings(ctx),
        registry=registry(ctx),
    )
    _show(r, as_json, f"[green]started[/] rollout #{r.id}")


@app.command("status")
def status(
    ctx: typer.Context,
    target: str = TARGET,
    events: int = typer.Option(5, "--events", "-n", help="Show the last N recorded events (0: none)."),
    as_json: bool = JSON,
) -> None:
    """The active rollout of MODEL@ALIAS, else its latest one, with its last events."""
    from mlgate.delivery.rollout import find

    reg = registry(ctx)
    r = find(reg, target)
    recorded = reg.rollout_events(r)[-events:] if events > 0 else []
    if as_json:
        print_json({**r.to_dict(), "events": [e.to_dict() for e in recorded]})
        return
    _show(r, False)
    for e in recorded:
        what = e.detail.get("reason") or e.detail.get("why") or e.detail.get("decision") or ""
        console().print(f"  {e.created_at:%Y-%m-%d %H:%M:%S} {e.kind:<8} {e.weight:g}%  {e.actor}  {what}")


@app.command("pause")
def pause(ctx: typer.Context, target: str = TARGET, as_json: bool = JSON) -> None:
    """Hold the rollout at its weight; the controller waits until it is resumed."""
    from mlgate.delivery.rollout import pause as run_pause

    _show(run_pause(target, settings=settings(ctx), registry=registry(ctx)), as_json, "[yellow]paused[/]")


@app.command("resume")
def resume(ctx: typer.Context, target: str = TARGET, as_json: bool = JSON) -> None:
    """Let a paused rollout go on."""
    from mlgate.delivery.rollout import resume as run_resume

    _show(run_resume(target, settings=settings(ctx), registry=registry(ctx)), as_json, "[green]resumed[/]")


@app.command("abort")
def abort(
    ctx: typer.Context,
    target: str = TARGET,
    reason: str | None = typer.Option(None, "--reason", help="Why; recorded on the rollout's event."),
    as_json: bool = JSON,
) -> None:
    """End the rollout now: weight 0, the alias stays on the stable version."""
    from mlgate.delivery.rollout import abort as run_abort

    r = run_abort(target, reason=reason, settings=settings(ctx), registry=registry(ctx))
    _show(r, as_json, "[red]aborted[/]")


@app.command("promote")
def promote(
    ctx: typer.Context,
    target: str = TARGET,
    reason: str | None = typer.Option(None, "--reason", help="Why; recorded on the alias event."),
    as_json: bool = JSON,
) -> None:
    """Promote the candidate now, skipping the remaining steps (its gate report is still required)."""
    from mlgate.delivery.rollout import promote_now

    r = promote_now(target, reason=reason, settings=settings(ctx), registry=registry(ctx))
    _show(r, as_json, "[green]promoted[/]")


@app.command("run")
def run(
    ctx: typer.Context,
    target: str = TARGET,
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep going until the rollout is promoted or aborted."),
    interval: str = typer.Option("10s", "--interval", help="With --follow: time between analyses."),
    as_json: bool = typer.Option(False, "--json", help="Print each outcome as a JSON line."),
) -> None:
    """Analyse once and wait, advance, promote or abort; with --follow, until the rollout ends.

    Exit 1 when the rollout is (or ends) aborted.
    """
    from mlgate.delivery.rollout import ABORT, step
    from mlgate.delivery.rollout import follow as run_follow

    def say(outcome: StepOutcome) -> None:
        if as_json:
            print_json(outcome.to_dict())
            return
        color = {"abort": "red", "promote": "green", "advance": "cyan"}.get(outcome.action, "white")
        console().print(f"[{color}]{outcome.action}[/] {outcome.message}")

    cfg, reg = settings(ctx), registry(ctx)
    environ = cfg.monitor_environ  # the secrets of monitor.webhooks, for the alert an abort sends
    if follow:
        seconds = _seconds(interval, "--interval") or 0.0
        outcome = run_follow(target, interval_s=seconds, settings=cfg, registry=reg, say=say, environ=environ)
    else:
        outcome = step(target, settings=cfg, registry=reg, environ=environ)
        say(outcome)
    if outcome.action == ABORT or outcome.rollout.status == "aborted":
        raise typer.Exit(1)
