#!/usr/bin/env python
"""Data CI cost: mlgate's profile + validate + drift against a bare Polars pass and the usual tools.

Generates a reference and a current Parquet file (20 columns: 12 float, 4 integer, 4 text categorical;
a shift in a few columns of the current set, 1% nulls in one float column), then runs each tool in
its own subprocess, one after the other, so that each one's wall time and peak memory (``ru_maxrss``
from ``os.wait4``) are its own:

* ``polars floor``: one streaming ``select`` per file computing null count, min, max, mean, std and
  n_unique of every column: the least any tool that reads both files must do;
* ``mlgate``: profile the reference, infer a schema from its profile (no further read: in real use
  the schema is inferred once and committed), profile the current file and validate it against the
  schema in the same pass (``profile_and_validate``), drift(reference profile, current profile): one
  read per file, as the floor;
* ``mlgate commands``: what a user runs, each command a process of its own, start-up and imports
  included: ``mlgate data validate CUR --schema S`` then ``mlgate data drift REF CUR`` (the schema is
  inferred beforehand, untimed, as it is committed in real use);
* ``mlgate check``: the fused command, ``mlgate data check REF CUR --schema S`` (one read of the
  current file, one report, one exit code). These two rows are compared with the floor's whole
  process (interpreter start and Polars import included), not with its job alone;
* ``pandera`` and ``great expectations``: the same schema checks on the current file (no drift);
* ``evidently``: ``DataDriftPreset`` on both files.

Run from the repository root::

    .venv/bin/python benchmarks/data.py                 # 1,000,000 rows, a few minutes on 2 cores
    .venv/bin/python benchmarks/data.py --quick         # 100,000 rows, well under a minute
    .venv/bin/python benchmarks/data.py --rows 10000000 # mlgate and the floor only (--anchors for all)

The anchors need ``pip install pandera great_expectations evidently``; a missing one is reported in
its row. See benchmarks/README.md for what each row does.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# The anchors live in a venv of their own when there is one: Evidently does not run on pandas 3.
BENCH_VENV_PYTHONS = (REPO / ".bench" / "venv" / "bin" / "python", REPO / ".bench-venv" / "bin" / "python")

TARGET_RATIO = 1.5  # mlgate whole job vs the floor, wall time and peak memory
BIG_ROWS = 5_000_000  # from here on the anchors are skipped unless --anchors

SEED = 20_241_103
N_FLOAT, N_INT, N_CAT = 12, 4, 4
CATEGORY_COUNTS = (4, 8, 20, 40)
NULL_COLUMN = "f11"
SHIFTED = ("f0", "f1", "i0", "c0")

TOOLS: dict[str, str] = {
    "floor": "polars floor",
    "mlgate": "mlgate",
    "cli": "mlgate commands",
    "check": "mlgate check",
    "pandera": "pandera",
    "gx": "great expectations",
    "evidently": "evidently",
}
ANCHORS = ("pandera", "gx", "evidently")
INSTALL = {
    "pandera": "pip install 'pandera[polars]'",
    "gx": "pip install great_expectations",
    "evidently": "pip install evidently",
}


# -- data ------------------------------------------------------------------------------------------


def generate(rows: int, path: Path, *, current: bool) -> None:
    """Write one set: seeded, column by column; the current set shifts the SHIFTED columns."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(SEED + int(current))
    cols: dict[str, Any] = {}
    for i in range(N_FLOAT):
        loc, scale = float(i), 1.0 + i / 4
        # Clipped at fixed bounds that both sets reach, so the reference's ranges hold for the current set:
        # validation measures the passing path, and drift is what has to notice the shifts.
        lo, hi = (loc - 3 * scale, loc + 3 * scale) if i % 3 else (loc - 1.9 * scale, loc + 6 * scale)
        if current and i == 0:
            loc += 0.25 * scale  # mean shift
        if current and i == 1:
            scale *= 1.3  # wider spread
        values = rng.normal(loc, scale, rows) if i % 3 else rng.gamma(2.0, scale, rows) + loc - 2 * scale
        cols[f"f{i}"] = np.clip(values, lo, hi)
    lam = (3.0, 10.0, 50.0, 200.0)
    for i in range(N_INT):
        lo, hi = max(0, int(lam[i] - 2.5 * lam[i] ** 0.5)), int(lam[i] + 2.5 * lam[i] ** 0.5)
        counts = rng.poisson(lam[i] * (1.2 if current and i == 0 else 1.0), rows)
        cols[f"i{i}"] = np.clip(counts, lo, hi).astype(np.int64)
    for i, k in enumerate(CATEGORY_COUNTS):
        weights = np.linspace(1.0, 3.0, k)
        if current and f"c{i}" == "c0":
            weights = weights[::-1]  # shares reversed
        codes = rng.choice(k, size=rows, p=weights / weights.sum())
        cols[f"c{i}"] = pl.Series(np.array([f"cat_{j:02d}" for j in range(k)])[codes])
    df = pl.DataFrame(cols)
    nulls = rng.random(rows) < 0.01
    df = df.with_columns(pl.when(pl.Series(nulls)).then(None).otherwise(pl.col(NULL_COLUMN)).alias(NULL_COLUMN))
    df.write_parquet(path, row_group_size=250_000)


