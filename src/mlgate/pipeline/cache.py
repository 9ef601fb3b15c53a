"""The run cache: a stage's outputs stored in the artifact store under the digest of everything that made them.

Key = digest of (command, dependency digests, parameter values, environment), where the environment is
the Python version plus the installed versions of the packages the project pins (``requirements.txt``,
else ``[project].dependencies`` of ``pyproject.toml``). Output files are blobs under
``<artifacts>/pipeline/blobs`` (content-addressed, shared by every project and runner that points at the
same store), and the entry naming them lives under ``<artifacts>/pipeline/entries`` at the key. Blobs are
written first and the entry last, and only after the command succeeded and every declared output exists,
so a crash or a failure never leaves a partial result behind a key. The outputs live apart from model
blobs so that ``mlgate gc`` does not take them for orphans of an interrupted registration.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgate.errors import NotFoundError
from mlgate.files import write_atomic
from mlgate.hashing import canonical_json, digest_json
from mlgate.pipeline.digests import Manifest
from mlgate.pipeline.spec import Stage
from mlgate.registry.backends import open_blob_store
from mlgate.registry.blobs import BlobStore

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def pinned_packages(root: Path) -> list[str]:
    """Names of the packages a project pins: ``requirements.txt``, else ``pyproject.toml`` dependencies."""
    req = root / "requirements.txt"
    lines: list[str] = []
    if req.is_file():
        lines = req.read_text(encoding="utf-8").splitlines()
    elif (root / "pyproject.toml").is_file():
        import tomllib

        try:
            data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError:
            return []
        lines = list(data.get("project", {}).get("dependencies", []))
    names = set()
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        m = _NAME.match(line)
        if m:
            names.add(m.group(1).lower().replace("_", "-"))
    return sorted(names)


def environment(root: Path, *, cache: Path | None = None) -> dict[str, Any]:
    """What the key records of the environment: the Python version and the pinned packages' versions.

    With ``cache`` (a JSON file) the answer is reused while the interpreter, the modification times of
    every ``sys.path`` entry and the pin files are unchanged: installing, upgrading or removing a package
    adds or removes a ``*.dist-info`` folder, which changes its folder's mtime. That saves importing
    ``importlib.metadata`` and scanning the path on every no-op ``mlgate status``.
    """
    key = _environment_key(root) if cache is not None else None
    if cache is not None:
        try:
            data = json.loads(cache.read_text(encoding="utf-8"))
            if data.get("key") == key:
                return dict(data["env"])
        except (OSError, ValueError, AttributeError, KeyError, TypeError):
            pass  # missing or damaged: recompute
    env = _environment(root)
    if cache is not None:
        _write_json(cache, {"key": key, "env": env})
    return env


def _environment(root: Path) -> dict[str, Any]:
    packages: dict[str, str | None] = {}
    names = pinned_packages(root)
    if names:
        from importlib.metadata import PackageNotFoundError, version

        for name in names:
            try:
                packages[name] = version(name)
            except PackageNotFoundError:
                packages[name] = None
    return {"python": sys.version.split()[0], "packages": packages}  # platform.python_version(), unimported


def _environment_key(root: Path) -> list[Any]:
    stats: list[Any] = [sys.version, sys.executable]
    for entry in [*sys.path, str(root / "requirements.txt"), str(root / "pyproject.toml")]:
        try:
            st = os.stat(entry or ".")
        except OSError:
            continue
        stats.append([entry, st.st_size, st.st_mtime_ns])
    return stats


def _write_json(path: Path, data: Any) -> None:
    """Write a small state file atomically (temporary file, rename); a failure only costs recomputing it."""
    with contextlib.suppress(OSError):
        write_atomic(path, json.dumps(data, separators=(",", ":")))


def stage_key(stage: Stage, deps: dict[str, str], params: dict[str, Any], env: dict[str, Any]) -> str:
    """The cache key of one execution of a stage."""
    outs = sorted((o.path, o.cache) for o in stage.outs)
    return digest_json(
        {"kind": "mlgate.stage/1", "cmd": stage.cmd, "deps": deps, "params": params, "env": env, "outs": outs}
    )


@dataclass(frozen=True)
class CacheEntry:
    """What a key produced: each cached output's manifest (a single file or a folder's files)."""

    key: str
    stage: str
    outs: dict[str, dict[str, Any]]  # path → {"type": "file"|"dir", "digest", "files": manifest}
    # model versions the command registered ({name, number, digest}): a restore names the same version
    registered: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class CacheGcResult:
    """What garbage collection found in the run cache, and whether it deleted it."""

    entries: int = 0  # entries looked at
    expired: list[tuple[str, str, float]] = field(default_factory=list)  # (key, stage, age in s)
    damaged: list[str] = field(default_factory=list)  # keys of unreadable entries
    orphans: list[tuple[str, int, float]] = field(default_factory=list)  # (digest, bytes, age in s)
    kept_young: int = 0  # unnamed blobs younger than the age guard
    deleted: bool = False
    freed_bytes: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "entries": self.entries,
            "expired": [{"key": k, "stage": s, "age_s": round(a, 1)} for k, s, a in self.expired],
            "damaged": self.damaged,
            "orphans": [{"digest": d, "size": n, "age_s": round(a, 1)} for d, n, a in self.orphans],
            "kept_young": self.kept_young,
            "deleted": self.deleted,
            "freed_bytes": self.freed_bytes,
        }


def _sub(location: str, *parts: str) -> str:
    if "://" in location:
        return "/".join([location.rstrip("/"), *parts])
    return str(Path(location).joinpath(*parts))


class RunCache:
    """Stage outputs in an artifact store (a folder or ``s3://``)."""

    def __init__(self, location: str, *, s3_endpoint_url: str | None = None) -> None:
        self.location = location
        self.blobs: BlobStore = open_blob_store(_sub(location, "pipeline"), s3_endpoint_url=s3_endpoint_url)
        # entries are keyed by the stage key, not by their own digest; read() checks the key they carry
        self.entries: BlobStore = open_blob_store(
            _sub(location, "pipeline", "entries"), s3_endpoint_url=s3_endpoint_url
        )

    def get(self, key: str) -> CacheEntry | None:
        """The entry for a key, or None when the key was never stored (or its blobs are gone).

        A hit marks the entry used now (local stores), which is what ``mlgate gc --cache-unused-for`` reads.
        """
        if not self.entries.has(key):
            return None
        import tempfile

        with tempfile.TemporaryDirectory(prefix="mlgate-entry-") as tmp:
            entry = self._read(key, Path(tmp))
        if entry is None:
            return None
        missing = any(not self.blobs.has(f["digest"]) for o in entry.outs.values() for f in o["files"].values())
        if missing:
            return None
        self.entries.touch(key)
        return entry

    def _read(self, key: str, scratch: Path) -> CacheEntry | None:
        """The entry stored at ``key`` (fetched through ``scratch``); None when missing, damaged or misfiled."""
        target = scratch / "entry.json"
        try:
            self.entries.fetch(key, target)
            data = json.loads(target.read_text(encoding="utf-8"))
            if data.get("key") != key:
                return None
            return CacheEntry(key, str(data.get("stage")), dict(data["outs"]), list(data.get("registered") or []))
        except (NotFoundError, ValueError, OSError, KeyError, TypeError, AttributeError):
            return None

    def gc(
        self,
        *,
        keep: set[tuple[str, str, str]],
        unused_for_s: float | None = None,
        min_age_s: float = 3600.0,
        delete: bool = False,
    ) -> CacheGcResult:
        """Find entries unused for ``unused_for_s`` and the output blobs no remaining entry names.

        ``keep`` holds ``(stage, output path, digest)`` of outputs a workspace holds now (its ``mlgate.lock``):
        an entry that produced exactly those outputs is never expired. Without ``unused_for_s`` no readable entry
        expires, and only blobs of interrupted saves or of damaged entries are found. Blobs and damaged
        entries younger than ``min_age_s`` are kept: a run may be writing the entry that will name them.
        With ``delete``, expired entries go first, then the blobs nothing names any more.
        """
        import tempfile
        import time

        now = time.time()
        result = CacheGcResult()
        named: set[str] = set()
        doomed: list[str] = []
        with tempfile.TemporaryDirectory(prefix="mlgate-gc-") as tmp:
            for info in self.entries.list():
                result.entries += 1
                age = now - info.mtime
                entry = self._read(info.digest, Path(tmp))
                if entry is None:
                    if age >= min_age_s:
                        result.damaged.append(info.digest)
                        doomed.append(info.digest)
                    continue
                outs = entry.outs.items()
                wanted = bool(outs) and all((entry.stage, path, o.get("digest")) in keep for path, o in outs)
                if unused_for_s is not None and age >= unused_for_s and not wanted:
                    result.expired.append((info.digest, entry.stage, age))
                    doomed.append(info.digest)
                    continue
                named.update(f["digest"] for o in entry.outs.values() for f in o["files"].values())
        for blob in self.blobs.list():
            if blob.digest in named:
                continue
            age = now - blob.mtime
            if age < min_age_s:
                result.kept_young += 1
                continue
            result.orphans.append((blob.digest, blob.size, age))
        if delete:
            for key in doomed:
                self.entries.delete(key)
            for digest, size, _ in result.orphans:
                self.blobs.delete(digest)
                result.freed_bytes += size
            result.deleted = True
        return result

    def put(
        self,
        key: str,
        stage: str,
        outs: dict[str, tuple[str, str, Manifest]],
        root: Path,
        *,
        registered: list[dict[str, Any]] | None = None,
    ) -> CacheEntry:
        """Store outputs (``path → (type, digest, manifest)``) then the entry that names them.

        ``registered`` lists the model versions the command registered, so that a later restore (main after
        the pull request) knows which version it stands for.
        """
        for path, (kind, _digest, files) in outs.items():
            base = root / path
            for rel, info in files.items():
                src = base if kind == "file" else base / rel
                self.blobs.put_file(info["digest"], src)
        entry_outs = {p: {"type": k, "digest": d, "files": m} for p, (k, d, m) in outs.items()}
        doc: dict[str, Any] = {"key": key, "stage": stage, "outs": entry_outs, "kind": "mlgate.cache-entry/1"}
        if registered:
            doc["registered"] = registered
        self.entries.put_bytes(key, canonical_json(doc))
        return CacheEntry(key, stage, entry_outs, list(registered or []))

    def restore(self, entry: CacheEntry, path: str, root: Path) -> int:
        """Put one cached output back in the workspace, verifying every file; returns files written."""
        from mlgate.pipeline.spec import check_real_path

        out = entry.outs[path]
        target = check_real_path(root, path, f"run cache entry of stage {entry.stage!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        import shutil

        tmp = target.parent / f".mlgate-restore-{os.urandom(4).hex()}"
        try:
            if out["type"] == "file":
                ((info,),) = [tuple(out["files"].values())]
                self._fetch(info["digest"], tmp, path)
            else:
                tmp.mkdir()
                for rel, info in out["files"].items():
                    dest = tmp / rel
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    self._fetch(info["digest"], dest, f"{path}/{rel}")
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
            os.replace(tmp, target)
        finally:
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            elif tmp.exists():
                tmp.unlink()
        return len(out["files"])

    def _fetch(self, digest: str, dest: Path, what: str) -> None:
        from mlgate.errors import IntegrityError

        got = self.blobs.fetch(digest, dest)
        if got != digest:
            raise IntegrityError(
                f"cached output {what} is corrupt in {self.blobs.location}: its bytes hash to {got}, expected {digest}",
                hint="delete the damaged blob and run again with --force",
            )
