"""Masking secrets before anything is shown or stored: passwords in URLs, tokens in command lines.

One helper for every place that prints or records a URL, a command line or a driver's message
(invariant 12). It masks by shape, so it also catches a URL whose scheme mlgate does not know
(``postgresq://user:pw@host``) and ``--token VALUE`` flags it never defined.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

MASK = "***"

# scheme://user:password@host — the password runs to the last '@' of the word, so that an unencoded
# '@' inside it is masked too. Every pattern starts only at a word boundary (the lookbehinds) and every
# repetition is bounded: a log line of a million letters costs linear time, not quadratic.
_URL_PASSWORD = re.compile(
    r"(?<![A-Za-z0-9+.\-])([A-Za-z][A-Za-z0-9+.\-]{0,31}://[^:/@\s'\"]{0,256}):([^\s'\"]{0,1024})@"
)
# password=…, ?token=…, GITHUB_TOKEN=…, --api-key=…
_ASSIGNED = re.compile(
    r"(?i)(?<![A-Za-z0-9_\-])"
    r"([A-Za-z0-9_\-]{0,64}?(?:password|passwd|pwd|token|secret|api[_-]?key|access[_-]?key)[A-Za-z0-9_\-]{0,64})"
    r"(=|:\s)([^\s&'\",;]+)"
)
# a flag whose value is the next argument: --token VALUE, --password VALUE
_SECRET_FLAG = re.compile(r"(?i)^--?[a-z0-9_\-]*(?:password|passwd|token|secret|api[_-]?key|access[_-]?key)$")


# Secret values this process resolved (tokens, the registry password): masked wherever they appear, even
# in text whose shape gives nothing away, such as a driver's or a web API's error message.
_KNOWN: set[str] = set()


def remember(*values: str | None) -> None:
    """Mask these values in everything :func:`redact` handles from now on (short ones are ignored)."""
    _KNOWN.update(v for v in values if v and len(v) >= 6)


def url_password(url: str) -> str | None:
    """The password in ``scheme://user:password@host``, if there is one."""
    m = _URL_PASSWORD.search(url)
    return m.group(2) if m and m.group(2) else None


def mask_url(url: str) -> str:
    """``url`` with the password of its user part replaced by ``***``; other URLs unchanged."""
    return _URL_PASSWORD.sub(rf"\1:{MASK}@", url)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with URL passwords, ``key=value`` secrets and the given secret values masked."""
    for secret in sorted({s for s in (*secrets, *_KNOWN) if s}, key=len, reverse=True):
        if len(secret) >= 4:  # shorter values would mask ordinary words
            text = text.replace(secret, MASK)
    text = _URL_PASSWORD.sub(rf"\1:{MASK}@", text)
    return _ASSIGNED.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)


def redact_argv(argv: Sequence[str], secrets: Iterable[str | None] = ()) -> list[str]:
    """A command line safe to show or store: every argument redacted, and the value after a secret flag masked."""
    known = list(secrets)
    out: list[str] = []
    hide_next = False
    for arg in argv:
        if hide_next:
            out.append(MASK)
            hide_next = False
            continue
        out.append(redact(arg, known))
        hide_next = bool(_SECRET_FLAG.match(arg))
    return out
