"""Drift: the exact path agrees with SciPy, the sketch path stays within its documented bounds,
the automatic rule picks the documented test, and bad input fails with a message that says why."""

from __future__ import annotations

import json
import math
from pathlib import Path

import datasketches
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial.distance import jensenshannon

from mlgate.data.drift import (
    WASSERSTEIN_TOLERANCE,
    ColumnDriftConfig,
    DriftConfig,
    drift,
    fmt,
    resolve_source,
)
from mlgate.data.drift.statistics import _chi2, _jensenshannon, _ks_sketch, _Numeric, _wasserstein
from mlgate.data.profile import profile
from mlgate.errors import InputError, UsageError
from mlgate.reference import resolve_reference
from mlgate.report.markdown import md_text

EPS = datasketches.kll_doubles_sketch.get_normalized_rank_error(200, True)


def frame(n: int, seed: int, *, shift: float = 0.0, cats: tuple[float, ...] = (0.5, 0.3, 0.2)) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "amount": rng.lognormal(3 + shift, 1.0, n),
            "age": rng.integers(18, 90, n),
            "city": rng.choice(["paris", "lyon", "nice"], n, p=list(cats)),
            "flag": rng.random(n) < 0.3 + shift / 4,
        }
    )


# --- exact path: the same numbers as SciPy --------------------------------------------------------------


def test_small_reference_uses_ks_and_chi2_exactly_as_scipy():
    ref, cur = frame(800, 1), frame(900, 2, shift=0.3, cats=(0.3, 0.3, 0.4))
    report = drift(ref, cur)
    assert report.engine == "exact" and (report.rows_ref, report.rows_cur) == (800, 900)
    for col in ("amount", "age"):
        want = stats.ks_2samp(ref[col].to_numpy(), cur[col].to_numpy())
        got = report[col]
        assert got.method == "ks" and got.exact
        assert got.statistic == pytest.approx(want.statistic, abs=1e-9)
        assert got.p_value == pytest.approx(want.pvalue, rel=1e-9, abs=1e-300)
        assert got.drifted == (want.pvalue < 0.05)
    for col in ("city", "flag"):
        r, c = ref[col].cast(pl.String).value_counts(), cur[col].cast(pl.String).value_counts()
        keys = sorted(set(r[col]) | set(c[col]))
        rd, cd = dict(r.iter_rows()), dict(c.iter_rows())
        want = stats.chi2_contingency([[rd.get(k, 0) for k in keys], [cd.get(k, 0) for k in keys]], correction=False)
        assert report[col].method == "chi2"
        assert report[col].statistic == pytest.approx(want.statistic, rel=1e-9)
        assert report[col].p_value == pytest.approx(want.pvalue, rel=1e-9, abs=1e-300)
    assert report["amount"].drifted and report["city"].drifted


def test_chi2_counts_categories_seen_only_in_current():
    ref = pl.DataFrame({"plan": ["basic"] * 60 + ["pro"] * 40})
    cur = pl.DataFrame({"plan": ["basic"] * 50 + ["pro"] * 30 + ["team"] * 20})
    got = drift(ref, cur)["plan"]
    want = stats.chi2_contingency([[60, 40, 0], [50, 30, 20]], correction=False)
    assert got.statistic == pytest.approx(want.statistic, rel=1e-9)
    assert got.p_value == pytest.approx(want.pvalue, rel=1e-9)
    assert got.drifted


def test_forced_exact_wasserstein_and_jensenshannon_match_scipy():
    ref, cur = frame(3000, 3), frame(2500, 4, shift=0.1, cats=(0.4, 0.4, 0.2))
    report = drift(ref, cur, config=DriftConfig(engine="exact"))
    assert report.engine == "exact"
    a, b = ref["amount"].to_numpy(), cur["amount"].to_numpy()
    assert report["amount"].method == "wasserstein"
    assert report["amount"].statistic == pytest.approx(stats.wasserstein_distance(a, b) / np.std(a), rel=1e-9)
    assert report["amount"].p_value is None
    keys = ["lyon", "nice", "paris"]
    p = np.array([(ref["city"] == k).sum() for k in keys], dtype=float)
    q = np.array([(cur["city"] == k).sum() for k in keys], dtype=float)
    assert report["city"].method == "jensenshannon"
    assert report["city"].statistic == pytest.approx(jensenshannon(p, q, base=2), rel=1e-9)


