"""Mergeable dataset profiles: exact per-column statistics plus KLL, frequent-items and HLL sketches.

:func:`profile` is the entry point and chooses the engine; it sits above both, so neither engine
imports the other's caller:

* :mod:`mlgate.data.profile_model`: ``Profile`` and ``ColumnProfile``, how they merge (exact
  statistics, Chan's update for the moments, sketch unions), and the JSON file (``mlgate.profile/1``);
* :mod:`mlgate.data.sketches`: the DataSketches images (KLL, frequent items, HLL), built, read and
  merged, and the HLL hash in NumPy;
* :mod:`mlgate.data.local_engine`: one batched streaming pass in this process (``profile_with_sums``
  lets other aggregates ride along);
* :mod:`mlgate.data.ray_engine`: Ray Data blocks, each profiled by the local engine, merged on the driver.

Every name these modules made public here before stays importable from this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlgate.data.local_engine import kind_of, profile_local, profile_with_sums, scan_columns
from mlgate.data.profile_model import (
    FORMAT,
    HISTOGRAM_BINS,
    KINDS,
    ColumnProfile,
    Profile,
    merge_all,
    pick_present,
)
from mlgate.data.sketches import FREQUENT_LG_MAX_MAP, HLL_LG_K, KLL_K, hll_registers, kll_from_sorted
from mlgate.errors import UsageError

ENGINES = ("local", "ray")

__all__ = [
    "ENGINES",
    "FORMAT",
    "FREQUENT_LG_MAX_MAP",
    "HISTOGRAM_BINS",
    "HLL_LG_K",
    "KINDS",
    "KLL_K",
    "ColumnProfile",
    "Profile",
    "hll_registers",
    "kind_of",
    "kll_from_sorted",
    "merge_all",
    "pick_present",
    "profile",
    "profile_with_sums",
    "scan_columns",
]


def profile(
    data: Any,
    *,
    columns: Sequence[str] | None = None,
    engine: str = "local",
    batch_rows: int = 250_000,
    format: str | None = None,
    allow_empty: bool = False,
    ray_address: str | None = None,
) -> Profile:
    """Profile ``data`` (anything :func:`mlgate.data.io.scan` reads, ``format`` as it takes it).

    ``columns`` restricts the profile to those columns, in that order. ``allow_empty`` accepts a
    dataset with no rows (an empty partition, to be merged later); otherwise that is an InputError.
    ``engine`` is ``local`` (this process) or ``ray`` (Ray Data, ``ray_address`` naming the cluster).
    """
    if engine == "ray":
        from mlgate.data.ray_engine import profile_ray

        return profile_ray(
            data, columns=columns, batch_rows=batch_rows, format=format, allow_empty=allow_empty, address=ray_address
        )
    if engine != "local":
        raise UsageError(f"unknown engine {engine!r}", hint="use engine='local' or engine='ray'")
    return profile_local(data, columns=columns, batch_rows=batch_rows, format=format, allow_empty=allow_empty)