def reference_rules(ref: Path) -> dict[str, dict[str, Any]]:
    """Per column: dtype, null fraction, min/max (numbers) or categories (text), read from the reference.

    The anchors are handed these, so that they check what mlgate's inferred schema checks; mlgate
    infers its own schema inside its timed run.
    """
    import polars as pl

    df = pl.read_parquet(ref)
    rules: dict[str, dict[str, Any]] = {}
    for name, dtype in df.schema.items():
        s = df[name]
        rule: dict[str, Any] = {"dtype": str(dtype), "null_fraction": s.null_count() / len(s)}
        if dtype.is_numeric():
            rule["min"], rule["max"] = s.min(), s.max()
        else:
            rule["categories"] = sorted(s.drop_nulls().unique().to_list())
        rules[name] = rule
    return rules


# -- the tools, each run in a child process ----------------------------------------------------------


def run_floor(ref: str, cur: str, rules: dict[str, Any]) -> dict[str, Any]:
    import polars as pl

    def stats(path: str) -> pl.DataFrame:
        lf = pl.scan_parquet(path)
        exprs = []
        for name, dtype in lf.collect_schema().items():
            c = pl.col(name)
            exprs += [c.null_count().alias(f"{name}:nulls"), c.min().alias(f"{name}:min"), c.max().alias(f"{name}:max")]
            if dtype.is_numeric():
                exprs += [c.mean().alias(f"{name}:mean"), c.std().alias(f"{name}:std")]
            exprs.append(c.n_unique().alias(f"{name}:n_unique"))
        return lf.select(exprs).collect(engine="streaming")

    a, b = stats(ref), stats(cur)
    return {"found": f"{a.width + b.width} statistics"}


def run_mlgate(ref: str, cur: str, rules: dict[str, Any]) -> dict[str, Any]:
    from mlgate.data.drift import drift
    from mlgate.data.profile import profile
    from mlgate.data.schema import infer_schema
    from mlgate.data.validate import profile_and_validate

    ref_profile = profile(ref)
    schema = infer_schema(ref_profile)  # from the profile: the same schema as from the file, without reading it
    cur_profile, report = profile_and_validate(cur, schema)  # one read: the validation counts ride along
    drifted = drift(ref_profile, cur_profile)
    failed = sorted({v.column or "(table)" for v in report.violations})
    return {"found": f"drift: {', '.join(drifted.drifted_columns) or 'none'}; validate: {_failed(failed)}"}


def run_pandera(ref: str, cur: str, rules: dict[str, Any]) -> dict[str, Any]:
    import pandera.polars as pa
    import polars as pl
    from pandera.errors import SchemaErrors

    columns = {}
    for name, rule in rules.items():
        checks = []
        if "min" in rule:
            checks.append(pa.Check.in_range(rule["min"], rule["max"]))
        if "categories" in rule:
            checks.append(pa.Check.isin(rule["categories"]))
        dtype = getattr(pl, rule["dtype"])
        columns[name] = pa.Column(dtype, checks=checks, nullable=rule["null_fraction"] > 0)
    schema = pa.DataFrameSchema(columns, strict=True)
    df = pl.read_parquet(cur)
    try:
        schema.validate(df, lazy=True)
        failed: list[str] = []
    except SchemaErrors as exc:
        failed = sorted({str(c) for c in exc.failure_cases["column"].to_list() if c is not None})
    return {"found": f"validate: {_failed(failed)}"}


