"""The DAG is checked before anything runs; every error names the stages and the line of mlgate.yaml."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from mlgate.errors import ConfigError, UsageError
from mlgate.pipeline import load_pipeline

from .conftest import Project


def test_stages_come_in_dependency_order_with_their_edges(make_project: Callable[..., Project]) -> None:
    config = """\
stages:
  train: {cmd: cp data.txt model.txt, deps: [data.txt], outs: [model.txt]}
  report: {cmd: cp model.txt report.txt, deps: [model.txt, metrics/], outs: [report.txt]}
  prepare: {cmd: cp raw.txt data.txt, deps: [raw.txt], outs: [data.txt]}
  eval: {cmd: mkdir -p metrics && cp model.txt metrics/m.txt, deps: [model.txt], outs: [metrics]}
"""
    p = make_project(config, files={"raw.txt": "x"}, params=None)
    pipe = load_pipeline(p.settings())
    order = list(pipe.stages)
    assert order.index("prepare") < order.index("train") < order.index("eval") < order.index("report")
    assert pipe.upstream["report"] == ("eval", "train")
    assert pipe.select(["train"]) == ["prepare", "train"]
    assert pipe.downstream("train") == {"eval", "report"}
    with pytest.raises(UsageError, match="unknown stage 'nope'"):
        pipe.select(["nope"])


def test_a_cycle_names_the_stages_and_the_line(make_project: Callable[..., Project]) -> None:
    config = """\
stages:
  a: {cmd: cp c.txt a.txt, deps: [c.txt], outs: [a.txt]}
  b: {cmd: cp a.txt b.txt, deps: [a.txt], outs: [b.txt]}
  c: {cmd: cp b.txt c.txt, deps: [b.txt], outs: [c.txt]}
"""
    p = make_project(config, files={}, params=None)
    with pytest.raises(ConfigError, match=r"mlgate\.yaml:2: the stages form a cycle: a → c → b → a"):
        load_pipeline(p.settings())


def test_two_stages_writing_one_output(make_project: Callable[..., Project]) -> None:
    config = """\
stages:
  one: {cmd: echo 1 > out.txt, outs: [out.txt]}
  two:
    cmd: echo 2 > out.txt
    outs: [out.txt]
"""
    p = make_project(config, files={}, params=None)
    with pytest.raises(ConfigError, match=r"mlgate\.yaml:5: stages 'one' and 'two' both write 'out.txt'"):
        load_pipeline(p.settings())


def test_an_output_inside_another_output(make_project: Callable[..., Project]) -> None:
    config = """\
stages:
  one: {cmd: mkdir -p out, outs: [out]}
  two: {cmd: echo 2 > out/x.txt, outs: [out/x.txt]}
"""
    p = make_project(config, files={}, params=None)
    with pytest.raises(ConfigError, match=r"mlgate\.yaml:3: stages 'one' and 'two' write overlapping outputs"):
        load_pipeline(p.settings())


def test_an_output_inside_another_stages_dependency_tree(make_project: Callable[..., Project]) -> None:
    config = """\
stages:
  gen: {cmd: echo 1 > src/gen.txt, outs: [src/gen.txt]}
  build:
    cmd: ls src > build.txt
    deps:
      - src
    outs: [build.txt]
