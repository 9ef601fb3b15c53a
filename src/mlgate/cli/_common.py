"""What every command shares: settings from the global options, consoles, JSON output, errors."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

if TYPE_CHECKING:
    from datetime import datetime

    import typer
    from rich.console import Console, RenderHook

    from mlgate.config import Settings
    from mlgate.errors import MlgateError
    from mlgate.registry.store import Registry

DEBUG = False


class Report(Protocol):
    """What :func:`emit_report` needs of a report: its Markdown and its JSON form."""

    def to_markdown(self) -> str: ...

    def to_dict(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=Report)


def console() -> Console:
    """Rich console on standard output (made per call: it then follows any redirection of stdout).

    Tables keep refs, versions and digests whole on a terminal and become plain aligned text in a pipe
    (``tables.TableLayout``); in a pipe long lines are not wrapped at 80 columns either: without ``COLUMNS``
    the console is :data:`WIDE`, and Markdown (``mlgate monitor``) folds rather than crops (:class:`_Folded`).
    """
    from rich.console import Console

    from mlgate.cli.tables import TableLayout

    out = Console(highlight=False)
    if not out.is_terminal:
        out.soft_wrap = True
        if "COLUMNS" not in os.environ:
            out.width = WIDE  # nothing to fit: a table's headers and a note's words are not squeezed to 80
        out.push_render_hook(_prose_layout())
    out.push_render_hook(TableLayout(plain=not out.is_terminal, width=out.width))
    return out


WIDE = 10_000  # the width of a console on a pipe, a file or a CI log when COLUMNS does not say


def _prose_layout() -> RenderHook:
    """Render hook for a console that is not a terminal: Markdown wraps, never cut, and is not padded.

    A soft-wrapping console prints top-level text unwrapped, but Rich also applies that to the paragraphs and
    list items inside Markdown, where it crops each line at the console's width: a note lost its end.
    """
    from rich.console import RenderHook
    from rich.markdown import Markdown

    class ProseLayout(RenderHook):
        def process_renderables(self, renderables: list[Any]) -> list[Any]:
            return [_Folded(r) if isinstance(r, Markdown) else r for r in renderables]

    return ProseLayout()


class _Folded:
    """A renderable whose long lines fold onto the next (no ``…``, no lost text), trailing spaces trimmed."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __rich_console__(self, console: Console, options: Any) -> Any:
        from rich.constrain import Constrain
        from rich.markdown import Heading, HorizontalRule
        from rich.segment import Segment

        class LeftHeading(Heading):
            LEVEL_ALIGN: ClassVar[dict[str, Any]] = {}  # a title centred in WIDE columns would start 5,000 in

        class ShortRule(HorizontalRule):
            def __rich_console__(self, console: Console, options: Any) -> Any:
                for part in super().__rich_console__(console, options):
                    yield part if isinstance(part, Segment) else Constrain(part, 80)

        self.inner.elements = {**self.inner.elements, "heading_open": LeftHeading, "hr": ShortRule}
        lines = console.render_lines(self.inner, options.update(no_wrap=False, overflow="fold"), pad=False)
        for line in lines:
            while line and not line[-1].control and not line[-1].text.rstrip():
                line.pop()
            if line and not line[-1].control:
                last = line[-1]
                line[-1] = Segment(last.text.rstrip(), last.style)
            yield from line
            yield Segment.line()


