"""Aliases on SQLite and PostgreSQL: compare-and-set moves, histories, rollback, alias_at, releases."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from mlgate.errors import ConflictError, NotFoundError, UsageError
from tests.unit.registry.helpers import SIG_B, reg_version


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


def test_two_candidates_of_one_release_get_distinct_stable_versions(registry, tmp_path):
    reg_version(registry, tmp_path, "one")
    reg_version(registry, tmp_path, "two")
    registry.set_alias("fraud", "production", 1)
    registry.set_alias("fraud", "production", 2)
    assert [registry.get(f"fraud:{n}").semver for n in (1, 2)] == ["1.0.0", "1.0.1"]


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
