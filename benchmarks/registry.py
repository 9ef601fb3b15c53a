#!/usr/bin/env python
"""Registry latency: mlgate against MLflow's model registry, side by side, in one run.

Both registries live on SQLite files in a fresh temporary folder on this machine; the model files
of both go to local folders there. Each operation is warmed up first, then timed many times with
the two systems interleaved in chunks, so that drift on a busy machine hits both alike. The table
reports medians and 90th percentiles in milliseconds, the ratio MLflow / mlgate (above 1 means
mlgate is faster) and, where the issue set one, the target and a verdict on the medians.

Run from the repository root::

    .venv/bin/python benchmarks/registry.py            # full run, a few minutes on 2 cores
    .venv/bin/python benchmarks/registry.py --quick    # smoke test, well under a minute
    .venv/bin/python benchmarks/registry.py --json bench.json

Needs MLflow: ``pip install -e '.[bench]'``. See benchmarks/README.md for what each row measures.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib.util
import io
import json
import logging
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EXIT_NO_MLFLOW = 3

# Set before MLflow is imported: no telemetry thread, no progress bars, no URL banners, no git probing.
_QUIET_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "DO_NOT_TRACK": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
    "MLFLOW_LOGGING_LEVEL": "ERROR",
    "GIT_PYTHON_REFRESH": "quiet",
    "TQDM_DISABLE": "1",
}

# The targets, checked on medians.
RESOLVE_TARGET_MS = 1.0
MOVE_TARGET_MS = 5.0
MIN_SPEEDUP = 3.0

MODEL_NAME = "bench"
ALIAS = "production"
TREE_TYPES = ["sklearn.tree._tree.Tree"]  # skops asks for this one to be trusted explicitly


# -- measuring ------------------------------------------------------------------------------------


@dataclass
class Stats:
    samples_ms: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p90(self) -> float:
        if len(self.samples_ms) < 2:
            return self.samples_ms[0]
        return statistics.quantiles(self.samples_ms, n=10, method="inclusive")[-1]

    def as_json(self) -> dict[str, Any]:
        return {
            "n": len(self.samples_ms),
            "median_ms": round(self.median, 4),
            "p90_ms": round(self.p90, 4),
            "min_ms": round(min(self.samples_ms), 4),
            "max_ms": round(max(self.samples_ms), 4),
            "samples_ms": [round(s, 4) for s in self.samples_ms],
        }


@dataclass
class Row:
    operation: str
    mlgate_call: str
    mlflow_call: str
    mlgate: Stats
    mlflow: Stats
    target_ms: float | None = None  # None: report only
    notes: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.mlflow.median / self.mlgate.median

    @property
    def target(self) -> str:
        if self.target_ms is None:
            return "— (report only)"
        return f"≤ {self.target_ms:g} ms, ≥ {MIN_SPEEDUP:g}× MLflow"

    @property
    def passed(self) -> bool | None:
        if self.target_ms is None:
            return None
        return self.mlgate.median <= self.target_ms and self.ratio >= MIN_SPEEDUP

    @property
    def verdict(self) -> str:
        if self.target_ms is None:
            return "report only"
        problems = []
        if self.mlgate.median > self.target_ms:
            problems.append(f"median {self.mlgate.median:.3f} ms > {self.target_ms:g} ms")
        if self.ratio < MIN_SPEEDUP:
            problems.append(f"only {self.ratio:.1f}× MLflow")
        return "PASS" if not problems else "FAIL: " + "; ".join(problems)

    def as_json(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "mlgate_call": self.mlgate_call,
            "mlflow_call": self.mlflow_call,
            "mlgate": self.mlgate.as_json(),
            "mlflow": self.mlflow.as_json(),
            "ratio_mlflow_over_mlgate": round(self.ratio, 3),
            "target": None if self.target_ms is None else {"max_median_ms": self.target_ms, "min_speedup": MIN_SPEEDUP},
            "passed": self.passed,
            "verdict": self.verdict,
            "notes": self.notes,
        }


def _time_once(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter_ns()
    fn()
    return (time.perf_counter_ns() - t0) / 1e6


def interleaved(fns: dict[str, Callable[[], Any]], *, n: int, warmup: int, chunk: int) -> dict[str, Stats]:
    """Warm each function up, then time ``n`` calls of each, taking turns ``chunk`` calls at a time.

    The order of the turns rotates every round so no system always runs right after the other.
    """
    names = list(fns)
    for name in names:
        for _ in range(warmup):
            fns[name]()
    samples: dict[str, list[float]] = {name: [] for name in names}
    done, rnd = 0, 0
    while done < n:
        step = min(chunk, n - done)
        order = names[rnd % len(names) :] + names[: rnd % len(names)]
        for name in order:
            gc.collect()
            fn = fns[name]
            samples[name].extend(_time_once(fn) for _ in range(step))
        done += step
        rnd += 1
    return {name: Stats(s) for name, s in samples.items()}


@contextlib.contextmanager
def _muted() -> Iterator[None]:
    """Swallow what MLflow prints straight to stderr ("Created version '3' of model ...")."""
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        yield


def _settle() -> None:
    """Flush what earlier phases wrote before timing the next one.

    The registrations leave hundreds of MB of dirty pages; their writeback would land on whichever
    fast operation happens to fsync next (MLflow's SQLite commits do, with its default journal).
    """
    gc.collect()
    if hasattr(os, "sync"):
        os.sync()
    time.sleep(0.5)


def _quiet_logging() -> None:
    # MLflow's own migrations run logging.config.fileConfig, which can turn alembic back on: call
    # this again after MLflow has created its database.
    for name, level in (
        ("mlflow", logging.ERROR),
        ("alembic", logging.WARNING),
        ("sqlalchemy", logging.WARNING),
        ("skops", logging.ERROR),
        ("urllib3", logging.ERROR),
        ("git", logging.ERROR),
    ):
        logging.getLogger(name).setLevel(level)


# -- the model ------------------------------------------------------------------------------------


class ModelMaker:
    """A RandomForestClassifier on sklearn's bundled breast-cancer data, ~10 MB as a skops file.

    Each call fits a new forest with a new seed, so no registry can skip the write of bytes it has
    seen before; iteration ``i`` gives the same fitted object to both registries.
    """

    def __init__(self, n_estimators: int) -> None:
        from sklearn.datasets import load_breast_cancer

        self.n_estimators = n_estimators
        self.X, self.y = load_breast_cancer(return_X_y=True, as_frame=True)
        self.sample = self.X.head(5)
        self.seed = 0

    def __call__(self) -> Any:
        from sklearn.ensemble import RandomForestClassifier

        self.seed += 1
        return RandomForestClassifier(n_estimators=self.n_estimators, random_state=self.seed, n_jobs=1).fit(
            self.X, self.y
        )

    def skops_size(self, model: Any) -> int:
        import skops.io as sio

        return len(sio.dumps(model))


# -- the run --------------------------------------------------------------------------------------


@dataclass
class Plan:
    register_n: int
    register_warmup: int
    n: int
    warmup: int
    chunk: int


def machine_info() -> dict[str, Any]:
    cpu_model = None
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "cpu_model": cpu_model,
        "sqlite": sqlite3.sqlite_version,
    }


def versions_info() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for dist in ("mlgate", "mlflow", "sqlalchemy", "scikit-learn", "skops"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "not installed"
    return out


def run(plan: Plan, workdir: Path, n_estimators: int, say: Callable[[str], None]) -> tuple[list[Row], dict[str, Any]]:
    import mlflow
    import mlflow.sklearn
    from mlflow import MlflowClient

    import mlgate

    _quiet_logging()
    extra: dict[str, Any] = {}

    # mlgate: a SQLite registry and a local artifact folder in the temporary folder.
    reg = mlgate.Registry(f"sqlite:///{workdir / 'mlgate.db'}", artifacts=str(workdir / "mlgate-artifacts"))

    # MLflow: tracking and model registry on one SQLite file, artifacts in a local folder.
    mlflow.set_tracking_uri(f"sqlite:///{workdir / 'mlflow.db'}")
    with _muted():
        experiment_id = mlflow.create_experiment("bench", artifact_location=(workdir / "mlflow-artifacts").as_uri())
    mlflow.set_experiment(experiment_id=experiment_id)
    client = MlflowClient()
    _quiet_logging()

    make = ModelMaker(n_estimators)

    # 1a. register a ~10 MB model end to end, a freshly fitted forest each iteration.
    say(
        f"register: fitting forests of {n_estimators} trees, {plan.register_warmup} warm-up + {plan.register_n} timed each"
    )
    current: dict[str, Any] = {}
    last: dict[str, Any] = {}
    sizes: list[int] = []

    def mlgate_log() -> None:
        last["mv"] = mlgate.log_model(current["model"], MODEL_NAME, sample_input=make.sample, registry=reg)

    def mlflow_log() -> None:
        with _muted():
            last["info"] = mlflow.sklearn.log_model(
                current["model"],
                name="model",
                registered_model_name=MODEL_NAME,
                serialization_format="skops",
                skops_trusted_types=TREE_TYPES,
                input_example=make.sample,
            )

    reg_samples: dict[str, list[float]] = {"mlgate": [], "mlflow": []}
    for i in range(plan.register_warmup + plan.register_n):
        current["model"] = make()
        if i == 0:
            sizes.append(make.skops_size(current["model"]))
        pair = [("mlgate", mlgate_log), ("mlflow", mlflow_log)]
        if i % 2:
            pair.reverse()
        for name, fn in pair:
            gc.collect()
            ms = _time_once(fn)
            if i >= plan.register_warmup:
                reg_samples[name].append(ms)
        if i >= plan.register_warmup:
            say(
                f"  register {i - plan.register_warmup + 1}/{plan.register_n}: mlgate {reg_samples['mlgate'][-1]:.0f} ms, MLflow {reg_samples['mlflow'][-1]:.0f} ms"
            )
    mv = last["mv"]
    extra["model"] = {
        "estimator": f"RandomForestClassifier(n_estimators={n_estimators}) on sklearn breast-cancer data",
        "skops_bytes": sizes[0],
        "mlgate_version_bytes": mv.size_bytes,
        "format": "skops, in both registries",
    }
    rows = [
        Row(
            "register ~10 MB model, end to end",
            "mlgate.log_model(model, …)",
            "mlflow.sklearn.log_model(model, registered_model_name=…)",
            Stats(reg_samples["mlgate"]),
            Stats(reg_samples["mlflow"]),
            notes=[
                "both save the same fitted forest as skops, load it back and predict on 5 rows",
                "MLflow's default also infers pip requirements in a subprocess",
                "mlgate fsyncs each blob",
            ],
        )
    ]

    # 1b. make a version of files that are already stored: MLflow's bare create_model_version.
    say(f"register a version of stored files: {plan.warmup} warm-up + {plan.n} timed each")
    logged = mlflow.get_logged_model(last["info"].model_id)
    client.create_registered_model(f"{MODEL_NAME}-files")
    files = reg.materialize(mv, workdir / "stored-version")
    _settle()

    def mlgate_register_files() -> None:
        reg.register(
            f"{MODEL_NAME}-files",
            files,
            flavor=mv.flavor,
            signature=mv.signature,
            flavor_config=mv.flavor_config,
        )

    def mlflow_create_version() -> None:
        with _muted():
            client.create_model_version(
                f"{MODEL_NAME}-files", source=logged.artifact_location, model_id=logged.model_id
            )

    got = interleaved(
        {"mlgate": mlgate_register_files, "mlflow": mlflow_create_version},
        n=plan.n,
        warmup=plan.warmup,
        chunk=plan.chunk,
    )
    rows.append(
        Row(
            "register version, files stored",
            "Registry.register(name, folder, …)",
            "MlflowClient().create_model_version(…)",
            got["mlgate"],
            got["mlflow"],
            notes=[
                "mlgate hashes the 10 MB folder and finds its blob stored; MLflow records a source URI",
                "the issue's MLflow figure (create version 6.5 ms) is for this call",
                "writes: mlgate's SQLite runs WAL with synchronous=NORMAL, MLflow's its default rollback journal (fsync per commit)",
            ],
        )
    )

    # 2. resolve an alias.
    say(f"resolve: {plan.warmup} warm-up + {plan.n} timed each")
    numbers = [v.number for v in reg.versions(MODEL_NAME)]
    a, b = numbers[0], numbers[1]
    reg.set_alias(MODEL_NAME, ALIAS, a, expect=None, reason="benchmark")
    client.set_registered_model_alias(MODEL_NAME, ALIAS, str(a))
    ref = f"{MODEL_NAME}@{ALIAS}"
    assert reg.resolve_digest(ref)[0] == a
    assert int(client.get_model_version_by_alias(MODEL_NAME, ALIAS).version) == a
    _settle()

    got = interleaved(
        {
            "mlgate_digest": lambda: reg.resolve_digest(ref),
            "mlgate_get": lambda: reg.get(ref),
            "mlflow": lambda: client.get_model_version_by_alias(MODEL_NAME, ALIAS),
        },
        n=plan.n,
        warmup=plan.warmup,
        chunk=plan.chunk,
    )
    rows.append(
        Row(
            "resolve alias: resolve_digest",
            f'Registry.resolve_digest("{ref}")',
            f'MlflowClient().get_model_version_by_alias(name, "{ALIAS}")',
            got["mlgate_digest"],
            got["mlflow"],
            target_ms=RESOLVE_TARGET_MS,
        )
    )
    rows.append(
        Row(
            "resolve alias: get",
            f'Registry.get("{ref}")',
            f'MlflowClient().get_model_version_by_alias(name, "{ALIAS}")',
            got["mlgate_get"],
            got["mlflow"],
            target_ms=RESOLVE_TARGET_MS,
            notes=["same MLflow samples as the row above"],
        )
    )

    # 3. move the alias back and forth between two versions; mlgate appends an AliasEvent each time.
    say(f"move alias: {plan.warmup} warm-up + {plan.n} timed each")
    events_before = len(reg.history(MODEL_NAME, ALIAS))
    state = {"mlgate": a, "mlflow": a}
    _settle()

    def mlgate_move() -> None:
        cur = state["mlgate"]
        nxt = b if cur == a else a
        reg.set_alias(MODEL_NAME, ALIAS, nxt, expect=cur, reason="benchmark")
        state["mlgate"] = nxt

    def mlflow_move() -> None:
        nxt = b if state["mlflow"] == a else a
        client.set_registered_model_alias(MODEL_NAME, ALIAS, str(nxt))
        state["mlflow"] = nxt

    got = interleaved({"mlgate": mlgate_move, "mlflow": mlflow_move}, n=plan.n, warmup=plan.warmup, chunk=plan.chunk)
    events = len(reg.history(MODEL_NAME, ALIAS)) - events_before
    moves = plan.warmup + plan.n
    if events != moves:
        raise SystemExit(f"mlgate recorded {events} alias events for {moves} moves")
    if reg.resolve_digest(ref)[0] != state["mlgate"]:
        raise SystemExit("mlgate's alias does not point where the last move put it")
    rows.append(
        Row(
            "move alias with history",
            f'Registry.set_alias(name, "{ALIAS}", n, expect=prev)',
            f'MlflowClient().set_registered_model_alias(name, "{ALIAS}", v)',
            got["mlgate"],
            got["mlflow"],
            target_ms=MOVE_TARGET_MS,
            notes=[f"mlgate recorded {events} AliasEvents for {moves} moves; MLflow keeps no alias history"],
        )
    )
    extra["alias_events_recorded"] = events

    reg.close()
    return rows, extra


# -- output ---------------------------------------------------------------------------------------


def _ms(x: float) -> str:
    if x < 10:
        return f"{x:.3f}"
    if x < 1000:
        return f"{x:.1f}"
    return f"{x:,.0f}"


def print_report(
    console: Any,
    rows: list[Row],
    machine: dict[str, Any],
    versions: dict[str, str],
    plan: Plan,
    extra: dict[str, Any],
) -> None:
    from rich.table import Table

    console.print(
        f"[bold]machine[/]: Python {machine['python']} ({machine['implementation']}), "
        f"{machine['cpu_count']} CPUs ({machine['cpus_usable']} usable)"
        + (f", {machine['cpu_model']}" if machine.get("cpu_model") else "")
        + f", {machine['platform']}, SQLite {machine['sqlite']}"
    )
    console.print("[bold]versions[/]: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    model = extra.get("model", {})
    console.print(
        f"[bold]model[/]: {model.get('estimator')}, {model.get('skops_bytes', 0) / 1e6:.1f} MB as skops; "
        f"iterations: register {plan.register_n} (+{plan.register_warmup} warm-up), "
        f"resolve/move {plan.n} (+{plan.warmup} warm-up)"
    )
    table = Table(
        title="Registry latency, mlgate vs MLflow (SQLite, same run)",
        caption="ms per call; ratio = MLflow median / mlgate median (>1 means mlgate faster); verdicts on medians",
    )
    table.add_column("operation")
    table.add_column("mlgate median ms", justify="right")
    table.add_column("mlgate p90", justify="right")
    table.add_column("MLflow median ms", justify="right")
    table.add_column("MLflow p90", justify="right")
    table.add_column("ratio", justify="right")
    table.add_column("target")
    table.add_column("verdict")
    for r in rows:
        style = {True: "green", False: "red", None: "dim"}[r.passed]
        table.add_row(
            r.operation,
            _ms(r.mlgate.median),
            _ms(r.mlgate.p90),
            _ms(r.mlflow.median),
            _ms(r.mlflow.p90),
            f"{r.ratio:.1f}×",
            r.target,
            f"[{style}]{r.verdict}[/]",
        )
    console.print(table)
    for r in rows:
        console.print(f"[dim]{r.operation}: mlgate {r.mlgate_call} · MLflow {r.mlflow_call}[/]")
        for note in r.notes:
            console.print(f"[dim]  - {note}[/]")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few iterations: a smoke test, not figures to quote")
    parser.add_argument("--json", metavar="PATH", help="also write the figures (and every sample) to PATH")
    parser.add_argument(
        "--iterations",
        type=int,
        help="timed calls of the fast operations: register of stored files, resolve, move (default 200; 30 with --quick)",
    )
    parser.add_argument("--register-iterations", type=int, help="timed registrations (default 15; 2 with --quick)")
    parser.add_argument("--trees", type=int, default=500, help="trees in the forest; 500 gives ~10 MB (default)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and print where it is")
    args = parser.parse_args(argv)

    from rich.console import Console

    console = Console()
    if not console.is_terminal:  # piped or redirected: Rich would assume 80 columns and wrap the table
        console = Console(width=160)
    err = Console(stderr=True)

    if importlib.util.find_spec("mlflow") is None:
        err.print(
            "[red]MLflow is not installed[/]: this benchmark compares mlgate with MLflow's model registry.\n"
            "Install the benchmark extra from the repository root:  pip install -e '.\\[bench]'"
        )
        return EXIT_NO_MLFLOW

    for key, value in _QUIET_ENV.items():
        os.environ.setdefault(key, value)
    warnings.filterwarnings("ignore")
    _quiet_logging()

    if args.quick:
        plan = Plan(register_n=2, register_warmup=1, n=30, warmup=5, chunk=10)
    else:
        plan = Plan(register_n=15, register_warmup=2, n=200, warmup=20, chunk=25)
    if args.iterations is not None:
        plan.n = max(args.iterations, 2)
    if args.register_iterations is not None:
        plan.register_n = max(args.register_iterations, 1)

    def say(msg: str) -> None:
        err.print(f"[dim]{msg}[/]")

    machine = machine_info()
    versions = versions_info()
    say("importing MLflow and scikit-learn …")
    tmp = tempfile.mkdtemp(prefix="mlgate-bench-")
    workdir = Path(tmp)
    try:
        rows, extra = run(plan, workdir, args.trees, say)
    finally:
        if args.keep:
            err.print(f"kept {workdir}")
        else:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)

    print_report(console, rows, machine, versions, plan, extra)
    if args.json:
        out = {
            "benchmark": "registry",
            "quick": args.quick,
            "machine": machine,
            "versions": versions,
            "plan": plan.__dict__,
            **extra,
            "results": [r.as_json() for r in rows],
        }
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
        err.print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
