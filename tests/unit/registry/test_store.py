"""The Registry on SQLite and PostgreSQL: versions, references, aliases, histories, integrity, gc."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mlgate.errors import ConflictError, IntegrityError, NotFoundError, ReferenceSyntaxError, UsageError
from mlgate.hashing import digest_path

SIG = {
    "inputs": {"type": "columns", "columns": [{"name": "a", "dtype": "float64"}]},
    "outputs": {"type": "tensor", "dtype": "int64", "shape": [-1]},
}
SIG_B = {
    "inputs": {"type": "columns", "columns": [{"name": "b", "dtype": "float64"}]},
    "outputs": {"type": "tensor", "dtype": "int64", "shape": [-1]},
}


def make_files(tmp_path: Path, content: str, name: str = "m") -> Path:
    folder = tmp_path / f"src-{name}-{abs(hash(content))}"
    (folder / "sub").mkdir(parents=True)
    (folder / "model.bin").write_text(content)
    (folder / "sub" / "extra.txt").write_text(content[::-1])
    return folder


def reg_version(registry, tmp_path: Path, content: str, name: str = "fraud", sig=SIG, **kw):
    return registry.register(name, make_files(tmp_path, content, name), flavor="test", signature=sig, **kw)


def test_register_assigns_numbers_and_content_digest(registry, tmp_path):
    src = make_files(tmp_path, "one")
    v1 = registry.register("fraud", src, flavor="test", signature=SIG)
    v2 = reg_version(registry, tmp_path, "two")
    assert (v1.number, v2.number) == (1, 2)
    assert v1.digest == digest_path(src)
    assert v1.digest != v2.digest
    assert set(v1.manifest) == {"model.bin", "sub/extra.txt"}
    assert v1.size_bytes == 6


def test_same_bytes_give_same_digest_across_versions(registry, tmp_path):
    a = reg_version(registry, tmp_path, "same")
    b = registry.register("other", make_files(tmp_path, "same", "x"), flavor="test", signature=SIG)
    assert a.digest == b.digest


@pytest.mark.parametrize("ref", ["fraud", "fraud:2", "fraud:1.0.0-rc.2", "fraud@champion"])
def test_references_resolve(registry, tmp_path, ref):
    reg_version(registry, tmp_path, "one")
    reg_version(registry, tmp_path, "two")
    registry.set_alias("fraud", "champion", 2)
    assert registry.get(ref).number == 2
    assert registry.resolve_digest(ref) == (2, registry.get("fraud:2").digest)


def test_semver_candidates_become_stable_on_production(registry, tmp_path):
    v1 = reg_version(registry, tmp_path, "one")
    assert v1.semver == "1.0.0-rc.1" and v1.status == "candidate"
    registry.set_alias("fraud", "production", 1)
    assert registry.get("fraud:1").semver == "1.0.0"
    assert registry.get("fraud:1.0.0").number == 1
    v2 = reg_version(registry, tmp_path, "two")
    assert v2.semver == "1.1.0-rc.1"
    v3 = reg_version(registry, tmp_path, "three", sig=SIG_B)
    assert v3.semver == "2.0.0-rc.1", "an incompatible signature bumps the major version"
    registry.set_alias("fraud", "staging", 2)
    assert registry.get("fraud:2").semver == "1.1.0-rc.1", "only production releases"
    stored = registry.get("fraud:2")
    registry.set_alias("fraud", "production", 2)
    released = registry.get("fraud:2")
    assert released.semver == "1.1.0" and released.digest == stored.digest and released.number == stored.number


def test_unreleased_semver_reference_names_candidates(registry, tmp_path):
    reg_version(registry, tmp_path, "one")
    with pytest.raises(NotFoundError, match=r"fraud:1\.0\.0 has not been released.*1\.0\.0-rc\.1 \(fraud:1\)"):
        registry.get("fraud:1.0.0")


def test_explicit_version_and_rejecting_a_released_one(registry, tmp_path):
    v = reg_version(registry, tmp_path, "one", version="3.2.0")
    assert v.semver == "3.2.0-rc.1"
    registry.set_alias("fraud", "production", v.number)
    with pytest.raises(UsageError, match=r"3\.2\.0 is already released as fraud:1"):
        reg_version(registry, tmp_path, "two", version="3.2.0")
    with pytest.raises(UsageError, match="not a semantic version"):
        reg_version(registry, tmp_path, "three", version="v3")


def test_two_candidates_of_one_release_get_distinct_stable_versions(registry, tmp_path):
    reg_version(registry, tmp_path, "one")
    reg_version(registry, tmp_path, "two")
    registry.set_alias("fraud", "production", 1)
    registry.set_alias("fraud", "production", 2)
    assert [registry.get(f"fraud:{n}").semver for n in (1, 2)] == ["1.0.0", "1.0.1"]


@pytest.mark.parametrize(
    ("ref", "exc", "match"),
    [
        ("nope", NotFoundError, "model 'nope' is not registered"),
        ("fraud:9", NotFoundError, "version fraud:9 does not exist"),
        ("fraud@production", NotFoundError, "alias 'production' of model 'fraud' does not exist"),
        ("fraud@", ReferenceSyntaxError, "malformed"),
        (":x", ReferenceSyntaxError, "malformed"),
        ("a b", ReferenceSyntaxError, "malformed"),
    ],
)
def test_bad_references(registry, tmp_path, ref, exc, match):
    reg_version(registry, tmp_path, "one")
    with pytest.raises(exc, match=match):
        registry.get(ref)


def test_compare_and_set(registry, tmp_path):
    for c in ("one", "two", "three"):
        reg_version(registry, tmp_path, c)
    registry.set_alias("fraud", "production", 1, expect=None)
    with pytest.raises(ConflictError, match="now points to fraud:1, not nothing"):
        registry.set_alias("fraud", "production", 2, expect=None)
    registry.set_alias("fraud", "production", 2, expect=1)
    with pytest.raises(ConflictError, match="now points to fraud:2, not fraud:1"):
        registry.set_alias("fraud", "production", 3, expect="fraud:1")
    assert registry.get("fraud@production").number == 2
    assert [(e.from_number, e.to_number) for e in registry.history("fraud")] == [(None, 1), (1, 2)]


def test_setting_the_same_holder_changes_nothing(registry, tmp_path):
    reg_version(registry, tmp_path, "one")
    registry.set_alias("fraud", "production", 1)
    again = registry.set_alias("fraud", "production", 1)
    assert again.changed is False
    assert len(registry.history("fraud")) == 1


def test_history_records_actor_reason_and_time(registry, tmp_path):
    reg_version(registry, tmp_path, "one")
    before = datetime.now(UTC)
    registry.set_alias("fraud", "production", 1, reason="launch")
    (event,) = registry.history("fraud", "production")
    assert event.actor == "tester" and event.reason == "launch" and event.kind == "set"
    assert before - timedelta(seconds=1) <= event.created_at <= datetime.now(UTC) + timedelta(seconds=1)


def test_rollback_walks_back_like_a_stack(registry, tmp_path):
    for c in ("one", "two", "three"):
        reg_version(registry, tmp_path, c)
    for n in (1, 2, 3):
        registry.set_alias("fraud", "production", n)
    assert registry.rollback("fraud").to_number == 2
    assert registry.rollback("fraud").to_number == 1
    with pytest.raises(
        UsageError, match=r"after fraud:1 has been rolled back already \(it was held by fraud:2, fraud:3"
    ):
        registry.rollback("fraud")
    kinds = [e.kind for e in registry.history("fraud", "production")]
    assert kinds == ["set", "set", "set", "rollback", "rollback"]


def test_rollback_of_a_single_holder(registry, tmp_path):
    reg_version(registry, tmp_path, "one")
    registry.set_alias("fraud", "production", 1)
    with pytest.raises(UsageError, match="no other holder than fraud:1"):
        registry.rollback("fraud")


def test_rollback_of_missing_alias(registry, tmp_path):
    reg_version(registry, tmp_path, "one")
    with pytest.raises(NotFoundError, match="nothing to roll back"):
        registry.rollback("fraud", "production")


def test_alias_at_time(registry, tmp_path):
    reg_version(registry, tmp_path, "one")
    reg_version(registry, tmp_path, "two")
    t0 = datetime.now(UTC)
    time.sleep(0.02)
    registry.set_alias("fraud", "production", 1)
    time.sleep(0.02)
    t1 = datetime.now(UTC)
    time.sleep(0.02)
    registry.set_alias("fraud", "production", 2)
    assert registry.alias_at("fraud", "production", t0) is None
    assert registry.alias_at("fraud", "production", t1).number == 1
    assert registry.alias_at("fraud", "production", datetime.now(UTC)).number == 2
    # the ISO string the CLI's --at takes works from Python too
    assert registry.alias_at("fraud", "production", t1.isoformat().replace("+00:00", "Z")).number == 1
    with pytest.raises(UsageError, match="'yesterday' is not an ISO time"):
        registry.alias_at("fraud", "production", "yesterday")


def test_delete_alias_is_recorded(registry, tmp_path):
    reg_version(registry, tmp_path, "one")
    registry.set_alias("fraud", "staging", 1)
    registry.delete_alias("fraud", "staging", reason="retired")
    assert registry.aliases("fraud") == {}
    assert [e.kind for e in registry.history("fraud")] == ["set", "delete"]


def test_tags_and_description_changes_are_recorded(registry, tmp_path):
    reg_version(registry, tmp_path, "one", tags={"team": "risk"})
    registry.set_tag("fraud:1", "team", "fraud")
    registry.set_tag("fraud:1", "owner", "ana")
    registry.set_tag("fraud:1", "owner", None)
    registry.set_description("fraud:1", "baseline")
    mv = registry.get("fraud:1")
    assert mv.tags == {"team": "fraud"} and mv.description == "baseline"
    changes = [(e.field, e.key, e.old, e.new) for e in registry.version_history("fraud:1")]
    assert changes == [
        ("tag", "team", "risk", "fraud"),
        ("tag", "owner", None, "ana"),
        ("tag", "owner", "ana", None),
        ("description", None, None, "baseline"),
    ]
    with pytest.raises(NotFoundError, match="has no tag 'nope'"):
        registry.set_tag("fraud:1", "nope", None)


def test_immutable_fields_survive_metadata_changes(registry, tmp_path):
    v = reg_version(registry, tmp_path, "one")
    registry.set_tag("fraud:1", "k", "v")
    registry.set_alias("fraud", "production", 1)
    after = registry.get("fraud:1")
    assert (after.digest, after.manifest, after.signature, after.number) == (
        v.digest,
        v.manifest,
        v.signature,
        1,
    )


def test_materialize_verifies_every_file(registry, tmp_path):
    v = reg_version(registry, tmp_path, "payload")
    out = registry.materialize(v, tmp_path / "out")
    assert (out / "model.bin").read_text() == "payload"
    blob = Path(registry.blobs.location) / "blobs"
    target = next(p for p in blob.rglob("*") if p.is_file() and p.read_bytes() == b"payload")
    target.chmod(0o644)
    target.write_bytes(b"tampered")
    with pytest.raises(IntegrityError, match=r"fraud:1: file 'model.bin' is corrupt"):
        registry.materialize(v, tmp_path / "out2")
    assert not (tmp_path / "out2").exists(), "nothing unverified is left behind"
    target.unlink()
    with pytest.raises(IntegrityError, match=r"fraud:1: file 'model.bin' is missing from the artifact store"):
        registry.verify("fraud:1")


def test_gc_finds_and_deletes_only_orphans(registry, tmp_path):
    reg_version(registry, tmp_path, "kept")
    registry.blobs.put_bytes("blake3:" + "ab" * 32, b"orphan")
    listed = registry.gc()
    assert [d for d, _, _ in listed.orphans] == ["blake3:" + "ab" * 32]
    assert listed.deleted == []
    young = registry.gc(delete=True)
    assert young.deleted == [] and young.kept_young == ["blake3:" + "ab" * 32]
    done = registry.gc(delete=True, min_age_s=0)
    assert done.deleted == ["blake3:" + "ab" * 32]
    assert registry.gc().orphans == []
    registry.verify("fraud:1")


def test_listings(registry, tmp_path):
    reg_version(registry, tmp_path, "one")
    reg_version(registry, tmp_path, "two")
    reg_version(registry, tmp_path, "x", name="churn")
    registry.set_alias("fraud", "production", 1)
    summaries = {s.name: s for s in registry.models()}
    assert summaries["fraud"].versions == 2 and summaries["fraud"].latest.number == 2
    assert summaries["fraud"].aliases == {"production": 1}
    assert [v.number for v in registry.versions("fraud")] == [1, 2]
    assert registry.versions("fraud")[0].aliases == ("production",)


def test_invalid_names(registry, tmp_path):
    with pytest.raises(ReferenceSyntaxError, match="model name 'bad name' is not valid"):
        registry.register("bad name", make_files(tmp_path, "x"), flavor="test", signature=SIG)
    reg_version(registry, tmp_path, "one")
    with pytest.raises(ReferenceSyntaxError, match="alias '1prod' is not valid"):
        registry.set_alias("fraud", "1prod", 1)


def test_schema_is_migrated_once_and_reopened(registry_url, tmp_path):
    from mlgate.registry.store import Registry

    with Registry(registry_url, artifacts=str(tmp_path / "a")) as first:
        first.register("m", make_files(tmp_path, "x"), flavor="test", signature=SIG)
    with Registry(registry_url, artifacts=str(tmp_path / "a")) as second:
        assert second.get("m:1").flavor == "test"
