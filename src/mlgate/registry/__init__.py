"""The model registry: metadata in SQLite or PostgreSQL, bytes in a content-addressed blob store.

``from mlgate.registry import Registry`` loads the facade (and SQLAlchemy) only when first asked for,
so importing a light submodule (``refs``-level types, ``blobs``) stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlgate.registry.store import Registry

__all__ = ["Registry"]


def __getattr__(name: str) -> type[Registry]:
    if name == "Registry":
        from mlgate.registry.store import Registry

        return Registry
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
