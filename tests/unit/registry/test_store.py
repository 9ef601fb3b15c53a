"""The Registry on SQLite and PostgreSQL: registering, references, tags and descriptions, listings, the schema."""

from __future__ import annotations

import pytest

from mlgate.errors import NotFoundError, ReferenceSyntaxError, UsageError
from mlgate.hashing import digest_path
from tests.unit.registry.helpers import SIG, make_files, reg_version


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


def test_a_resolved_version_is_a_reference_too(registry, tmp_path):
    v = reg_version(registry, tmp_path, "one")
    assert registry.get(v) == v and registry.resolve_digest(v) == (1, v.digest)
    assert registry.verify(v) == v
    record = registry.record_gate_report(
        v, b"{}", champion_digest=None, against="none", dataset_digest="d", config_digest="c", passed=True
    )
    assert registry.gate_reports(v) == [record]