def test_psi_by_hand_on_reference_deciles():
    ref = pl.DataFrame({"x": np.arange(1000.0)})  # deciles 99, 199, …, 899: ten bins of 100 values
    cur = pl.DataFrame({"x": np.concatenate([np.full(500, 50.0), np.arange(500.0, 1000.0)])})
    got = drift(ref, cur, config=DriftConfig(method="psi"))["x"]
    r = np.full(10, 0.1)
    c = np.array([0.5, 1e-4, 1e-4, 1e-4, 1e-4, 0.1, 0.1, 0.1, 0.1, 0.1])
    assert got.method == "psi" and got.statistic == pytest.approx(float(np.sum((c - r) * np.log(c / r))), rel=1e-9)
    assert got.drifted and got.threshold == 0.2


def test_a_dataset_does_not_drift_from_itself():
    data = frame(700, 5)
    report = drift(data, data)
    assert not report.dataset_drift and report.drifted_share == 0
    assert all(c.p_value == pytest.approx(1.0) for c in report.columns)


# --- the automatic rule, overrides, thresholds, share and order --------------------------------------------


def test_rule_switches_on_the_reference_valid_count():
    rng = np.random.default_rng(6)
    x = rng.normal(size=1001)
    labels = rng.choice(["a", "b"], 1001)
    small = pl.DataFrame({"x": x[:1000], "c": labels[:1000]})
    big = pl.DataFrame({"x": x, "c": labels})
    assert {c.column: c.method for c in drift(small, small).columns} == {"x": "ks", "c": "chi2"}
    assert {c.column: c.method for c in drift(big, big).columns} == {"x": "wasserstein", "c": "jensenshannon"}
    # 1001 rows but only 1000 valid values: still the small-sample test
    gappy = pl.DataFrame({"x": [None, *x[:1000]], "c": labels})
    assert drift(gappy, gappy)["x"].method == "ks"


def test_overrides_global_method_threshold_and_share():
    ref, cur = frame(900, 7), frame(900, 8, shift=0.15, cats=(0.45, 0.3, 0.25))
    config = DriftConfig(method="ks", columns={"age": ColumnDriftConfig(method="psi", threshold=0.25)})
    report = drift(ref, cur, config=config)
    assert report["amount"].method == "ks"
    assert report["city"].method == "chi2"  # ks does not fit a text column: the automatic choice stays
    assert (report["age"].method, report["age"].threshold) == ("psi", 0.25)
    strict = drift(ref, cur, config=DriftConfig(threshold=0.001))
    assert all(c.threshold == 0.001 for c in strict.columns)
    assert all(c.drifted == (c.p_value < 0.001) for c in strict.columns)
    n = len(report.drifted_columns)
    assert 0 < n < 4
    assert drift(ref, cur, config=DriftConfig(share=n / 4)).dataset_drift
    assert not drift(ref, cur, config=DriftConfig(share=(n + 1) / 4)).dataset_drift
    ignored = drift(ref, cur, config=DriftConfig(ignore=["city"]))
    assert "city" not in {c.column for c in ignored.columns} and ignored.ignored == ["city"]


