"""DataSketches images and hashing: the KLL, frequent-items and HLL sketches a profile stores.

A profile keeps its sketches as DataSketches' own serialized images (bytes), so profiles written by
one process merge with those of another. This module builds, reads and merges those images:

* :func:`kll_from_sorted` writes the image of a KLL sketch of a sorted batch at once (the compaction
  KLL would do, in one step) instead of one update per value;
* :func:`hll_registers` computes HLL registers in NumPy with the hash DataSketches uses (MurmurHash3
  x64 128, seed 9001, of each value's 8 bytes), and :func:`hll_from_registers` writes them as an HLL
  image, so the sketch equals the one a per-value loop would build;
* ``merge_*`` merge two images into one, and ``quantile_sketch`` / ``frequent_items`` /
  ``distinct`` read them.

The image layouts written here (KLL serial version 1 with the level-zero-sorted flag, HLL serial
version 1 in HLL_8 mode, out of order) are pinned by ``tests/unit/data/test_sketches.py``, which reads
images stored by an earlier version.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import datasketches
    import numpy as np

KLL_K = 200
FREQUENT_LG_MAX_MAP = 10
HLL_LG_K = 12
_KLL_M = 8  # DataSketches' minimum level width


def new_sketches(kind: str) -> tuple[Any, Any, Any]:
    """Empty (KLL, frequent-items, HLL) sketches for a column of ``kind``; None where it has none."""
    import datasketches as ds

    if kind == "other":
        return None, None, None
    if kind in ("numeric", "datetime"):
        return ds.kll_doubles_sketch(KLL_K), None, ds.hll_sketch(HLL_LG_K)
    return None, ds.frequent_strings_sketch(FREQUENT_LG_MAX_MAP), ds.hll_sketch(HLL_LG_K)


def quantile_sketch(image: bytes) -> datasketches.kll_doubles_sketch:
    """The KLL sketch stored in ``image``."""
    import datasketches as ds

    return ds.kll_doubles_sketch.deserialize(image)


def frequent_items(image: bytes) -> dict[str, int]:
    """Value → estimated count for every item the frequent-items sketch keeps, most frequent first."""
    import datasketches as ds

    sketch = ds.frequent_strings_sketch.deserialize(image)
    rows = sketch.get_frequent_items(ds.frequent_items_error_type.NO_FALSE_NEGATIVES)
    return {item: int(est) for item, est, _lo, _hi in sorted(rows, key=lambda r: (-r[1], r[0]))}


def distinct(image: bytes) -> float:
    """The HLL sketch's estimate of distinct values."""
    import datasketches as ds

    return float(ds.hll_sketch.deserialize(image).get_estimate())


