"""Model references: ``fraud`` (latest), ``fraud:7``, ``fraud:1.4.0``, ``fraud:1.4.0-rc.2``, ``fraud@production``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlgate.errors import ReferenceSyntaxError

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
ALIAS_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
SEMVER_RE = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-rc\.([1-9]\d*))?")
_FORM = "use NAME, NAME:NUMBER, NAME:MAJOR.MINOR.PATCH or NAME@ALIAS (for example fraud@production)"


@dataclass(frozen=True)
class Ref:
    """A parsed reference; exactly one of number, semver, alias is set, or none for 'latest'."""

    name: str
    number: int | None = None
    semver: str | None = None
    alias: str | None = None

    def __str__(self) -> str:
        if self.number is not None:
            return f"{self.name}:{self.number}"
        if self.semver is not None:
            return f"{self.name}:{self.semver}"
        if self.alias is not None:
            return f"{self.name}@{self.alias}"
        return self.name


def check_name(name: str, what: str = "model name") -> str:
    """Return ``name`` if it is a valid model name, else raise naming the rule."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise ReferenceSyntaxError(
            f"{what} {name!r} is not valid: it must start with a letter or digit and contain only "
            "letters, digits, '.', '_' and '-' (at most 128 characters)"
        )
    return name


def check_alias(alias: str) -> str:
    """Return ``alias`` if it is a valid alias name."""
    if not isinstance(alias, str) or not ALIAS_RE.fullmatch(alias):
        raise ReferenceSyntaxError(
            f"alias {alias!r} is not valid: it must start with a letter and contain only letters, "
            "digits, '_' and '-' (at most 64 characters)"
        )
    return alias


def parse_ref(text: str) -> Ref:
    """Parse a reference string, raising ReferenceSyntaxError that shows the accepted forms."""
    if not isinstance(text, str):
        raise ReferenceSyntaxError(f"a model reference must be a string, got {type(text).__name__}")
    if not text or text != text.strip() or any(c.isspace() for c in text):
        raise ReferenceSyntaxError(f"model reference {text!r} is malformed (empty or contains spaces); {_FORM}")
    if "@" in text:
        name, _, alias = text.partition("@")
        if not name or not alias or "@" in alias or ":" in text:
            raise ReferenceSyntaxError(f"model reference {text!r} is malformed; {_FORM}")
        return Ref(check_name(name), alias=check_alias(alias))
    if ":" in text:
        name, _, version = text.partition(":")
        if not name or not version or ":" in version:
            raise ReferenceSyntaxError(f"model reference {text!r} is malformed; {_FORM}")
        check_name(name)
        if version.isdigit():
            number = int(version)
            if number < 1:
                raise ReferenceSyntaxError(f"model reference {text!r}: version numbers start at 1")
            return Ref(name, number=number)
        if SEMVER_RE.fullmatch(version):
            return Ref(name, semver=version)
        raise ReferenceSyntaxError(
            f"model reference {text!r}: {version!r} is neither a version number nor a semantic version; {_FORM}"
        )
    return Ref(check_name(text))
