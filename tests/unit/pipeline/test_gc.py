"""Garbage collection of the run cache on a real project: what expires, what stays, and what a hit renews."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

from mlgate.pipeline.cache import RunCache
from mlgate.pipeline.digests import StatCache
from mlgate.pipeline.gc import collect_garbage, workspace_outputs
from mlgate.pipeline.lock import read_lock
from mlgate.pipeline.spec import load_pipeline
from mlgate.pipeline.status import Context, state_dir
from tests.unit.pipeline.conftest import Project, outcomes

DAY = 86400.0


def _age(folder: Path, seconds: float) -> None:
    """Make every file under ``folder`` look ``seconds`` old."""
    then = time.time() - seconds
    for path in folder.rglob("*"):
        if path.is_file():
            os.utime(path, (then, then))


def _cache(p: Project) -> RunCache:
    return RunCache(p.settings().artifacts)


def _keys(p: Project) -> dict[str, str]:
    """The cache key of each stage's current inputs."""
    settings = p.settings()
    pipeline = load_pipeline(settings)
    ctx = Context(pipeline, StatCache(state_dir(p.root) / "stat.json"), read_lock(p.root))
    return {name: ctx.inputs(stage).key for name, stage in pipeline.stages.items()}


def test_entries_unused_for_long_expire_but_the_workspace_outputs_stay(
    make_project: Callable[..., Project],
) -> None:
    p = make_project()
    assert outcomes(p.run()) == {"prepare": "ran", "train": "ran"}
    old = _keys(p)
    p.write("raw.txt", "changed\n")
    assert outcomes(p.run()) == {"prepare": "ran", "train": "ran"}
    new = _keys(p)
    entries = Path(p.settings().artifacts) / "pipeline"
    _age(entries, 40 * DAY)

    found = collect_garbage(p.settings(), unused_for_s=30 * DAY)
    assert found.entries == 4 and not found.deleted
    assert sorted((stage, key) for key, stage, _ in found.expired) == sorted((s, old[s]) for s in old)
    # the old data/a.txt and model.txt are named by nothing else; data/b.txt is shared with the new entry
    assert len(found.orphans) == 2 and found.damaged == []
    assert _cache(p).entries.has(old["prepare"])  # listing deletes nothing (and get() would mark it used)

    done = collect_garbage(p.settings(), unused_for_s=30 * DAY, delete=True)
    assert done.deleted and done.freed_bytes == sum(n for _, n, _ in found.orphans) > 0
    cache = _cache(p)
    assert all(cache.get(k) is None for k in old.values())
    assert all(cache.get(k) is not None for k in new.values())
    # what stays still restores: drop the outputs and run
    p.ran()
    (p.root / "model.txt").unlink()
    again = p.run()
    assert outcomes(again) == {"prepare": "cached", "train": "cached"} and p.ran() == []
    # and what went is run again, not half-restored
    p.write("raw.txt", "hello\n")
    assert outcomes(p.run()) == {"prepare": "ran", "train": "ran"}
    assert collect_garbage(p.settings(), unused_for_s=30 * DAY).expired == []  # all used just now


def test_without_an_age_no_entry_expires_and_a_hit_renews_one(make_project: Callable[..., Project]) -> None:
    p = make_project()
    p.run()
    first = _keys(p)
    p.write("raw.txt", "changed\n")
    p.run()
    entries = Path(p.settings().artifacts) / "pipeline" / "entries"
    _age(entries, 40 * DAY)
    assert collect_garbage(p.settings()).expired == []
    assert len(collect_garbage(p.settings(), unused_for_s=30 * DAY).expired) == 2

    # going back to the first raw.txt restores the first entries: the hit marks them used
    p.write("raw.txt", "hello\n")
    assert outcomes(p.run()) == {"prepare": "cached", "train": "cached"}
    expired = collect_garbage(p.settings(), unused_for_s=30 * DAY).expired
    assert {k for k, _, _ in expired}.isdisjoint(first.values()) and len(expired) == 2
    assert workspace_outputs(p.settings()) == {
        (stage, path, digest) for stage, block in read_lock(p.root).items() for path, digest in block["outs"].items()
    }


def test_blobs_of_interrupted_saves_and_damaged_entries_go_after_the_age_guard(
    make_project: Callable[..., Project], tmp_path: Path
) -> None:
    from mlgate.hashing import digest_file

    p = make_project()
    p.run()
    cache = _cache(p)
    stray = tmp_path / "stray.bin"
    stray.write_bytes(b"a blob whose entry was never written")
    cache.blobs.put_file(digest_file(stray), stray)
    bogus_key = digest_file(p.root / "raw.txt")
    cache.entries.put_bytes(bogus_key, b"{not json")

    young = collect_garbage(p.settings(), delete=True)
    assert young.orphans == [] and young.damaged == [] and young.kept_young == 1
    assert cache.blobs.has(digest_file(stray))

    _age(Path(p.settings().artifacts) / "pipeline", 2 * 3600)
    old = collect_garbage(p.settings(), delete=True)
    assert [d for d, _, _ in old.orphans] == [digest_file(stray)] and old.damaged == [bogus_key]
    assert not cache.blobs.has(digest_file(stray)) and not cache.entries.has(bogus_key)
    assert old.expired == [] and old.entries == 3
    assert all(cache.get(k) is not None for k in _keys(p).values())
