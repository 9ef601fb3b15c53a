"""Ed25519 signatures over a version's digest: ``mlgate model keygen``, ``sign``, and the checks on load.

A digest proves the bytes and the bound metadata are what the database row says; someone who can
rewrite both the row and the blobs can forge that. A signature made with a private key the registry
never sees cannot be forged that way. What is signed is ``mlgate.signature/1\\n<digest>``: the version
digest covers every file and ``mlgate-model.json`` (flavor, config, signature, runs-code).

Signatures are stored as version events (``field = "signature"``), so they are append-only and show in
``mlgate model events``. Every recorded signature must verify on every load; an alias listed under
``promote.require_signature`` additionally needs one by a key in ``trust.keys`` (see
:mod:`mlgate.trust`). Needs the ``cryptography`` package (``pip install 'mlgate[sign]'``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.errors import CheckFailed, ConfigError, InputError, IntegrityError, UsageError, require

if TYPE_CHECKING:
    from mlgate.config import Settings
    from mlgate.registry.store import Registry
    from mlgate.registry.types import ModelVersion

FORMAT = "mlgate.signature/1"


@dataclass(frozen=True)
class Signature:
    """One recorded signature: the key that made it, who recorded it, and whether it verifies."""

    key_id: str
    public_key: bytes
    signer: str
    digest: str
    valid: bool

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "key_id": self.key_id,
            "public_key": base64.b64encode(self.public_key).decode(),
            "signer": self.signer,
            "digest": self.digest,
            "valid": self.valid,
        }


def _crypto() -> Any:
    return require("cryptography.hazmat.primitives.asymmetric.ed25519", "sign", "signing model versions")


def key_id(public_key: bytes) -> str:
    """A short, stable name for a public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def payload(digest: str) -> bytes:
    """The bytes a signature covers."""
    return f"{FORMAT}\n{digest}".encode()


def generate_key(path: str | Path) -> tuple[Path, Path]:
    """Write a new private key to ``path`` (PEM, mode 0600) and its public key to ``path.pub`` (base64)."""
    ed = _crypto()
    from cryptography.hazmat.primitives import serialization

    target = Path(path)
    if target.exists():
        raise UsageError(f"{target} already exists; mlgate does not overwrite a key", hint="choose another path")
    key = ed.Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    pub = target.with_name(target.name + ".pub")
    pub.write_text(base64.b64encode(raw).decode() + "\n")
    return target, pub


def _private_key(path: str | Path) -> Any:
    ed = _crypto()
    from cryptography.hazmat.primitives import serialization

    p = Path(path)
    if not p.is_file():
        raise UsageError(f"signing key {p} does not exist", hint="create one with `mlgate model keygen PATH`")
    try:
        key = serialization.load_pem_private_key(p.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{p} is not an unencrypted PEM private key: {exc}") from exc
    if not isinstance(key, ed.Ed25519PrivateKey):
        raise InputError(f"{p} holds a {type(key).__name__}; mlgate signs with ed25519 keys")
    return key


def read_public_key(value: Any, *, root: Path, where: str) -> bytes:
    """A raw ed25519 public key from base64 text or a file holding it (relative to ``root``)."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: a public key must be base64 text or a file path, got {value!r}")
    text = value.strip()
    candidate = Path(text) if Path(text).is_absolute() else root / text
    if len(text) != 44 and candidate.is_file():
        text = candidate.read_text(encoding="utf-8").strip()
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise ConfigError(
            f"{where}: {value!r} is neither a base64 ed25519 public key nor a file holding one",
            hint="use the .pub file `mlgate model keygen` wrote",
        )
    return raw


def sign(reg: Registry, ref: str, key_path: str | Path) -> Signature:
    """Sign the version ``ref`` names with the private key at ``key_path`` and record the signature."""
    from cryptography.hazmat.primitives import serialization

    key = _private_key(key_path)
    mv = reg.verify(ref)  # never sign bytes that do not match their digest
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    doc = {
        "format": FORMAT,
        "digest": mv.digest,
        "public_key": base64.b64encode(raw).decode(),
        "signature": base64.b64encode(key.sign(payload(mv.digest))).decode(),
    }
    reg.add_signature(mv, key_id(raw), json.dumps(doc, sort_keys=True))
    return Signature(key_id(raw), raw, reg.actor, mv.digest, True)


def signatures(reg: Registry, mv: ModelVersion) -> list[Signature]:
    """The version's recorded signatures, each checked against its digest."""
    out = []
    for text, actor in reg.signature_records(mv):
        try:
            doc = json.loads(text)
            raw = base64.b64decode(doc["public_key"], validate=True)
            sig = base64.b64decode(doc["signature"], validate=True)
            digest = str(doc["digest"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            out.append(Signature("?", b"", actor, "?", False))
            continue
        out.append(Signature(key_id(raw), raw, actor, digest, digest == mv.digest and _verifies(raw, sig, digest)))
    return out


def _verifies(raw: bytes, sig: bytes, digest: str) -> bool:
    ed = _crypto()
    from cryptography.exceptions import InvalidSignature

    try:
        ed.Ed25519PublicKey.from_public_bytes(raw).verify(sig, payload(digest))
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_signatures(
    reg: Registry, mv: ModelVersion, *, alias: str | None = None, settings: Settings | None = None
) -> Signature | None:
    """Refuse a version with a signature that does not verify, or without an accepted one where required.

    Returns the accepted signature that satisfied ``alias``'s requirement, if there is one. The policy
    comes from ``settings`` (default: the registry's).
    """
    from mlgate.trust import required_keys, trusted_keys

    settings = settings if settings is not None else reg.settings
    needed = required_keys(settings, alias) if alias else None
    if needed is None and not reg.signature_records(mv):
        return None
    found = signatures(reg, mv)
    bad = [s for s in found if not s.valid]
    if bad:
        raise IntegrityError(
            f"{mv.ref}: a signature recorded by {bad[0].signer} (key {bad[0].key_id}) does not verify against "
            f"the digest {mv.digest}",
            hint="the version or its signature was altered; do not load it",
        )
    if needed is None:
        return None
    keys = trusted_keys(settings)
    accepted = {keys[name]: name for name in needed if name in keys}
    for s in found:
        if s.public_key in accepted:
            return s
    names = ", ".join(sorted(accepted.values())) or "none configured"
    raise CheckFailed(
        f"{mv.ref} has no signature by a key accepted for {mv.name}@{alias} (accepted: {names})",
        hint=f"sign it with `mlgate model sign {mv.ref} --key PATH` using an accepted key",
    )