def kll_from_sorted(values: np.ndarray, k: int = KLL_K) -> datasketches.kll_doubles_sketch:
    """A KLL sketch of sorted float64 values, built at once instead of one update per value.

    A KLL compactor sorts a level and keeps every other item; compacting a sorted run h times keeps one
    item in every block of 2**h. So the values are cut into blocks of 2**h (h the smallest height with
    fewer than ``k`` blocks) whose middle items go to level h, and the remainder, by its binary digits,
    into one block per lower level. The largest value stays at level 0 on its own, because DataSketches'
    item iterator assumes level 0 is not empty. Total weight is exactly n, and every rank is off by at
    most 2**(h-1) ≤ n/k/2, within the sketch's own error bound. The sketch is written in the DataSketches
    serialization format (serial version 1, k, m = 8, levels, min, max, items) and read back, and merges
    and updates like any other.
    """
    import datasketches as ds
    import numpy as np

    n, height = len(values), 0
    rest = n - 1
    while rest >> height >= k:
        height += 1
    top = rest >> height
    block = 1 << height
    levels: list[np.ndarray] = [values[:0]] * (height + 1)
    levels[height] = values[block // 2 : top * block : block]
    start = top * block
    for level in range(height - 1, -1, -1):
        if (rest - top * block) >> level & 1:
            levels[level] = values[start + (1 << level) // 2 : start + (1 << level) // 2 + 1]
            start += 1 << level
    levels[0] = np.concatenate([levels[0], values[-1:]])
    num_levels = height + 1
    depths = range(num_levels - 1, -1, -1)
    capacity = sum(max(_KLL_M, (((2 * k) << d) // 3**d + 1) >> 1) for d in depths)
    offsets, position = [], capacity - sum(len(items) for items in levels)
    for items in levels:
        offsets.append(position)
        position += len(items)
    level_zero_sorted = 1 << 1
    image = b"".join(
        [
            struct.pack("<4BH2B", 5, 1, 15, level_zero_sorted, k, _KLL_M, 0),
            struct.pack("<QH2B", n, k, num_levels, 0),
            struct.pack(f"<{num_levels}I", *offsets),
            struct.pack("<2d", values[0], values[-1]),
            np.concatenate(levels).astype("<f8").tobytes(),
        ]
    )
    return ds.kll_doubles_sketch.deserialize(image)


def finish_hll(hll: datasketches.hll_sketch, registers: np.ndarray | None) -> bytes:
    """The compact image of ``hll`` united with the NumPy-computed ``registers`` (when any)."""
    import datasketches as ds

    if registers is None:
        return hll.serialize_compact()
    union = ds.hll_union(HLL_LG_K)
    union.update(hll_from_registers(registers))
    union.update(hll)
    return union.get_result(ds.HLL_4).serialize_compact()


# MurmurHash3_x64_128 constants, and the seed DataSketches hashes with
_C1, _C2 = 0x87C37B91114253D5, 0x4CF5AD432745937F
_F1, _F2 = 0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53
_SEED = 9001


def hll_registers(values: np.ndarray, lg_k: int = HLL_LG_K) -> np.ndarray:
    """HLL registers (uint8, ``2**lg_k``) of float64 values, as ``hll_sketch.update(float)`` would set them.

    The values must already be canonical: no -0.0 (NaN is hashed with the bits it has). MurmurHash3 of
    an 8-byte key has no full 16-byte block, so only the tail and the finalisation remain; NumPy wraps
    uint64 arithmetic silently, which is exactly what the hash needs. A register holds the most leading
    zeros (+1, at most 63) of the second hash word among the values of its slot, i.e. those of the
    smallest such word, so one ``np.minimum.at`` per slot replaces a per-value count.
    """
    import numpy as np

    u64 = np.uint64
    h1 = values.view(u64) * u64(_C1)
    tmp = h1 >> u64(33)
    h1 <<= u64(31)
    h1 |= tmp
    h1 *= u64(_C2)
    seed_len = u64(_SEED ^ 8)  # h1 and h2 both start at the seed; the key length (8) is xor-ed in
    h1 ^= seed_len
    h1 += seed_len
    h2 = h1 + seed_len
    for h in (h1, h2):
        for mult in (_F1, _F2):
            np.right_shift(h, u64(33), out=tmp)
            h ^= tmp
            h *= u64(mult)
        np.right_shift(h, u64(33), out=tmp)
        h ^= tmp
    h1 += h2
    h2 += h1
    slots = np.bitwise_and(h1, u64((1 << lg_k) - 1), out=h1).view(np.intp)
    smallest = np.full(1 << lg_k, np.iinfo(u64).max, dtype=u64)
    np.minimum.at(smallest, slots, h2)
    registers = np.minimum(_leading_zeros(smallest), 62) + 1
    unset = smallest == np.iinfo(u64).max  # no value, or (odds 2**-64 each) values whose word is all ones
    if unset.any():
        seen = np.zeros(1 << lg_k, dtype=bool)
        seen[slots] = True
        registers[~seen] = 0
    return registers.astype(np.uint8)


def _leading_zeros(words: np.ndarray) -> np.ndarray:
    """Leading zero bits of uint64 words, from the float exponents of their 32-bit halves (exact)."""
    import numpy as np

    high = np.frexp((words >> np.uint64(32)).astype(np.float64))[1]
    low = np.frexp((words & np.uint64(0xFFFFFFFF)).astype(np.float64))[1]
    return np.where(high > 0, 32 - high, 64 - low)


def hll_from_registers(registers: np.ndarray, lg_k: int = HLL_LG_K) -> datasketches.hll_sketch:
    """An HLL_8 sketch in HLL mode holding ``registers``, via its serialized image.

    The image is marked out-of-order (as a union result is), so the estimate comes from the registers
    (the composite estimator) rather than from the order-dependent HIP accumulator.
    """
    import datasketches as ds
    import numpy as np

    inverse = np.ldexp(1.0, -registers.astype(np.int32))
    kxq0 = float(inverse[registers < 32].sum())
    kxq1 = float(inverse[registers >= 32].sum())
    zeros = int(np.count_nonzero(registers == 0))
    out_of_order, mode_hll_8 = 16, 2 | (2 << 2)  # flags byte; current mode HLL | target type HLL_8
    header = struct.pack("<8BdddII", 10, 1, 7, lg_k, 0, out_of_order, 0, mode_hll_8, 0.0, kxq0, kxq1, zeros, 0)
    return ds.hll_sketch.deserialize(header + registers.astype(np.uint8).tobytes())


# --- merging -----------------------------------------------------------------------------------------


def merge_kll(a: bytes | None, b: bytes | None) -> bytes | None:
    """The image of both KLL sketches merged (either may be None)."""
    if a is None or b is None:
        return a if b is None else b
    import datasketches as ds

    sketch = ds.kll_doubles_sketch.deserialize(a)
    sketch.merge(ds.kll_doubles_sketch.deserialize(b))
    return sketch.serialize()


def merge_frequent(a: bytes | None, b: bytes | None) -> bytes | None:
    """The image of both frequent-items sketches merged (either may be None)."""
    if a is None or b is None:
        return a if b is None else b
    import datasketches as ds

    sketch = ds.frequent_strings_sketch.deserialize(a)
    sketch.merge(ds.frequent_strings_sketch.deserialize(b))
    return sketch.serialize()


def merge_hll(a: bytes | None, b: bytes | None) -> bytes | None:
    """The compact HLL_4 image of both HLL sketches' union (either may be None)."""
    if a is None or b is None:
        return a if b is None else b
    import datasketches as ds

    union = ds.hll_union(HLL_LG_K)
    union.update(ds.hll_sketch.deserialize(a))
    union.update(ds.hll_sketch.deserialize(b))
    return union.get_result(ds.HLL_4).serialize_compact()
