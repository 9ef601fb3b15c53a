#!/usr/bin/env python
"""Pipeline overhead: mlgate against DVC on identical copies of one project (2,000 files, 1 GiB, two stages).

Generates ``data/`` (2,000 files of random bytes in 20 folders, 1 GiB in all) and two stages, ``prepare``
(reads ``data/``, writes ``features/``) and ``train`` (reads ``features/`` and a param, writes
``model.txt`` and ``metrics.json``), then copies the project twice, one copy per tool, each a git
repository. On each copy, one after the other, every command in a fresh process:

* first run: ``mlgate run`` / ``dvc repro`` (hashes the 1 GiB, runs both commands);
* no-op status: ``mlgate status`` / ``dvc status``;
* no-op run: ``mlgate run`` / ``dvc repro``;
* touched: ``touch`` one data file (same bytes, new mtime), then run;
* changed: rewrite 16 bytes of one data file, then run (``prepare`` runs again).

Plus hashing alone: mlgate's digest of ``data/`` with an empty stat cache (the call, not the imports).

Run from the repository root::

    .venv/bin/python benchmarks/pipeline.py            # 2,000 files, 1 GiB: ~1-2 minutes
    .venv/bin/python benchmarks/pipeline.py --quick    # 200 files, 64 MiB: smoke test

DVC runs from its own venv, ``.bench/dvc-venv`` (created with ``python3 -m venv`` and ``pip install dvc``
when missing, unless ``--no-install``), so that it never touches the project's. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DVC_VENV = REPO / ".bench" / "dvc-venv"
MLGATE = str(Path(sys.executable).parent / "mlgate")
TARGET_S = 0.2  # no-op status and no-op run
TARGET_RATIO = 5.0  # at least this many times faster than DVC on those two rows
TARGET_HASH_S_PER_GIB = 0.6
SEED = 20_241_105

PREPARE = """\
import json, os
files = sorted(os.path.join(d, f) for d, _, fs in os.walk("data") for f in fs)
os.makedirs("features", exist_ok=True)
with open("features/summary.json", "w") as fh:
    json.dump({"files": len(files), "bytes": sum(os.path.getsize(f) for f in files)}, fh)
"""
TRAIN = """\
import json
s = json.load(open("features/summary.json"))
open("model.txt", "w").write(str(s["bytes"] // max(s["files"], 1)))
json.dump({"score": 0.5}, open("metrics.json", "w"))
"""
MLGATE_YAML = """\
project: bench
stages:
  prepare:
    cmd: python3 prepare.py
    deps: [prepare.py, data]
    outs: [features]
  train:
    cmd: python3 train.py
    deps: [train.py, features]
    params: [train.lr]
    outs: [model.txt]
    metrics: [metrics.json]
"""
DVC_YAML = MLGATE_YAML.replace("project: bench\n", "")


def generate(root: Path, files: int, total_bytes: int) -> None:
    """The shared project: data/, the two scripts and params.yaml."""
    import random

    rng = random.Random(SEED)
    size = total_bytes // files
    for i in range(files):
        folder = root / "data" / f"part{i % 20:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i:05d}.bin").write_bytes(rng.randbytes(size))
    (root / "prepare.py").write_text(PREPARE)
    (root / "train.py").write_text(TRAIN)
    (root / "params.yaml").write_text("train:\n  lr: 0.1\n")
    (root / ".gitignore").write_text("/data/\n")


CPU: dict[str, list[float]] = {}  # per "tool/scenario": CPU seconds (user + system) of each sample, children included


def sh(args: list[str], cwd: Path, env: dict[str, str], *, check: bool = True, tag: str | None = None) -> float:
    """Run one command (output discarded); its wall seconds. With ``tag``, its CPU seconds go to CPU[tag]."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=err)
        # wait4 reports the CPU time of the command and of everything it waited for (git, the stage commands)
        _, status, usage = os.wait4(proc.pid, 0)
        took = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if check and proc.returncode != 0:
            err.seek(0)
            raise RuntimeError(f"{' '.join(args)} failed in {cwd} ({proc.returncode}): {err.read().decode()[-2000:]}")
    if tag is not None:
        CPU.setdefault(tag, []).append(usage.ru_utime + usage.ru_stime)
    return took


def git_init(root: Path, env: dict[str, str]) -> None:
    for args in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "bench"]):
        sh(args, root, env)


