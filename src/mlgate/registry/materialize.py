"""Bytes out of the registry, verified: a version's files, small blobs, and the metadata bound to the digest.

Every blob is re-hashed while it is copied out and compared with the digest the version recorded; the
manifest is compared with the version digest, and the fields that decide how the bytes are read with
the digested ``mlgate-model.json``. Any mismatch raises IntegrityError and leaves nothing behind.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from mlgate.errors import IntegrityError, NotFoundError
from mlgate.hashing import digest_bytes, manifest_digest
from mlgate.registry.access import Access
from mlgate.registry.blobs import BlobStore
from mlgate.registry.types import ModelVersion

# the document inside every artifact that log_model writes: how to read the bytes, covered by the digest
METADATA_FILE = "mlgate-model.json"


def check_manifest(mv: ModelVersion) -> None:
    """IntegrityError unless the stored manifest hashes to the version digest."""
    if manifest_digest(mv.manifest) != mv.digest:
        raise IntegrityError(
            f"{mv.ref}: the stored manifest does not match the version digest {mv.digest}; the registry "
            "database has been altered",
            hint="restore the registry from a backup; do not load this version",
        )


def fetch_verified(blobs: BlobStore, digest: str, dest: Path, *, what: str) -> None:
    """Copy one blob to ``dest``, IntegrityError (naming ``what``) when it is missing or its bytes differ."""
    try:
        got = blobs.fetch(digest, dest)
    except NotFoundError:
        raise IntegrityError(
            f"{what} is missing from the artifact store {blobs.location} (blob {digest})",
            hint="restore the artifact store from a backup; nothing was loaded",
        ) from None
    if got != digest:
        raise IntegrityError(
            f"{what} is corrupt: its digest is {got}, the version recorded {digest}",
            hint="the stored bytes changed after registration; restore the artifact store from a backup; "
            "nothing was loaded",
        )


def materialize_from(blobs: BlobStore, mv: ModelVersion, dest: str | Path | None = None) -> Path:
    """Copy a version's files out of ``blobs`` into ``dest`` (a new temporary folder by default), verifying each."""
    check_manifest(mv)
    target = Path(dest) if dest is not None else Path(tempfile.mkdtemp(prefix=f"mlgate-{mv.name}-{mv.number}-"))
    try:
        for rel, info in mv.manifest.items():
            out = target / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            fetch_verified(blobs, info["digest"], out, what=f"{mv.ref}: file {rel!r}")
        check_bound_metadata(mv, target)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return target


def materialize(acc: Access, mv: ModelVersion, dest: str | Path | None = None) -> Path:
    """Copy a version's files into ``dest``, verifying each one; see :func:`materialize_from`."""
    return materialize_from(acc.blobs, mv, dest)


def put_blob(acc: Access, data: bytes) -> str:
    """Store small bytes (a profile, a report) content-addressed; returns their digest."""
    digest = digest_bytes(data)
    acc.blobs.put_bytes(digest, data)
    return digest


def read_blob_from(blobs: BlobStore, digest: str, *, what: str = "blob") -> bytes:
    """Read and verify small bytes stored under ``digest``."""
    with tempfile.TemporaryDirectory(prefix="mlgate-blob-") as tmp:
        out = Path(tmp) / "blob"
        try:
            got = blobs.fetch(digest, out)
        except NotFoundError:
            raise IntegrityError(f"{what} {digest} is missing from the artifact store {blobs.location}") from None
        if got != digest:
            raise IntegrityError(f"{what} {digest} is corrupt: its bytes hash to {got}")
        return out.read_bytes()


def read_blob(acc: Access, digest: str, *, what: str = "blob") -> bytes:
    """Read and verify small bytes stored with :func:`put_blob`."""
    return read_blob_from(acc.blobs, digest, what=what)


def verify(acc: Access, mv: ModelVersion) -> ModelVersion:
    """Check every file of a version (and its training-data profile) against its digest without loading it."""
    tmp = materialize(acc, mv)
    shutil.rmtree(tmp, ignore_errors=True)
    if mv.data_profile_digest:
        read_blob(acc, mv.data_profile_digest, what=f"{mv.ref}: the training-data profile")
    return mv


def check_bound_metadata(mv: ModelVersion, folder: Path) -> bool:
    """Compare the version's database fields with the digested ``mlgate-model.json`` in ``folder``.

    Returns False for a version without that document (registered by :meth:`Registry.register` with
    other files, or by an older mlgate): its fields are then only as good as the database row. A field
    that differs raises IntegrityError naming it.
    """
    meta = folder / METADATA_FILE
    if METADATA_FILE not in mv.manifest or not meta.is_file():
        return False
    try:
        doc = json.loads(meta.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise IntegrityError(f"{mv.ref}: {METADATA_FILE} in the artifact is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise IntegrityError(f"{mv.ref}: {METADATA_FILE} in the artifact is not a JSON object")
    fields: list[tuple[str, str, Any]] = [
        ("flavor", "flavor", mv.flavor),
        ("flavor_config", "config", mv.flavor_config),
    ]
    fields.append(("signature", "signature", mv.signature))
    if "runs_code" in doc:  # format 1 documents predate the flag; loading derives it from the config
        fields.append(("runs_code", "runs_code", mv.runs_code))
    for column, key, value in fields:
        if _canonical(doc.get(key)) != _canonical(value):
            raise IntegrityError(
                f"{mv.ref}: the registry's {column} ({_canonical(value)[:120]}) differs from the value bound to "
                f"the digest in {METADATA_FILE} ({_canonical(doc.get(key))[:120]}); the database row was altered",
                hint="restore the registry database from a backup; do not load this version",
            )
    return True


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
