"""The Typer application: global options and the command tree. Heavy imports stay inside commands."""

from __future__ import annotations

import typer

from mlgate.cli import abtest as abtest_cmd
from mlgate.cli import ci as ci_cmd
from mlgate.cli import data as data_cmd
from mlgate.cli import gate as gate_cmd
from mlgate.cli import gc as gc_cmd
from mlgate.cli import init as init_cmd
from mlgate.cli import labels as labels_cmd
from mlgate.cli import logs as logs_cmd
from mlgate.cli import model as model_cmd
from mlgate.cli import monitor as monitor_cmd
from mlgate.cli import package as package_cmd
from mlgate.cli import pipeline as pipeline_cmd
from mlgate.cli import promote as promote_cmd
from mlgate.cli import quickstart as quickstart_cmd
from mlgate.cli import rollout as rollout_cmd
from mlgate.cli import serve as serve_cmd

app = typer.Typer(
    name="mlgate",
    help="CI/CD for machine learning: an immutable model registry, gates, pipelines and serving.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Click's plain help: Typer's Rich panels cost 0.15 s of imports on every --help (every group sets this)
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from mlgate import __version__

        typer.echo(f"mlgate {__version__}")
        raise typer.Exit(0)


@app.callback()
def root(
    ctx: typer.Context,
    registry: str | None = typer.Option(
        None,
        "--registry",
        envvar="MLGATE_REGISTRY",
        help="Registry database URL (sqlite:///… or postgresql://…).",
    ),
    artifacts: str | None = typer.Option(
        None, "--artifacts", envvar="MLGATE_ARTIFACTS", help="Artifact store: a folder or s3://bucket/prefix."
    ),
    config: str | None = typer.Option(None, "--config", envvar="MLGATE_CONFIG", help="Path to mlgate.yaml."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Global options shared by every command."""
    ctx.obj = {"registry": registry, "artifacts": artifacts, "config": config, "debug": debug}


app.add_typer(model_cmd.app, name="model")
app.add_typer(data_cmd.app, name="data")
app.command("gate")(gate_cmd.gate)
app.command("report")(gate_cmd.report)
app.command("promote")(promote_cmd.promote)
app.command("rollback")(promote_cmd.rollback)
app.add_typer(rollout_cmd.app, name="rollout")
app.add_typer(abtest_cmd.app, name="abtest")
app.command("gc")(gc_cmd.gc)
app.command("init")(init_cmd.init)
app.command("ci")(ci_cmd.ci)
app.command("quickstart")(quickstart_cmd.quickstart)
app.command("serve")(serve_cmd.serve)
app.command("logs")(logs_cmd.logs)
app.command("monitor")(monitor_cmd.monitor)
app.add_typer(labels_cmd.app, name="labels")
app.command("package")(package_cmd.package)
app.command("run")(pipeline_cmd.run)
app.command("status")(pipeline_cmd.status)
app.command("dag")(pipeline_cmd.dag)
app.add_typer(pipeline_cmd.runs_app, name="runs")
