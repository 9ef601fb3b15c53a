"""The faster profiling pass (values sorted by Polars, HLL registers hashed in pieces) gives byte for byte
the partial the earlier pass gave (values sorted by NumPy, registers hashed whole).

The log file is built from integer hashing only (exact in float64 on every platform), with the cases the
sketches treat apart: NaN, ±inf, -0.0 beside 0.0, nulls, a column of few distinct values (exact HLL
updates), one of fewer finite values than the KLL's k (value by value), integers, text, and a file
spanning three windows. ``EXPECTED`` is the digest of the partials' profiles as the code before the change
computed them; a deliberate change of the profiles' content changes it (print ``_digest`` to renew it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import numpy as np
import polars as pl

from mlgate.data.sketches import HLL_LG_K, hll_registers
from mlgate.monitor.partials import Columns, file_partials

EXPECTED = "80f12b79d9cbb5164058aa4c83c34b974b6801127a7f1a53278fedd636bf7cee"
ROWS = 6_000
H0 = dt.datetime(2024, 5, 1, 9, tzinfo=dt.UTC)


def _uniform(seed: int, n: int = ROWS) -> np.ndarray:
    """Deterministic uniforms in [0, 1) from a 64-bit mix of the row index (splitmix64), exact everywhere."""
    h = np.arange(n, dtype=np.uint64) + np.uint64(seed * 0x9E3779B97F4A7C15 % (1 << 64))
    h ^= h >> np.uint64(30)
    h *= np.uint64(0xBF58476D1CE4E5B9)
    h ^= h >> np.uint64(27)
    h *= np.uint64(0x94D049BB133111EB)
    h ^= h >> np.uint64(31)
    return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _log_file(path: Path) -> Path:
    idx = np.arange(ROWS)
    wide = (_uniform(1) + _uniform(2) + _uniform(3) - 1.5) * 3.0 + 10.0
    wide[_uniform(4) < 0.02] = np.nan
    wide[:6] = [np.inf, -np.inf, -0.0, 0.0, -0.0, np.nan]
    few = np.floor(_uniform(5) * 7.0) - 3.0  # -3 … 3, with 0.0 …
    few[_uniform(6) < 0.3] = -0.0  # … and -0.0
    sparse = np.where(_uniform(7) < 0.02, _uniform(8) * 100.0, np.nan)  # about 120 finite values
    p1 = _uniform(9)
    status = np.where(_uniform(10) < 0.03, 500, np.where(_uniform(11) < 0.03, 422, 200))
    frame = pl.DataFrame(
        {
            "time": pl.Series((idx * (3_600_000_000 // ROWS) + int(H0.timestamp() * 1e6)).astype("int64")).cast(
                pl.Datetime("us", "UTC")
            ),
            "request_id": (idx // 10).astype(str),
            "row": (idx % 10).astype("int32"),
            "status": status.astype("int16"),
            "latency_ms": _uniform(12) * 40.0,
            "wide": wide,
            "few": few,
            "sparse": pl.Series(sparse).fill_nan(None),
            "count": np.floor(_uniform(13) * 5000.0).astype("int64") - 500,
            "city": np.array(["Lisbon", "Porto", "Faro", "Braga"])[np.floor(_uniform(14) * 4).astype(int)],
            "prediction": (p1 > 0.5).astype("int64"),
            "proba_0": 1.0 - p1,
            "proba_1": p1,
        }
    )
    frame.write_parquet(path)
    return path


def _digest(path: Path) -> str:
    columns = Columns(
        {"wide": "wide", "few": "few", "sparse": "sparse", "count": "count", "city": "city"}, ["prediction"]
    )
    parts, cached, _ = file_partials(path, dt.timedelta(minutes=20), columns, None, cache=None)
    assert not cached and len(parts) == 3
    body = {
        w.start.isoformat(): {
            k: p.to_dict()[k] for k in ("requests", "rows", "errors", "refused", "inputs", "outputs", "latency")
        }
        for w, p in sorted(parts.items())
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def test_a_files_partial_is_the_one_the_earlier_pass_gave(tmp_path: Path) -> None:
    assert _digest(_log_file(tmp_path / "part-0.parquet")) == EXPECTED


def test_hll_registers_of_pieces_combine_to_those_of_the_whole() -> None:
    values = np.concatenate([_uniform(20, 70_000) * 1e6, np.floor(_uniform(21, 30_000) * 50.0)])
    whole = hll_registers(values)
    pieces = np.maximum.reduce([hll_registers(values[i : i + 32_768]) for i in range(0, len(values), 32_768)])
    assert whole.shape == (1 << HLL_LG_K,) and np.array_equal(pieces, whole)
