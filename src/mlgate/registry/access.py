"""How the registry's modules reach storage: one database engine and one blob store, both opened on first use.

:class:`Access` is what the :class:`~mlgate.registry.store.Registry` facade hands to the modules that do
the work (``versions``, ``aliases``, ``records``, ``materialize``, ``transfer``, ``gc``), the way DVC's
``Repo`` hands itself to ``repo/gc.py``: they need the connections, the blobs and who is acting, never
the facade.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime

import sqlalchemy as sa

from mlgate.config import Settings
from mlgate.errors import MlgateError
from mlgate.registry import db
from mlgate.registry.blobs import BlobStore


def now() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)


def utc(value: datetime) -> datetime:
    """A stored time as a UTC-aware datetime (SQLite returns naive ones)."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Access:
    """The database engine (migrated on first use), the blob store and the actor of one registry."""

    def __init__(self, settings: Settings, actor: str) -> None:
        self.settings = settings
        self.url = settings.registry
        self.actor = actor
        self._engine: sa.Engine | None = None
        self._blobs: BlobStore | None = None

    @property
    def engine(self) -> sa.Engine:
        """The database engine; the schema is migrated on first use."""
        if self._engine is None:
            engine = db.create_engine(self.url, busy_timeout=self.settings.sqlite_busy_timeout)
            try:
                db.ensure_schema(engine)
            except MlgateError:
                engine.dispose()
                raise
            except (sa.exc.SQLAlchemyError, OSError) as exc:
                engine.dispose()
                raise db.translate_db_error(exc, self.url) from exc
            self._engine = engine
            # a Registry dropped without close() still returns its connections cleanly
            weakref.finalize(self, engine.dispose)
        return self._engine

    @property
    def blobs(self) -> BlobStore:
        """The artifact store."""
        if self._blobs is None:
            from mlgate.registry.backends import open_blob_store

            self._blobs = open_blob_store(self.settings.artifacts, s3_endpoint_url=self.settings.s3_endpoint_url)
        return self._blobs

    def close(self) -> None:
        """Release database connections."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    @contextlib.contextmanager
    def read(self) -> Iterator[sa.Connection]:
        """A connection for reading; driver errors become user messages."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except sa.exc.OperationalError as exc:
            raise db.translate_db_error(exc, self.url) from exc

    @contextlib.contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """One write transaction (``BEGIN IMMEDIATE`` on SQLite); driver errors become user messages."""
        try:
            with self.engine.connect().execution_options(mlgate_write=True) as conn, conn.begin():
                yield conn
        except sa.exc.OperationalError as exc:
            raise db.translate_db_error(exc, self.url) from exc
