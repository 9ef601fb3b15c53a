"""The one pull-request report of ``mlgate ci``: what each step found, as GitHub Markdown.

Sections in reading order: the verdict and a table of steps, data validation, the pipeline's stages
(ran or cached), metrics against the base branch's last run, the gate report (metrics against production,
the gate table, failing slices) and notes. Plots are linked relatively when they lie next to the report
file; a comment or job summary, which cannot show files of the runner, points to the workflow artifact.
"""

from __future__ import annotations

from typing import Any

from mlgate.ci.comment import MARKER
from mlgate.redact import redact

MARKS = {"pass": "✅ pass", "fail": "❌ fail", "error": "❌ error", "skip": "➖ skip"}


def render(result: Any, *, images: dict[str, str] | None = None, run_url: str | None = None) -> str:
    """The report for a ``CiResult``; ``images`` maps plot names to paths relative to the report file."""
    from mlgate.report.markdown import md_code, md_text

    verdict = "✅ passed" if result.passed else "❌ failed"
    git = result.git
    where = f"{md_code(git['commit'][:12], cell=False)}"
    if git.get("branch") and git["branch"] != "HEAD":
        where += f" on {md_code(git['branch'], cell=False)}"
    lines = [MARKER, f"# mlgate ci: {verdict}", "", f"{where} · base branch {md_code(result.base, cell=False)}"]
    if run_url:
        lines[-1] += f" · [workflow run]({run_url})"
    lines += ["", "| step | result | details |", "|:---|:---|:---|"]
    for s in result.steps:
        lines.append(f"| {md_text(s.name)} | {MARKS.get(s.status, s.status)} | {md_text(_first_line(s.summary))} |")
    lines.append("")
    errors = [s for s in result.steps if s.status == "error"]
    for s in errors:
        lines += [f"**{md_text(s.name)}** could not run:", "", "```text", s.summary, "```", ""]
    for rep in result.validations:
        if rep.ok:  # a passing table is long and says nothing a reviewer must read
            summary = f"Data validation ✅ {rep.source}: {rep.rows:,} rows, {len(rep.checks)} checks passed"
            lines += [
                f"<details><summary>{md_text(summary)}</summary>",
                "",
                rep.to_markdown().rstrip(),
                "",
                "</details>",
            ]
            lines.append("")
        else:
            lines += [rep.to_markdown().rstrip(), ""]
    lines += _pipeline(result)
    lines += _metrics(result)
    if result.gate is not None:
        gate_md = _gate_markdown(result.gate.report, images)
        if not result.gate.report.get("champion"):
            lines += [
                "> **No production version yet**: this is the first model. Change gates (`vs: production`) "
                "are marked skipped; absolute bounds still apply.",
                "",
            ]
        lines += [gate_md.rstrip(), ""]
        if images is None:
            where_plots = f"the `mlgate-report` artifact of the [workflow run]({run_url})" if run_url else None
            lines += [f"Plots: {where_plots or 'written next to the report file (the mlgate-report artifact)'}.", ""]
    if result.notes:
        lines += ["### Notes", "", *(f"- {md_text(n)}" for n in result.notes), ""]
    # the report lands in a public comment and CI logs: a secret inside any step's message is masked here
    return redact("\n".join(lines).rstrip() + "\n")


def _first_line(text: str) -> str:
    line = str(text).strip().splitlines()[0] if str(text).strip() else ""
    return line if len(line) <= 200 else line[:199] + "…"


def _pipeline(result: Any) -> list[str]:
    from mlgate.report.markdown import md_code, md_text

    run = result.pipeline
    if run is None:
        return []
    title = "### Pipeline" + (" (smoke run)" if result.smoke else "")
    lines = [title, "", f"run {md_code(run.run_id, cell=False)}: {run.cache_hits} of {len(run.stages)} stage(s) "
             "from the cache", "", "| stage | outcome | time | files restored |", "|:---|:---|---:|---:|"]  # fmt: skip
    for s in run.stages:
        lines.append(f"| {md_text(s.name)} | {md_text(s.outcome)} | {s.duration_s:.1f} s | {s.restored} |")
    lines.append("")
    if result.stage_graph:  # GitHub and GitLab draw Mermaid blocks; elsewhere the source stays readable
        lines += ["<details><summary>stage graph</summary>", "", "```mermaid", result.stage_graph.rstrip(), "```"]
        lines += ["", "</details>", ""]
    for s in run.stages:
        if s.outcome == "failed":
            lines += [f"**{md_text(s.name)} failed**: {md_text(_first_line(s.error or ''))}", ""]
            if s.log_tail:
                lines += ["```text", *s.log_tail, "```", ""]
    return lines


def _metrics(result: Any) -> list[str]:
    from mlgate.report.markdown import md_code, md_text

    if result.base_run is None or result.this_run is None:
        return []
    base = result.base_run
    head = f"### Metrics against {md_code(result.base, cell=False)}"
    lead = f"the base branch's last run {md_code(base.id, cell=False)}"
    if base.commit:
        lead += f" at {md_code(base.commit[:12], cell=False)}"
    lines = [head, "", lead, ""]
    if not result.metric_rows:
        return [*lines, "Neither run recorded metrics (declare `metrics:` files on a stage).", ""]
    lines += [f"| metric | {md_text(result.base)} | this branch | change |", "|:---|---:|---:|---:|"]
    for row in result.metric_rows:
        lines.append(f"| {md_code(row.key)} | {_value(row.a)} | {_value(row.b)} | {md_text(row.change)} |")
    return [*lines, ""]


def _value(value: Any) -> str:
    from mlgate.pipeline.runs import ABSENT
    from mlgate.report.markdown import md_text

    if value is ABSENT:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return md_text(str(value))


def _gate_markdown(report: dict[str, Any], images: dict[str, str] | None) -> str:
    from mlgate.report import markdown

    return markdown(report, images=images or None)
