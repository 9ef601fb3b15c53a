"""The ``mlgate`` command: thin Typer commands over the library. Exit codes live here and only here.

0 ok · 1 a check failed (or a compare-and-set lost) · 2 bad usage, config or input ·
3 environment or infrastructure. Tracebacks only with ``--debug``.
"""

from __future__ import annotations

import sys

from mlgate.cli import _common


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns (and exits with) the exit code."""
    from mlgate.cli import fastpath
    from mlgate.errors import MlgateError

    args = debug_first(sys.argv[1:] if argv is None else argv)
    _common.DEBUG = args[:1] == ["--debug"]
    try:
        fast = fastpath.dispatch(args)
        code = _typer_main(args) if fast is None else fast
    except MlgateError as exc:
        if _common.DEBUG:
            _print_traceback()
        _common.print_error(exc)
        code = exc.exit_code
    except KeyboardInterrupt:
        _common.err_console().print("[red]interrupted[/]")
        code = 130
    except Exception as exc:  # a bug in mlgate or a library: still no traceback unless asked
        if _common.DEBUG:
            _print_traceback()
        else:
            from rich.markup import escape

            from mlgate.redact import redact

            _common.err_console().print(
                f"[bold red]error:[/] unexpected {type(exc).__name__}: {escape(redact(str(exc)))}\n"
                "  hint: run again with --debug for the traceback, and please report it"
            )
        code = 3
    if argv is None:
        sys.exit(code)
    return code


def debug_first(args: list[str]) -> list[str]:
    """``--debug`` moved to the front, where the global option is parsed, from wherever it was typed.

    The README's "add ``--debug``" is typed at the end of the failing line (``mlgate model show wine:9
    --debug``), after the subcommand, where Click would call it an unknown option. Only the arguments
    before a ``--`` separator are looked at: after it, ``--debug`` belongs to whatever follows.
    """
    end = args.index("--") if "--" in args else len(args)
    head = [a for a in args[:end] if a != "--debug"]
    if len(head) == end:
        return list(args)
    return ["--debug", *head, *args[end:]]


def _print_traceback() -> None:
    """The current exception's traceback for --debug, with secrets masked: it lands in CI logs too."""
    import traceback

    from mlgate.redact import redact

    sys.stderr.write(redact(traceback.format_exc()))
    sys.stderr.flush()


def _typer_main(args: list[str]) -> int:
    """Every other command line: Typer parses it; its own exits become exit codes."""
    import typer

    try:  # recent Typer vendors Click
        from typer._click import exceptions as click_exc
    except ImportError:  # pragma: no cover - older Typer over Click
        import click.exceptions as click_exc  # type: ignore[no-redef]

    from mlgate.cli.app import app

    try:
        result = app(args=args, prog_name="mlgate", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        _common.err_console().print("[red]aborted[/]")
        return 130
    except click_exc.ClickException as exc:
        exc.show()
        return 0 if type(exc).__name__ == "NoArgsIsHelpError" else 2
