"""Nothing escapes the project: symlinked outputs, hostile stage names, and tags that would fool a terminal.

Real projects in a temporary folder, run through the real entry point ``main()``.
"""

# ruff: noqa: F811 - tests take the imported fixtures as arguments
from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa

from mlgate.config import load_settings
from mlgate.errors import ConfigError, ReferenceSyntaxError
from mlgate.pipeline import run
from mlgate.pipeline.cache import RunCache
from mlgate.registry.store import Registry
from mlgate.registry.tables import versions
from tests.unit.cli.conftest import cli, data_cli  # noqa: F401 - the CLI fixtures, shared


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder beside the project holding a file a stage must never touch."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "victim.txt").write_text("precious\n")
    return folder


def test_an_output_behind_a_symlink_is_refused_before_anything_is_deleted(data_cli, outside: Path) -> None:  # type: ignore[no-untyped-def]
    Path("mlgate.yaml").write_text(
        "stages:\n  evil:\n    cmd: echo owned > link/victim.txt\n    outs: [link/victim.txt]\n"
    )
    Path("link").symlink_to(outside, target_is_directory=True)
    r = data_cli("run")
    assert r.code == 2, r.out + r.err
    assert "mlgate.yaml:4: output of stage 'evil' 'link/victim.txt' leads outside the project" in r.err
    assert (outside / "victim.txt").read_text() == "precious\n"


def test_an_output_that_is_itself_a_link_outside_is_refused(data_cli, outside: Path) -> None:  # type: ignore[no-untyped-def]
    Path("mlgate.yaml").write_text("stages:\n  evil:\n    cmd: echo owned > out.txt\n    outs: [out.txt]\n")
    Path("out.txt").symlink_to(outside / "victim.txt")
    r = data_cli("run")
    assert r.code == 2 and "leads outside the project" in r.err
    assert (outside / "victim.txt").read_text() == "precious\n"


def test_a_link_made_after_loading_is_caught_before_deleting(tmp_path: Path, outside: Path) -> None:
    # stage `a` plants the link; stage `b`, loaded before the link existed, would delete through it
    root = tmp_path / "p"
    root.mkdir()
    (root / "mlgate.yaml").write_text(
        "stages:\n"
        "  a:\n    cmd: ln -s ../outside link && echo a > a.txt\n    outs: [a.txt]\n"
        "  b:\n    cmd: echo b > link/victim.txt\n    deps: [a.txt]\n    outs: [link/victim.txt]\n"
    )
    result = run(load_settings(cwd=root))
    outcome = {s.name: s for s in result.stages}
    assert outcome["a"].outcome == "ran"
    assert outcome["b"].outcome == "failed" and "leads outside the project" in (outcome["b"].error or "")
    assert (outside / "victim.txt").read_text() == "precious\n"


def test_restoring_from_the_cache_does_not_follow_a_link_outside(tmp_path: Path, outside: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / "mlgate.yaml").write_text(
        "stages:\n  s:\n    cmd: mkdir -p d && echo new > d/victim.txt\n    outs: [d/victim.txt]\n"
    )
    settings = load_settings(cwd=root)
    assert run(settings).ok
    cache = RunCache(settings.artifacts)
    key = run(settings).stages[0].key
    entry = cache.get(key or "")
    assert entry is not None
    # the folder became a link to outside meanwhile: a restore must not write through it
    for child in (root / "d").iterdir():
        child.unlink()
    (root / "d").rmdir()
    (root / "d").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ConfigError, match="leads outside the project"):
        cache.restore(entry, "d/victim.txt", root)
    assert (outside / "victim.txt").read_text() == "precious\n"


@pytest.mark.parametrize(
    "name",
    ["../../../../x/escaped", "/escaped", "a/b", "a;rm -rf ~", "line\\nbreak", "bell\\a", ".hidden", "..", "-flag"],
)
def test_hostile_stage_names_are_refused(data_cli, tmp_path: Path, name: str) -> None:  # type: ignore[no-untyped-def]
    Path("mlgate.yaml").write_text(f'stages:\n  "{name}":\n    cmd: echo hi > out.txt\n    outs: [out.txt]\n')
    r = data_cli("run")
    assert r.code == 2, r.out + r.err
    assert "mlgate.yaml:2: stage name" in r.err and "is not valid" in r.err
    assert not Path("out.txt").exists()
    written = list(tmp_path.rglob("*escaped*"))
    assert written == [] and not Path("/escaped.log").exists()


