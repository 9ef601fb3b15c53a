"""The parsing helpers every section of ``mlgate.yaml`` shares: where a key is written, and its type checks.

:class:`ConfigFile` names ``mlgate.yaml:12`` for a key path, so every error points at the line;
:func:`section_mapping`, :func:`name_list` and :func:`optional_str` check the common shapes, and
:func:`seconds` reads a duration (``30s``, ``10m``, ``1h``). No section lives here: the sections are in
:mod:`mlgate.config.sections`, :mod:`mlgate.config.monitor` and :mod:`mlgate.config.delivery`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgate.errors import ConfigError

CONFIG_NAME = "mlgate.yaml"
DURATION_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class ConfigFile:
    """Where a section came from: the file (None without one) and the line of each key path."""

    path: Path | None = None
    lines: Mapping[KeyPath, int] = field(default_factory=dict, repr=False)

    def line_of(self, *key: str | int) -> str:
        """``mlgate.yaml:12`` for a key path, or just the file name when the line is unknown."""
        name = str(self.path) if self.path else CONFIG_NAME
        line = self.lines.get(tuple(key))
        return f"{name}:{line}" if line else name


def section_mapping(value: object, file: ConfigFile, key: str, message: str) -> Mapping[str, Any]:
    """A section that must be a mapping (absent or null: empty); ``message`` says so, after the line."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{file.line_of(key)}: {message}")
    return value


def name_list(value: object, file: ConfigFile, *key: str) -> tuple[str, ...]:
    """A list of names (absent: empty)."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{file.line_of(*key)}: {'.'.join(key)} must be a list of names, got {value!r}")
    return tuple(value)


def optional_str(section: Mapping[str, Any], file: ConfigFile, section_key: str, key: str, what: str) -> str | None:
    """``section[key]`` as text or None; anything else names ``section_key.key`` and ``what`` it must be."""
    value = section.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{file.line_of(section_key, key)}: {section_key}.{key} must be {what}, got {value!r}")
    return value


def seconds(value: object, what: str) -> float:
    """``90``, ``"30s"``, ``"10m"``, ``"1h"``, ``"1d"`` → seconds; ValueError naming ``what`` otherwise."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    text = str(value).strip()
    unit = DURATION_UNITS.get(text[-1:]) if text else None
    number = text[:-1] if unit else text
    try:
        out = float(number) * (unit or 1.0)
    except ValueError:
        out = -1.0
    if not out >= 0 or out == float("inf"):
        raise ValueError(f"{what} must be a duration such as 30s, 10m or 1h, got {value!r}")
    return out
