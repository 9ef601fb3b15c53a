"""Environment check: are the flavor's packages and Python the ones the model was trained with?

The versions recorded at registration (``environment["packages"]``, the flavor's packages) are compared
with the versions installed now (:mod:`importlib.metadata`). ``match`` says how much must be equal:
``exact`` (the whole version), ``minor`` (major.minor) or ``major``. Python is always compared on
major.minor: pickles and compiled extensions rarely survive a change of Python minor version, whatever
``match`` says about packages. A package recorded at training but not installed now is a mismatch; a
package that was not installed at training time is not compared.
"""

from __future__ import annotations

import platform
import re
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from mlgate.errors import ConfigError
from mlgate.gates.types import Check

ON_MISMATCH = ("warn", "fail")
MATCH = ("exact", "minor", "major")
_RELEASE = re.compile(r"^\s*v?(\d+)(?:\.(\d+))?")


def same(recorded: str, installed: str, match: str) -> bool:
    """Whether two versions agree on what ``match`` asks for (``"1.5.2"`` and ``"1.5.0"`` agree on minor)."""
    if match == "exact" or recorded == installed:
        return recorded == installed
    a, b = _RELEASE.match(recorded), _RELEASE.match(installed)
    if a is None or b is None:  # not a numeric version: only an exact match counts
        return False
    parts = 1 if match == "major" else 2
    return [int(x or 0) for x in a.groups()[:parts]] == [int(x or 0) for x in b.groups()[:parts]]


def installed_version(dist: str) -> str | None:
    """The version of ``dist`` installed now, or None."""
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def _python(full: str) -> str:
    return ".".join(full.split(".")[:2])


def check(model_version: Any, *, on_mismatch: str = "warn", match: str = "minor") -> Check:
    """Compare the training environment of ``model_version`` (or a LoadedModel's) with this one."""
    if on_mismatch not in ON_MISMATCH:
        raise ConfigError(f"environment: 'on_mismatch' must be 'warn' or 'fail', got {on_mismatch!r}")
    if match not in MATCH:
        raise ConfigError(f"environment: 'match' must be 'exact', 'minor' or 'major', got {match!r}")
    mv = getattr(model_version, "metadata", model_version)
    env = mv.environment or {}
    recorded = {k: v for k, v in (env.get("packages") or {}).items() if v}
    compared: dict[str, dict[str, Any]] = {}
    mismatches: list[str] = []
    for dist, trained in sorted(recorded.items()):
        now = installed_version(dist)
        ok = now is not None and same(str(trained), now, match)
        compared[dist] = {"trained": trained, "installed": now, "same": ok}
        if not ok:
            mismatches.append(f"{dist} {trained} → {now if now is not None else 'not installed'}")
    python_now = _python(platform.python_version())
    python_then = _python(str(env["python"])) if env.get("python") else None
    if python_then is not None and python_then != python_now:
        mismatches.append(f"Python {python_then} → {python_now}")
    details = {
        "match": match,
        "packages": compared,
        "python": {"trained": python_then, "installed": python_now},
        "mismatches": mismatches,
    }
    name = "environment"
    if not compared and python_then is None:
        return Check(name, "environment", "skip", message=f"{mv.ref} recorded no training environment", details=details)
    if mismatches:
        return Check(
            name,
            "environment",
            on_mismatch,  # type: ignore[arg-type]
            message=f"the environment differs from training ({match} match): {', '.join(mismatches)}",
            value=float(len(mismatches)),
            details=details,
        )
    listed = ", ".join(f"{d} {c['installed']}" for d, c in compared.items())
    return Check(
        name,
        "environment",
        "pass",
        message=f"same as at training ({match} match): {listed + ', ' if listed else ''}Python {python_now}",
        value=0.0,
        details=details,
    )
