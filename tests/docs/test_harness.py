"""The docs harness itself: a broken example fails and names its file and line."""

from __future__ import annotations

import traceback
from pathlib import Path

import pytest

from tests.docs.blocks import blocks
from tests.docs.test_examples import config_problem, run_python, shell_problems

PAGE = """\
# A page

<!-- mlgate-docs: skip needs a GPU -->
```python
raise SystemExit("never run")
```

```bash
mlgate model list fraud --json   # fine
mlgate model lst fraud
mlgate gate fraud:2 --agianst production && mlgate promote fraud:2 --to production
```

```console
$ mlgate dag --format mermaid
stage output that mentions mlgate --bogus is not a command
```

<!-- mlgate-docs: setup registered -->
```python
assert mlgate.load_model("fraud@production").predict(frame).shape == (20,)
missing_name
```
"""


@pytest.fixture
def page(tmp_path: Path) -> Path:
    path = tmp_path / "page.md"
    path.write_text(PAGE, encoding="utf-8")
    return path


def test_blocks_carry_lines_languages_and_directives(page: Path) -> None:
    found = blocks(page)
    assert [(b.line, b.lang) for b in found] == [(4, "python"), (8, "bash"), (14, "console"), (20, "python")]
    assert found[0].skip == "needs a GPU"
    assert found[3].setups == ["registered"]
    assert found[0].where == f"{page}:4"


def test_shell_blocks_name_the_unknown_command_and_option(page: Path) -> None:
    bash, console = blocks(page)[1:3]
    found = shell_problems(bash)
    assert len(found) == 2, found
    assert found[0].startswith("line 10: `mlgate model` has no command 'lst' (it has: ")
    assert "history, " in found[0] and " list, " in found[0]
    assert found[1] == "line 11: `mlgate gate` has no option --agianst"
    assert shell_problems(console) == []


def test_a_failing_python_block_names_its_file_and_line(page: Path) -> None:
    from tests.docs.project import build

    block = blocks(page)[3]
    with pytest.raises(AssertionError, match=rf"{page}:20: the documented example fails: NameError") as info:
        run_python(block, build(Path.cwd()))
    # the traceback points at the Markdown line of the failing statement
    frames = traceback.extract_tb(info.value.__cause__.__traceback__)
    assert (str(page), 22) in [(f.filename, f.lineno) for f in frames]


def test_an_unknown_directive_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.md"
    path.write_text("<!-- mlgate-docs: skipp typo -->\n```python\npass\n```\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.md:2: unknown mlgate-docs directive 'skipp'"):
        blocks(path)


def test_a_documented_mlgate_yaml_must_load(tmp_path: Path) -> None:
    import yaml

    path = tmp_path / "cfg.md"
    path.write_text(
        "```yaml\ngates:\n  - {metric: recall, min: high}\n```\n"
        "```yaml\nstages:\n  a: {cmd: echo, deps: [a]}\n  b: {cmd: echo, deps: [b], bogus: 1}\n```\n"
        "```yaml\nprepare: {fraction: 1.0}\n```\n",
        encoding="utf-8",
    )
    gates, stages, params = blocks(path)
    assert "min: must be a number" in (config_problem(gates, yaml.safe_load(gates.code)) or "")
    assert "bogus" in (config_problem(stages, yaml.safe_load(stages.code)) or "")
    assert config_problem(params, yaml.safe_load(params.code)) is None  # params.yaml, not mlgate.yaml
