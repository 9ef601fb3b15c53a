"""``mlgate ci``: the pull-request steps, one report, one exit code (thin adapter over :mod:`mlgate.ci.run`)."""

from __future__ import annotations

from pathlib import Path

import typer

from mlgate.cli._common import console, err_console, settings

MARKS = {"pass": "[green]✔ pass[/]", "fail": "[red]✘ fail[/]", "error": "[red]✘ error[/]", "skip": "[dim]– skip[/]"}


def ci(
    ctx: typer.Context,
    base: str | None = typer.Option(
        None,
        "--base",
        help="The branch the pull request merges into (default: GITHUB_BASE_REF or "
        "CI_MERGE_REQUEST_TARGET_BRANCH_NAME, else the repository's default branch: origin/HEAD, main or master).",
    ),
    report: Path = typer.Option(
        Path("mlgate-report/report.md"), "--report", help="Write the Markdown report here; its plots go beside it."
    ),
    token: str | None = typer.Option(
        None,
        "--token",
        help="Token to comment on the pull request (default: MLGATE_GITHUB_TOKEN, then GITHUB_TOKEN) or, in "
        "GitLab CI, on the merge request (MLGATE_GITLAB_TOKEN, then GITLAB_TOKEN).",
    ),
    repo: str | None = typer.Option(
        None, "--repo", help="owner/name (default: GITHUB_REPOSITORY); in GitLab CI the project (CI_PROJECT_ID)."
    ),
    pr: int | None = typer.Option(
        None,
        "--pr",
        help="Pull request number (default: from GITHUB_REF); in GitLab CI the merge request's IID "
        "(CI_MERGE_REQUEST_IID).",
    ),
    candidate: str | None = typer.Option(
        None, "--candidate", help="The version to gate (default: the one this run or commit registered)."
    ),
    no_smoke: bool = typer.Option(False, "--no-smoke", help="Run the pipeline in full, not in smoke mode."),
    promote_to: str | None = typer.Option(
        None, "--promote-to", help="Promote the candidate to this alias when every step passed (main: staging)."
    ),
) -> None:
    """Validate data, run the pipeline, gate against production and report. Exit 0, 1 (a check failed), 2 or 3."""
    from rich.markup import escape

    from mlgate.ci.run import ci as run_ci

    status = err_console().status("mlgate ci", spinner="dots")
    status.start()
    try:
        result = run_ci(
            settings(ctx),
            base=base,
            report=report,
            token=token,
            repository=repo,
            pull_request=pr,
            candidate=candidate,
            smoke=not no_smoke,
            promote_to=promote_to,
            say=lambda msg: status.update(escape(msg)),
        )
    finally:
        status.stop()
    out = console()
    for s in result.steps:
        out.print(f"{MARKS.get(s.status, s.status)} [bold]{escape(s.name)}[/]: {escape(s.summary)}")
    for note in result.notes:
        out.print(f"[dim]note:[/] {escape(note)}")
    if result.report_path is not None:
        out.print(f"report: {escape(str(result.report_path))}")
    if result.exit_code:
        raise typer.Exit(result.exit_code)
