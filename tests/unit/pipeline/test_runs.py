"""Each run is recorded in the registry (SQLite and PostgreSQL): params, metrics, stage timings, cache hits."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlgate.errors import NotFoundError, UsageError
from mlgate.pipeline.runs import ABSENT, diff_runs, flatten
from mlgate.registry.store import Registry

from .conftest import Project


def test_runs_are_recorded_and_compared(make_project: Callable[..., Project], registry_url: str) -> None:
    p = make_project()
    p.registry = registry_url
    first = p.run()
    p.write("params.yaml", "prepare:\n  n: 3\ntrain:\n  lr: 0.5\n  depth: 2\n")
    p.write("mlgate.yaml", p.root.joinpath("mlgate.yaml").read_text().replace("0.75", "0.8"))
    second = p.run()
    with Registry(settings=p.settings()) as reg:
        runs = reg.runs()
        assert [r.id for r in runs] == [second.run_id, first.run_id]
        a, b = reg.get_run(first.run_id[:6]), reg.get_run(second.run_id)
    assert a.status == "succeeded" and a.project == "demo" and a.cache_hits == 0
    assert [(s["stage"], s["outcome"]) for s in b.stages] == [("prepare", "cached"), ("train", "ran")]
    assert b.cache_hits == 1 and all(s["duration_s"] >= 0 for s in b.stages)
    assert a.metrics == {"metrics.json": {"acc": 0.75}} and b.metrics == {"metrics.json": {"acc": 0.8}}
    rows = {(r.section, r.key): r for r in diff_runs(a, b)}
    assert set(rows) == {("params", "train.lr"), ("metrics", "metrics.json:acc")}
    assert rows[("params", "train.lr")].change == "+0.4"
    assert rows[("metrics", "metrics.json:acc")].to_dict() == {
        "section": "metrics",
        "key": "metrics.json:acc",
        "a": 0.75,
        "b": 0.8,
        "change": "+0.05",
    }
    assert len(diff_runs(a, b, only_changed=False)) == 4


def test_a_failed_run_is_recorded_as_failed(make_project: Callable[..., Project], registry_url: str) -> None:
    p = make_project("stages:\n  s: {cmd: exit 4, outs: [x.txt]}\n", files={}, params=None)
    p.registry = registry_url
    result = p.run()
    with Registry(settings=p.settings()) as reg:
        record = reg.get_run(result.run_id)
    assert record.status == "failed" and record.stages[0]["outcome"] == "failed"


def test_unknown_and_malformed_run_ids(registry: Registry) -> None:
    with pytest.raises(NotFoundError, match="no pipeline run 'abc123'"):
        registry.get_run("abc123")
    with pytest.raises(UsageError, match="'a-b' is not a run id"):
        registry.get_run("a-b")
    assert registry.runs() == []


@given(
    st.dictionaries(
        st.text("abc", min_size=1, max_size=3),
        st.integers() | st.dictionaries(st.text("xy", min_size=1, max_size=2), st.integers(), max_size=3),
        max_size=4,
    )
)
def test_flatten_keeps_every_leaf_and_diff_of_a_run_with_itself_is_empty(values: dict) -> None:  # type: ignore[type-arg]
    flat = flatten(values)
    leaves = sum(len(v) if isinstance(v, dict) and v else 1 for v in values.values())
    assert len(flat) == leaves
    from datetime import UTC, datetime

    from mlgate.registry.types import RunRecord

    r = RunRecord("x", None, "succeeded", [], values, values, [], 0, None, datetime.now(UTC), 0.0, "t")
    assert diff_runs(r, r) == []
    assert all(row.a is not ABSENT for row in diff_runs(r, r, only_changed=False))