def ensure_dvc(install: bool) -> Path | None:
    """``.bench/dvc-venv/bin/dvc``, created when missing (and allowed); None when it cannot be had."""
    dvc = DVC_VENV / "bin" / "dvc"
    if dvc.exists():
        return dvc
    how = f"python3 -m venv {DVC_VENV} && {DVC_VENV}/bin/pip install dvc"
    if not install:
        print(f"DVC is not installed; to compare with it: {how}", file=sys.stderr)
        return None
    print(f"installing DVC into {DVC_VENV} (once) …", file=sys.stderr)
    try:
        subprocess.run(["python3", "-m", "venv", str(DVC_VENV)], check=True)
        subprocess.run([str(DVC_VENV / "bin" / "pip"), "install", "-q", "dvc"], check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"installing DVC failed ({exc}); to compare with it: {how}", file=sys.stderr)
        return None
    return dvc if dvc.exists() else None


def touch(path: Path) -> None:
    os.utime(path)  # new mtime, same bytes


def change(path: Path, i: int) -> None:
    with open(path, "r+b") as fh:
        fh.write(f"{i:016d}".encode())  # new bytes, same size: prepare's output does not change


def scenarios(tool: str, root: Path, cmd: dict[str, list[str]], env: dict[str, str], repeat: int) -> dict[str, Any]:
    """The five measurements on one copy; each repeated measurement keeps every sample."""
    victim = root / "data" / "part00" / "f00000.bin"
    out: dict[str, Any] = {"first run": [sh(cmd["run"], root, env, tag=f"{tool}/first run")]}
    sh(cmd["status"], root, env, check=False)  # warm-up: bytecode compiled and written, caches primed
    tag = f"{tool}/no-op status"
    out["no-op status"] = [sh(cmd["status"], root, env, check=False, tag=tag) for _ in range(repeat)]
    out["no-op run"] = [sh(cmd["run"], root, env, tag=f"{tool}/no-op run") for _ in range(repeat)]
    samples = []
    for _ in range(repeat):
        touch(victim)
        samples.append(sh(cmd["run"], root, env, tag=f"{tool}/touched one file, run"))
    out["touched one file, run"] = samples
    samples = []
    for i in range(repeat):
        change(victim, i + 1)
        samples.append(sh(cmd["run"], root, env, tag=f"{tool}/changed one file, run"))
    out["changed one file, run"] = samples
    if tool == "mlgate" and _stale(root, env):
        raise RuntimeError("mlgate reports a stale stage after the last run")
    return out


def _stale(root: Path, env: dict[str, str]) -> bool:
    return subprocess.run([MLGATE, "status"], cwd=root, env=env, capture_output=True, check=False).returncode != 0


_HASH = """
import json, sys, time
from pathlib import Path
from mlgate.pipeline.digests import StatCache
cache = StatCache(None)
t = time.perf_counter()
digest = cache.digest(Path(sys.argv[1]))
print(json.dumps({"s": time.perf_counter() - t, "files": cache.hashed, "digest": digest}))
"""


