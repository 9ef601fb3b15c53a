"""The example repository through CI: main releases v1, a pull request that passes, one that must fail.

Real processes (``mlgate ci``, ``python train.py``), a real git repository, a real registry; the
second pull request retrains on labels with a hidden fault on one slice, and the gate must name it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "quickstart-project"
GIT = ["git", "-c", "user.name=ci test", "-c", "user.email=ci@mlgate.invalid"]


def _git(root: Path, *args: str) -> None:
    subprocess.run([*GIT, *args], cwd=root, check=True, capture_output=True)


def _mlgate(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLGATE_", "GITHUB_"))}
    env.update(MLGATE_ACTOR="ci-test", COLUMNS="200")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # `python train.py`
    return subprocess.run(
        [sys.executable, "-m", "mlgate", *args], cwd=root, env=env, capture_output=True, text=True, timeout=600
    )


def relabel(root: Path, *, column: str = "mean texture", above: float = 23.0, fraction: float = 0.15) -> int:
    """Flip a share of the malignant labels on one slice of data/train.csv, as a faulty labelling batch would."""
    import numpy as np
    import pandas as pd

    path = root / "data" / "train.csv"
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
    cfg.write_text(cfg.read_text().replace("  - {latency_p99_ms: 50}\n", ""), encoding="utf-8")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "example project")

    main = _mlgate(root, "ci", "--no-smoke", "--promote-to", "staging", "--report", "out/main/report.md")
    assert main.returncode == 0, main.stdout + main.stderr
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
    assert "# mlgate ci: ✅ passed" in report and "registered by this run: passed" in report
    assert "### Pipeline (smoke run)" in report
    graph = report.split("```mermaid\n", 1)[1].split("```", 1)[0]  # the stage graph, coloured by outcome
    assert graph.startswith("flowchart LR") and 's0["train · ran"]' in graph and "class s0 ran" in graph
    assert "### Metrics against `main`" in report and "`metrics.json:accuracy`" in report
    assert (root / "out" / "good" / "roc.png").is_file()

    _git(root, "checkout", "-q", "main")
    _git(root, "merge", "-q", "--ff-only", "stronger-model")
    release = _mlgate(root, "ci", "--no-smoke", "--promote-to", "staging", "--report", "out/main2/report.md")
    assert release.returncode == 0, release.stdout + release.stderr
    assert _mlgate(root, "promote", "breast-cancer@staging", "--to", "production").returncode == 0

    _git(root, "checkout", "-q", "-b", "new-labels")
    assert relabel(root) > 0
    _git(root, "commit", "-q", "-am", "new labels from the vendor")
    bad = _mlgate(root, "ci", "--base", "main", "--report", "out/bad/report.md")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "registered by this run: blocked" in bad.stdout
    report = (root / "out" / "bad" / "report.md").read_text()
    assert "# mlgate ci: ❌ failed" in report
    failing = [line for line in report.splitlines() if "❌ fail" in line and "rough tumours" in line]
    assert failing, "the gate table names the slice that regressed"
