"""The registry's value types as a user sees them in a REPL or a log."""

from __future__ import annotations

from datetime import UTC, datetime

from mlgate.registry.types import ModelVersion


def _version(**overrides: object) -> ModelVersion:
    fields: dict[str, object] = {
        "name": "fraud",
        "number": 3,
        "digest": "blake3:" + "ab" * 32,
        "flavor": "sklearn",
        "base_semver": "1.2.0",
        "rc": 1,
        "stable_semver": None,
        "status": "candidate",
        "signature": {"inputs": {"type": "columns", "columns": [{"name": f"c{i}"} for i in range(30)]}},
        "manifest": {"model.skops": {"digest": "blake3:" + "cd" * 32, "size": 1}},
        "lineage": {"git": {"commit": "0" * 40}},
        "environment": {"distributions": {f"package-{i}": "1.0.0" for i in range(300)}},
        "flavor_config": {},
        "size_bytes": 1,
        "runs_code": False,
        "data_profile_digest": None,
        "description": None,
        "tags": {},
        "created_by": "ana",
        "created_at": datetime(2026, 12, 1, tzinfo=UTC),
    }
    fields.update(overrides)
    return ModelVersion(**fields)  # type: ignore[arg-type]


def test_repr_is_one_short_line_that_identifies_the_version() -> None:
    assert repr(_version()) == "<ModelVersion fraud:3 1.2.0-rc.1 candidate sklearn blake3:abababababab>"
    released = _version(stable_semver="1.2.0", status="stable", aliases=("production",))
    assert repr(released) == ("<ModelVersion fraud:3 1.2.0 stable sklearn blake3:abababababab, aliases=['production']>")
    assert "\n" not in repr(released) and len(repr(released)) < 120
