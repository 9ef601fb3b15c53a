"""Malformed configuration and input are exit 2 with one message naming the file and line, promptly.

Through the real entry point (``main()``) or a real ``mlgate`` process, on projects in a temporary folder.
"""

# ruff: noqa: F811 - tests take the imported fixtures as arguments
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from mlgate.errors import NotFoundError, ReferenceSyntaxError
from mlgate.refs import MAX_NUMBER, Ref, parse_ref
from mlgate.registry.store import Registry
from tests.unit.cli.conftest import cli, data_cli  # noqa: F401 - the CLI fixtures, shared

STAGE = "  ok:\n    cmd: echo ok > ok.txt\n    outs: [ok.txt]\n"

# 353 bytes of YAML that expand to 9^9 (387 million) strings
ALIAS_BOMB = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def _project(root: Path, config: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "mlgate.yaml").write_text(config)
    return root


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ("stages:\n  a: " + "[" * 5000 + "]" * 5000 + "\n", "mlgate.yaml: nested too deeply"),
        ("stages:\n  a: " + "{x: " * 150 + "1" + "}" * 150 + "\n", "mlgate.yaml:2: nested too deeply"),
        (f"stages:\n{STAGE}  a:\n    cmd: echo 1\n  a:\n    cmd: echo 2\n", "mlgate.yaml:7: the key 'a' appears twice"),
        (f"stages:\n{STAGE}  ~:\n    cmd: echo none\n", "mlgate.yaml:5: a key is empty or null"),
        ("stages:\n  ? \n  : {cmd: echo none}\n", "mlgate.yaml:2: a key is empty or null"),
        ("project: a\nproject: b\n", "mlgate.yaml:2: the key 'project' appears twice"),
        ("sqlite_busy_timeout: .inf\n", "mlgate.yaml:1: sqlite_busy_timeout must be a non-negative number"),
        ("sqlite_busy_timeout: .nan\n", "mlgate.yaml:1: sqlite_busy_timeout must be a non-negative number"),
        ("sqlite_busy_timeout: 1e400\n", "sqlite_busy_timeout must be a non-negative number"),
    ],
    ids=["deep-lists", "deep-maps", "dup-stage", "null-stage", "empty-key", "dup-top", "inf", "nan", "1e400"],
)
def test_malformed_config_is_exit_2_naming_the_line(data_cli, config: str, match: str) -> None:  # type: ignore[no-untyped-def]
    _project(Path.cwd(), config)
    r = data_cli("status")
    assert r.code == 2, r.err
    assert match in r.err
    assert "unexpected" not in r.err and "Traceback" not in r.err
    assert not Path("ok.txt").exists() and not Path("None").exists()


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "1e400"])
def test_busy_timeout_from_the_environment_is_checked_too(data_cli, monkeypatch, value: str) -> None:  # type: ignore[no-untyped-def]
    _project(Path.cwd(), f"stages:\n{STAGE}")
    monkeypatch.setenv("MLGATE_SQLITE_BUSY_TIMEOUT", value)
    r = data_cli("model", "list")
    assert r.code == 2 and "MLGATE_SQLITE_BUSY_TIMEOUT: sqlite_busy_timeout must be" in r.err


def test_alias_bomb_is_refused_promptly(tmp_path: Path) -> None:
    root = _project(tmp_path / "p", "project: bomb\nsmoke:\n  " + ALIAS_BOMB.replace("\n", "\n  "))
    assert len(ALIAS_BOMB) < 400
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "mlgate", "status"], cwd=root, capture_output=True, text=True, timeout=120
    )
    elapsed = time.monotonic() - started
    assert proc.returncode == 2, proc.stderr
    assert "aliases (*name) expand to" in proc.stderr and "mlgate.yaml" in proc.stderr
    assert elapsed < 15, f"took {elapsed:.1f} s"  # a generous bound on a loaded machine; it was 20 s and 2.2 GB


def test_aliases_of_ordinary_size_and_quoted_null_names_still_work(data_cli) -> None:  # type: ignore[no-untyped-def]
    config = """\
stages:
  'null':
    cmd: cat raw.txt > a.txt
    deps: &inputs [raw.txt]
    outs: [a.txt]
  b:
    cmd: cat raw.txt > b.txt
    deps: *inputs
    outs: [b.txt]
"""
    _project(Path.cwd(), config)
    Path("raw.txt").write_text("data\n")
    r = data_cli("run")
    assert r.code == 0, r.err
    assert Path("a.txt").read_text() == Path("b.txt").read_text() == "data\n"
    assert "null" in r.out


