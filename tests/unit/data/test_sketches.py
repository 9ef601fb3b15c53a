"""Sketch images and the profile file format: what an earlier mlgate stored still reads the same.

``tests/fixtures/profiles/profile-1.json`` was written by mlgate before the sketches moved into
:mod:`mlgate.data.sketches` (the ``mlgate.profile/1`` format), from :func:`frame` below. Profiling the
same frame today must give the same file, byte for byte, sketch images included; a format this
version does not know is refused with a message naming both formats and the fix.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import datasketches as ds
import numpy as np
import polars as pl
import pytest

from mlgate.data import sketches
from mlgate.data.profile import FORMAT, Profile, profile
from mlgate.errors import InputError

STORED = Path(__file__).parents[2] / "fixtures" / "profiles" / "profile-1.json"


def frame() -> pl.DataFrame:
    """The data the stored profile was made from (deterministic, no random generator)."""
    n = 1500
    return pl.DataFrame(
        {
            "x": [((i * 7919) % 1499) / 10 if i % 97 else None for i in range(n)],
            "n": [(i * 31) % 50 for i in range(n)],
            "s": [["north", "south", "east", "west", None][(i * 3) % 5] for i in range(n)],
            "b": [i % 3 == 0 for i in range(n)],
            "d": [date(2024, 1, 1) + timedelta(days=i % 400) for i in range(n)],
        }
    )


def test_a_stored_version_1_profile_still_loads_with_its_digest() -> None:
    stored = Profile.load(STORED)
    assert stored.rows == 1500
    assert list(stored.columns) == ["x", "n", "s", "b", "d"]
    digest = stored.digest
    assert digest is not None
    assert json.loads(stored.to_json())["digest"] == digest  # the body hashes to what was stored


def test_profiling_the_same_data_today_writes_the_stored_file_byte_for_byte() -> None:
    fresh = profile(frame())
    fresh.source = "tests/fixtures/profiles/frame.parquet"
    assert fresh.to_json() + "\n" == STORED.read_text(encoding="utf-8")


def test_the_stored_sketches_read_back() -> None:
    cols = Profile.load(STORED).columns
    kll = cols["x"].quantile_sketch()
    assert kll is not None
    assert (kll.n, kll.get_min_value(), kll.get_max_value()) == (cols["x"].finite, 0.0, 149.8)
    assert cols["x"].quantiles([0.5]) == [pytest.approx(75, abs=149.8 * 0.02)]
    assert cols["x"].distinct() == pytest.approx(1499, rel=0.03)
    assert cols["n"].distinct() == pytest.approx(50, rel=0.01)
    assert cols["s"].frequent_items() == {"east": 300, "north": 300, "south": 300, "west": 300}
    assert cols["b"].frequent_items() == {"false": 1000, "true": 500}
    merged = cols["x"].merge(cols["x"])
    assert merged.count == 3000
    assert merged.quantile_sketch() is not None
    assert merged.quantile_sketch().n == 2 * cols["x"].finite  # type: ignore[union-attr]


def test_a_future_format_is_refused_naming_both_formats_and_the_fix(tmp_path: Path) -> None:
    body = json.loads(STORED.read_text(encoding="utf-8"))
    body["format"] = "mlgate.profile/2"
    path = tmp_path / "future.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    message = (
        rf"profile file {path} was written by an incompatible version "
        rf"\(format mlgate.profile/2, expected {FORMAT}\).*mlgate data profile"
    )
    with pytest.raises(InputError, match=message):
        Profile.load(path)


def test_a_version_1_file_with_a_missing_field_is_refused_with_the_detail(tmp_path: Path) -> None:
    body = json.loads(STORED.read_text(encoding="utf-8"))
    del body["rows"]
    with pytest.raises(InputError, match="incompatible version") as info:
        Profile.from_dict(body, origin="broken.json")
    assert "KeyError" in (info.value.hint or "")


def test_an_image_built_from_registers_holds_the_registers_of_a_value_loop() -> None:
    values = np.arange(5000, dtype=np.float64) * 0.37
    loop = ds.hll_sketch(sketches.HLL_LG_K, ds.HLL_8)
    for v in values.tolist():
        loop.update(v)
    built = sketches.hll_from_registers(sketches.hll_registers(values))
    header = 40  # HLL_8 updatable image: a 40-byte preamble, then one byte per register
    registers = slice(header, header + (1 << sketches.HLL_LG_K))
    assert built.serialize_updatable()[registers] == loop.serialize_updatable()[registers]
    assert built.get_estimate() == pytest.approx(5000, rel=0.03)


def test_finish_hll_without_registers_is_the_sketch_itself() -> None:
    hll = ds.hll_sketch(sketches.HLL_LG_K)
    for v in ("a", "b", "c"):
        hll.update(v)
    assert sketches.finish_hll(hll, None) == hll.serialize_compact()


def test_kll_from_sorted_keeps_the_weight_and_the_extremes() -> None:
    values = np.arange(10_000, dtype=np.float64)
    sketch = sketches.kll_from_sorted(values)
    assert sketch.n == 10_000
    assert (sketch.get_min_value(), sketch.get_max_value()) == (0.0, 9999.0)
    assert sketch.get_quantile(0.5) == pytest.approx(5000, abs=10_000 * 0.02)


@pytest.mark.parametrize("merge", [sketches.merge_kll, sketches.merge_frequent, sketches.merge_hll])
def test_merging_with_a_missing_image_keeps_the_other(merge: object) -> None:
    assert merge(b"image", None) == b"image"  # type: ignore[operator]
    assert merge(None, b"image") == b"image"  # type: ignore[operator]
    assert merge(None, None) is None  # type: ignore[operator]


def test_new_sketches_by_kind() -> None:
    assert sketches.new_sketches("other") == (None, None, None)
    kll, frequent, hll = sketches.new_sketches("numeric")
    assert (kll is not None, frequent is None, hll is not None) == (True, True, True)
    kll, frequent, hll = sketches.new_sketches("categorical")
    assert (kll is None, frequent is not None, hll is not None) == (True, True, True)
