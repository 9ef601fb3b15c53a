"""Engines for the registry database, SQLite or PostgreSQL, and safe automatic migrations.

SQLite runs in WAL mode with a busy timeout, and every write transaction starts with
``BEGIN IMMEDIATE``: a deferred transaction that reads first and writes later can fail at once with
"database is locked" when another writer got in between, without ever waiting on the timeout.
"""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from mlgate.errors import ConfigError, EnvironmentProblem, MissingDependency
from mlgate.redact import mask_url, redact

HEAD = "0007"
_MIGRATION_LOCK_ID = 0x6D6C67617465  # "mlgate": the PostgreSQL advisory lock migrations hold


def create_engine(url: str, *, busy_timeout: float = 30.0) -> sa.Engine:
    """An engine for ``url`` (already normalised by :func:`mlgate.config.normalize_registry_url`)."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise ConfigError(f"registry URL {describe_url(url)!r} is malformed: {redact(str(exc))}") from None
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, busy_timeout)
    if parsed.get_backend_name() == "postgresql":
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            raise MissingDependency("psycopg", "postgres", "a PostgreSQL registry") from exc
        return sa.create_engine(
            parsed,
            pool_pre_ping=True,
            pool_size=2,
            max_overflow=8,
            connect_args={"connect_timeout": 10, "application_name": "mlgate"},
        )
    raise ConfigError(f"registry URL {describe_url(url)!r}: unsupported database {parsed.get_backend_name()!r}")


def _sqlite_engine(parsed: sa.URL, busy_timeout: float) -> sa.Engine:
    path = Path(parsed.database or "")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EnvironmentProblem(f"cannot create the registry folder {path.parent}: {exc.strerror}") from exc
    engine = sa.create_engine(
        parsed,
        connect_args={"timeout": busy_timeout, "check_same_thread": False},
        poolclass=sa.pool.QueuePool,
        pool_size=4,
        max_overflow=8,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        immediate = conn.get_execution_options().get("mlgate_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def _current_revision(conn: sa.Connection) -> str | None:
    try:
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    except sa.exc.DBAPIError:
        conn.rollback()
        return None


def ensure_schema(engine: sa.Engine) -> None:
    """Bring the schema to HEAD. Cheap when it is there already; serialised when it is not."""
    with engine.connect() as conn:
        if _current_revision(conn) == HEAD:
            return
    with _migration_lock(engine) as conn:
        current = _current_revision(conn)
        if current == HEAD:
            return
        if current is not None and not _is_known_revision(current):
            raise EnvironmentProblem(
                f"the registry database is at schema revision {current!r}, newer than this mlgate knows ({HEAD!r})",
                hint="upgrade mlgate to the version that wrote this registry",
            )
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        conn.commit()


def _is_known_revision(rev: str) -> bool:
    return any((Path(__file__).parent / "migrations" / "versions").glob(f"{rev}_*.py"))


@contextlib.contextmanager
def _migration_lock(engine: sa.Engine) -> Iterator[sa.Connection]:
    """One migrator at a time: a file lock beside a SQLite file, an advisory lock on PostgreSQL."""
    if engine.dialect.name == "sqlite":
        lock_path = f"{engine.url.database}.migrate.lock"
        with open(lock_path, "a+") as fh:
            _flock(fh.fileno(), timeout=120)
            try:
                with engine.connect() as conn:
                    yield conn
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    else:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK_ID})
            conn.commit()
            try:
                yield conn
            finally:
                conn.rollback()
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK_ID})
                conn.commit()


def _flock(fd: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise EnvironmentProblem(
                    f"another process has held the registry migration lock for {timeout:.0f} s"
                ) from None
            time.sleep(0.05)


def describe_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    return mask_url(url)


def translate_db_error(exc: BaseException, url: str) -> EnvironmentProblem:
    """Turn a driver error into a message a user can act on."""
    text = redact(str(getattr(exc, "orig", exc)) or type(exc).__name__)
    where = describe_url(url)
    if "database is locked" in text or "database table is locked" in text:
        return EnvironmentProblem(
            f"the SQLite registry {where} is locked by another process and stayed locked past the busy timeout",
            hint="wait for the other mlgate command to finish, or raise sqlite_busy_timeout "
            "(MLGATE_SQLITE_BUSY_TIMEOUT, seconds)",
        )
    first_line = text.strip().splitlines()[0] if text.strip() else text
    return EnvironmentProblem(
        f"cannot use the registry database {where}: {first_line}",
        hint="check that the database server is running and the URL is right (MLGATE_REGISTRY or "
        "'registry:' in mlgate.yaml)",
    )
