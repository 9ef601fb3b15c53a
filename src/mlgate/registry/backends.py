"""Which blob store a location names: a folder, ``file://…`` or ``s3://bucket/prefix``.

The choice sits outside the interface module (``blobs.py``), so that backends import the interface and
the interface imports no backend.
"""

from __future__ import annotations

from mlgate.errors import ConfigError
from mlgate.registry.blobs import BlobStore, LocalBlobStore


def open_blob_store(location: str, *, s3_endpoint_url: str | None = None) -> BlobStore:
    """The blob store for a location: a folder path, ``file://…`` or ``s3://bucket/prefix``."""
    if location.startswith("s3://"):
        from mlgate.registry.s3 import S3BlobStore  # s3fs is imported only when S3 is used

        return S3BlobStore(location, endpoint_url=s3_endpoint_url)
    if location.startswith("file://"):
        return LocalBlobStore(location[len("file://") :])
    if "://" in location:
        scheme = location.split("://", 1)[0]
        raise ConfigError(
            f"artifact store {location!r} has the unsupported scheme {scheme!r}",
            hint="use a folder path or s3://bucket/prefix",
        )
    return LocalBlobStore(location)