def test_report_is_sorted_by_severity_and_serialises():
    ref, cur = frame(900, 9), frame(900, 10, shift=0.4, cats=(0.2, 0.3, 0.5))
    report = drift(ref, cur)
    sev = [c.severity for c in report.columns]
    assert sev == sorted(sev, reverse=True)
    for c in report.columns:
        assert (c.severity > 1) == c.drifted
    doc = json.loads(json.dumps(report.to_dict()))
    assert doc["dataset_drift"] == report.dataset_drift
    assert [c["column"] for c in doc["columns"]] == [c.column for c in report.columns]
    md = report.to_markdown()
    assert md.startswith("## Data drift") and "| city | chi2 |" in md and "**drift**" in md


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=60),
    st.lists(st.floats(-1e6, 1e6), min_size=2, max_size=60),
)
def test_weighted_ks_equals_scipy_on_unit_weights(a: list[float], b: list[float]):
    x, y = np.sort(np.array(a)), np.sort(np.array(b))
    d, _ = _ks_sketch(_Numeric(x, None, x.size, 1.0), _Numeric(y, None, y.size, 1.0))
    assert d == pytest.approx(stats.ks_2samp(x, y, method="asymp").statistic, abs=1e-12)


weights = st.lists(st.tuples(st.floats(-1e3, 1e3), st.integers(1, 64)), min_size=2, max_size=40)


def weighted(items: list[tuple[float, int]]) -> _Numeric:
    arr = np.array(sorted(items), dtype=np.float64)
    return _Numeric(arr[:, 0], arr[:, 1], len(items), 1.0)


@settings(max_examples=60, deadline=None)
@given(weights, weights)
def test_sketch_path_wasserstein_equals_scipy_on_weighted_samples(a: list, b: list):
    u, v = weighted(a), weighted(b)
    want = stats.wasserstein_distance(u.values, v.values, u.weights, v.weights)
    assert _wasserstein(u, v) == pytest.approx(want, rel=1e-9, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 500), st.integers(0, 500)), min_size=1, max_size=30).filter(
        lambda rows: sum(r for r, _ in rows) > 0 and sum(c for _, c in rows) > 0
    )
)
def test_sketch_path_jensenshannon_and_chi2_equal_scipy(rows: list[tuple[int, int]]):
    r = np.array([x for x, _ in rows], dtype=float)
    c = np.array([y for _, y in rows], dtype=float)
    assert _jensenshannon(r, c) == pytest.approx(jensenshannon(r, c, base=2), rel=1e-9, abs=1e-9)
    keep = (r + c) > 0
    stat, p = _chi2(r, c)
    if keep.sum() > 1:
        want = stats.chi2_contingency(np.vstack([r[keep], c[keep]]), correction=False)
        assert (stat, p) == (pytest.approx(want.statistic, rel=1e-9), pytest.approx(want.pvalue, rel=1e-9, abs=1e-300))
    else:
        assert (stat, p) == (0.0, 1.0)


@pytest.mark.parametrize(("n", "shift"), [(400, 0.1), (400, 0.25), (5000, 0.03), (5000, 0.08), (40_000, 0.02)])
def test_sketch_ks_p_value_is_close_to_scipys_asymptotic_one(n: int, shift: float):
    rng = np.random.default_rng(n)
    a, b = np.sort(rng.normal(0, 1, n)), np.sort(rng.normal(shift, 1, n + n // 2))
    d, p = _ks_sketch(_Numeric(a, None, a.size, 1.0), _Numeric(b, None, b.size, 1.0))
    want = stats.ks_2samp(a, b, method="asymp")
    assert d == pytest.approx(want.statistic, abs=1e-12)
    assert 1e-12 < want.pvalue < 0.9 and p == pytest.approx(want.pvalue, rel=0.05)


@settings(max_examples=40, deadline=None)
@given(st.floats(1e-6, 0.999), st.floats(0, 1), st.floats(1e-3, 5), st.floats(0, 10))
def test_severity_reaches_one_exactly_when_drifted(alpha: float, p: float, threshold: float, stat: float):
    from mlgate.data.drift import severity

    assert (severity("ks", 0.0, p, alpha) > 1) == (p < alpha) or p == alpha
    assert (severity("psi", stat, None, threshold) >= 1) == (stat >= threshold)


# --- sketch path: within the documented bounds ------------------------------------------------------------


def shapes(n: int, seed: int, shift: float) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "normal": rng.normal(shift, 1.0, n),
            "ints": rng.integers(0, 100, n) + round(shift * 30),
            "lognormal": rng.lognormal(3 + shift, 1.0, n),
        }
    )


