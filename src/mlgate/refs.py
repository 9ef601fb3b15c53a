"""Model references: ``fraud`` (latest), ``fraud:7``, ``fraud:1.4.0``, ``fraud:1.4.0-rc.2``, ``fraud@production``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlgate.errors import ReferenceSyntaxError

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
ALIAS_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
SEMVER_RE = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-rc\.([1-9]\d*))?")
# Version numbers are 32-bit in the registry's schema (PostgreSQL INTEGER): a larger one cannot exist.
MAX_NUMBER = 2**31 - 1
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
        if version.isascii() and version.isdigit():
            number = int(version) if len(version) <= 10 else MAX_NUMBER + 1
            if not 1 <= number <= MAX_NUMBER:
                raise ReferenceSyntaxError(
                    f"model reference {text!r}: version numbers go from 1 to {MAX_NUMBER}"
                    if number
                    else f"model reference {text!r}: version numbers start at 1"
                )
            return Ref(name, number=number)
        semver = SEMVER_RE.fullmatch(version) if version.isascii() else None
        if semver:
            if semver.group(4) and (len(semver.group(4)) > 10 or int(semver.group(4)) > MAX_NUMBER):
                raise ReferenceSyntaxError(f"model reference {text!r}: release candidates go up to rc.{MAX_NUMBER}")
            return Ref(name, semver=version)
        raise ReferenceSyntaxError(
            f"model reference {text!r}: {version!r} is neither a version number nor a semantic version; {_FORM}"
        )
    return Ref(check_name(text))


TAG_KEY_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,255}")
MAX_TAG_VALUE = 4096
MAX_DESCRIPTION = 65536
# right-to-left overrides and isolates: they make text read differently from what it holds
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _bad_char(text: str, allowed: str = "") -> str | None:
    for ch in text:
        if ch in allowed:
            continue
        if ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F or ch in _BIDI:
            return ch
    return None


def check_tag(key: str, value: str | None) -> None:
    """Refuse a tag key outside ``[A-Za-z0-9_.:/-]`` or a value with control characters (escape sequences)."""
    if not isinstance(key, str) or not TAG_KEY_RE.fullmatch(key):
        raise ReferenceSyntaxError(
            f"tag key {key!r} is not valid: it must be 1 to 256 letters, digits, '_', '.', ':', '/' or '-', "
            "not starting with a punctuation mark"
        )
    if value is None:
        return
    if len(value) > MAX_TAG_VALUE:
        raise ReferenceSyntaxError(f"the value of tag {key!r} is {len(value):,} characters; at most {MAX_TAG_VALUE}")
    bad = _bad_char(value)
    if bad is not None:
        raise ReferenceSyntaxError(
            f"the value of tag {key!r} holds the control character {bad!r}; tag values are one line of plain text"
        )


def check_description(text: str | None) -> None:
    """Refuse a description with control characters other than newlines and tabs."""
    if text is None:
        return
    if len(text) > MAX_DESCRIPTION:
        raise ReferenceSyntaxError(f"the description is {len(text):,} characters; at most {MAX_DESCRIPTION}")
    bad = _bad_char(text, allowed="\n\t")
    if bad is not None:
        raise ReferenceSyntaxError(
            f"the description holds the control character {bad!r}; only plain text, newlines and tabs are allowed"
        )
