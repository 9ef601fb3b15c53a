"""The quickstart as a user runs it: a real process, a real project, a real registry."""

from __future__ import annotations

import os
import subprocess
import sys

from mlgate.config import load_settings
from mlgate.registry.store import Registry


def test_quickstart_runs_the_whole_loop(tmp_path):
    target = tmp_path / "qs"
    env = dict(os.environ, COLUMNS="200")
    proc = subprocess.run(
        [sys.executable, "-m", "mlgate", "quickstart", str(target)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "breast-cancer@production is breast-cancer:1 (1.0.0)" in proc.stdout
    assert "validate data/test.csv against it" in proc.stdout
    assert "mean radius" in proc.stdout.split("drift of a new batch")[1].split("▶")[0], "the shifted column is named"
    assert (target / "mlgate.schema.yaml").is_file()
    assert "the server switched from breast-cancer:1 to breast-cancer:2" in proc.stdout, "serving follows the alias"
    again = proc.stdout.split("run it again:")[1].split("▶")[0]
    assert "0 commands ran" in again and "train cached" in again, "the second run comes from the cache"
    gate_v3 = proc.stdout.split("gate v3 against production")[1].split("▶")[0]
    assert "BLOCKED" in gate_v3 and "rough tumours" in gate_v3 and "recall 0.8261 vs 1" in gate_v3
    assert "the aggregate hides it" in gate_v3, "the overall change passes: the regression is hidden in the slice"
    assert (target / "reports" / "v3" / "report.md").is_file() and (target / "reports" / "v3" / "roc.png").is_file()
    with Registry(settings=load_settings(config=target / "mlgate.yaml")) as reg:
        versions = reg.versions("breast-cancer")
        assert [v.semver for v in versions] == ["1.0.0", "1.1.0", "1.2.0-rc.1"]
        assert reg.get("breast-cancer@production").number == 1
        assert [e.kind for e in reg.history("breast-cancer")] == ["set", "set", "rollback"]
        events = reg.history("breast-cancer")
        assert events[0].gate_report and events[1].gate_report, "every promotion carries its gate report"
        reports = reg.gate_reports("breast-cancer:3")
        assert len(reports) == 1 and not reports[0].passed
        lineage = versions[1].lineage
        assert lineage["params"]["train"] == {"C": 1.0, "max_iter": 2000}
        assert lineage["run_id"], "registered from a pipeline stage: the run id is in the lineage"
        runs = reg.runs(limit=10)
        assert lineage["run_id"] in {r.id for r in runs}
        assert "data/train.csv" in lineage["data"]
        if lineage["git"] is not None:
            assert lineage["git"]["dirty"] is False and len(lineage["git"]["commit"]) == 40


def test_quickstart_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    proc = subprocess.run(
        [sys.executable, "-m", "mlgate", "quickstart", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and "is not empty" in proc.stderr
    assert (tmp_path / "keep.txt").read_text() == "mine"