def run_gx(ref: str, cur: str, rules: dict[str, Any]) -> dict[str, Any]:
    import great_expectations as gx
    import pandas as pd

    context = gx.get_context(mode="ephemeral")
    batch = (
        context.data_sources.add_pandas("bench")
        .add_dataframe_asset("current")
        .add_batch_definition_whole_dataframe("whole")
        .get_batch(batch_parameters={"dataframe": pd.read_parquet(cur)})
    )
    suite = gx.ExpectationSuite(name="bench")
    e = gx.expectations
    suite.add_expectation(e.ExpectTableColumnsToMatchSet(column_set=list(rules), exact_match=True))
    for name, rule in rules.items():
        suite.add_expectation(e.ExpectColumnValuesToBeInTypeList(column=name, type_list=_pandas_types(rule["dtype"])))
        if rule["null_fraction"] == 0:
            suite.add_expectation(e.ExpectColumnValuesToNotBeNull(column=name))
        if "min" in rule:
            suite.add_expectation(
                e.ExpectColumnValuesToBeBetween(column=name, min_value=rule["min"], max_value=rule["max"])
            )
        if "categories" in rule:
            suite.add_expectation(e.ExpectColumnValuesToBeInSet(column=name, value_set=rule["categories"]))
    result = batch.validate(suite)
    failed = sorted({r.expectation_config.kwargs.get("column", "(table)") for r in result.results if not r.success})
    return {"found": f"validate: {_failed(failed)}"}


def run_evidently(ref: str, cur: str, rules: dict[str, Any]) -> dict[str, Any]:
    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset

    snapshot = Report([DataDriftPreset()]).run(current_data=pd.read_parquet(cur), reference_data=pd.read_parquet(ref))
    drifted = []
    for metric in snapshot.dict()["metrics"]:
        config, value = metric["config"], metric["value"]
        if not config["type"].endswith(":ValueDrift"):
            continue
        # Evidently picks the test per column: p-values drift below the threshold, distances above it.
        is_p_value = "p_value" in config["method"]
        if (value < config["threshold"]) if is_p_value else (value >= config["threshold"]):
            drifted.append(config["column"])
    return {"found": f"drift: {', '.join(sorted(drifted)) or 'none'}"}


