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
from typing import TYPE_CHECKING

from mlgate.errors import ConfigError

if TYPE_CHECKING:
    from mlgate.config import Settings, TrustConfig
    from mlgate.registry.types import ModelVersion


def _trust(settings: Settings | None) -> TrustConfig:
    from mlgate.config import TrustConfig

    return settings.trust if settings is not None else TrustConfig()


def may_run_code(settings: Settings | None, mv: ModelVersion) -> bool:
    """Whether ``trust.run_code`` in mlgate.yaml names this version's model or author."""
    trust = _trust(settings)
    return mv.name in trust.run_code_models or mv.created_by in trust.run_code_authors


def trusted_keys(settings: Settings | None) -> dict[str, bytes]:
    """``trust.keys``: key name → raw 32-byte ed25519 public key."""
    from mlgate.signing import read_public_key

    trust = _trust(settings)
    root = settings.config_path.parent if settings is not None and settings.config_path else Path.cwd()
    out = {}
    for name, value in trust.keys.items():
        where = settings.line_of("trust", "keys", name) if settings is not None else f"trust.keys.{name}"
        out[name] = read_public_key(value, root=root, where=where)
    return out


def required_keys(settings: Settings | None, alias: str) -> list[str] | None:
    """Key names one of which must have signed a version for ``alias``; None when no signature is required."""
    if settings is None:
        return None
    rule = settings.promote.require_signature
    if rule is None:
        return None
    if isinstance(rule, tuple):  # a list of aliases: any trusted key will do
        return list(trusted_keys(settings)) if alias in rule else None
    keys = rule.get(alias)
    if keys is None:
        return None
    known = trusted_keys(settings)
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise ConfigError(
            f"{settings.line_of('promote', 'require_signature')}: promote.require_signature.{alias} names "
            f"{', '.join(unknown)}, not in trust.keys",
            hint="add the public key under trust.keys, or remove the name",
        )
    return list(keys)
