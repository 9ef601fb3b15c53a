"""Blobs in S3 or any S3-compatible server (MinIO, Ceph, moto): ``s3://bucket/prefix``.

Objects live under ``<prefix>/blobs/ab/abcdef…`` like the folder store. An S3 PUT (or a completed
multipart upload) is atomic, so a reader never sees half an object. Listing caches are off, so a
blob written by another process is seen at once. Credentials and, unless ``endpoint_url`` is given,
the endpoint come from the standard AWS chain (environment, ``~/.aws``, instance roles) via s3fs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from mlgate.errors import ConfigError, EnvironmentProblem, MissingDependency, MlgateError, NotFoundError
from mlgate.hashing import HashingReader
from mlgate.registry.blobs import BlobInfo, BlobStore, blob_key, digest_of_key

_READ_BLOCK = 8 * 1024 * 1024  # read-ahead per ranged GET while fetching
_DENIED = {
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "403",
}
_ENDPOINT_HINT = "set MLGATE_S3_ENDPOINT_URL or 's3: endpoint_url' in mlgate.yaml for a server other than AWS"


def parse_s3_location(location: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` → ``("bucket", "some/prefix")``; the prefix may be empty."""
    if not location.startswith("s3://"):
        raise ConfigError(f"{location!r} is not an s3://bucket/prefix location")
    bucket, _, prefix = location[len("s3://") :].partition("/")
    if not bucket:
        raise ConfigError(f"artifact store {location!r} names no bucket", hint="use s3://bucket or s3://bucket/prefix")
    return bucket, prefix.strip("/")


