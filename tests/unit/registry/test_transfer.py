"""import_version and export_version on SQLite and PostgreSQL: identity kept, every blob verified, re-import a no-op."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlgate.errors import ConflictError, IntegrityError, NotFoundError
from mlgate.registry.blobs import blob_key
from mlgate.registry.store import Registry
from tests.unit.registry.helpers import SIG, make_files, reg_version


@pytest.fixture
def source(tmp_path: Path) -> Iterator[Registry]:
    """A second registry (SQLite) that versions are imported from."""
    with Registry(f"sqlite:///{tmp_path / 'source.db'}", artifacts=str(tmp_path / "source-artifacts")) as reg:
        yield reg


def _tamper(store_root: Path, digest: str) -> None:
    path = store_root / blob_key(digest)
    path.chmod(0o644)
    path.write_bytes(b"tampered")


def _seed(reg: Registry, tmp_path: Path) -> None:
    reg_version(reg, tmp_path, "one")
    reg_version(reg, tmp_path, "two", tags={"team": "risk"}, description="the second")
    profile = reg.put_blob(b'{"profile": 1}')
    reg.register("fraud", make_files(tmp_path, "three"), flavor="test", signature=SIG, data_profile_digest=profile)
    reg.set_alias("fraud", "production", 2)
    reg.add_signature(reg.get("fraud:2"), "key-1", "signed document")


def test_import_from_another_registry_keeps_the_version_identity(registry, source, tmp_path):
    _seed(source, tmp_path)
    original = source.get("fraud:2")
    got = registry.import_version(source, "fraud:2")
    assert (got.number, got.digest, got.semver, got.status) == (2, original.digest, "1.0.0", "stable")
    assert (got.tags, got.description, got.created_by, got.created_at) == (
        original.tags,
        original.description,
        original.created_by,
        original.created_at,
    )
    assert got.aliases == (), "aliases belong to the registry they were set in"
    assert [(e.field, e.new) for e in registry.version_history("fraud:2")] == [
        (e.field, e.new) for e in source.version_history("fraud:2")
    ]
    assert registry.signature_records(got) == [("signed document", source.actor)]
    registry.materialize(got, tmp_path / "out")  # every blob is there and verifies
    assert (tmp_path / "out" / "model.bin").read_text() == "two"
    # numbering goes on after the imported version
    assert reg_version(registry, tmp_path, "four").number == 3


def test_import_carries_the_training_data_profile_and_sets_aliases(registry, source, tmp_path):
    _seed(source, tmp_path)
    got = registry.import_version(source, "fraud:3", aliases=["production"], reason="from staging")
    assert got.number == 3 and got.aliases == ("production",)
    assert got.stable_semver == "1.0.0", "the first move to production releases it here"
    assert registry.history("fraud", "production")[-1].reason == "from staging"
    registry.verify("fraud:3")  # files and the profile blob
    assert registry.read_blob(got.data_profile_digest) == b'{"profile": 1}'


def test_reimport_is_idempotent(registry, source, tmp_path):
    _seed(source, tmp_path)
    first = registry.import_version(source, "fraud:2", aliases=["production"])
    events = registry.version_history("fraud:2")
    moves = registry.history("fraud")
    again = registry.import_version(source, "fraud:2", aliases=["production"])
    assert again == first
    assert registry.version_history("fraud:2") == events
    assert registry.history("fraud") == moves, "pointing an alias where it already points records nothing"
    assert [v.number for v in registry.versions("fraud")] == [2]


def test_a_tampered_blob_is_refused_and_nothing_is_written(registry, source, tmp_path):
    _seed(source, tmp_path)
    mv = source.get("fraud:2")
    _tamper(Path(source.blobs.location), mv.manifest["model.bin"]["digest"])
    with pytest.raises(IntegrityError, match=r"fraud:2: file 'model.bin' is corrupt"):
        registry.import_version(source, "fraud:2")
    with pytest.raises(NotFoundError, match="model 'fraud' is not registered"):
        registry.get("fraud:2")
    assert list(registry.blobs.list()) == []


def test_a_tampered_profile_is_refused(registry, source, tmp_path):
    _seed(source, tmp_path)
    _tamper(Path(source.blobs.location), source.get("fraud:3").data_profile_digest)
    with pytest.raises(IntegrityError, match=r"training-data profile .* is corrupt"):
        registry.import_version(source, "fraud:3")
    with pytest.raises(NotFoundError, match="is not registered"):
        registry.get("fraud:3")


def test_another_version_under_the_same_number_is_a_conflict(registry, source, tmp_path):
    _seed(source, tmp_path)
    reg_version(registry, tmp_path, "mine")
    reg_version(registry, tmp_path, "also mine")
    with pytest.raises(ConflictError, match=r"fraud:2 already exists here with digest"):
        registry.import_version(source, "fraud:2")
    got = registry.import_version(source, "fraud:2", name="fraud-imported")
    assert got.ref == "fraud-imported:2" and got.digest == source.get("fraud:2").digest


def test_a_bundle_round_trips_and_is_verified(registry, source, tmp_path):
    _seed(source, tmp_path)
    bundle = source.export_version("fraud:3", tmp_path / "bundle")
    got = registry.import_version(bundle)
    assert (got.ref, got.digest) == ("fraud:3", source.get("fraud:3").digest)
    registry.verify("fraud:3")
    assert registry.import_version(str(bundle), "fraud:3") == got


def test_a_tampered_bundle_is_refused(registry, source, tmp_path):
    _seed(source, tmp_path)
    mv = source.get("fraud:1")
    bundle = source.export_version("fraud:1", tmp_path / "bundle")
    _tamper(bundle, mv.manifest["model.bin"]["digest"])
    with pytest.raises(IntegrityError, match=r"fraud:1: file 'model.bin' is corrupt"):
        registry.import_version(bundle)
    doc_path = tmp_path / "bundle2" / "mlgate-bundle.json"
    source.export_version("fraud:1", tmp_path / "bundle2")
    doc = json.loads(doc_path.read_text())
    doc["version"]["manifest"]["model.bin"]["size"] += 1
    doc_path.write_text(json.dumps(doc))
    with pytest.raises(IntegrityError, match="does not match the version digest"):
        registry.import_version(tmp_path / "bundle2")
    with pytest.raises(NotFoundError, match="is not registered"):
        registry.get("fraud:1")


def test_import_from_this_backend_into_another(registry, source, tmp_path):
    # the parametrized registry (SQLite or PostgreSQL) as the source this time
    _seed(registry, tmp_path)
    got = source.import_version(registry, "fraud@production")
    assert (got.ref, got.semver) == ("fraud:2", "1.0.0")
    source.materialize(got, tmp_path / "out")


def test_two_imports_racing_both_get_the_version(registry_url, source, tmp_path):
    import threading

    _seed(source, tmp_path)
    results: list[object] = []

    def run() -> None:
        with Registry(registry_url, artifacts=str(tmp_path / "artifacts")) as reg:
            try:
                results.append(reg.import_version(source, "fraud:2").digest)
            except Exception as exc:  # the assertion below shows it
                results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [source.get("fraud:2").digest] * 4


@pytest.mark.parametrize(
    ("path", "digest", "match"),
    [
        ("../escape.bin", None, "not a plain relative path"),
        ("/etc/escape.bin", None, "not a plain relative path"),
        ("model.bin", "blake3:../../escape", "is not an mlgate digest"),
    ],
)
def test_a_hostile_bundle_manifest_is_refused(registry, source, tmp_path, path, digest, match):
    from mlgate.hashing import manifest_digest

    _seed(source, tmp_path)
    bundle = source.export_version("fraud:1", tmp_path / "bundle")
    doc_path = bundle / "mlgate-bundle.json"
    doc = json.loads(doc_path.read_text())
    manifest = doc["version"]["manifest"]
    entry = manifest.pop("model.bin")
    manifest[path] = {**entry, "digest": digest or entry["digest"]}
    doc["version"]["digest"] = manifest_digest(manifest)  # consistent with itself: only the rules catch it
    doc_path.write_text(json.dumps(doc))
    with pytest.raises(IntegrityError, match=match):
        registry.import_version(bundle)
    assert not (tmp_path / "escape.bin").exists() and list(registry.blobs.list()) == []


def test_a_bundle_named_for_another_version_is_refused(registry, source, tmp_path):
    from mlgate.errors import UsageError

    _seed(source, tmp_path)
    bundle = source.export_version(source.get("fraud:3"), tmp_path / "bundle")
    with pytest.raises(UsageError, match=r"holds fraud:3, not fraud:2"):
        registry.import_version(bundle, "fraud:2")
    assert registry.import_version(bundle, source.get("fraud:3")).ref == "fraud:3"