def test_ordinary_stage_names_still_run(data_cli) -> None:  # type: ignore[no-untyped-def]
    Path("mlgate.yaml").write_text("stages:\n  prepare-data_v2.1:\n    cmd: echo hi > out.txt\n    outs: [out.txt]\n")
    r = data_cli("run")
    assert r.code == 0, r.err
    assert Path(".mlgate/pipeline/logs/prepare-data_v2.1.log").is_file()


def _version(registry: Registry, tmp_path: Path) -> None:
    """fraud:1 in the registry the ``cli`` fixture points at."""
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "w.bin").write_text("weights")
    registry.register("fraud", folder, flavor="test", signature={})


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["tag", "fraud:1", "approved=yes\x1b[2J"], "control character"),
        (["tag", "fraud:1", "note=line one\nreviewed: approved"], "control character"),
        (["tag", "fraud:1", "[bold]k=v"], "tag key '[bold]k' is not valid"),
        (["tag", "fraud:1", "a b=v"], "tag key 'a b' is not valid"),
        (["tag", "fraud:1", "rtl=\u202eevil"], "control character"),
        (["describe", "fraud:1", "hi\x1b]0;pwned\x07"], "control character"),
    ],
)
def test_hostile_tags_and_descriptions_are_refused(cli, registry, tmp_path: Path, args: list[str], match: str) -> None:  # type: ignore[no-untyped-def]
    _version(registry, tmp_path)
    r = cli("model", *args)
    assert r.code == 2, r.out + r.err
    assert match in r.err
    assert "\x1b" not in r.err  # the refusal itself shows the character escaped


def test_markup_in_tags_is_shown_as_written(cli, registry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _version(registry, tmp_path)
    assert cli("model", "tag", "fraud:1", "review=[bold red]approved by security[/]").code == 0
    assert cli("model", "describe", "fraud:1", "[green]passed[/]\nsecond line").code == 0
    shown = cli("model", "show", "fraud:1")
    assert shown.code == 0
    assert "review=[bold red]approved by security[/]" in shown.out
    assert "[green]passed[/]" in shown.out


def test_escape_sequences_already_stored_are_shown_escaped(cli, registry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # a row written by an older mlgate, or straight into the database
    _version(registry, tmp_path)
    with registry.engine.begin() as conn:
        conn.execute(
            sa.update(versions).values(tags={"ok\x1b[2J": "yes\x1b[31m"}, description="clear\x1b[2J\x1b[Hscreen")
        )
    r = cli("model", "show", "fraud:1")
    assert r.code == 0
    assert "\x1b" not in r.out
    assert "\\x1b[2J" in r.out and "clear\\x1b[2J\\x1b[Hscreen" in r.out
    removed = cli("model", "tag", "fraud:1", "--remove", "ok\x1b[2J", "--json")
    assert removed.code == 0 and removed.json() == {}


def test_the_library_refuses_hostile_tags_too(registry, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "w.bin").write_text("weights")
    with pytest.raises(ReferenceSyntaxError, match="control character"):
        registry.register("fraud", folder, flavor="test", signature={}, tags={"k": "v\x1b[2J"})
    with pytest.raises(ReferenceSyntaxError, match="not valid"):
        registry.register("fraud", folder, flavor="test", signature={}, tags={"../k": "v"})
    assert registry.models() == []


def test_symlinks_to_deps_outside_are_still_read(data_cli, outside: Path) -> None:  # type: ignore[no-untyped-def]
    # reading data through a link (a big disk, a shared folder) is allowed: only writes are confined
    Path("data").symlink_to(outside, target_is_directory=True)
    Path("mlgate.yaml").write_text(
        "stages:\n  s:\n    cmd: cat data/victim.txt > out.txt\n    deps: [data]\n    outs: [out.txt]\n"
    )
    r = data_cli("run")
    assert r.code == 0, r.err
    assert Path("out.txt").read_text() == "precious\n"
    assert os.path.islink("data")


def test_links_planted_in_the_state_folder_do_not_redirect_writes(data_cli, outside: Path) -> None:  # type: ignore[no-untyped-def]
    # a repository may commit .mlgate/ too: its log and lock files must not truncate files elsewhere
    Path("mlgate.yaml").write_text("stages:\n  s:\n    cmd: echo logged && echo hi > out.txt\n    outs: [out.txt]\n")
    state = Path(".mlgate/pipeline")
    (state / "logs").mkdir(parents=True)
    (state / "logs" / "s.log").symlink_to(outside / "victim.txt")
    (state / "run.lock").symlink_to(outside / "victim.txt")
    r = data_cli("run")
    assert r.code == 0, r.err
    assert (outside / "victim.txt").read_text() == "precious\n"
    assert (state / "logs" / "s.log").read_text() == "logged\n" and not (state / "logs" / "s.log").is_symlink()