def _command(*args: str) -> int:
    """Run ``mlgate ARGS`` as a user would: its own process, output discarded; its exit status."""
    mlgate = Path(sys.executable).with_name("mlgate")
    proc = subprocess.run([str(mlgate), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"mlgate {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.returncode


def run_cli(ref: str, cur: str, rules: dict[str, Any]) -> dict[str, Any]:
    schema = str(Path(ref).with_name(SCHEMA_FILE))
    valid = _command("data", "validate", cur, "--schema", schema)
    drifted = _command("data", "drift", ref, cur)
    return {"found": f"validate exit {valid}, drift exit {drifted}"}


def run_check(ref: str, cur: str, rules: dict[str, Any]) -> dict[str, Any]:
    code = _command("data", "check", ref, cur, "--schema", str(Path(ref).with_name(SCHEMA_FILE)))
    return {"found": f"check exit {code}"}


RUNNERS = {
    "floor": run_floor,
    "mlgate": run_mlgate,
    "cli": run_cli,
    "check": run_check,
    "pandera": run_pandera,
    "gx": run_gx,
    "evidently": run_evidently,
}
COMMAND_LINE = ("cli", "check")  # timed whole, start-up included: compared with the floor's process time
SCHEMA_FILE = "schema.yaml"
IMPORTS = {
    "cli": [],
    "check": [],
    "floor": ["polars"],
    # mlgate imports its libraries inside the functions that use them (so that `mlgate --help` stays
    # fast); they are imported here, as the floor's Polars is, so that the timed job holds no imports
    "mlgate": [
        "polars",
        "numpy",
        "datasketches",
        "mlgate.data.io",
        "mlgate.data.drift",
        "mlgate.data.profile",
        "mlgate.data.schema",
        "mlgate.data.validate",
    ],
    "pandera": ["pandera.polars", "polars"],
    "gx": ["great_expectations", "pandas"],
    "evidently": ["evidently", "evidently.presets", "pandas"],
}


def _failed(columns: list[str]) -> str:
    if not columns:
        return "all pass"
    return f"{len(columns)} columns fail ({', '.join(columns[:6])}{', …' if len(columns) > 6 else ''})"


def _pandas_types(polars_dtype: str) -> list[str]:
    return {"Float64": ["float64"], "Int64": ["int64"]}.get(polars_dtype, ["object", "str", "string"])


def child(tool: str, ref: str, cur: str, rules_path: str, out_path: str) -> int:
    """Run one tool: imports first (their time and memory reported apart), then the timed job."""
    import importlib
    import resource

    try:
        for module in IMPORTS[tool]:
            importlib.import_module(module)
    except ImportError as exc:
        Path(out_path).write_text(json.dumps({"missing": f"{exc.name or exc}"}))
        return 0
    import_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rules = json.loads(Path(rules_path).read_text())
    start = time.perf_counter()
    result = RUNNERS[tool](ref, cur, rules)
    result["wall_s"] = time.perf_counter() - start
    result["import_mb"] = import_rss / 1024
    Path(out_path).write_text(json.dumps(result))
    return 0


# -- the parent: generate, run each tool, report ------------------------------------------------------


@dataclass
class Row:
    tool: str
    wall_s: float | None = None
    process_s: float | None = None
    peak_mb: float | None = None
    import_mb: float | None = None
    found: str = ""
    note: str = ""
    samples_s: list[float] = field(default_factory=list)


def spawn(args: list[str], python: str) -> tuple[int, float, float]:
    """Run ``python this-file args`` and return (exit status, wall seconds, peak RSS MB) of that child."""
    env = {**os.environ, "GX_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "true", "TQDM_DISABLE": "1"}
    start = time.perf_counter()
    proc = subprocess.Popen([python, str(Path(__file__).resolve()), *args], env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, time.perf_counter() - start, usage.ru_maxrss / 1024  # ru_maxrss is KiB on Linux


def anchor_python() -> str:
    return str(next((p for p in BENCH_VENV_PYTHONS if p.exists()), sys.executable))


def measure(tools: list[str], ref: Path, cur: Path, rules: Path, work: Path, repeat: int) -> dict[str, Row]:
    """Run each tool ``repeat`` times, each run in a fresh child, alternating the tools round by round.

    Alternating means a change in the machine's load (other jobs starting or stopping) falls on every
    tool alike instead of on whichever ran last. Per tool: median wall and process time, highest peak.
    """
    runs: dict[str, list[tuple[float, float, float, dict[str, Any]]]] = {tool: [] for tool in tools}
    failed: dict[str, Row] = {}
    err = _stderr()
    for round_ in range(repeat):
        for tool in tools:
            if tool in failed:
                continue
            err.print(f"running {TOOLS[tool]}" + (f" (round {round_ + 1} of {repeat})" if repeat > 1 else "") + " …")
            python = anchor_python() if tool in ANCHORS else sys.executable
            out = work / f"{tool}.json"
            rc, process_s, peak_mb = spawn(["--child", tool, str(ref), str(cur), str(rules), str(out)], python)
            if rc != 0 or not out.exists():
                failed[tool] = Row(TOOLS[tool], note=f"failed (exit status {rc}; see its traceback above)")
                continue
            result = json.loads(out.read_text())
            out.unlink()
            if "missing" in result:
                failed[tool] = Row(TOOLS[tool], note=f"not installed ({INSTALL[tool]}; missing {result['missing']})")
                continue
            runs[tool].append((result["wall_s"], process_s, peak_mb, result))
    rows: dict[str, Row] = {}
    for tool in tools:
        done = runs[tool]
        rows[tool] = failed.get(tool) or Row(
            TOOLS[tool],
            wall_s=statistics.median(r[0] for r in done),
            process_s=statistics.median(r[1] for r in done),
            peak_mb=max(r[2] for r in done),
            import_mb=max(r[3]["import_mb"] for r in done),
            found=done[-1][3]["found"],
            samples_s=[r[0] for r in done],
        )
    return rows


def _stderr() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def round_ratios(results: dict[str, Row]) -> list[float]:
    """mlgate's wall time over the floor's, per round (the runs of one round were back to back)."""
    floor, ours = results.get("floor"), results.get("mlgate")
    if floor is None or ours is None or floor.note or ours.note:
        return []
    return [m / f for m, f in zip(ours.samples_s, floor.samples_s, strict=False)]


def _ratio(row: Row, floor: Row, tool: str) -> str:
    base = floor.process_s if tool in COMMAND_LINE else floor.wall_s
    return f"{row.wall_s / base:.2f}" if base and row.wall_s is not None else ""


def command_verdict(row: Row, floor: Row) -> str:
    """A command-line row against the floor's whole process: the target ratio, start-up included."""
    if row.wall_s is None or floor.process_s is None:
        return "no figures"
    ratio = row.wall_s / floor.process_s
    return "PASS" if ratio <= TARGET_RATIO else f"FAIL: {ratio:.2f}× the floor process (> {TARGET_RATIO}×)"


def verdict(row: Row, floor: Row) -> str:
    if row.wall_s is None or floor.wall_s is None or row.peak_mb is None or floor.peak_mb is None:
        return "no figures"
    problems = []
    if row.wall_s > TARGET_RATIO * floor.wall_s:
        problems.append(f"time {row.wall_s / floor.wall_s:.2f}× floor")
    if row.peak_mb > TARGET_RATIO * floor.peak_mb:
        problems.append(f"memory {row.peak_mb / floor.peak_mb:.2f}× floor")
    return "PASS" if not problems else "FAIL: " + ", ".join(problems) + f" (> {TARGET_RATIO}×)"


_VERSIONS = """
import json, sys
from importlib.metadata import PackageNotFoundError, version
out = {}
for dist in sys.argv[1:]:
    try:
        out[dist] = version(dist)
    except PackageNotFoundError:
        out[dist] = "not installed"
print(json.dumps(out))
"""


def versions() -> dict[str, str]:
    """Versions of what ran: the project's packages from this interpreter, the anchors' from theirs."""
    ours = ["mlgate", "polars", "numpy", "pandas", "pyarrow"]
    theirs = ["pandas", "pandera", "great_expectations", "evidently"]
    out: dict[str, str] = {}
    for python, dists, tag in ((sys.executable, ours, ""), (anchor_python(), theirs, " (anchors)")):
        found = subprocess.run([python, "-c", _VERSIONS, *dists], capture_output=True, text=True, check=True)
        for dist, v in json.loads(found.stdout).items():
            out[dist + tag if dist in out else dist] = v
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return child(*argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows per set (default 1,000,000)")
    parser.add_argument("--quick", action="store_true", help="100,000 rows: a smoke test")
    parser.add_argument("--skip", action="append", default=[], choices=[t for t in TOOLS if t != "floor"])
    parser.add_argument("--anchors", action="store_true", help=f"run the anchors even at {BIG_ROWS:,} rows or more")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of the floor and mlgate (median taken; default 3); anchors run once"
    )
    parser.add_argument("--keep", action="store_true", help="keep the folder holding the generated files")
    args = parser.parse_args(argv)
    rows = 100_000 if args.quick else args.rows
    if rows < 1_000:
        parser.error("--rows must be at least 1,000")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    from rich.console import Console
    from rich.table import Table

    console = Console() if sys.stdout.isatty() else Console(width=160)
    err = Console(stderr=True)
    skip = set(args.skip)
    if rows >= BIG_ROWS and not args.anchors:
        skip |= set(ANCHORS)

    work = Path(tempfile.mkdtemp(prefix="mlgate-bench-data-"))
    ref, cur, rules_path = work / "reference.parquet", work / "current.parquet", work / "rules.json"
    err.print(f"generating 2 × {rows:,} rows × 20 columns in {work} …")
    # Generated in a child too: this process stays small, so nothing it holds can count for a tool.
    if spawn(["--generate", str(rows), str(ref), str(cur), str(rules_path)], sys.executable)[0] != 0:
        err.print("[red]generating the data failed[/]")
        return 1
    size_mb = (ref.stat().st_size + cur.stat().st_size) / 2**20

    results: dict[str, Row] = {}
    load_before = os.getloadavg()
    timed = [tool for tool in TOOLS if tool not in ANCHORS and tool not in skip]
    results.update(measure(timed, ref, cur, rules_path, work, args.repeat))
    load_after = os.getloadavg()
    for tool in ANCHORS:
        if tool not in skip:
            results.update(measure([tool], ref, cur, rules_path, work, 1))
    floor = results["floor"]

    ver = versions()
    console.print(
        f"Python {platform.python_version()} on {os.cpu_count()} CPUs, {platform.platform()}; "
        + ", ".join(f"{k} {v}" for k, v in ver.items())
    )
    console.print(
        f"{rows:,} rows × 20 columns per set (12 float, 4 int, 4 text; shifted: {', '.join(SHIFTED)}; "
        f"1% nulls in {NULL_COLUMN}); both Parquet files {size_mb:.0f} MB"
    )
    table = Table(title="Data CI: wall time and peak memory per tool, each in its own process")
    columns = ("tool", "wall s", "min–max s", "× floor", "peak MB", "× floor", "import MB", "process s", "found")
    for col in (*columns, "verdict"):
        table.add_column(col, justify="left" if col in ("tool", "found", "verdict") else "right")
    for tool, row in results.items():
        if row.note:
            table.add_row(row.tool, "", "", "", "", "", "", "", row.note, "")
            continue
        target = verdict(row, floor) if tool == "mlgate" else "report only"
        if tool in COMMAND_LINE:
            target = command_verdict(row, floor)
        table.add_row(
            row.tool,
            f"{row.wall_s:.2f}",
            f"{min(row.samples_s):.2f}–{max(row.samples_s):.2f}" if len(row.samples_s) > 1 else "",
            _ratio(row, floor, tool),
            f"{row.peak_mb:.0f}",
            f"{row.peak_mb / floor.peak_mb:.2f}" if floor.peak_mb else "",
            f"{row.import_mb:.0f}",
            f"{row.process_s:.2f}",
            row.found,
            target,
        )
    console.print(table)
    console.print(
        f"wall s: the job only, imports excluded; median of {args.repeat} runs for the floor and the mlgate rows (alternating, "
        "round by round), one for the rest; process s: the whole child, interpreter start and imports included. "
        "peak MB: the child's ru_maxrss; import MB: its peak right after the imports. "
        f"Target: mlgate ≤ {TARGET_RATIO}× the floor in wall s and in peak MB."
    )
    console.print(
        "mlgate commands / mlgate check: wall s is each command's whole process (start-up and imports "
        "included), and × floor compares it with the floor's process s."
    )
    ratios = round_ratios(results)
    if ratios:
        console.print(
            "mlgate / floor, round by round: "
            + ", ".join(f"{r:.2f}" for r in ratios)
            + f" (median {statistics.median(ratios):.2f})"
        )
    console.print(
        "load average (1, 5, 15 min) "
        + f"before the floor and mlgate: {', '.join(f'{x:.2f}' for x in load_before)}; "
        + f"after: {', '.join(f'{x:.2f}' for x in load_after)} on {os.cpu_count()} CPUs"
    )
    if rows >= BIG_ROWS and not args.anchors:
        console.print("The anchors were skipped at this size: pass --anchors to run them.")

    if args.json:
        payload = {
            "rows": rows,
            "columns": 20,
            "files_mb": size_mb,
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_before": list(load_before),
            "load_average_after": list(load_after),
            "mlgate_floor_round_ratios": round_ratios(results),
            "platform": platform.platform(),
            "versions": ver,
            "target_ratio": TARGET_RATIO,
            "tools": {
                tool: {
                    "wall_s": r.wall_s,
                    "process_s": r.process_s,
                    "peak_mb": r.peak_mb,
                    "import_mb": r.import_mb,
                    "runs": len(r.samples_s),
                    "wall_samples_s": r.samples_s,
                    "found": r.found,
                    "note": r.note,
                    "verdict": verdict(r, floor)
                    if tool == "mlgate"
                    else (command_verdict(r, floor) if tool in COMMAND_LINE else None),
                }
                for tool, r in results.items()
            },
        }
        args.json.write_text(json.dumps(payload, indent=2))
    if args.keep:
        err.print(f"kept {work}")
    else:
        for p in work.iterdir():
            p.unlink()
        work.rmdir()
    return 0


def generate_main(rows: str, ref: str, cur: str, rules_path: str) -> int:
    generate(int(rows), Path(ref), current=False)
    generate(int(rows), Path(cur), current=True)
    Path(rules_path).write_text(json.dumps(reference_rules(Path(ref))))
    # the schema the command-line rows validate against: inferred once, as a user commits it
    _command("data", "schema", "infer", ref, "-o", str(Path(ref).with_name(SCHEMA_FILE)), "--force")
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--generate"]:
        sys.exit(generate_main(*sys.argv[2:]))
    sys.exit(main())
