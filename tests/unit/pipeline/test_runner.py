"""Running stages for real: first run runs, the second is all cached, changes rerun only what they touch,
deleted outputs come back from the cache, failures stop dependents and cache nothing partial."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from mlgate.errors import EnvironmentProblem, UsageError
from mlgate.pipeline.cache import RunCache
from mlgate.pipeline.lock import read_lock

from .conftest import Project, outcomes


def _entries(project: Project) -> int:
    return sum(1 for _ in RunCache(project.settings().artifacts).entries.list())


def test_first_run_runs_second_run_is_all_cached_and_restores_nothing(make_project: Callable[..., Project]) -> None:
    p = make_project()
    first = p.run()
    assert outcomes(first) == {"prepare": "ran", "train": "ran"} and first.ok
    assert p.ran() == ["prepare", "train"]
    assert (p.root / "model.txt").read_text() == "hello\nhello\nn\n"
    assert first.metrics == {"metrics.json": {"acc": 0.75}}
    assert first.params == {"prepare.n": 3, "train": {"lr": 0.1, "depth": 2}}
    mtime = (p.root / "model.txt").stat().st_mtime_ns

    second = p.run()
    assert outcomes(second) == {"prepare": "cached", "train": "cached"}
    assert [s.restored for s in second.stages] == [0, 0]
    assert p.ran() == []
    assert (p.root / "model.txt").stat().st_mtime_ns == mtime  # not rewritten
    assert all(not s.stale for s in p.status())


def test_lock_file_is_sorted_one_block_per_stage(make_project: Callable[..., Project]) -> None:
    p = make_project()
    p.run()
    lock = read_lock(p.root)
    assert sorted(lock) == ["prepare", "train"]
    assert set(lock["train"]) == {"cmd", "deps", "params", "outs", "env"}
    assert lock["train"]["params"] == {"train": {"lr": 0.1, "depth": 2}}
    assert lock["prepare"]["outs"]["data"].startswith("blake3:")
    text = (p.root / "mlgate.lock").read_text()
    assert text.index("  prepare:") < text.index("  train:")


@pytest.mark.parametrize(
    ("change", "reran", "reason"),
    [
        (lambda p: p.write("raw.txt", "changed\n"), ["prepare", "train"], "dependency 'raw.txt' changed"),
        (lambda p: p.write("train.sh", "# new\n"), ["train"], "dependency 'train.sh' changed"),
        (
            lambda p: p.write("params.yaml", "prepare:\n  n: 3\ntrain:\n  lr: 0.5\n  depth: 2\n"),
            ["train"],
            'param \'train\' changed: {"depth": 2, "lr": 0.1} → {"depth": 2, "lr": 0.5}',
        ),
        (
            lambda p: p.write("params.yaml", "prepare:\n  n: 4\ntrain:\n  lr: 0.1\n  depth: 2\n"),
            ["prepare", "train"],
            "param 'prepare.n' changed: 3 → 4",
        ),
    ],
    ids=["dep-upstream", "dep-downstream", "param-train", "param-prepare"],
)
def test_a_change_reruns_only_that_stage_and_its_dependents(
    make_project: Callable[..., Project], change: Callable[[Project], None], reran: list[str], reason: str
) -> None:
    p = make_project()
    p.run()
    p.ran()
    change(p)
    first_stale = next(s for s in p.status() if s.stale)
    assert first_stale.name == reran[0]
    assert reason in first_stale.reasons
    result = p.run()
    # prepare's changed param does not change its output, so train is cached by its key, not rerun
    assert p.ran() == (reran if "raw" in reason or reran == ["train"] else ["prepare"])
    assert outcomes(result)[reran[0]] == "ran"
    assert all(not s.stale for s in p.status())


def test_a_changed_command_reruns_and_status_says_so(make_project: Callable[..., Project]) -> None:
    from .conftest import TWO_STAGES

    p = make_project()
    p.run()
    p.ran()
    p.write("mlgate.yaml", TWO_STAGES.replace("> model.txt", "> model.txt && echo v2 >> model.txt"))
    status = {s.name: s for s in p.status()}
    assert not status["prepare"].stale
    assert any(r.startswith("command changed:") for r in status["train"].reasons)
    assert outcomes(p.run()) == {"prepare": "cached", "train": "ran"}
    assert p.ran() == ["train"]
    assert (p.root / "model.txt").read_text().endswith("v2\n")


def test_deleted_outputs_are_restored_from_the_cache_without_running(make_project: Callable[..., Project]) -> None:
    p = make_project()
    p.run()
    p.ran()
    before = (p.root / "data" / "a.txt").read_bytes()
    import shutil

    shutil.rmtree(p.root / "data")
    (p.root / "model.txt").unlink()
    assert {s.name: s.reasons for s in p.status()}["prepare"] == ["output 'data' is missing"]
    result = p.run()
    assert outcomes(result) == {"prepare": "cached", "train": "cached"}
    assert [s.restored for s in result.stages] == [2, 1]
    assert p.ran() == []
    assert (p.root / "data" / "a.txt").read_bytes() == before
    assert (p.root / "model.txt").read_text() == "hello\nhello\nn\n"


def test_reverting_a_change_comes_back_from_the_cache(make_project: Callable[..., Project]) -> None:
    p = make_project()
    p.run()
    p.write("raw.txt", "other\n")
    p.run()
    p.ran()
    p.write("raw.txt", "hello\n")
    result = p.run()
    assert outcomes(result) == {"prepare": "cached", "train": "cached"}
    assert p.ran() == []
    assert (p.root / "model.txt").read_text() == "hello\nhello\nn\n"


def test_force_runs_everything_and_targets_select_upstream(make_project: Callable[..., Project]) -> None:
    p = make_project()
    assert outcomes(p.run("prepare")) == {"prepare": "ran"}
    assert outcomes(p.run("train")) == {"prepare": "cached", "train": "ran"}
    p.ran()
    assert outcomes(p.run(force=True)) == {"prepare": "ran", "train": "ran"}
    assert p.ran() == ["prepare", "train"]
    with pytest.raises(UsageError, match="unknown stage 'evaluate'"):
        p.run("evaluate")


def test_dry_run_changes_nothing(make_project: Callable[..., Project]) -> None:
    p = make_project()
    dry = p.run(dry_run=True)
    assert outcomes(dry) == {"prepare": "would run", "train": "would run"}
    assert dry.stages[1].reasons == ["upstream stage 'prepare' will run"]
    assert p.ran() == [] and not (p.root / "mlgate.lock").exists()
    p.run()
    (p.root / "model.txt").unlink()
    assert outcomes(p.run(dry_run=True)) == {"prepare": "up to date", "train": "would restore"}
    assert not (p.root / "model.txt").exists()


def test_a_failing_stage_stops_its_dependents_and_shows_its_log(make_project: Callable[..., Project]) -> None:
    config = """\