def _error_code(exc: BaseException) -> str | None:
    """The S3 error code (``NoSuchBucket``, ``AccessDenied``…) behind an exception s3fs translated."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        response = getattr(cur, "response", None)
        if isinstance(response, dict):
            code = response.get("Error", {}).get("Code")
            if code:
                return str(code)
        cur = cur.__cause__ or cur.__context__
    return None


class S3BlobStore(BlobStore):
    """Blobs in an S3 bucket, under an optional key prefix."""

    def __init__(
        self,
        location: str,
        *,
        endpoint_url: str | None = None,
        attempts: int = 3,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        **storage_options: Any,
    ) -> None:
        """Open ``s3://bucket/prefix``; nothing is contacted until the first operation.

        ``attempts`` is how many times botocore tries each request; ``storage_options`` go to
        ``s3fs.S3FileSystem`` unchanged (``profile``, ``key``/``secret``, ``client_kwargs``…).
        """
        try:
            import s3fs
        except ImportError as exc:
            raise MissingDependency("s3fs", "s3", "an S3 artifact store") from exc
        self.location = location.rstrip("/")
        self.bucket, self.prefix = parse_s3_location(location)
        self.endpoint_url = endpoint_url
        config = {
            "retries": {"total_max_attempts": max(1, attempts), "mode": "standard"},
            "connect_timeout": connect_timeout,
            "read_timeout": read_timeout,
        }
        config.update(storage_options.pop("config_kwargs", None) or {})
        self._fs = s3fs.S3FileSystem(
            endpoint_url=endpoint_url,
            use_listings_cache=False,
            skip_instance_cache=True,
            config_kwargs=config,
            **storage_options,
        )
        # botocore already retries each request; s3fs's own loop would multiply the attempts
        self._fs.retries = 2

    def __repr__(self) -> str:
        return f"S3BlobStore({self.location!r}, endpoint_url={self.endpoint_url!r})"

    # -- keys -------------------------------------------------------------------------------------

    def object_key(self, digest: str) -> str:
        """The S3 key (without the bucket) a digest is stored under."""
        key = blob_key(digest)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _path(self, digest: str) -> str:
        return f"{self.bucket}/{self.object_key(digest)}"

    # -- errors -----------------------------------------------------------------------------------

    def _problem(self, doing: str, exc: BaseException) -> MlgateError:
        """Turn a botocore/s3fs failure into an EnvironmentProblem that says what to fix."""
        from botocore import exceptions as bex

        code = _error_code(exc)
        where = f"the artifact store {self.location}"
        if code == "NoSuchBucket":
            return EnvironmentProblem(
                f"the bucket {self.bucket!r} of {where} does not exist (while {doing})",
                hint=f"create the bucket, or fix the bucket name in 'artifacts' / MLGATE_ARTIFACTS; {_ENDPOINT_HINT}",
            )
        if isinstance(exc, bex.NoCredentialsError | bex.PartialCredentialsError):
            return EnvironmentProblem(
                f"no usable AWS credentials for {where} (while {doing}): {exc}",
                hint="set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE",
            )
        if isinstance(exc, PermissionError) or code in _DENIED:
            return EnvironmentProblem(
                f"access to {where} was denied (while {doing}): {exc}",
                hint=f"check the credentials (AWS_ACCESS_KEY_ID / AWS_PROFILE) and the bucket policy; {_ENDPOINT_HINT}",
            )
        if isinstance(exc, bex.ConnectionError | bex.HTTPClientError | TimeoutError | ConnectionError):
            endpoint = self.endpoint_url or "the default AWS endpoint"
            return EnvironmentProblem(
                f"cannot reach {endpoint} for {where} (while {doing}): {exc}",
                hint=f"check that the server is running and reachable; {_ENDPOINT_HINT}; check credentials",
            )
        return EnvironmentProblem(
            f"{where} failed while {doing}: {type(exc).__name__}: {exc}",
            hint=f"check the bucket, the credentials and the endpoint; {_ENDPOINT_HINT}",
        )

    # -- the BlobStore interface ------------------------------------------------------------------

    def has(self, digest: str) -> bool:
        key = self.object_key(digest)
        try:
            self._fs.call_s3("head_object", Bucket=self.bucket, Key=key)
        except FileNotFoundError:
            # a HEAD cannot tell a missing bucket from a missing key; writes and reads can, and say so
            return False
        except Exception as exc:
            raise self._problem(f"looking up blob {digest}", exc) from exc
        return True

    def put_file(self, digest: str, src: Path) -> None:
        if self.has(digest):
            return
        path = self._path(digest)
        try:
            # one PUT, or a multipart upload for big files: both become visible only when complete
            self._fs.put_file(str(src), path)
        except Exception as exc:
            raise self._problem(f"writing blob {digest}", exc) from exc

    def fetch(self, digest: str, dest: Path) -> str:
        path = self._path(digest)
        try:
            src = self._fs.open(path, "rb", block_size=_READ_BLOCK, cache_type="readahead")
        except FileNotFoundError as exc:
            if _error_code(exc) == "NoSuchBucket":
                raise self._problem(f"reading blob {digest}", exc) from exc
            raise NotFoundError(f"blob {digest} is missing from {self.location}") from None
        except Exception as exc:
            raise self._problem(f"reading blob {digest}", exc) from exc
        with src, open(dest, "wb") as out:
            return HashingReader().copy(_TranslatingReader(src, self, digest), out)

    def list(self) -> Iterator[BlobInfo]:
        base = f"{self.bucket}/{self.prefix}/blobs" if self.prefix else f"{self.bucket}/blobs"
        try:
            found = self._fs.find(base, detail=True)
            if not found:
                # an empty listing of a bucket that does not exist is no listing at all
                self._fs.call_s3("list_objects_v2", Bucket=self.bucket, MaxKeys=1)
        except Exception as exc:
            raise self._problem("listing blobs", exc) from exc
        for name in sorted(found):
            info = found[name]
            parts = name[len(base) + 1 :].split("/")
            blob = name.startswith(base + "/") and len(parts) == 2 and parts[1].startswith(parts[0])
            if info.get("type") != "file" or not blob:
                continue  # not something this store wrote
            modified = info.get("LastModified")
            # without a time a blob counts as new, so gc never deletes it early
            mtime = modified.timestamp() if isinstance(modified, datetime) else time.time()
            yield BlobInfo(digest_of_key(name), int(info["size"]), mtime)

    def delete(self, digest: str) -> None:
        path = self._path(digest)
        try:
            self._fs.rm_file(path)  # S3 deletes of missing keys succeed
        except FileNotFoundError as exc:
            if _error_code(exc) == "NoSuchBucket":
                raise self._problem(f"deleting blob {digest}", exc) from exc
        except Exception as exc:
            raise self._problem(f"deleting blob {digest}", exc) from exc


class _TranslatingReader:
    """A read-only view of an S3 object whose network failures become EnvironmentProblem.

    Only reads are wrapped, so a local failure writing the destination keeps its own OSError.
    """

    def __init__(self, src: Any, store: S3BlobStore, digest: str) -> None:
        self._src = src
        self._store = store
        self._digest = digest

    def read(self, size: int = -1) -> bytes:
        try:
            data: bytes = self._src.read(size)
        except Exception as exc:
            raise self._store._problem(f"reading blob {self._digest}", exc) from exc
        return data
