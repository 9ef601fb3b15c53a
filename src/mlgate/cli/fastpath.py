"""``mlgate run`` and ``mlgate status`` without Typer, for the command lines a CI job or a shell loop types.

A no-op ``mlgate status`` does 20-70 ms of work; importing Typer and letting it build its parameter
converters took three times that. :func:`parse` accepts only plain command lines (the options below,
spelled out, ``--opt=value`` included) and declines everything else: ``--help``, bundled short flags,
``--``, a value that is not a plain number, an unknown option. A declined line goes to Typer, so help,
usage errors and their exit codes are Typer's own. A property test checks that every line accepted here
reaches the command with the arguments Typer would have given it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

_GLOBALS = {"--registry": "registry", "--artifacts": "artifacts", "--config": "config"}
_UINT = re.compile(r"[0-9]+")
_UFLOAT = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")


def _jobs(value: str) -> int | None:
    return int(value) if _UINT.fullmatch(value) and int(value) >= 1 else None


def _seconds(value: str) -> float | None:
    return float(value) if _UFLOAT.fullmatch(value) else None


def _text(value: str) -> str | None:
    return value


class _Command(NamedTuple):  # not a dataclass: building one costs a millisecond at import
    defaults: dict[str, Any]
    flags: dict[str, str]
    values: dict[str, tuple[str, Callable[[str], Any]]]


_COMMANDS = {
    "run": _Command(
        defaults={
            "force": False,
            "dry_run": False,
            "jobs": 1,
            "lock_timeout": 300.0,
            "smoke": False,
            "executor": None,
            "as_json": False,
        },
        flags={
            "--force": "force",
            "-f": "force",
            "--dry-run": "dry_run",
            "-n": "dry_run",
            "--smoke": "smoke",
            "--json": "as_json",
        },
        values={
            "--jobs": ("jobs", _jobs),
            "-j": ("jobs", _jobs),
            "--lock-timeout": ("lock_timeout", _seconds),
            "--executor": ("executor", _text),
        },
    ),
    "status": _Command(
        defaults={"smoke": False, "as_json": False}, flags={"--smoke": "smoke", "--json": "as_json"}, values={}
    ),
}


class Invocation(NamedTuple):
    """A parsed ``run`` or ``status`` command line."""

    command: str
    globals: dict[str, str | None]
    stages: tuple[str, ...]
    options: dict[str, Any]


def _split(args: Sequence[str], i: int, known: set[str]) -> tuple[str, str | None, int] | None:
    """``(name, inline value or None, next index)`` for the option at ``args[i]``, or None if unknown."""
    name, eq, inline = args[i].partition("=")
    if name not in known or (eq and not name.startswith("--")):
        return None
    return name, (inline if eq else None), i + 1


def _value(args: Sequence[str], i: int, inline: str | None) -> tuple[str, int] | None:
    """The option's value (inline or the next argument) and the index after it; None when absent or dash-led."""
    if inline is not None:
        return inline, i
    if i >= len(args) or args[i].startswith("-"):
        return None
    return args[i], i + 1


def parse(args: Sequence[str]) -> Invocation | None:
    """The invocation, or None when Typer should parse this command line."""
    glob: dict[str, str | None] = dict.fromkeys(_GLOBALS.values())
    i = 0
    while i < len(args) and args[i].startswith("-"):
        if args[i] == "--debug":
            i += 1
            continue
        opt = _split(args, i, set(_GLOBALS))
        if opt is None:
            return None
        got = _value(args, opt[2], opt[1])
        if got is None:
            return None
        glob[_GLOBALS[opt[0]]], i = got
    if i >= len(args) or args[i] not in _COMMANDS:
        return None
    spec = _COMMANDS[args[i]]
    command, options, stages = args[i], dict(spec.defaults), []
    i += 1
    while i < len(args):
        arg = args[i]
        if not arg.startswith("-"):
            stages.append(arg)
            i += 1
            continue
        if arg in spec.flags:
            options[spec.flags[arg]] = True
            i += 1
            continue
        opt = _split(args, i, set(spec.values))
        if opt is None:
            return None
        key, convert = spec.values[opt[0]]
        got = _value(args, opt[2], opt[1])
        if got is None or (converted := convert(got[0])) is None:
            return None
        options[key], i = converted, got[1]
    return Invocation(command, glob, tuple(stages), options)


def dispatch(args: Sequence[str]) -> int | None:
    """Run a plain ``run``/``status`` command line and return its exit code; None when Typer should take it."""
    invocation = parse(args)
    if invocation is None:
        return None
    from mlgate.cli import pipeline_output
    from mlgate.config import load_settings

    given = invocation.globals
    cfg = load_settings(registry=given["registry"], artifacts=given["artifacts"], config=given["config"])
    if invocation.command == "run":
        return pipeline_output.run_command(cfg, invocation.stages, **invocation.options)
    return pipeline_output.status_command(cfg, invocation.stages, **invocation.options)