stages:
  ok: {cmd: echo fine > ok.txt, outs: [ok.txt]}
  bad: {cmd: 'echo line one; echo boom >&2; exit 3', outs: [bad.txt]}
  after: {cmd: cp bad.txt after.txt, deps: [bad.txt], outs: [after.txt]}
"""
    p = make_project(config, files={}, params=None)
    result = p.run(jobs=2)
    assert not result.ok
    assert outcomes(result) == {"ok": "ran", "bad": "failed", "after": "skipped"}
    bad = result.stages[1]
    assert "stage 'bad' failed" in (bad.error or "") and "exited with 3" in (bad.error or "")
    assert bad.log_tail == ["line one", "boom"]
    assert result.stages[2].reasons == ["stage 'bad' did not succeed"]
    assert set(read_lock(p.root)) == {"ok"}  # the successful stage stays recorded ...
    assert outcomes(p.run()) == {"ok": "cached", "bad": "failed", "after": "skipped"}  # ... and cached


def test_a_declared_output_not_produced_caches_nothing(make_project: Callable[..., Project]) -> None:
    config = "stages:\n  s:\n    cmd: echo a > a.txt\n    outs: [a.txt, b.txt]\n"
    p = make_project(config, files={}, params=None)
    result = p.run()
    assert outcomes(result) == {"s": "failed"}
    assert "did not produce its declared output(s) 'b.txt' (" in (result.stages[0].error or "")
    assert "mlgate.yaml:4)" in (result.stages[0].error or "")
    assert _entries(p) == 0 and read_lock(p.root) == {}


def test_a_command_that_does_not_exist(make_project: Callable[..., Project]) -> None:
    p = make_project("stages:\n  s:\n    cmd: no-such-program-xyz --fit\n    outs: [a.txt]\n", files={}, params=None)
    result = p.run()
    error = result.stages[0].error or ""
    assert "stage 's': the command was not found: 'no-such-program-xyz --fit'" in error
    assert any("not found" in line for line in result.stages[0].log_tail)
    assert _entries(p) == 0


def test_a_dependency_that_changes_while_the_stage_runs(make_project: Callable[..., Project]) -> None:
    config = (
        "stages:\n  s:\n    cmd: cp in.txt out.txt && echo edited >> in.txt\n    deps: [in.txt]\n    outs: [out.txt]\n"
    )
    p = make_project(config, files={"in.txt": "v1\n"}, params=None)
    result = p.run()
    assert "dependency 'in.txt' changed or vanished while the stage ran; nothing was cached" in (
        result.stages[0].error or ""
    )
    assert _entries(p) == 0


def test_a_dependency_that_vanishes_mid_run(make_project: Callable[..., Project]) -> None:
    config = "stages:\n  s:\n    cmd: cp in.txt out.txt && rm in.txt\n    deps: [in.txt]\n    outs: [out.txt]\n"
    p = make_project(config, files={"in.txt": "v1\n"}, params=None)
    result = p.run()
    assert "dependency 'in.txt' changed or vanished" in (result.stages[0].error or "")
    assert _entries(p) == 0


def test_uncached_outputs_are_not_stored_and_rerun_when_missing(make_project: Callable[..., Project]) -> None:
    config = "stages:\n  s:\n    cmd: echo s >> ran.log && echo big > big.txt && echo m > m.txt\n"
    config += "    outs: [{big.txt: {cache: false}}, m.txt]\n"
    p = make_project(config, files={}, params=None)
    p.run()
    p.ran()
    cache = RunCache(p.settings().artifacts)
    assert sum(1 for _ in cache.blobs.list()) == 1  # only m.txt's bytes
    (p.root / "big.txt").unlink()
    assert outcomes(p.run()) == {"s": "ran"}
    assert p.ran() == ["s"]


def test_always_run_runs_every_time(make_project: Callable[..., Project]) -> None:
    p = make_project(
        "stages:\n  s:\n    cmd: echo s >> ran.log && date +%N > t.txt\n    outs: [t.txt]\n    always_run: true\n",
        files={},
        params=None,
    )
    p.run()
    p.run()
    assert p.ran() == ["s", "s"]


def test_independent_stages_run_in_parallel(make_project: Callable[..., Project], tmp_path: Path) -> None:
    # each stage waits until the other has started: this finishes only if both run at once
    meet = "touch $1.started; for i in $(seq 200); do [ -e $2.started ] && break; sleep 0.05; done; "
    meet += "[ -e $2.started ] && echo $1 > $1.txt\n"
    config = "stages:\n  a: {cmd: sh meet.sh a b, outs: [a.txt]}\n  b: {cmd: sh meet.sh b a, outs: [b.txt]}\n"
    p = make_project(config, files={"meet.sh": meet}, params=None)
    result = p.run(jobs=2)
    assert outcomes(result) == {"a": "ran", "b": "ran"}


def test_a_shared_artifact_store_serves_a_second_copy_without_running(
    make_project: Callable[..., Project], tmp_path: Path
) -> None:
    store = tmp_path / "shared-store"
    one = make_project(name="one", artifacts=store)
    two = make_project(name="two", artifacts=store)
    one.run()
    assert one.ran() == ["prepare", "train"]
    result = two.run()
    assert outcomes(result) == {"prepare": "cached", "train": "cached"}
    assert [s.restored for s in result.stages] == [2, 2]
    assert two.ran() == []
    assert (two.root / "model.txt").read_text() == (one.root / "model.txt").read_text()
    assert json.loads((two.root / "metrics.json").read_text()) == {"acc": 0.75}


def test_environment_changes_the_key(make_project: Callable[..., Project]) -> None:
    p = make_project(files={"raw.txt": "hello\n", "train.sh": "#\n", "requirements.txt": "pyyaml>=6\n"})
    p.run()
    p.ran()
    p.write("requirements.txt", "pyyaml>=6\nblake3\n")  # a newly pinned package changes the environment
    assert "environment changed (the Python version or a pinned package's version)" in p.status()[0].reasons
    p.run()
    assert p.ran() == ["prepare", "train"]


def test_a_corrupt_cached_blob_is_refused(make_project: Callable[..., Project]) -> None:
    from mlgate.errors import IntegrityError

    p = make_project("stages:\n  s:\n    cmd: echo data > out.txt\n    outs: [out.txt]\n", files={}, params=None)
    p.run()
    cache = RunCache(p.settings().artifacts)
    (info,) = list(cache.blobs.list())
    blob = Path(cache.blobs.location) / "blobs" / info.digest.split(":")[1][:2] / info.digest.split(":")[1]
    os.chmod(blob, 0o644)
    blob.write_text("tampered\n")
    (p.root / "out.txt").unlink()
    result = p.run()
    assert outcomes(result) == {"s": "failed"}
    assert "cached output out.txt is corrupt" in (result.stages[0].error or "")
    assert not (p.root / "out.txt").exists()
    assert IntegrityError.exit_code == 3


def test_no_stages_is_a_usage_error(make_project: Callable[..., Project]) -> None:
    p = make_project("project: empty\n", files={}, params=None)
    with pytest.raises(UsageError, match="there are no stages to run"):
        p.run()
    (p.root / "mlgate.yaml").unlink()
    with pytest.raises(UsageError, match=r"no mlgate\.yaml in .* or any folder above it") as info:
        p.run()
    assert "mlgate init" in str(info.value.hint)
    with pytest.raises(UsageError, match="--jobs must be at least 1"):
        make_project("stages:\n  s: {cmd: echo}\n", files={}, params=None, name="other").run(jobs=0)
    assert EnvironmentProblem.exit_code == 3


SMOKE_STAGE = """\
stages:
  fit:
    cmd: echo "smoke=${MLGATE_SMOKE:-0}" > out.txt && cat "${MLGATE_PARAMS_FILE:-params.yaml}" >> out.txt
    params: [train.epochs]
    outs: [out.txt]