@pytest.mark.parametrize(("seed", "shift"), [(11, 0.0), (12, 0.02), (13, 0.05), (14, 0.1), (15, 0.3)])
def test_sketch_ks_and_wasserstein_are_within_their_bounds(seed: int, shift: float):
    ref, cur = shapes(20_000, seed, 0.0), shapes(20_000, seed + 100, shift)
    p_ref, p_cur = profile(ref), profile(cur)
    ks = drift(p_ref, p_cur, config=DriftConfig(method="ks"))
    w_sketch = drift(p_ref, p_cur, config=DriftConfig(method="wasserstein"))
    w_exact = drift(ref, cur, config=DriftConfig(method="wasserstein", engine="exact"))
    assert ks.engine == w_sketch.engine == "sketch" and w_exact.engine == "exact"
    for col in ref.columns:
        a, b = ref[col].to_numpy(), cur[col].to_numpy()
        assert abs(ks[col].statistic - stats.ks_2samp(a, b).statistic) <= 2 * EPS, col
        error = abs(w_sketch[col].statistic - w_exact[col].statistic)
        assert error <= EPS * (np.ptp(a) + np.ptp(b)) / np.std(a), col  # the worst-case bound
        assert error <= WASSERSTEIN_TOLERANCE, col  # the documented, measured tolerance


def test_sketch_categorical_tests_are_exact_at_small_cardinality():
    rng = np.random.default_rng(16)
    labels = [f"c{i}" for i in range(40)]
    p = rng.dirichlet(np.ones(40))
    ref = pl.DataFrame({"c": rng.choice(labels, 20_000, p=p)})
    cur = pl.DataFrame({"c": rng.choice([*labels[:35], "new1", "new2"], 15_000)})
    for method in ("jensenshannon", "chi2", "psi"):
        config = DriftConfig(method=method)
        exact = drift(ref, cur, config=DriftConfig(method=method, engine="exact"))["c"]
        sketch = drift(profile(ref), cur, config=config)["c"]
        assert not sketch.exact and exact.exact
        assert sketch.statistic == pytest.approx(exact.statistic, rel=1e-9), method


def test_profiled_reference_is_never_read_again(tmp_path: Path):
    ref, cur = frame(5000, 17), frame(5000, 18, shift=0.5, cats=(0.2, 0.3, 0.5))
    ref_path, cur_path = tmp_path / "ref.parquet", tmp_path / "cur.parquet"
    ref.write_parquet(ref_path)
    cur.write_parquet(cur_path)
    prof = profile(ref_path)
    prof.save(tmp_path / "ref.profile.json")
    ref_path.unlink()
    report = drift(prof, cur_path)
    assert report.engine == "sketch" and (report.rows_ref, report.rows_cur) == (5000, 5000)
    assert report["amount"].drifted and report["city"].drifted
    cur_prof = profile(cur_path)  # sketches are randomised: compare on one current profile
    from_file = drift(tmp_path / "ref.profile.json", cur_prof)
    assert from_file.to_dict() == drift(prof, cur_prof).to_dict()


# --- bad input -----------------------------------------------------------------------------------------


def test_no_column_in_common_names_both_lists():
    with pytest.raises(InputError, match=r"no column in common.*\['a', 'b'\].*\['c'\]"):
        drift(pl.DataFrame({"a": [1], "b": [2]}), pl.DataFrame({"c": [3]}))


@pytest.mark.parametrize("engine", ["auto", "sketch"])
def test_type_mismatch_is_drift_with_a_reason(engine: str):
    ref = pl.DataFrame({"zip": [75001, 69001, 6000] * 10, "n": list(range(30))})
    cur = pl.DataFrame({"zip": ["75001", "69001", "06000"] * 10, "n": list(range(30))})
    report = drift(ref, cur, config=DriftConfig(engine=engine))
    got = report.columns[0]
    assert (got.column, got.method, got.drifted) == ("zip", "type_mismatch", True)
    assert got.reason == "numeric (Int64) in reference but categorical (String) in current"
    assert report.dataset_drift and report.to_dict()["columns"][0]["severity"] is None


