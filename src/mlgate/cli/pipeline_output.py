"""What ``mlgate run`` and ``mlgate status`` do and print, free of Typer: shared by the fast path and the commands."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mlgate.cli._common import console, err_console, print_json

if TYPE_CHECKING:
    from mlgate.config import Settings
    from mlgate.pipeline.runner import RunResult, StageResult

Line = list[tuple[str, "str | None"]]  # (text, Rich style or None) pieces of one output line

OUTPUT_LINES = 5  # of each stage that ran, shown after the run's table
_STYLE = {"ran": "green", "cached": "cyan", "failed": "bold red", "skipped": "yellow", "up to date": "cyan"}


def run_command(cfg: Settings, stages: Sequence[str], *, as_json: bool = False, **opts: Any) -> int:
    """Run stale stages and print the result; the exit code: 1 if a stage failed, else 0."""
    if as_json:
        from mlgate.pipeline.runner import run as run_pipeline

        result = run_pipeline(cfg, stages, **opts)
        print_json(result.to_dict())
    else:
        result = _run_with_progress(cfg, stages, opts)
        if result.noop:
            lines: list[Line] = [[(s.name, "cyan"), (": up to date", None)] for s in result.stages]
            noun = "stage is" if len(result.stages) == 1 else "stages are"
            lines.append(
                [(f"nothing to run: {len(result.stages)} {noun} up to date ", None), (f"(run {result.run_id})", "dim")]
            )
            emit(lines)
        else:
            _render_run(result)
    return 0 if result.ok else 1


def status_command(cfg: Settings, stages: Sequence[str], *, smoke: bool = False, as_json: bool = False) -> int:
    """Print which stages are stale and why; the exit code: 1 when a stage is stale, else 0."""
    from mlgate.pipeline.status import status as pipeline_status

    if not stages and no_stages_yet(cfg):
        if as_json:
            print_json({"stale": False, "stages": []})
        else:
            emit([[(f"{cfg.line_of()} declares no stages yet, so nothing is stale", None)]])
            emit([[("  add a 'stages:' section to run a pipeline (docs/pipelines.md)", "dim")]])
        return 0
    states = pipeline_status(cfg, stages, smoke=smoke)
    stale = [s for s in states if s.stale]
    if as_json:
        print_json({"stale": bool(stale), "stages": [s.to_dict() for s in states]})
        return 1 if stale else 0
    lines: list[Line] = []
    for st in states:
        lines.append(
            [(st.name, "yellow"), (": stale", None)] if st.stale else [(st.name, "cyan"), (": up to date", None)]
        )
        lines.extend([(f"  - {why}", None)] for why in st.reasons)
    lines.append([(f"{len(stale)} of {len(states)} stage(s) stale" if stale else "everything is up to date", None)])
    emit(lines)
    return 1 if stale else 0


def no_stages_yet(cfg: Settings) -> bool:
    """A project whose mlgate.yaml has no stages (yet): `mlgate init` writes one like that."""
    return cfg.config_path is not None and not cfg.pipeline.has_stages


def emit(lines: list[Line]) -> None:
    """Print styled lines: through Rich on a terminal; as plain text otherwise, without importing Rich.

    Rich would print the same plain text to a pipe or a CI log; skipping its import is a third of a
    no-op ``mlgate status``.
    """
    if sys.stdout.isatty():
        from rich.text import Text

        out = console()
        for line in lines:
            # "" for no style: Text.append ignores a falsy style, and assemble's annotation has no None
            out.print(Text.assemble(*((text, style or "") for text, style in line)))
    else:
        sys.stdout.write("".join("".join(text for text, _ in line) + "\n" for line in lines))
        sys.stdout.flush()


def _run_with_progress(cfg: Settings, stages: Sequence[str], opts: dict[str, Any]) -> RunResult:
    """The run, with a live line per stage once one needs its command or the cache.

    Rich's progress display is only set up then: a no-op run prints its lines without paying for it.
    """
    import threading

    from mlgate.pipeline.runner import run as run_pipeline

    state: dict[str, Any] = {"progress": None, "tasks": {}}
    mutex = threading.Lock()

    def progress() -> Any:
        if state["progress"] is None:
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            state["progress"] = bar = Progress(
                SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err_console()
            )
            bar.start()
        return state["progress"]

    def on_event(kind: str, payload: Any) -> None:
        with mutex:
            tasks = state["tasks"]
            if kind == "start" or (kind == "done" and payload.name not in tasks):
                return  # nothing shown until a stage needs its command or the cache: a no-op never imports Rich
            from rich.markup import escape

            if kind == "wait":
                err_console().print(f"[yellow]waiting for the project lock:[/] {escape(str(payload))}")
            elif kind in ("running", "restoring"):
                verb = "running" if kind == "running" else "restoring from the cache"
                tasks[payload] = progress().add_task(f"{escape(payload)}: {verb}…", total=1)
            elif kind == "done":
                res: StageResult = payload
                style = _STYLE.get(res.outcome, "white")
                label = f"{escape(res.name)}: [{style}]{res.outcome}[/]"
                if res.outcome == "cached" and res.restored:
                    label += f" ({res.restored} file(s) restored)"
                progress().update(tasks[res.name], description=label, completed=1)

    try:
        return run_pipeline(cfg, stages, on_event=on_event, **opts)
    finally:
        if state["progress"] is not None:
            state["progress"].stop()


def _render_run(result: RunResult) -> None:
    from rich.markup import escape
    from rich.table import Table

    title = "dry run: nothing was changed" if result.dry_run else f"run {result.run_id}"
    if result.smoke:
        title += " (smoke)"
    table = Table(title=title)
    for col in ("stage", "outcome", "time", "why"):
        table.add_column(col)
    for s in result.stages:
        style = _STYLE.get(s.outcome, "white")
        why = "; ".join(s.reasons[:3]) + (" …" if len(s.reasons) > 3 else "")
        if s.outcome == "cached" and s.restored:
            why = f"{s.restored} file(s) restored from the cache; " + why
        table.add_row(
            escape(s.name), f"[{style}]{s.outcome}[/]", f"{s.duration_s:.2f} s" if s.duration_s else "", escape(why)
        )
    console().print(table)
    counts = {k: sum(s.outcome == k for s in result.stages) for k in ("ran", "cached", "failed", "skipped")}
    if not result.dry_run:
        console().print(
            f"{counts['ran']} ran, {counts['cached']} cached, {counts['failed']} failed, {counts['skipped']} skipped "
            f"in {result.duration_s:.2f} s"
        )
    _print_output(result)
    err = err_console()
    for s in result.stages:
        if s.outcome == "failed":
            err.print(f"[bold red]failed:[/] {escape(s.error or s.name)}")
            if s.log_tail:
                err.print(f"  last {len(s.log_tail)} line(s) of the log:")
                for line in s.log_tail:
                    err.print(f"  │ {escape(line)}")


def _print_output(result: RunResult) -> None:
    """The last lines each stage that ran printed: what it registered, its score, its warnings."""
    from pathlib import Path

    from rich.markup import escape

    out = console()
    for s in result.stages:
        lines = [line for line in s.log_tail if line.strip()][-OUTPUT_LINES:]
        if s.outcome != "ran" or not lines:
            continue
        log = Path(s.log_path) if s.log_path else None
        if log is not None and log.is_relative_to(Path.cwd()):
            log = log.relative_to(Path.cwd())
        out.print(f"[cyan]{escape(s.name)}[/] printed" + (f" [dim](full log: {escape(str(log))})[/]" if log else ""))
        for line in lines:
            out.print(f"  │ {escape(line)}")