"""
SMOKE_PARAMS = "train:\n  epochs: 50\n  lr: 0.1\nsmoke:\n  train:\n    epochs: 1\n"


def test_smoke_runs_use_the_overrides_and_cache_apart(make_project: Callable[..., Project]) -> None:
    p = make_project(SMOKE_STAGE, files={}, params=SMOKE_PARAMS)
    full = p.run()
    assert outcomes(full) == {"fit": "ran"} and full.params == {"train.epochs": 50}
    full_out = (p.root / "out.txt").read_text()
    assert full_out.startswith("smoke=0\n") and "epochs: 50" in full_out
    lock = (p.root / "mlgate.lock").read_text()

    smoke = p.run(smoke=True)
    assert outcomes(smoke) == {"fit": "ran"} and smoke.smoke and smoke.params == {"train.epochs": 1}
    out = (p.root / "out.txt").read_text()
    # the command saw the merged params: the override, the untouched key, and no smoke section
    assert out.startswith("smoke=1\n") and "epochs: 1\n" in out and "lr: 0.1" in out and "smoke:" not in out
    assert (p.root / "mlgate.lock").read_text() == lock  # mlgate.lock keeps describing the full pipeline
    assert [s.stale for s in p.status()] == [True]  # the workspace holds smoke outputs now

    back = p.run()
    assert outcomes(back) == {"fit": "cached"} and back.stages[0].restored == 1
    assert (p.root / "out.txt").read_text() == full_out
    again = p.run(smoke=True)
    assert outcomes(again) == {"fit": "cached"} and again.stages[0].restored == 1
    assert (p.root / "out.txt").read_text() == out


def test_smoke_without_a_smoke_section_is_a_config_error(make_project: Callable[..., Project]) -> None:
    from mlgate.errors import ConfigError

    p = make_project(SMOKE_STAGE, files={}, params="train:\n  epochs: 50\n")
    with pytest.raises(ConfigError, match=r"params\.yaml: --smoke needs a 'smoke:' section in params\.yaml"):
        p.run(smoke=True)


def test_stage_commands_get_the_run_id(make_project: Callable[..., Project]) -> None:
    p = make_project("stages:\n  s:\n    cmd: echo $MLGATE_RUN_ID > id.txt\n    outs: [id.txt]\n", files={})
    result = p.run()
    assert (p.root / "id.txt").read_text().strip() == result.run_id


def test_a_model_logged_by_a_stage_carries_the_run_id_in_its_lineage(make_project: Callable[..., Project]) -> None:
    import sys

    from mlgate.registry.store import Registry

    script = """\
from sklearn.datasets import load_breast_cancer
from sklearn.linear_model import LogisticRegression

import mlgate

X, y = load_breast_cancer(return_X_y=True, as_frame=True)
X = X.iloc[:, :4]
mv = mlgate.log_model(LogisticRegression(max_iter=500).fit(X, y), "cancer", sample_input=X.head(5))
open("registered.txt", "w").write(mv.ref)
"""
    config = f"stages:\n  train:\n    cmd: {sys.executable} train.py\n    deps: [train.py]\n    outs: [registered.txt]"
    p = make_project(config, files={"train.py": script})
    result = p.run()
    assert result.ok, result.stages[0].log_tail
    with Registry(settings=p.settings()) as reg:
        mv = reg.get("cancer")
        assert [r.id for r in reg.runs()] == [result.run_id]
    assert mv.lineage["run_id"] == result.run_id


def test_an_unknown_executor_argument_is_a_usage_error(make_project: Callable[..., Project]) -> None:
    p = make_project()
    with pytest.raises(UsageError, match=r"unknown executor 'dask'"):
        p.run(executor="dask")