def err_console() -> Console:
    """Rich console on standard error."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def print_error(exc: MlgateError) -> None:
    """One clear message: what went wrong, then what to do."""
    from rich.markup import escape

    from mlgate.redact import redact  # the last line of defence: no password reaches a CI log

    label = {1: "failed", 2: "error", 3: "error"}.get(exc.exit_code, "error")
    err_console().print(f"[bold red]{label}:[/] {escape(redact(exc.message))}")
    if exc.hint:
        err_console().print(f"  [yellow]hint:[/] {escape(redact(exc.hint))}")


def settings(ctx: typer.Context) -> Settings:
    """Settings resolved once per invocation from the global options."""
    obj = ctx.find_root().obj
    if obj.get("settings") is None:
        from mlgate.config import load_settings

        obj["settings"] = load_settings(
            registry=obj.get("registry"), artifacts=obj.get("artifacts"), config=obj.get("config")
        )
    return obj["settings"]


def registry(ctx: typer.Context, *, create: bool = False) -> Registry:
    """The registry the global options and configuration point at.

    Only ``create`` (registering) may bring a new registry into being. Otherwise the first database access
    of the returned object raises instead of creating an empty one: outside a project (no ``mlgate.yaml``
    above, no ``--registry``/``MLGATE_REGISTRY``, no ``.mlgate/registry.db`` here) "no mlgate project",
    and when the SQLite file the settings name does not exist (a mistyped path) "registry database PATH
    does not exist" — a read of an empty registry would answer "not registered" about the wrong thing.
    """
    obj = ctx.find_root().obj
    if obj.get("registry_obj") is None:
        from mlgate.registry.store import Registry

        cfg = settings(ctx)
        named = obj.get("registry") is not None  # --registry or MLGATE_REGISTRY
        refusal = None
        if not create:
            if not (cfg.config_path is not None or named or _default_db(cfg).exists()):
                refusal = _no_project(cfg)
            else:
                refusal = _missing_database(cfg, named=named)
        obj["registry_obj"] = Registry(settings=cfg) if refusal is None else _refusing_registry(refusal)(settings=cfg)
    return obj["registry_obj"]


def _default_db(cfg: Settings) -> Path:
    from mlgate.config import STATE_DIR

    return cfg.root / STATE_DIR / "registry.db"


def _no_project(cfg: Settings) -> MlgateError:
    from mlgate.errors import UsageError

    return UsageError(
        f"no mlgate project here: no mlgate.yaml in {cfg.root} or any folder above it, "
        f"and no registry at {_default_db(cfg)}",
        hint="run `mlgate init` to start a project, or name a registry: --registry URL or MLGATE_REGISTRY",
    )


def _missing_database(cfg: Settings, *, named: bool) -> MlgateError | None:
    """The error for a SQLite registry whose file is not there, or None (it exists, or it is a server)."""
    from mlgate.errors import UsageError

    prefix = "sqlite:///"
    if not cfg.registry.startswith(prefix):
        return None
    path = Path(cfg.registry.removeprefix(prefix))
    if path.exists():
        return None
    if named:
        where = "check the --registry option or MLGATE_REGISTRY"
    elif "registry" in cfg.raw:
        where = f"check 'registry:' at {cfg.line_of('registry')}"
    else:
        where = "this project has no registry yet (it is made on the first `mlgate model register`)"
    return UsageError(
        f"registry database {path} does not exist",
        hint=f"{where}; or run `mlgate init` to create a registry there",
    )


def _refusing_registry(error: MlgateError) -> type[Registry]:
    """A Registry class whose database is never opened: any access raises ``error``.

    Made here, on demand, so that importing this module stays light.
    """
    from mlgate.registry.access import Access
    from mlgate.registry.store import Registry

    class RefusingAccess(Access):
        @property
        def engine(self) -> Any:
            raise error

    class RefusingRegistry(Registry):
        def __init__(self, *, settings: Settings) -> None:
            super().__init__(settings=settings)
            # every read and write of the registry's modules goes through its Access
            self._access = RefusingAccess(settings, self.actor)

    return RefusingRegistry


def print_json(data: Any) -> None:
    """Machine-readable output on standard output, nothing else on it."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


def emit_report(report: R, *, markdown: Path | None, as_json: bool, render: Callable[[R], object]) -> None:
    """Append a report's Markdown to a file (CI summaries), then print it as JSON or as Rich tables."""
    if markdown is not None:
        with markdown.open("a", encoding="utf-8") as fh:
            fh.write(report.to_markdown())
    if as_json:
        print_json(report.to_dict())
    else:
        render(report)


def printable(text: object, *, newlines: bool = False) -> str:
    """Stored text made safe for a Rich console: markup escaped, control characters shown as ``\\x1b``.

    Tags, descriptions and lineage come from whoever registered a version; printed raw, ``[bold red]…[/]``
    or an escape sequence would make the terminal show something the registry does not hold.
    """
    import re

    from rich.markup import escape

    keep = "\n" if newlines else ""
    shown = re.sub(
        r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]",
        lambda m: m.group() if m.group() in keep else m.group().encode("unicode_escape").decode("ascii"),
        str(text),
    )
    return escape(shown)


def short_digest(digest: str) -> str:
    """``blake3:1a2b3c4d5e6f`` for tables."""
    algo, _, hexd = digest.partition(":")
    return f"{algo}:{hexd[:12]}"


def when(dt: datetime | None) -> str:
    """A timestamp for tables, in UTC to the second."""
    return dt.strftime("%Y-%m-%d %H:%M:%S") if dt else ""
