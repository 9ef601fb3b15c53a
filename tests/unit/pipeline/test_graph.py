"""The stage graph: edges, the text tree, Mermaid and DOT, on a real mlgate.yaml and on random DAGs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from mlgate.pipeline import graph
from mlgate.pipeline.spec import Pipeline, load_pipeline

from .conftest import Project

DIAMOND = """\
stages:
  a: {cmd: echo a > a.txt, outs: [a.txt]}
  b: {cmd: cat a.txt > b.txt, deps: [a.txt], outs: [b.txt]}
  c: {cmd: cat a.txt > c.txt, deps: [a.txt], outs: [c.txt]}
  d: {cmd: cat b.txt c.txt > d.txt, deps: [b.txt, c.txt], outs: [d.txt]}
  e-2.x: {cmd: echo e > e.txt, outs: [e.txt]}
"""
LONELY = "e-2.x"  # stage names follow the model-name rule: nothing to quote


def test_a_diamond_and_a_lonely_stage(make_project: Callable[..., Project]) -> None:
    p = make_project(DIAMOND, files={}, params=None)
    pipeline = load_pipeline(p.settings())
    names = pipeline.select()
    assert graph.edges(pipeline, names) == [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")]
    assert graph.text(pipeline, names) == ["a", "├── b", "│   └── d", "└── c", "    └── d (above)", LONELY]
    chart = graph.mermaid(pipeline, names).splitlines()
    assert chart[0] == "flowchart LR" and '  s4["e-2.x"]' in chart
    assert [line.strip() for line in chart if "-->" in line] == ["s0 --> s1", "s0 --> s2", "s1 --> s3", "s2 --> s3"]
    dot = graph.dot(pipeline, names)
    assert '"b" -> "d";' in dot and '"e-2.x";' in dot and dot.count("->") == 4
    coloured = graph.mermaid(pipeline, names, outcomes={"a": "cached", "b": "ran", "c": "failed", "d": "skipped"})
    assert '  s0["a · cached"]' in coloured.splitlines() and "  class s2 failed" in coloured.splitlines()
    assert coloured.count("classDef") == 4 and f'["{LONELY.replace(chr(34), "#quot;")}"]' in coloured
    only_b = pipeline.select(["b"])
    assert graph.text(pipeline, only_b) == ["a", "└── b"] and graph.edges(pipeline, only_b) == [("a", "b")]


@st.composite
def dags(draw: st.DrawFn) -> Pipeline:
    """A random DAG: each stage may depend on any earlier one."""
    n = draw(st.integers(1, 8))
    names = [f"s{i}" for i in range(n)]
    upstream = {
        name: tuple(sorted(draw(st.sets(st.sampled_from(names[:i])))) if i else ()) for i, name in enumerate(names)
    }
    # the graph functions read only the names and the edges, not the stages' definitions
    return Pipeline(Path("."), dict.fromkeys(names), upstream)  # type: ignore[arg-type]


@given(dags())
def test_the_text_tree_shows_every_stage_once_and_every_edge_once(pipeline: Pipeline) -> None:
    names = list(pipeline.stages)
    lines = graph.text(pipeline, names)
    shown = [line.lstrip("│├└─ ") for line in lines]
    whole = [s for s in shown if not s.endswith(" (above)")]
    assert sorted(whole) == sorted(names)
    roots = [n for n in names if not pipeline.upstream[n]]
    assert len(lines) == len(roots) + len(graph.edges(pipeline, names))
    assert graph.mermaid(pipeline, names).count("-->") == graph.dot(pipeline, names).count("->")