"""
    p = make_project(config, files={"src/a.py": "a"}, params=None)
    with pytest.raises(
        ConfigError,
        match=r"mlgate\.yaml:6: output 'src/gen.txt' of stage 'gen' lies inside 'src', a dependency of "
        r"stage 'build'",
    ):
        load_pipeline(p.settings())


def test_a_stage_that_reads_what_it_writes(make_project: Callable[..., Project]) -> None:
    config = "stages:\n  loop:\n    cmd: cat x.txt > x.txt\n    deps: [x.txt]\n    outs: [x.txt]\n"
    p = make_project(config, files={"x.txt": "1"}, params=None)
    with pytest.raises(ConfigError, match=r"mlgate\.yaml:4: stage 'loop' depends on 'x.txt', which it writes itself"):
        load_pipeline(p.settings())


def test_a_missing_dependency_nobody_writes(make_project: Callable[..., Project]) -> None:
    config = "stages:\n  train:\n    cmd: cp data.csv model.txt\n    deps:\n      - src/train.py\n      - data.csv\n"
    p = make_project(config, files={"src/train.py": "print()"}, params=None)
    with pytest.raises(
        ConfigError, match=r"mlgate\.yaml:6: dependency 'data.csv' of stage 'train' does not exist and no stage writes"
    ):
        load_pipeline(p.settings())


def test_a_params_key_that_does_not_exist(make_project: Callable[..., Project]) -> None:
    config = "stages:\n  train:\n    cmd: echo hi\n    params:\n      - train.lr\n      - train.depht\n"
    p = make_project(config, files={}, params="train:\n  lr: 0.1\n  depth: 3\n")
    with pytest.raises(
        ConfigError, match=r"mlgate\.yaml:6: stage 'train' reads the param 'train.depht', which params.yaml does not"
    ):
        load_pipeline(p.settings())


def test_params_without_a_params_file(make_project: Callable[..., Project]) -> None:
    p = make_project("stages:\n  train:\n    cmd: echo hi\n    params: [train]\n", files={}, params=None)
    with pytest.raises(ConfigError, match=r"mlgate\.yaml:4: stages read params but params.yaml does not exist"):
        load_pipeline(p.settings())


def test_a_malformed_params_file_names_its_line(make_project: Callable[..., Project]) -> None:
    p = make_project(
        "stages:\n  train:\n    cmd: echo hi\n    params: [train]\n", files={}, params="train:\n  lr: [1\n"
    )
    with pytest.raises(ConfigError, match=r"params\.yaml:3:\d+: invalid YAML"):
        load_pipeline(p.settings())


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{deps: [a]}", r"mlgate\.yaml:2: stage 'x' needs 'cmd'"),
        ("{cmd: echo, outz: [a]}", r"mlgate\.yaml:2: stage 'x' has the unknown key 'outz'"),
        (
            "{cmd: echo, outs: [../escape.txt]}",
            r"mlgate\.yaml:2: stages\.x\.outs\[0\] '../escape.txt' must be a path inside",
        ),
        ("{cmd: echo, outs: [{a.txt: {cache: maybe}}]}", r"stages\.x\.outs\[0\]\.cache must be true or false"),
        ("{cmd: echo, always_run: sometimes}", r"always_run must be true or false"),
        ("just a string", r"mlgate\.yaml:2: stage 'x' must be a mapping"),
    ],
)
def test_malformed_stages(make_project: Callable[..., Project], body: str, message: str) -> None:
    p = make_project(f"stages:\n  x: {body}\n", files={}, params=None)
    with pytest.raises(ConfigError, match=message):
        load_pipeline(p.settings())


def test_outputs_accept_cache_false_and_metrics(make_project: Callable[..., Project]) -> None:
    config = "stages:\n  x:\n    cmd: echo\n    outs: [a.txt, {big/: {cache: false}}, {path: c.txt, cache: false}]\n"
    config += "    metrics: [m.json]\n    plots: [p.csv]\n"
    p = make_project(config, files={}, params=None)
    stage = load_pipeline(p.settings()).stages["x"]
    assert [(o.path, o.kind, o.cache) for o in stage.outs] == [
        ("a.txt", "outs", True),
        ("big", "outs", False),
        ("c.txt", "outs", False),
        ("m.json", "metrics", True),
        ("p.csv", "plots", True),
    ]
    assert stage.metrics == ("m.json",)


def test_an_unknown_executor_is_refused_with_its_line(make_project: Callable[..., Project]) -> None:
    p = make_project("executor: dask\nstages:\n  x: {cmd: echo}\n", files={}, params=None)
    with pytest.raises(ConfigError, match=r"mlgate\.yaml:1: unknown executor 'dask'"):
        load_pipeline(p.settings())
    assert load_pipeline(make_project("executor: ray\nstages:\n  x: {cmd: echo}\n", name="r", files={}).settings())
