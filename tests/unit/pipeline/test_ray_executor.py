"""``executor: ray``: the same stages, outputs, cache keys and failures as the local executor, on a local Ray."""

from __future__ import annotations

from collections.abc import Callable

from .conftest import TWO_STAGES, Project, outcomes


def test_stages_run_as_ray_tasks_with_the_local_cache_semantics(
    ray_local: object, make_project: Callable[..., Project]
) -> None:
    p = make_project("executor: ray\n" + TWO_STAGES.replace("echo train >> ran.log", "echo train $$ >> pids.log"))
    first = p.run(jobs=2)
    assert first.executor == "ray" and outcomes(first) == {"prepare": "ran", "train": "ran"} and first.ok
    assert (p.root / "model.txt").read_text() == "hello\nhello\nn\n"
    assert first.metrics == {"metrics.json": {"acc": 0.75}}
    assert p.ran() == ["prepare"]  # the command really ran, in the project folder

    # the executor is not part of the key: the local executor finds everything up to date, then cached
    assert outcomes(p.run(executor="local")) == {"prepare": "cached", "train": "cached"}
    (p.root / "model.txt").unlink()
    again = p.run()
    assert outcomes(again) == {"prepare": "cached", "train": "cached"} and again.stages[1].restored == 1
    p.write("raw.txt", "other\n")
    changed = p.run()
    assert outcomes(changed) == {"prepare": "ran", "train": "ran"}
    assert (p.root / "model.txt").read_text() == "other\nother\nn\n"
    assert len((p.root / "pids.log").read_text().splitlines()) == 2


def test_a_failing_ray_task_fails_its_stage_skips_dependents_and_keeps_the_log(
    ray_local: object, make_project: Callable[..., Project]
) -> None:
    p = make_project(TWO_STAGES.replace("echo prepare >> ran.log &&", "echo about to fail && exit 3 &&"))
    result = p.run(executor="ray")
    assert outcomes(result) == {"prepare": "failed", "train": "skipped"} and not result.ok
    failed = result.stages[0]
    assert "exited with 3" in (failed.error or "") and failed.log_tail == ["about to fail"]
    missing = make_project("stages:\n  s: {cmd: no-such-program-xyz, outs: [o.txt]}\n", name="m", files={})
    result = missing.run(executor="ray")
    assert "the command was not found" in (result.stages[0].error or "")
