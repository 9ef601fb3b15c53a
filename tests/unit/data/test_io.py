"""Readers: every supported format, folders and globs, in-memory frames, and clear errors."""

from __future__ import annotations

import pandas as pd
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlgate.data.io import batches, collect, columns_of, read_errors, resolve, scan, sliceable
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


@settings(max_examples=50, deadline=None)
@given(n=st.integers(0, 60), rows=st.integers(1, 13), slices=st.booleans())
def test_batches_hold_every_row_once_in_order(n: int, rows: int, slices: bool) -> None:
    frame = pl.DataFrame({"i": range(n), "s": [str(i) for i in range(n)]}, schema={"i": pl.Int64, "s": pl.String})
    out = list(batches(frame.lazy(), rows, slices=slices))
    assert all(0 < b.height <= rows for b in out)
    assert pl.concat(out).equals(frame) if out else n == 0


def test_files_in_slices_and_in_streamed_batches(tmp_path):
    frame = pl.DataFrame({"i": range(1_000), "x": [i / 7 for i in range(1_000)]})
    frame.write_parquet(tmp_path / "d.parquet", row_group_size=128)
    frame.write_csv(tmp_path / "d.csv")
    for name in ("d.parquet", "d.csv"):
        path = tmp_path / name
        out = list(batches(scan(path), 300, slices=sliceable(path)))
        assert pl.concat(out).equals(frame), name
    assert [b.height for b in batches(scan(tmp_path / "d.parquet"), 300, slices=True)] == [300, 300, 300, 100]


def test_only_files_with_row_metadata_and_frames_in_memory_are_sliceable(tmp_path):
    for suffix, write, expected in (
        (".parquet", pl.DataFrame.write_parquet, True),
        (".arrow", pl.DataFrame.write_ipc, True),
        (".csv", pl.DataFrame.write_csv, False),
        (".jsonl", pl.DataFrame.write_ndjson, False),
    ):
        write(FRAME, tmp_path / f"d{suffix}")
        assert sliceable(tmp_path / f"d{suffix}") is expected, suffix
    assert sliceable(tmp_path / "d.csv", format="parquet")  # the format given wins over the extension
    assert all(sliceable(x) for x in (FRAME, FRAME.to_pandas(), FRAME.to_arrow()))
    assert not sliceable(FRAME.lazy())


def test_a_read_error_in_the_reading_thread_reaches_the_caller(tmp_path):
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1 not parquet at all PAR1")
    with pytest.raises(InputError, match=r"^bad\.parquet: cannot read the data"), read_errors("bad.parquet"):
        list(batches(scan(bad), 10, slices=True))
    with pytest.raises(InputError, match="cannot read the data"):
        columns_of(scan(bad))
