"""The environment check compares the recorded training packages and Python with what is installed now."""

from __future__ import annotations

import dataclasses
import platform
from importlib.metadata import version
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import mlgate
from mlgate.errors import ConfigError
from mlgate.gates.environment import check, same

SKLEARN = version("scikit-learn")
MAJOR, MINOR = (int(p) for p in SKLEARN.split(".")[:2])
PYTHON = ".".join(platform.python_version().split(".")[:2])


@pytest.fixture
def mv(registry: Any, breast_cancer: Any, sk_model: Any) -> Any:
    X, _ = breast_cancer
    return mlgate.log_model(sk_model, "bc", sample_input=X.head(5), registry=registry)


def trained_with(mv: Any, **changes: Any) -> Any:
    """The same version as if it had been trained with other package or Python versions."""
    env = dict(mv.environment)
    packages = dict(env["packages"])
    python = changes.pop("python", None)
    packages.update(changes)
    env["packages"] = packages
    if python is not None:
        env["python"] = python
    return dataclasses.replace(mv, environment=env)


def test_a_version_checked_where_it_was_trained_passes(mv: Any) -> None:
    assert set(mv.environment["packages"]) == {"scikit-learn", "skops", "numpy", "scipy"}
    result = check(mv)
    assert (result.name, result.kind, result.status) == ("environment", "environment", "pass")
    assert result.message.startswith("same as at training (minor match): numpy ")
    assert f"scikit-learn {SKLEARN}" in result.message and result.message.endswith(f"Python {PYTHON}")
    assert result.details["packages"]["scikit-learn"] == {"trained": SKLEARN, "installed": SKLEARN, "same": True}


def test_a_different_minor_version_warns_and_names_both_versions(mv: Any) -> None:
    old = f"{MAJOR}.{MINOR + 1}.2"  # another minor release of the same major one
    result = check(trained_with(mv, **{"scikit-learn": old}))
    assert result.status == "warn"
    assert result.message == f"the environment differs from training (minor match): scikit-learn {old} → {SKLEARN}"
    assert result.details["mismatches"] == [f"scikit-learn {old} → {SKLEARN}"]
    assert check(trained_with(mv, **{"scikit-learn": old}), on_mismatch="fail").status == "fail"
    assert check(trained_with(mv, **{"scikit-learn": old}), match="major").status == "pass"


def test_match_levels_decide_what_must_be_equal(mv: Any) -> None:
    patch = trained_with(mv, **{"scikit-learn": f"{MAJOR}.{MINOR}.999"})
    assert check(patch, match="exact").status == "warn"
    assert check(patch, match="minor").status == "pass"
    assert check(patch, match="major").status == "pass"
    major = trained_with(mv, **{"scikit-learn": f"{MAJOR + 1}.0.0"})
    assert check(major, match="major", on_mismatch="fail").status == "fail"


def test_a_package_no_longer_installed_is_a_mismatch(mv: Any) -> None:
    result = check(trained_with(mv, **{"mlgate-no-such-dist": "1.0"}), on_mismatch="fail")
    assert result.status == "fail"
    assert "mlgate-no-such-dist 1.0 → not installed" in result.message
    assert result.details["packages"]["mlgate-no-such-dist"]["installed"] is None


def test_a_package_absent_at_training_is_not_compared(mv: Any) -> None:
    result = check(trained_with(mv, **{"mlgate-no-such-dist": None}))
    assert result.status == "pass"
    assert "mlgate-no-such-dist" not in result.details["packages"]


def test_python_is_compared_on_major_minor(mv: Any) -> None:
    result = check(trained_with(mv, python="2.7.18"), match="major")
    assert result.status == "warn"
    assert result.message.endswith(f"Python 2.7 → {PYTHON}")
    same_minor = check(trained_with(mv, python=f"{PYTHON}.999"), match="exact")
    assert same_minor.status == "pass"


def test_every_mismatch_is_listed(mv: Any) -> None:
    result = check(trained_with(mv, numpy="0.1.0", scipy="0.2.0", python="3.1.0"))
    assert result.details["mismatches"] == [
        f"numpy 0.1.0 → {version('numpy')}",
        f"scipy 0.2.0 → {version('scipy')}",
        f"Python 3.1 → {PYTHON}",
    ]
    assert result.value == 3


def test_a_loaded_model_works_and_nothing_recorded_is_skipped(registry: Any, mv: Any) -> None:
    assert check(mlgate.load_model(mv.ref, registry=registry)).status == "pass"
    bare = dataclasses.replace(mv, environment={})
    result = check(bare)
    assert (result.status, result.message) == ("skip", f"{mv.ref} recorded no training environment")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"on_mismatch": "error"}, r"'on_mismatch' must be 'warn' or 'fail', got 'error'"),
        ({"match": "patch"}, r"'match' must be 'exact', 'minor' or 'major', got 'patch'"),
    ],
)
def test_bad_options_raise_naming_the_key(kwargs: Any, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        check(object(), **kwargs)


versions = st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(0, 30)).map(lambda t: ".".join(map(str, t)))


@given(versions, versions)
def test_match_levels_nest(a: str, b: str) -> None:
    assert same(a, a, "exact") and same(a, a, "minor") and same(a, a, "major")
    if same(a, b, "exact"):
        assert same(a, b, "minor")
    if same(a, b, "minor"):
        assert same(a, b, "major")
    assert same(a, b, "major") == (a.split(".")[0] == b.split(".")[0])
    assert same(a, b, "minor") == (a.split(".")[:2] == b.split(".")[:2])
