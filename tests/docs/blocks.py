"""Fenced code blocks of the README and docs/, with where they start and the directives before them.

A directive is an HTML comment on the line(s) right above a block (blank lines allowed between)::

    <!-- mlgate-docs: skip why it cannot run standalone -->
    <!-- mlgate-docs: setup registered -->
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
_DIRECTIVE = re.compile(r"^\s*<!--\s*mlgate-docs:\s*(?P<verb>\w+)\s*(?P<arg>.*?)\s*-->\s*$")


@dataclass
class Block:
    """One fenced block: its file, the line of its opening fence, its language and its text."""

    path: Path
    line: int
    lang: str
    code: str
    skip: str | None = None
    setups: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        """``docs/gates.md:24``: the file and line of the opening fence, for failure messages and test ids."""
        path = self.path.relative_to(ROOT).as_posix() if self.path.is_relative_to(ROOT) else str(self.path)
        return f"{path}:{self.line}"


def documents() -> list[Path]:
    """The README and every Markdown page under docs/."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]


def blocks(path: Path) -> list[Block]:
    """Every fenced block of one Markdown file, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, start = m["fence"], i
        lang = (m["info"].split() or [""])[0].lower()
        body: list[str] = []
        i += 1
        while i < len(lines) and not (
            lines[i].strip().startswith(fence[0] * len(fence)) and not lines[i].strip().strip(fence[0])
        ):
            body.append(lines[i][len(m["indent"]) :] if lines[i].startswith(m["indent"]) else lines[i])
            i += 1
        block = Block(path, start + 1, lang, "\n".join(body) + "\n")
        _directives(lines, start, block)
        found.append(block)
        i += 1
    return found


def _directives(lines: list[str], start: int, block: Block) -> None:
    j = start - 1
    while j >= 0 and (not lines[j].strip() or _DIRECTIVE.match(lines[j])):
        d = _DIRECTIVE.match(lines[j])
        if d and d["verb"] == "skip":
            block.skip = d["arg"] or "no reason given"
        elif d and d["verb"] == "setup":
            block.setups += d["arg"].split()
        elif d:
            raise ValueError(f"{block.where}: unknown mlgate-docs directive {d['verb']!r}; use skip or setup")
        j -= 1


def all_blocks() -> list[Block]:
    """Every block of every document."""
    return [b for doc in documents() for b in blocks(doc)]