def test_a_column_emptied_in_current_is_drift():
    ref = pl.DataFrame({"x": [1.0, 2.0, 3.0] * 10, "y": [1, 2, 3] * 10})
    cur = pl.DataFrame({"x": [None] * 30, "y": [1, 2, 3] * 10}, schema={"x": pl.Float64, "y": pl.Int64})
    got = drift(ref, cur)["x"]
    assert (got.method, got.drifted, got.reason) == ("empty", True, "no valid values in current")


def test_empty_datasets_are_refused(tmp_path: Path):
    data = frame(50, 19)
    with pytest.raises(InputError, match=r"current data .* has no rows"):
        drift(data, data.head(0))
    with pytest.raises(InputError, match=r"reference data .* has no rows"):
        drift(data.head(0), data)
    (tmp_path / "empty.csv").write_text("amount,age,city,flag\n")
    with pytest.raises(InputError, match=r"reference data .*empty.csv.* has no rows"):
        drift(tmp_path / "empty.csv", data)


def test_profile_from_an_incompatible_version_is_refused(tmp_path: Path):
    prof = profile(frame(100, 20))
    path = tmp_path / "old.json"
    prof.save(path)
    doc = json.loads(path.read_text())
    doc["format"] = "mlgate.profile/999"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match="999"):
        drift(path, frame(100, 21))
    other = tmp_path / "other.json"
    other.write_text('{"format": "something/1"}')
    with pytest.raises(InputError, match="not an mlgate profile"):
        resolve_source(other)


def test_model_reference_uses_the_stored_training_profile(tmp_path, sk_model, breast_cancer):
    import mlgate

    X, y = breast_cancer
    train = tmp_path / "train.parquet"
    X.assign(target=y).to_parquet(train)
    mv = mlgate.log_model(sk_model, "fraud", sample_input=X.head(5), data=[str(train)])
    assert mv.data_profile_digest is not None
    mlgate.Registry().set_alias("fraud", "production", mv.number)
    with pytest.raises(UsageError, match="names a model, and drift compares data or profiles"):
        drift("fraud@production", X)  # the data layer never reads the registry
    same = drift(resolve_reference("fraud@production"), X.assign(target=y))
    assert not same.dataset_drift
    shifted = X.assign(target=y).copy()
    shifted.iloc[:, :20] = shifted.iloc[:, :20] * 1.5
    assert drift(resolve_reference("fraud@production"), shifted).dataset_drift


def test_model_reference_without_training_data_is_refused(tmp_path, sk_model, breast_cancer):
    import mlgate

    X, _ = breast_cancer
    mlgate.log_model(sk_model, "fraud", sample_input=X.head(5))
    with pytest.raises(UsageError, match="registered without training data"):
        drift(resolve_reference("fraud:1"), frame(10, 22))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"method": "kolmogorov"},
            "unknown drift method 'kolmogorov'.*auto, ks, chi2, wasserstein, jensenshannon, psi",
        ),
        ({"threshold": -0.1}, "must be a positive number"),
        ({"threshold": "0.1"}, "must be a number, got '0.1'"),
        ({"threshold": math.nan}, "must be a positive number"),
        ({"share": 0}, r"share must be a number in \(0, 1\]"),
        ({"engine": "gpu"}, "unknown drift engine"),
        ({"columns": {"age": ColumnDriftConfig}}, "must be a ColumnDriftConfig"),
        ({"columns": {"age": {"methd": "ks"}}}, "unknown keys"),
    ],
)
def test_bad_config_is_a_usage_error(kwargs: dict, message: str):
    with pytest.raises(UsageError, match=message):
        DriftConfig(**kwargs)


