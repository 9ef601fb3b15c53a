"""Readers: every supported format, folders and globs, in-memory frames, and clear errors."""

from __future__ import annotations

import pandas as pd
import polars as pl
import pytest

from mlgate.data.io import collect, resolve, scan
from mlgate.errors import InputError, NotFoundError, UsageError

FRAME = pl.DataFrame({"a": [1, 2, 3], "b": ["x", "y", None], "c": [0.5, None, 2.5]})


@pytest.mark.parametrize(
    ("suffix", "write"),
    [
        (".parquet", lambda f, p: f.write_parquet(p)),
        (".csv", lambda f, p: f.write_csv(p)),
        (".feather", lambda f, p: f.write_ipc(p)),
        (".jsonl", lambda f, p: f.write_ndjson(p)),
    ],
)
def test_each_format_reads_back(tmp_path, suffix, write):
    path = tmp_path / f"data{suffix}"
    write(FRAME, path)
    assert collect(scan(path)).equals(FRAME)


def test_folders_and_globs_concatenate_in_name_order(tmp_path):
    for i in range(3):
        FRAME.with_columns(pl.lit(i).alias("part")).write_parquet(tmp_path / f"part-{i}.parquet")
    whole = collect(scan(tmp_path))
    assert whole.height == 9 and whole["part"].to_list() == [0] * 3 + [1] * 3 + [2] * 3
    assert collect(scan(str(tmp_path / "part-[01].parquet"))).height == 6


def test_in_memory_objects():
    assert collect(scan(FRAME.to_pandas())).shape == (3, 3)
    assert collect(scan(FRAME.to_arrow())).shape == (3, 3)
    assert collect(scan(FRAME)).equals(FRAME)
    with pytest.raises(UsageError, match="cannot read data from a int"):
        scan(5)


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(NotFoundError, match="does not exist"):
        scan(tmp_path / "missing.csv")
    with pytest.raises(NotFoundError, match="no files match"):
        scan(str(tmp_path / "*.parquet"))
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(UsageError, match=r"cannot tell the format of .*notes.txt"):
        scan(tmp_path / "notes.txt")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputError, match="is empty"):
        scan(tmp_path / "empty.csv")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    FRAME.write_csv(mixed / "a.csv")
    FRAME.write_parquet(mixed / "b.parquet")
    with pytest.raises(UsageError, match="mixes formats"):
        resolve(mixed)
    with pytest.raises(UsageError, match="unknown format 'xls'"):
        resolve(mixed / "a.csv", format="xls")


def test_non_utf8_csv(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("name\ncafé\n".encode("latin-1"))
    with pytest.raises(InputError, match="UTF-8"):
        collect(scan(path))


def test_pandas_round_trip_keeps_dtypes():
    frame = pd.DataFrame({"i": [1, 2], "f": [0.1, 0.2], "s": ["a", "b"]})
    out = collect(scan(frame))
    assert dict(zip(out.columns, map(str, out.dtypes), strict=True)) == {"i": "Int64", "f": "Float64", "s": "String"}


def test_pandas_column_mixing_types_is_an_input_error():
    frame = pd.DataFrame({"mixed": [1, "x", 2.5]})
    with pytest.raises(InputError, match="mixes types"):
        scan(frame)
