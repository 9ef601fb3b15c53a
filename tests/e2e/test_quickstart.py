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
    with Registry(settings=load_settings(config=target / "mlgate.yaml")) as reg:
        versions = reg.versions("breast-cancer")
        assert [v.semver for v in versions] == ["1.0.0", "1.1.0"]
        assert reg.get("breast-cancer@production").number == 1
        assert [e.kind for e in reg.history("breast-cancer")] == ["set", "set", "rollback"]
        lineage = versions[1].lineage
        assert lineage["params"] == {"train": {"C": 1.0, "max_iter": 2000}}
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
