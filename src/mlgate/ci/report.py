"""The one pull-request report of ``mlgate ci``: what each step found, assembled from report views.

Sections in reading order: the verdict and a table of steps, data validation (each file's own view),
the pipeline's stages (ran or cached), metrics against the base branch's last run, the gate report (its
own view: metrics against production, the gate table, failing slices) and notes. :func:`ci_document`
builds the :class:`~mlgate.report.view.Document`; :func:`render` draws it as GitHub Markdown behind the
comment's hidden marker. Plots are linked relatively when they lie next to the report file; a comment
or job summary, which cannot show files of the runner, points to the workflow artifact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlgate.ci.comment import MARKER
from mlgate.redact import redact

if TYPE_CHECKING:
    from mlgate.report.view import Block, Document

MARKS = {"pass": "✅ pass", "fail": "❌ fail", "error": "❌ error", "skip": "➖ skip"}


def render(result: Any, *, images: dict[str, str] | None = None, run_url: str | None = None) -> str:
    """The report for a ``CiResult`` as Markdown; ``images`` maps plot names to paths relative to the report file."""
    from mlgate.report.markdown import markdown_of

    text = MARKER + "\n" + markdown_of(ci_document(result, images=images, run_url=run_url))
    # the report lands in a public comment and CI logs: a secret inside any step's message is masked here
    return redact(text.rstrip() + "\n")


def ci_document(result: Any, *, images: dict[str, str] | None = None, run_url: str | None = None) -> Document:
    """The report view of a ``CiResult``: steps, then the views of validation, pipeline, metrics and gate."""
    from mlgate.report.view import Code, Document, Link, Preformatted, Row, Section, Strong, Table, Text

    git = result.git
    where: list[str] = [Code(git["commit"][:12])]
    if git.get("branch") and git["branch"] != "HEAD":
        where += [" on ", Code(git["branch"])]
    where += [" · base branch ", Code(result.base)]
    if run_url:
        where += [" · ", Link("workflow run", run_url)]
    steps = Table(
        key="steps",
        title="Steps",
        headers=("step", "result", "details"),
        align="lll",
        rows=tuple(
            Row(cells=(s.name, MARKS.get(s.status, s.status), _first_line(s.summary)), status=s.status)
            for s in result.steps
        ),
        fold="never",
        heading=False,
    )
    blocks: list[Block] = [steps]
    for s in result.steps:
        if s.status == "error":
            blocks += [Text(Strong(s.name), " could not run:"), Preformatted(s.summary)]
    for rep in result.validations:
        if rep.ok:  # a passing table is long and says nothing a reviewer must read
            summary = f"Data validation ✅ {rep.source}: {rep.rows:,} rows, {len(rep.checks)} checks passed"
            blocks.append(Section(summary, (rep.to_view(),), key="validation", folded=True))
        else:
            blocks.append(rep.to_view())
    # sections sit at level 3 under the title, beside the gate report's own level-2 heading
    sections = [*_pipeline(result), *_metrics(result)]
    if result.gate is not None:
        sections += _gate(result.gate.report, images, run_url)
    if result.notes:
        from mlgate.report.view import Bullets

        sections.append(Section("Notes", (Bullets(tuple(result.notes)),), key="notes"))
    if sections:
        blocks.append(Section("", tuple(sections), heading=False))
    return Document(
        title=("mlgate ci: ", "✅ passed" if result.passed else "❌ failed"),
        summary=(Text(*where),),
        blocks=tuple(blocks),
        passed=bool(result.passed),
        level=1,
        key="ci",
    )


def _first_line(text: str) -> str:
    line = str(text).strip().splitlines()[0] if str(text).strip() else ""
    return line if len(line) <= 200 else line[:199] + "…"


def _pipeline(result: Any) -> list[Block]:
    from mlgate.report.view import Code, Preformatted, Row, Section, Strong, Table, Text

    run = result.pipeline
    if run is None:
        return []
    blocks: list[Block] = [
        Text("run ", Code(run.run_id), f": {run.cache_hits} of {len(run.stages)} stage(s) from the cache"),
        Table(
            key="stages",
            title="Stages",
            headers=("stage", "outcome", "time", "files restored"),
            align="llrr",
            rows=tuple(Row(cells=(s.name, s.outcome, f"{s.duration_s:.1f} s", str(s.restored))) for s in run.stages),
            fold="never",
            heading=False,
        ),
    ]
    if result.stage_graph:  # GitHub and GitLab draw Mermaid blocks; elsewhere the source stays readable
        blocks.append(Section("stage graph", (Preformatted(result.stage_graph.rstrip(), "mermaid"),), folded=True))
    for s in run.stages:
        if s.outcome == "failed":
            blocks.append(Text(Strong(f"{s.name} failed"), ": ", _first_line(s.error or "")))
            if s.log_tail:
                blocks.append(Preformatted("\n".join(s.log_tail)))
    title = "Pipeline" + (" (smoke run)" if result.smoke else "")
    return [Section(title, tuple(blocks), key="pipeline")]


def _metrics(result: Any) -> list[Block]:
    from mlgate.report.view import Code, Row, Section, Table, Text

    if result.base_run is None or result.this_run is None:
        return []
    base = result.base_run
    lead: list[str] = ["the base branch's last run ", Code(base.id)]
    if base.commit:
        lead += [" at ", Code(base.commit[:12])]
    blocks: list[Block] = [Text(*lead)]
    if not result.metric_rows:
        blocks.append(Text("Neither run recorded metrics (declare ", Code("metrics:"), " files on a stage)."))
    else:
        rows = tuple(Row(cells=(Code(r.key), _value(r.a), _value(r.b), r.change)) for r in result.metric_rows)
        headers = ("metric", str(result.base), "this branch", "change")
        blocks.append(Table("metrics", "Metrics", headers, "lrrr", rows, fold="never", heading=False))
    return [Section(("Metrics against ", Code(result.base)), tuple(blocks), key="base-metrics")]


def _gate(report: dict[str, Any], images: dict[str, str] | None, run_url: str | None) -> list[Block]:
    from mlgate.report.gate_view import gate_document
    from mlgate.report.view import Code, Link, Strong, Text

    blocks: list[Block] = []
    if not report.get("champion"):
        blocks.append(
            Text(
                Strong("No production version yet"),
                ": this is the first model. Change gates (",
                Code("vs: production"),
                ") are marked skipped; absolute bounds still apply.",
                style="quote",
            )
        )
    blocks.append(gate_document(report, images=images or None, max_slices=20))
    if images is None:
        where: tuple[str, ...]  # spans: plain text, Code, Link
        if run_url:
            where = ("the ", Code("mlgate-report"), " artifact of the ", Link("workflow run", run_url))
        else:
            where = ("written next to the report file (the mlgate-report artifact)",)
        blocks.append(Text("Plots: ", *where, "."))
    return blocks


def _value(value: Any) -> str:
    from mlgate.pipeline.runs import ABSENT

    if value is ABSENT:
        return "—"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
