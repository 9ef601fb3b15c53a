"""Every code block of the README and docs/ runs as written (docs/contributing: `mlgate-docs` directives).

Python blocks run in a fresh project (``project.build``), any ``test_*`` function they define is called
with the names the project provides; shell blocks name only commands and options that exist; YAML and
JSON blocks parse. A failure names the Markdown file and the line of the block.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.docs.blocks import Block, all_blocks
from tests.docs.commands import SHELL_LANGS, command_lines, mlgate_invocations, problems
from tests.docs.project import apply_setup, build

BLOCKS = all_blocks()


def _params(langs: set[str]) -> list[Any]:
    return [
        pytest.param(b, id=b.where, marks=[pytest.mark.skip(reason=b.skip)] if b.skip else [])
        for b in BLOCKS
        if b.lang in langs
    ]


@pytest.mark.parametrize("block", _params({"python", "py"}))
def test_python_example_runs(block: Block) -> None:
    run_python(block, build(Path.cwd()))


def run_python(block: Block, ns: dict[str, Any]) -> None:
    """Run the block in ``ns`` after its setups, then call the ``test_*`` functions it defines."""
    for setup in block.setups:
        apply_setup(ns, setup)
    filename = str(block.path)
    # padding keeps the block's lines at their Markdown line numbers in tracebacks
    code = compile("\n" * block.line + block.code, filename, "exec")
    try:
        exec(code, ns)
        for name, func in list(ns.items()):
            if name.startswith("test_") and getattr(func, "__code__", None) and func.__code__.co_filename == filename:
                func(**{arg: _fixture(ns, arg) for arg in inspect.signature(func).parameters})
    except Exception as exc:
        raise AssertionError(f"{block.where}: the documented example fails: {type(exc).__name__}: {exc}") from exc


def _fixture(ns: dict[str, Any], name: str) -> Any:
    """A name the block or the project defines; a pytest fixture the block defines is called."""
    if name not in ns:
        raise NameError(f"the example's test function takes {name!r}, which neither it nor the project defines")
    value = ns[name]
    for unwrap in ("_get_wrapped_function", "__pytest_wrapped__"):
        inner = getattr(value, unwrap, None)
        if inner is not None:
            return (inner() if callable(inner) else inner.obj)()
    return value


@pytest.mark.parametrize("block", _params(SHELL_LANGS))
def test_shell_example_names_real_commands(block: Block) -> None:
    found = shell_problems(block)
    assert not found, f"{block.where}: " + "; ".join(found)


def shell_problems(block: Block) -> list[str]:
    """``line N: what is wrong`` for every mlgate call in the block that the command tree rejects."""
    return [
        f"line {block.line + offset}: {problem}"
        for offset, line in command_lines(block.lang, block.code)
        for call in mlgate_invocations(line)
        for problem in problems(call)
    ]


@pytest.mark.parametrize("block", _params({"yaml", "yml"}))
def test_yaml_example_parses(block: Block) -> None:
    try:
        raw = yaml.safe_load(block.code)
    except yaml.YAMLError as exc:
        raise AssertionError(f"{block.where}: the YAML does not parse: {exc}") from exc
    problem = config_problem(block, raw)
    assert problem is None, f"{block.where}: the documented mlgate.yaml is refused: {problem}"


def config_problem(block: Block, raw: Any) -> str | None:
    """Why mlgate refuses a block that reads as a piece of mlgate.yaml (only its top-level keys); else None.

    Its gates and waivers are parsed as a gate would parse them, its stages as ``mlgate run`` would
    (without looking for the files they name).
    """
    from mlgate.config import KNOWN_KEYS, load_settings
    from mlgate.errors import MlgateError
    from mlgate.gates.spec import parse_gates
    from mlgate.pipeline.spec import load_pipeline

    if not isinstance(raw, dict) or not raw or not set(map(str, raw)) <= KNOWN_KEYS:
        return None  # another file (params.yaml, a schema, a workflow)
    config = Path.cwd() / "mlgate.yaml"
    config.write_text(block.code, encoding="utf-8")
    try:
        settings = load_settings(config=config)
        if "gates" in raw or "waivers" in raw:
            parse_gates(settings, task="binary", against="production")
        if "stages" in raw:
            load_pipeline(settings, check_files=False)
    except MlgateError as exc:
        return exc.message.replace(str(config), "mlgate.yaml")
    return None


@pytest.mark.parametrize("block", _params({"json"}))
def test_json_example_parses(block: Block) -> None:
    try:
        json.loads(block.code)
    except json.JSONDecodeError as exc:
        raise AssertionError(f"{block.where}: the JSON does not parse at its line {exc.lineno}: {exc.msg}") from exc


def test_the_harness_sees_every_document() -> None:
    """Guard against a parser change that silently finds nothing to check."""
    where = {b.where.split(":")[0] for b in BLOCKS}
    assert "README.md" in where
    assert any(b.lang == "python" and b.path.name == "README.md" for b in BLOCKS)