@pytest.mark.parametrize("number", [str(2**31), str(2**63), str(2**64), "9" * 5000])
def test_oversized_version_numbers_are_exit_2(cli, registry, tmp_path: Path, number: str) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "w.bin").write_text("weights")
    registry.register("fraud", folder, flavor="test", signature={})
    r = cli("model", "show", f"fraud:{number}")
    assert r.code == 2, r.err
    assert "version numbers go from 1 to 2147483647" in r.err
    assert "SELECT" not in r.err and "unexpected" not in r.err


def test_oversized_numbers_given_to_the_library_do_not_exist(registry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "w.bin").write_text("weights")
    reg: Registry = registry
    reg.register("fraud", folder, flavor="test", signature={})
    for number in (2**31, 2**63, 2**70):
        with pytest.raises(NotFoundError, match=f"version fraud:{number} does not exist"):
            reg.get(Ref("fraud", number=number))
        with pytest.raises(NotFoundError, match="does not exist"):
            reg.set_alias("fraud", "staging", number)
        with pytest.raises(NotFoundError, match="does not exist"):
            reg.set_alias("fraud", "staging", 1, expect=number)
    with pytest.raises(ReferenceSyntaxError, match="release candidates go up to"):
        reg.get("fraud:1.0.0-rc.99999999999999999999")
    assert reg.get(f"fraud:{1}").number == 1


def test_unicode_digits_are_not_version_numbers() -> None:
    with pytest.raises(ReferenceSyntaxError, match="neither a version number"):
        parse_ref("fraud:²")
    assert parse_ref(f"fraud:{MAX_NUMBER}").number == MAX_NUMBER


def test_validate_truncates_a_huge_example_value(data_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "good.csv"
    pl.DataFrame({"id": range(50), "plan": ["basic", "pro"] * 25}).write_csv(good)
    assert data_cli("data", "schema", "infer", str(good)).code == 0
    huge = "x" * 5_000_000
    bad = tmp_path / "bad.csv"
    pl.DataFrame({"id": range(50), "plan": ["basic", "pro"] * 24 + [huge, "pro"]}).write_csv(bad)
    started = time.monotonic()
    r = data_cli("data", "validate", str(bad))
    assert time.monotonic() - started < 30  # it took 641 s to lay the table out
    assert r.code == 1, r.err
    assert "(5,000,000 characters)" in r.out
    assert len(r.out) < 10_000
    j = data_cli("data", "validate", str(bad), "--json")
    assert j.code == 1
    (example,) = [e for v in json.loads(j.out)["violations"] for e in v["examples"] if e["row"] == 48]
    assert example["length"] == 5_000_000 and example["truncated"] is True
    assert example["value"] == "x" * 1000


def test_a_huge_runs_limit_lists_them_all(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("runs", "list", "--limit", str(2**64))
    assert r.code == 0, r.err
    assert "0 run(s)" in r.out


def test_log_model_refuses_an_alias_bomb_in_its_params_file(tmp_path: Path, sk_model, breast_cancer) -> None:  # type: ignore[no-untyped-def]
    import mlgate
    from mlgate.errors import ConfigError

    params = tmp_path / "params.yaml"
    params.write_text(ALIAS_BOMB)
    X, _ = breast_cancer
    reg = Registry(f"sqlite:///{tmp_path / 'r.db'}", artifacts=str(tmp_path / "a"))
    started = time.monotonic()
    with pytest.raises(ConfigError, match=r"params\.yaml: its YAML aliases"):
        mlgate.log_model(sk_model, "fraud", sample_input=X.head(5), params=params, registry=reg)
    assert time.monotonic() - started < 30
    assert reg.models() == []
    reg.close()


def test_a_huge_log_line_of_a_failed_stage_is_cut(data_cli) -> None:  # type: ignore[no-untyped-def]
    Path("mlgate.yaml").write_text(
        f"stages:\n  s:\n    cmd: {sys.executable} -c \"print('y' * 3_000_000)\" && exit 1\n    outs: [o.txt]\n"
    )
    started = time.monotonic()
    r = data_cli("run")
    assert r.code == 1, r.err
    assert time.monotonic() - started < 60
    assert "(3,000,000 characters)" in r.out + r.err and len(r.out + r.err) < 20_000
