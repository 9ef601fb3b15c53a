"""Shared fixtures: an isolated working folder, real registries on SQLite and PostgreSQL, real models.

PostgreSQL tests read ``MLGATE_TEST_POSTGRES_URL`` (``.ci/run`` sets it). Outside CI they fall back to
the local server and skip, with the reason printed, only when none answers; in CI they never skip.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"

pytest_plugins = ["tests.fixtures.s3", "tests.fixtures.ray"]

# On a shared 2-core machine wall-clock limits fail on load, not on bugs: the properties are checked in full.
settings.register_profile("shared-machine", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("shared-machine")


@pytest.fixture(autouse=True)
def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test runs in its own folder with no mlgate variables from the outside world."""
    for key in list(os.environ):
        if key.startswith("MLGATE_") and key != "MLGATE_TEST_POSTGRES_URL":
            monkeypatch.delenv(key)
    monkeypatch.setenv("MLGATE_ACTOR", "tester")
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    # A private temporary folder: leftover sweeps (gc with min_age 0) must never reach the mlgate-log-*
    # folders of registrations running in other processes (other test runs, benchmarks).
    scratch = tmp_path / "scratch-tmpdir"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))


def _pg_admin_url() -> str:
    return os.environ.get("MLGATE_TEST_POSTGRES_URL") or DEFAULT_PG


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The admin URL of a reachable PostgreSQL server; skips outside CI if there is none."""
    url = _pg_admin_url()
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        if os.environ.get("CI") or os.environ.get("MLGATE_TEST_POSTGRES_URL"):
            pytest.fail(f"PostgreSQL at {url} is required in CI but unreachable: {exc}")
        pytest.skip(f"PostgreSQL tests skipped outside CI: no server at {url} ({exc})")
    return url


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    name = f"mlgate_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = conninfo_to_dict(postgres_server)
    params["dbname"] = name
    user = params.get("user", "postgres")
    host = params.get("host", "127.0.0.1")
    port = params.get("port", 5432)
    url = f"postgresql://{user}@{host}:{port}/{name}"
    if params.get("password"):
        url = f"postgresql://{user}:{params['password']}@{host}:{port}/{name}"
    yield url
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The same tests run against SQLite and PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'registry.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def registry(registry_url: str, tmp_path: Path) -> Iterator[object]:
    """A real, empty registry with a local artifact folder."""
    from mlgate.registry.store import Registry

    reg = Registry(registry_url, artifacts=str(tmp_path / "artifacts"))
    yield reg
    reg.close()


@pytest.fixture(scope="session")
def breast_cancer() -> tuple[object, object]:
    """scikit-learn's bundled breast-cancer data as (DataFrame, Series)."""
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X, y


@pytest.fixture(scope="session")
def sk_model(breast_cancer: tuple[object, object]) -> object:
    """A small real scikit-learn pipeline trained on the breast-cancer data."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = breast_cancer
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X, y)


@pytest.fixture(scope="session")
def sk_model_b(breast_cancer: tuple[object, object]) -> object:
    """A second, different scikit-learn model on the same data."""
    from sklearn.tree import DecisionTreeClassifier

    X, y = breast_cancer
    return DecisionTreeClassifier(max_depth=3, random_state=0).fit(X, y)