def test_bad_column_settings_are_usage_errors():
    ref = frame(100, 23)
    with pytest.raises(UsageError, match=r"unknown drift method 'ksx'.*ks, chi2"):
        ColumnDriftConfig(method="ksx")
    with pytest.raises(UsageError, match=r"(?s)'ks' does not apply to column 'city'.*chi2, jensenshannon, psi"):
        drift(ref, ref, config=DriftConfig(columns={"city": {"method": "ks"}}))
    with pytest.raises(UsageError, match="column 'agee', which is not in both datasets"):
        drift(ref, ref, config=DriftConfig(columns={"agee": {"threshold": 0.2}}))
    with pytest.raises(UsageError, match="not a significance level"):
        drift(ref, ref, config=DriftConfig(threshold=2.0))
    with pytest.raises(UsageError, match="needs raw data on both sides"):
        drift(profile(ref), ref, config=DriftConfig(engine="exact"))


def test_large_current_side_goes_through_sketches(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("mlgate.data.drift.config.EXACT_MAX_ROWS", 500)
    ref, cur = frame(400, 24), frame(600, 25)
    report = drift(ref, cur)
    assert report.engine == "sketch" and report["amount"].method == "ks"
    assert (report.rows_ref, report.rows_cur) == (400, 600)


# --- command line ----------------------------------------------------------------------------------------


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """``mlgate data drift …`` through the real entry point (exit codes are mapped there)."""
    from mlgate.cli import main

    monkeypatch.setenv("COLUMNS", "200")

    def run(*args: str) -> tuple[int, str, str]:
        code = main(["data", "drift", *args])
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def test_cli_exit_codes_json_and_markdown(cli, tmp_path: Path):
    ref, same, moved = frame(900, 26), frame(900, 27), frame(900, 28, shift=0.5, cats=(0.2, 0.3, 0.5))
    for name, df in (("ref", ref), ("same", same), ("moved", moved)):
        df.write_parquet(tmp_path / f"{name}.parquet")
    code, out, _ = cli(str(tmp_path / "ref.parquet"), str(tmp_path / "same.parquet"))
    assert code == 0 and "no dataset drift" in out and "verdict" in out
    summary = tmp_path / "summary.md"
    code, out, _ = cli(
        str(tmp_path / "ref.parquet"),
        str(tmp_path / "moved.parquet"),
        "--json",
        "--markdown",
        str(summary),
        "--column-threshold",
        "age=0.01",
    )
    doc = json.loads(out)
    assert code == 1 and doc["dataset_drift"] is True
    assert next(c for c in doc["columns"] if c["column"] == "age")["threshold"] == 0.01
    assert "## Data drift" in summary.read_text()


def test_cli_reads_profile_files_and_reports_bad_input(cli, tmp_path: Path):
    ref = frame(2000, 29)
    profile(ref).save(tmp_path / "ref.json")
    ref.write_parquet(tmp_path / "cur.parquet")
    code, out, _ = cli(str(tmp_path / "ref.json"), str(tmp_path / "cur.parquet"), "--json")
    assert code == 0 and json.loads(out)["engine"] == "sketch"
    code, _, err = cli(str(tmp_path / "ref.json"), str(tmp_path / "cur.parquet"), "--method", "magic")
    assert code == 2 and "unknown drift method 'magic'" in err
    code, _, err = cli(str(tmp_path / "ref.json"), str(tmp_path / "cur.parquet"), "--column-threshold", "age=high")
    assert code == 2 and "must be a number, got 'high'" in err
    code, _, err = cli(str(tmp_path / "ref.json"), str(tmp_path / "cur.parquet"), "--column-threshold", "age")
    assert code == 2 and "must look like COLUMN=VALUE" in err
    code, _, err = cli(str(tmp_path / "nope.parquet"), str(tmp_path / "cur.parquet"))
    assert code == 2 and "does not exist" in err


@pytest.mark.parametrize("engine", ["exact", "sketch"])
def test_datetimes_are_tested_as_numbers_and_other_kinds_are_skipped(engine: str):
    rng = np.random.default_rng(31)
    start = np.datetime64("2024-01-01T00:00:00", "us")
    ref_t = start + rng.integers(0, 86_400_000_000 * 30, 600).astype("timedelta64[us]")
    cur_t = start + rng.integers(86_400_000_000 * 10, 86_400_000_000 * 40, 600).astype("timedelta64[us]")
    lists = [[1, 2]] * 600
    ref = pl.DataFrame({"t": ref_t, "tags": lists})
    cur = pl.DataFrame({"t": cur_t, "tags": lists})
    report = drift(ref, cur, config=DriftConfig(engine=engine))
    want = stats.ks_2samp(ref_t.astype(np.int64), cur_t.astype(np.int64))
    assert (report["t"].kind, report["t"].method, report["t"].drifted) == ("datetime", "ks", True)
    assert abs(report["t"].statistic - want.statistic) <= (1e-9 if engine == "exact" else 2 * EPS)
    assert report["tags"].method == "skipped" and "not tested" in report["tags"].reason
    assert report.drifted_share == 1.0 and report.dataset_drift


# --- what the table shows, and columns the current data lacks --------------------------------------------


def test_the_threshold_is_shown_beside_the_value_it_applies_to(cli, tmp_path: Path):
    ref, cur = frame(800, 41), frame(800, 42, shift=0.4)
    small = drift(ref, cur)
    amount = small["amount"]
    assert (amount.method, amount.compared, amount.drifted) == ("ks", "p_value", True)
    assert amount.comparison() == f"p {amount.p_value:.2e} < 0.05"
    for c in small.columns:  # the sign follows the verdict: p below alpha is drift
        assert c.comparison() == f"p {fmt(c.p_value)} {'<' if c.drifted else '≥'} 0.05"
    large = drift(frame(3000, 43), frame(3000, 44, shift=0.4))
    wass = large["amount"]
    assert (wass.method, wass.compared) == ("wasserstein", "statistic")
    assert wass.comparison() == f"{wass.statistic:.4g} ≥ 0.1"
    assert "| compared with threshold |" in small.to_markdown()
    # the Markdown escapes `<` like every other text (it was written raw before report/view.py)
    assert f"| {md_text(amount.comparison())} |" in small.to_markdown()
    ref.write_parquet(tmp_path / "ref.parquet")
    cur.write_parquet(tmp_path / "cur.parquet")
    code, out, _ = cli(str(tmp_path / "ref.parquet"), str(tmp_path / "cur.parquet"))
    assert code == 1 and "compared with threshold" in out and amount.comparison() in out
    code, out, _ = cli(str(tmp_path / "ref.parquet"), str(tmp_path / "cur.parquet"), "--json")
    doc = {c["column"]: c for c in json.loads(out)["columns"]}
    assert doc["amount"]["compared"] == "p_value" and doc["amount"]["threshold"] == 0.05


@pytest.mark.parametrize("as_profile", [False, True])
def test_a_column_missing_from_the_current_data_fails(cli, tmp_path: Path, as_profile: bool):
    ref, cur = frame(800, 45), frame(800, 46).drop("age")
    reference = profile(ref) if as_profile else ref
    report = drift(reference, cur)
    assert report["age"].method == "missing" and report["age"].drifted and report["age"].kind == "numeric"
    assert report.missing_columns == ["age"] and report.dataset_drift
    assert report.drifted_columns == ["age"] and "missing from current: age" in report.summary()
    assert "| age | missing |" in report.to_markdown() and "**missing**" in report.to_markdown()
    assert not drift(reference, cur, config=DriftConfig(ignore=["age"])).dataset_drift, "unless it is ignored"
    ref.write_parquet(tmp_path / "ref.parquet")
    cur.write_parquet(tmp_path / "cur.parquet")
    code, out, _ = cli(str(tmp_path / "ref.parquet"), str(tmp_path / "cur.parquet"))
    assert code == 1 and "missing from current (a failure): age" in out and "not tested" not in out
