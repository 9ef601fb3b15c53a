"""Command lines in shell blocks, checked against the real ``mlgate`` command tree."""

from __future__ import annotations

import shlex
from functools import cache
from typing import Any

SHELL_LANGS = {"bash", "sh", "shell", "console", "shell-session", ""}
_OPERATORS = {"&&", "||", "|", ";", "&"}


@cache
def root_command() -> Any:
    """The Click command behind ``mlgate``."""
    import typer

    from mlgate.cli.app import app

    return typer.main.get_command(app)


def command_lines(lang: str, code: str) -> list[tuple[int, str]]:
    """``(offset in the block, line)`` of each shell command line, continuations joined.

    In ``console`` blocks commands start with ``$ ``; in untyped blocks only ``mlgate`` lines count
    (the rest is output or a file tree); in ``bash`` blocks every line is a command.
    """
    out: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for offset, raw in enumerate(code.splitlines(), start=1):
        line = raw.rstrip()
        if pending is not None:
            start, text = pending
            text += " " + line.removesuffix("\\")
            pending = (start, text) if line.endswith("\\") else None
            if pending is None:
                out.append((start, text))
            continue
        if lang in {"console", "shell-session", ""}:
            if line.startswith("$ "):
                line = line[2:]
            elif not (lang == "" and line.startswith("mlgate ")):
                continue
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.endswith("\\"):
            pending = (offset, line.removesuffix("\\"))
        else:
            out.append((offset, line))
    return out


def mlgate_invocations(line: str) -> list[list[str]]:
    """The argument lists of every ``mlgate`` call in one shell line (comments and brackets stripped)."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    tokens = list(lexer)
    calls: list[list[str]] = []
    segment: list[str] = []
    for tok in [*tokens, ";"]:
        if tok not in _OPERATORS:
            segment.append(tok)
            continue
        while segment and "=" in segment[0] and not segment[0].startswith("-"):
            segment.pop(0)  # VAR=value before the program
        if segment[:3] in (["python", "-m", "mlgate"], ["python3", "-m", "mlgate"]):
            segment = segment[2:]
        if segment and segment[0].rsplit("/", 1)[-1] == "mlgate":
            calls.append(_clean(segment[1:]))
        segment = []
    return calls


def _clean(args: list[str]) -> list[str]:
    """Drop redirections and the ``[…]`` that mark optional parts in usage lines."""
    out: list[str] = []
    skip = False
    for tok in args:
        if skip:
            skip = False
            continue
        if tok in {">", ">>", "<", "2>"}:
            skip = True
            continue
        tok = tok.strip("[]")
        if tok:
            out.append(tok)
    return out


def problems(args: list[str]) -> list[str]:
    """What in ``mlgate ARGS`` the command tree does not know: commands, options, extra arguments."""

    cmd = root_command()
    path = ["mlgate"]
    positional = 0
    countable = True
    found: list[str] = []
    i = 0
    while i < len(args):
        tok = args[i]
        i += 1
        if tok.startswith("-") and tok != "-":
            name = tok.split("=", 1)[0]
            param = next((p for p in cmd.params if name in (*p.opts, *p.secondary_opts)), None)
            if param is None and name in {"-h", "--help"}:
                continue
            if param is None:
                found.append(f"`{' '.join(path)}` has no option {name}")
                countable = False  # whether it takes a value is unknown: arguments can no longer be counted
                continue
            if (
                getattr(param, "param_type_name", "") == "option"
                and not param.is_flag
                and not param.count
                and "=" not in tok
            ):
                i += 1  # its value
            continue
        if hasattr(cmd, "commands") and positional == 0:
            sub = cmd.commands.get(tok)
            if sub is None:
                found.append(f"`{' '.join(path)}` has no command {tok!r} (it has: {', '.join(sorted(cmd.commands))})")
                return found
            cmd = sub
            path.append(tok)
            continue
        positional += 1
    if hasattr(cmd, "commands"):
        return found
    arguments = [p for p in cmd.params if p.param_type_name == "argument"]
    if countable and not any(p.nargs == -1 for p in arguments) and positional > sum(p.nargs for p in arguments):
        found.append(
            f"`{' '.join(path)}` takes {sum(p.nargs for p in arguments)} argument(s), the example gives {positional}"
        )
    return found