def hash_once(data: Path, env: dict[str, str]) -> dict[str, Any]:
    """Digest of data/ with an empty stat cache, in a fresh process (the call only, imports excluded)."""
    proc = subprocess.run([sys.executable, "-c", _HASH, str(data)], env=env, capture_output=True, check=True)
    return dict(json.loads(proc.stdout))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000, help="data files (default 2,000)")
    parser.add_argument("--mib", type=int, default=1024, help="total data size in MiB (default 1,024)")
    parser.add_argument("--quick", action="store_true", help="200 files, 64 MiB: a smoke test")
    parser.add_argument("--repeat", type=int, default=5, help="timed repetitions per row (median; default 5)")
    parser.add_argument("--no-install", action="store_true", help="do not create .bench/dvc-venv when missing")
    parser.add_argument("--skip-dvc", action="store_true", help="measure mlgate only")
    parser.add_argument("--json", type=Path, help="also write every sample to this file")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and say where it is")
    args = parser.parse_args(argv)
    files, mib = (200, 64) if args.quick else (args.files, args.mib)
    if files < 1 or mib < 1 or args.repeat < 1:
        parser.error("--files, --mib and --repeat must be positive")

    dvc = None if args.skip_dvc else ensure_dvc(not args.no_install)
    # both tools write their bytecode, as an installed tool has it; no telemetry; a fixed git identity
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env |= {
        "DVC_NO_ANALYTICS": "1",
        "DO_NOT_TRACK": "1",
        "MLGATE_ACTOR": "bench",
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }
    env.pop("MLGATE_CONFIG", None)
    env.pop("MLGATE_REGISTRY", None)
    env.pop("MLGATE_ARTIFACTS", None)

    work = Path(tempfile.mkdtemp(prefix="mlgate-bench-pipeline-"))
    template = work / "template"
    print(f"generating {files:,} files, {mib:,} MiB in {template} …", file=sys.stderr)
    generate(template, files, mib * 2**20)
    results: dict[str, dict[str, Any]] = {}
    try:
        tools: list[tuple[str, dict[str, list[str]]]] = [
            ("mlgate", {"run": [MLGATE, "run"], "status": [MLGATE, "status"]})
        ]
        if dvc is not None:
            tools.append(("DVC", {"run": [str(dvc), "repro", "-q"], "status": [str(dvc), "status", "-q"]}))
        for tool, cmd in tools:
            root = work / tool
            shutil.copytree(template, root)
            if tool == "mlgate":
                (root / "mlgate.yaml").write_text(MLGATE_YAML)
                git_init(root, env)
            else:
                (root / "dvc.yaml").write_text(DVC_YAML)
                git_init(root, env)
                sh([str(dvc), "init", "-q"], root, env)
                sh([str(dvc), "config", "core.analytics", "false"], root, env)
                sh(["git", "commit", "-qam", "dvc"], root, env, check=False)
            print(f"running {tool} …", file=sys.stderr)
            results[tool] = scenarios(tool, root, cmd, env, args.repeat)
        hashed = [hash_once(template / "data", env) for _ in range(3)]
        report(results, hashed, files, mib, args.repeat, dvc)
        if args.json:
            args.json.write_text(
                json.dumps(
                    {"files": files, "mib": mib, "samples_s": results, "cpu_s": CPU, "hash": hashed, **machine(dvc)},
                    indent=2,
                )
            )
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


def machine(dvc: Path | None) -> dict[str, Any]:
    from importlib.metadata import version

    out = {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()}
    out["mlgate"] = version("mlgate")
    if dvc is not None:
        out["dvc"] = subprocess.run([str(dvc), "--version"], capture_output=True, text=True, check=False).stdout.strip()
    return out


def report(
    results: dict[str, dict[str, Any]], hashed: list[dict[str, Any]], files: int, mib: int, repeat: int, dvc: Any
) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console() if sys.stdout.isatty() else Console(width=170)
    m = machine(dvc)
    console.print(", ".join(f"{k} {v}" for k, v in m.items()))
    console.print(
        f"{files:,} files, {mib:,} MiB in data/; two stages; medians of {repeat} fresh processes per row; "
        f"1-minute load average at the end {os.getloadavg()[0]:.1f}"
    )
    table = Table()
    for col in ("scenario", "mlgate s", "DVC s", "DVC / mlgate", "mlgate CPU s", "DVC CPU s", "target", "verdict"):
        table.add_column(col, justify="left" if col in ("scenario", "target", "verdict") else "right")
    for row, samples in results["mlgate"].items():
        ours = statistics.median(samples)
        theirs = statistics.median(results["DVC"][row]) if "DVC" in results else None
        ratio = theirs / ours if theirs else None
        target, verdict = "report only", ""
        if row in ("no-op status", "no-op run"):
            target = f"≤ {TARGET_S} s and ≥ {TARGET_RATIO:g}× faster"
            problems = [f"{ours:.3f} s > {TARGET_S} s"] if ours > TARGET_S else []
            if ratio is not None and ratio < TARGET_RATIO:
                problems.append(f"only {ratio:.1f}×")
            verdict = "PASS" if not problems else "FAIL: " + ", ".join(problems)
        cpu = [statistics.median(CPU[f"{t}/{row}"]) if f"{t}/{row}" in CPU else None for t in ("mlgate", "DVC")]
        table.add_row(
            row,
            f"{ours:.3f}",
            f"{theirs:.3f}" if theirs else "-",
            f"{ratio:.1f}×" if ratio else "-",
            *(f"{c:.3f}" if c is not None else "-" for c in cpu),
            target,
            verdict,
        )
    per_gib = statistics.median(h["s"] for h in hashed) / (mib / 1024)
    verdict = "PASS" if per_gib <= TARGET_HASH_S_PER_GIB else f"FAIL: {per_gib:.2f} s"
    table.add_row(
        "hash data/, empty stat cache (s per GiB)",
        f"{per_gib:.3f}",
        "-",
        "-",
        "-",
        "-",
        f"≤ {TARGET_HASH_S_PER_GIB} s",
        verdict,
    )
    console.print(table)


if __name__ == "__main__":
    sys.exit(main())
