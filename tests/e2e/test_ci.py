"""The example repository through CI: main releases v1, a pull request that passes, one that must fail.

Real processes (``mlgate ci``, ``python train.py``), a real git repository, a real registry; the
second pull request retrains on labels with a hidden fault on one slice, and the gate must name it.
A ``prepare`` stage writes data/train.csv, so validation must check what the pipeline produced; the
smoke run's version must be refused by ``promote``; and main, on a fresh clone sharing the registry and
the artifact store, must gate and promote the very version the pull request built (same digest).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "quickstart-project"
GIT = ["git", "-c", "user.name=ci test", "-c", "user.email=ci@mlgate.invalid"]


def _git(root: Path, *args: str) -> None:
    subprocess.run([*GIT, *args], cwd=root, check=True, capture_output=True)


PREPARE = """\
import pathlib

pathlib.Path("data/train.csv").write_text(pathlib.Path("data/raw/train.csv").read_text())
"""


def _mlgate(root: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLGATE_", "GITHUB_"))}
    env.update(MLGATE_ACTOR="ci-test", COLUMNS="200", **extra)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # `python train.py`
    return subprocess.run(
        [sys.executable, "-m", "mlgate", *args], cwd=root, env=env, capture_output=True, text=True, timeout=600
    )


def relabel(root: Path, *, column: str = "mean texture", above: float = 23.0, fraction: float = 0.15) -> int:
    """Flip a share of the malignant labels on one slice of the raw training data, as a faulty labelling batch would."""
    import numpy as np
    import pandas as pd

    path = root / "data" / "raw" / "train.csv"
    train = pd.read_csv(path)
    rows = np.flatnonzero(((train[column] >= above) & (train["target"] == 0)).to_numpy())
    flip = np.random.default_rng(0).choice(rows, size=int(len(rows) * fraction), replace=False)
    train.loc[flip, "target"] = 1
    train.to_csv(path, index=False)
    return len(flip)


def test_a_pull_request_that_passes_and_one_that_must_fail(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns(".mlgate", "mlgate-report", "metrics.json"))
    cfg = root / "mlgate.yaml"  # a latency budget measures this machine's load, not the change under review
    text = cfg.read_text().replace("  - {latency_p99_ms: 50}\n", "")
    prepare = "  prepare:\n    cmd: python prepare.py\n    deps: [prepare.py, data/raw]\n    outs: [data/train.csv]\n"
    cfg.write_text(text.replace("stages:\n", "stages:\n" + prepare, 1), encoding="utf-8")
    (root / "data" / "raw").mkdir()
    (root / "data" / "train.csv").rename(root / "data" / "raw" / "train.csv")
    (root / "prepare.py").write_text(PREPARE, encoding="utf-8")
    with open(root / ".gitignore", "a", encoding="utf-8") as fh:
        fh.write("data/train.csv\nmlgate.lock\nout/\n")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "example project")

    main = _mlgate(root, "ci", "--no-smoke", "--promote-to", "staging", "--report", "out/main/report.md")
    assert main.returncode == 0, main.stdout + main.stderr
    assert "data validation: 2 file(s)" in main.stdout, "data/train.csv, which prepare wrote, was validated"
    assert "No production version yet" in (root / "out" / "main" / "report.md").read_text()
    approve = _mlgate(root, "promote", "breast-cancer@staging", "--to", "production")
    assert approve.returncode == 0, approve.stderr

    _git(root, "checkout", "-q", "-b", "stronger-model")
    params = root / "params.yaml"
    params.write_text(params.read_text().replace("C: 0.05", "C: 1.0"), encoding="utf-8")
    _git(root, "commit", "-q", "-am", "C=1.0")
    good = _mlgate(root, "ci", "--base", "main", "--report", "out/good/report.md")
    assert good.returncode == 0, good.stdout + good.stderr
    report = (root / "out" / "good" / "report.md").read_text()
    assert "# mlgate ci: ✅ passed" in report and "registered by stage 'train' of this run: passed" in report
    assert "### Pipeline (smoke run)" in report
    graph = report.split("```mermaid\n", 1)[1].split("```", 1)[0]  # the stage graph, coloured by outcome
    assert graph.startswith("flowchart LR") and 's1["train · ran"]' in graph and "class s1 ran" in graph
    assert "s0 --> s1" in graph, "prepare feeds train"
    assert "### Metrics against `main`" in report and "`metrics.json:accuracy`" in report
    assert (root / "out" / "good" / "roc.png").is_file()
    smoke_ref = good.stdout.split("gate: ", 1)[1].split(",", 1)[0]
    refused = _mlgate(root, "promote", smoke_ref, "--to", "staging")
    assert refused.returncode == 2 and "registered by a smoke run" in refused.stderr, refused.stderr
    listed = json.loads(_mlgate(root, "model", "list", "breast-cancer", "--json").stdout)
    everything = json.loads(_mlgate(root, "model", "list", "breast-cancer", "--json", "--all").stdout)
    smoke_number = int(smoke_ref.split(":")[1])
    assert smoke_number not in [v["number"] for v in listed] and smoke_number in [v["number"] for v in everything]

    full = _mlgate(root, "ci", "--no-smoke", "--base", "main", "--report", "out/full/report.md")
    assert full.returncode == 0 and "registered by stage 'train' of this run" in full.stdout, full.stdout
    built = full.stdout.split("gate: ", 1)[1].split(",", 1)[0]

    _git(root, "checkout", "-q", "main")
    _git(root, "merge", "-q", "--ff-only", "stronger-model")
    runner = tmp_path / "main-runner"  # a fresh runner sharing the registry and the artifact store
    _git(tmp_path, "clone", "-q", str(root), str(runner))
    shared = {
        "MLGATE_REGISTRY": f"sqlite:///{root / '.mlgate' / 'registry.db'}",
        "MLGATE_ARTIFACTS": str(root / ".mlgate" / "artifacts"),
    }
    release = _mlgate(
        runner, "ci", "--no-smoke", "--promote-to", "staging", "--report", "out/main2/report.md", **shared
    )
    assert release.returncode == 0, release.stdout + release.stderr
    assert f"gate: {built}, restored from the run cache" in release.stdout
    assert f"staging → {built}" in release.stdout
    staged = _mlgate(runner, "model", "show", "breast-cancer@staging", "--json", **shared).stdout
    assert json.loads(staged)["digest"] == json.loads(_mlgate(root, "model", "show", built, "--json").stdout)["digest"]
    assert _mlgate(root, "promote", "breast-cancer@staging", "--to", "production").returncode == 0

    _git(root, "checkout", "-q", "-b", "new-labels")
    assert relabel(root) > 0
    _git(root, "commit", "-q", "-am", "new labels from the vendor")
    bad = _mlgate(root, "ci", "--base", "main", "--report", "out/bad/report.md")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "of this run: blocked" in bad.stdout
    report = (root / "out" / "bad" / "report.md").read_text()
    assert "# mlgate ci: ❌ failed" in report
    # "❌ fail", or "❌ undecided, blocks" when the interval straddles the margin but the point is beyond it
    failing = [line for line in report.splitlines() if "| ❌" in line and line.startswith("| rough tumours")]
    assert failing, "the gate table names the slice that regressed"
