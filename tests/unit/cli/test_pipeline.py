"""``mlgate run``, ``mlgate status`` and ``mlgate runs`` through the real entry point (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from tests.unit.pipeline.conftest import PARAMS, TWO_STAGES


def _project(root: Path, config: str = TWO_STAGES) -> None:
    (root / "mlgate.yaml").write_text(config)
    (root / "params.yaml").write_text(PARAMS)
    (root / "raw.txt").write_text("hello\n")
    (root / "train.sh").write_text("#\n")


def test_run_status_and_runs(cli) -> None:  # type: ignore[no-untyped-def]
    _project(Path.cwd())
    assert cli("status").code == 1  # nothing ran yet: stale
    first = cli("run", "--jobs", "2")
    assert first.code == 0, first.err
    assert "2 ran, 0 cached, 0 failed, 0 skipped" in first.out
    second = cli("run", "--json")
    assert second.code == 0
    assert [s["outcome"] for s in second.json()["stages"]] == ["cached", "cached"]
    status = cli("status")
    assert status.code == 0 and "everything is up to date" in status.out

    Path("params.yaml").write_text(PARAMS.replace("lr: 0.1", "lr: 0.3"))
    stale = cli("status", "--json")
    assert stale.code == 1
    assert stale.json()["stages"][1]["reasons"] == [
        'param \'train\' changed: {"depth": 2, "lr": 0.1} → {"depth": 2, "lr": 0.3}'
    ]
    dry = cli("run", "--dry-run")
    assert dry.code == 0 and "would run" in dry.out and "dry run" in dry.out
    third = cli("run", "train")
    assert third.code == 0 and "1 ran, 1 cached" in third.out

    runs = cli("runs", "list", "--json").json()
    assert len(runs) == 3 and runs[0]["params"]["train"]["lr"] == 0.3
    show = cli("runs", "show", runs[0]["id"])
    assert show.code == 0 and "metrics.json:acc" in show.out and "train.lr" in show.out
    diff = cli("runs", "diff", runs[2]["id"], runs[0]["id"], "--json")
    assert diff.code == 0
    assert diff.json()["rows"] == [{"section": "params", "key": "train.lr", "a": 0.1, "b": 0.3, "change": "+0.2"}]
    missing = cli("runs", "show", "ffffffff")
    assert missing.code == 2 and "no pipeline run 'ffffffff'" in missing.err


def test_a_failing_stage_exits_1_and_shows_its_last_log_lines(cli) -> None:  # type: ignore[no-untyped-def]
    _project(Path.cwd(), "stages:\n  bad: {cmd: 'echo preparing; echo Traceback: kaput >&2; exit 2', outs: [x.txt]}\n")
    result = cli("run")
    assert result.code == 1
    assert "stage 'bad' failed" in result.err and "exited with 2" in result.err
    assert "│ preparing" in result.err and "│ Traceback: kaput" in result.err
    assert "0 ran, 0 cached, 1 failed, 0 skipped" in result.out


def test_config_errors_exit_2_with_the_line(cli) -> None:  # type: ignore[no-untyped-def]
    _project(Path.cwd(), "stages:\n  s:\n    cmd: echo\n    params: [train.nope]\n")
    result = cli("run")
    assert result.code == 2
    assert "mlgate.yaml:4: stage 's' reads the param 'train.nope', which params.yaml does not have" in result.err


def test_smoke_flag_and_noop_runs_reach_runs_list(cli) -> None:  # type: ignore[no-untyped-def]
    _project(Path.cwd())
    Path("params.yaml").write_text(PARAMS + "smoke:\n  train:\n    lr: 0.01\n")
    assert cli("run").code == 0
    noop = cli("run", "--json")
    assert noop.code == 0 and noop.json()["noop"] is True
    smoke = cli("run", "--smoke", "--json")
    assert smoke.code == 0 and smoke.json()["smoke"] is True
    # every stage is keyed apart in smoke mode: a command may read MLGATE_SMOKE itself
    assert [s["outcome"] for s in smoke.json()["stages"]] == ["ran", "ran"]
    assert smoke.json()["params"]["train"] == {"lr": 0.01, "depth": 2}
    assert cli("status", "--smoke").code == 0
    runs = cli("runs", "list", "--json").json()  # the deferred no-op run is flushed in first
    assert [r["id"] for r in runs][1] == noop.json()["run_id"] and len(runs) == 3
    bad = cli("run", "--executor", "dask")
    assert bad.code == 2 and "unknown executor 'dask'" in bad.err


def test_gc_lists_then_drops_run_cache_entries_unused_for_long(cli) -> None:  # type: ignore[no-untyped-def]
    import os
    import time

    _project(Path.cwd())
    assert cli("run").code == 0
    Path("raw.txt").write_text("changed\n")
    assert cli("run").code == 0
    store = Path(os.environ["MLGATE_ARTIFACTS"]) / "pipeline"
    then = time.time() - 40 * 86400
    for f in store.rglob("*"):
        if f.is_file():
            os.utime(f, (then, then))

    kept = cli("gc", "--json").json()["run_cache"]
    assert kept["entries"] == 4 and kept["expired"] == [] and kept["orphans"] == []
    listed = cli("gc", "--cache-unused-for", "30d")
    assert listed.code == 0 and "2 entries of the run cache unused for 30d" in listed.out
    assert "nothing deleted" in listed.out
    done = cli("gc", "--cache-unused-for", "30d", "--yes", "--json").json()["run_cache"]
    assert done["deleted"] and {e["stage"] for e in done["expired"]} == {"prepare", "train"}
    assert cli("gc", "--json").json()["run_cache"]["entries"] == 2
    assert cli("status").code == 0  # the workspace's own entries and outputs are untouched


def test_gc_rejects_durations_it_cannot_read(cli) -> None:  # type: ignore[no-untyped-def]
    for args in (["--cache-unused-for", "soon"], ["--cache-unused-for", "-3d"], ["--min-age", "inf"]):
        bad = cli("gc", *args)
        assert bad.code == 2 and "is not a duration such as 30s, 10m, 1h or 2d" in bad.err, bad.err
        assert args[0] in bad.err


def test_dag_in_every_format(cli) -> None:  # type: ignore[no-untyped-def]
    _project(Path.cwd())
    assert cli("dag").out.splitlines() == ["prepare", "└── train"]
    assert cli("dag", "--format", "json").json() == {"stages": ["prepare", "train"], "edges": [["prepare", "train"]]}
    assert "s0 --> s1" in cli("dag", "--format", "mermaid").out
    assert '"prepare" -> "train";' in cli("dag", "--format", "dot").out
    assert cli("dag", "prepare").out.splitlines() == ["prepare"]
    bad = cli("dag", "--format", "svg")
    assert bad.code == 2 and "is not one of text, mermaid, dot, json" in bad.err
    unknown = cli("dag", "nope")
    assert unknown.code == 2 and "unknown stage 'nope'" in unknown.err


def test_a_stage_that_ran_shows_its_last_lines(cli) -> None:  # type: ignore[no-untyped-def]
    cmd = "for i in 1 2 3 4 5 6 7; do echo step $i; done; echo registered fraud:3 1.2.0-rc.1 >&2; echo > out.txt"
    _project(Path.cwd(), f"stages:\n  train: {{cmd: '{cmd}', outs: [out.txt]}}\n")
    result = cli("run")
    assert result.code == 0, result.err
    shown = [line for line in result.out.splitlines() if line.startswith("  │ ")]
    assert shown == ["  │ step 4", "  │ step 5", "  │ step 6", "  │ step 7", "  │ registered fraud:3 1.2.0-rc.1"]
    assert "train printed (full log: .mlgate/pipeline/logs/train.log)" in result.out
    again = cli("run")  # restored from the cache: nothing ran, nothing printed
    assert again.code == 0 and "│" not in again.out
    Path("out.txt").unlink()
    forced = cli("run", "--force", "--json").json()
    assert forced["stages"][0]["log_tail"][-1] == "registered fraud:3 1.2.0-rc.1"
