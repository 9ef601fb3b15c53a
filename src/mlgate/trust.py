"""The ``trust:`` section of ``mlgate.yaml``: whose stored code may run, and which signing keys count.

::

    trust:
      run_code:                 # versions that run code when loaded (pyfunc, pickles) load without a flag
        models: [fraud]         # … for these model names
        authors: [alice]        # … or when registered by these actors
      keys:                     # ed25519 public keys that signatures are checked against
        release: keys/release.pub          # a file (relative to mlgate.yaml) or the base64 key itself
    promote:
      require_signature: [production]      # any key above; or {production: [release]}

``authors`` compares with the version's ``created_by``, a database field: it is as trustworthy as
the registry's database. A model name or a signature is the stronger statement.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.errors import ConfigError

if TYPE_CHECKING:
    from mlgate.config import Settings
    from mlgate.registry.types import ModelVersion


def _section(settings: Settings | None, *path: str) -> Any:
    node: Any = settings.raw if settings is not None else {}
    walked: list[str] = []
    for key in path:
        if node is None:
            return None
        if not isinstance(node, dict):
            where = settings.line_of(*walked) if settings is not None else ".".join(walked)
            raise ConfigError(f"{where}: {'.'.join(walked)} must be a mapping")
        walked.append(key)
        node = node.get(key)
    return node


def _names(settings: Settings | None, *path: str) -> list[str]:
    value = _section(settings, *path)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        where = settings.line_of(*path) if settings is not None else ".".join(path)
        raise ConfigError(f"{where}: {'.'.join(path)} must be a list of names, got {value!r}")
    return value


def may_run_code(settings: Settings | None, mv: ModelVersion) -> bool:
    """Whether ``trust.run_code`` in mlgate.yaml names this version's model or author."""
    return mv.name in _names(settings, "trust", "run_code", "models") or mv.created_by in _names(
        settings, "trust", "run_code", "authors"
    )


def trusted_keys(settings: Settings | None) -> dict[str, bytes]:
    """``trust.keys``: key name → raw 32-byte ed25519 public key."""
    from mlgate.signing import read_public_key

    table = _section(settings, "trust", "keys")
    if table is None:
        return {}
    if not isinstance(table, dict):
        where = settings.line_of("trust", "keys") if settings is not None else "trust.keys"
        raise ConfigError(f"{where}: trust.keys must map key names to public keys (a file or base64 text)")
    root = settings.config_path.parent if settings is not None and settings.config_path else Path.cwd()
    out = {}
    for name, value in table.items():
        where = settings.line_of("trust", "keys", name) if settings is not None else f"trust.keys.{name}"
        out[str(name)] = read_public_key(value, root=root, where=where)
    return out


def required_keys(settings: Settings | None, alias: str) -> list[str] | None:
    """Key names one of which must have signed a version for ``alias``; None when no signature is required."""
    value = _section(settings, "promote", "require_signature")
    if value is None:
        return None
    where = settings.line_of("promote", "require_signature") if settings is not None else "require_signature"
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(trusted_keys(settings)) if alias in value else None
    if isinstance(value, dict):
        keys = value.get(alias)
        if keys is None:
            return None
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise ConfigError(f"{where}: promote.require_signature.{alias} must be a list of key names")
        known = trusted_keys(settings)
        unknown = [k for k in keys if k not in known]
        if unknown:
            raise ConfigError(
                f"{where}: promote.require_signature.{alias} names {', '.join(unknown)}, not in trust.keys",
                hint="add the public key under trust.keys, or remove the name",
            )
        return keys
    raise ConfigError(
        f"{where}: promote.require_signature must be a list of aliases or a mapping alias → key names, got {value!r}"
    )
