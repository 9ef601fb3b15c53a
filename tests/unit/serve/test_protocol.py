"""Request parsing and validation, without a server: every wire format, every kind of bad input."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from mlgate.serve.protocol import (
    InputSpec,
    RequestError,
    nested_shape,
    parse_invocations,
    parse_predict,
    parse_v2,
    v2_output,
)
from mlgate.signature import infer_schema

SECRET = "s3cr3t-value-never-echoed"


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": np.array([30, 41, 52], dtype="int64"),
            "income": [1.5, 2.5, 3.5],
            "city": ["a", "b", "c"],
            "member": [True, False, True],
        }
    )


@pytest.fixture(scope="module")
def spec(frame: pd.DataFrame) -> InputSpec:
    return InputSpec.from_signature({"inputs": infer_schema(frame)})


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return json.loads(frame.to_json(orient="records"))


def body(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def refused(fn: Any, *args: Any) -> RequestError:
    with pytest.raises(RequestError) as info:
        fn(*args)
    assert SECRET not in str(info.value)
    return info.value


def test_records_and_columns_give_the_same_frame_in_signature_order(spec: InputSpec, frame: pd.DataFrame) -> None:
    recs = [dict(reversed(list(r.items()))) for r in records(frame)]  # caller's key order must not matter
    a = parse_predict(body(recs), spec)
    b = parse_predict(body({"columns": list(frame.columns), "data": frame.values.tolist()}), spec)
    pd.testing.assert_frame_equal(a, frame)
    pd.testing.assert_frame_equal(b, frame)
    assert list(a.dtypes.astype(str)) == ["int64", "float64", "str", "bool"] or list(a.columns) == list(frame.columns)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r.pop("income"), r"missing 1 column\(s\) the model needs: 'income'"),
        (lambda r: r.update(incom=SECRET), r"1 column\(s\) the model does not take: 'incom'"),
        (lambda r: r.update(age=SECRET), r"column 'age': expected integers, got integers, strings"),
        (lambda r: r.update(income=None), r"column 'income': 1 null value\(s\); send numbers"),
        (lambda r: r.update(income=True), r"column 'income': expected numbers, got booleans"),
        (lambda r: r.update(member=1), r"column 'member': expected booleans, got booleans, integers"),
        (lambda r: r.update(city=3), r"column 'city': expected strings, got integers, strings"),
        (lambda r: r.update(age=2**70), r"column 'age': integers out of the range of int64"),
        (lambda r: r.update(age=2**63), r"column 'age': integers out of the range of int64"),
        (lambda r: r.update(city=[SECRET]), r"column 'city': expected strings, got lists, strings"),
    ],
)
def test_bad_records_name_the_column_and_never_echo_values(
    spec: InputSpec, frame: pd.DataFrame, mutate: Any, message: str
) -> None:
    recs = records(frame)
    mutate(recs[1])
    if "income" not in recs[1]:
        for r in recs:
            r.pop("income", None)
    err = refused(parse_predict, body(recs), spec)
    assert err.status == 400
    assert any(__import__("re").search(message, p) for p in err.problems), err.problems


def test_every_offending_field_is_named_at_once(spec: InputSpec, frame: pd.DataFrame) -> None:
    recs = [{**r, "city": 1, "income": SECRET, "extra": 1} for r in records(frame)]
    err = refused(parse_predict, body(recs), spec)
    text = " | ".join(err.problems)
    assert "'extra'" in text and "'city'" in text and "'income'" in text


def test_malformed_json_and_wrong_shapes_are_400(spec: InputSpec) -> None:
    assert "not valid JSON" in refused(parse_predict, b'{"columns": [', spec).problems[0]
    assert "expected records" in refused(parse_predict, b'"text"', spec).problems[0]
    assert "no rows" in refused(parse_predict, b"[]", spec).problems[0]
    err = refused(parse_predict, body({"columns": ["age"], "data": [[1, 2]]}), spec)
    assert "every row must have 1 values" in err.problems[0]
    err = refused(parse_predict, body({"columns": ["age", "age"], "data": [[1, 1]]}), spec)
    assert "names a column twice" in err.problems[0]


def test_non_finite_numbers_are_refused() -> None:
    spec = InputSpec.from_signature({"inputs": infer_schema(pd.DataFrame({"x": [1.0]}))})
    err = refused(parse_invocations, b"x\nnan\n", "text/csv", spec)
    assert "column 'x': non-finite numbers are not accepted" in err.problems


@pytest.mark.parametrize(
    "doc",
    [
        lambda f: {"dataframe_split": {"columns": list(f.columns), "data": f.values.tolist()}},
        lambda f: {"dataframe_split": {"columns": list(f.columns), "data": f.values.tolist(), "index": [0, 1, 2]}},
        lambda f: {"dataframe_records": records(f)},
        lambda f: {"instances": records(f)},
        lambda f: {"inputs": {c: f[c].tolist() for c in f.columns}},
        lambda f: {"inputs": records(f), "params": {}},
    ],
)
def test_mlflow_json_formats(spec: InputSpec, frame: pd.DataFrame, doc: Any) -> None:
    got = parse_invocations(body(doc(frame)), "application/json", spec)
    pd.testing.assert_frame_equal(got, frame)


def test_mlflow_csv(spec: InputSpec, frame: pd.DataFrame) -> None:
    csv = frame[["city", "member", "age", "income"]].to_csv(index=False).encode()
    pd.testing.assert_frame_equal(parse_invocations(csv, "text/csv", spec), frame)
    bad_csv = frame.assign(age=[SECRET, "1", "x"]).to_csv(index=False).encode()
    err = refused(parse_invocations, bad_csv, "text/csv", spec)
    assert err.problems == ["column 'age': 2 cell(s) are not integers"]


def test_mlflow_refusals(spec: InputSpec, frame: pd.DataFrame) -> None:
    assert refused(parse_invocations, b"{}", "application/xml", spec).status == 415
    err = refused(parse_invocations, body({"dataframe_records": [], "instances": []}), "application/json", spec)
    assert "exactly one of the keys" in err.problems[0]
    err = refused(
        parse_invocations, body({"dataframe_split": {"columns": ["age"], "rows": []}}), "application/json", spec
    )
    assert "dataframe_split must be an object" in err.problems[0]


def v2_columns(frame: pd.DataFrame, nested: bool) -> dict[str, Any]:
    types = {"int64": "INT64", "float64": "FP64", "str": "BYTES", "object": "BYTES", "bool": "BOOL"}
    inputs = []
    for c in frame.columns:
        values = frame[c].tolist()
        inputs.append(
            {
                "name": c,
                "datatype": types[str(frame[c].dtype)],
                "shape": [len(frame), 1] if nested else [len(frame)],
                "data": [[v] for v in values] if nested else values,
            }
        )
    return {"id": "req-7", "inputs": inputs}


@pytest.mark.parametrize("nested", [False, True])
def test_v2_json_tensors_flat_and_nested(spec: InputSpec, frame: pd.DataFrame, nested: bool) -> None:
    req = parse_v2(body(v2_columns(frame, nested)), None, spec)
    assert req.id == "req-7" and req.outputs is None
    pd.testing.assert_frame_equal(req.data, frame)


def test_v2_binary_tensors(spec: InputSpec, frame: pd.DataFrame) -> None:
    doc = v2_columns(frame, False)
    chunks = []
    for t in doc["inputs"]:
        if t["datatype"] == "BYTES":
            raw = b"".join(len(s.encode()).to_bytes(4, "little") + s.encode() for s in t["data"])
        else:
            raw = np.asarray(t["data"], dtype={"INT64": "<i8", "FP64": "<f8", "BOOL": "?"}[t["datatype"]]).tobytes()
        del t["data"]
        t["parameters"] = {"binary_data_size": len(raw)}
        chunks.append(raw)
    header = body(doc)
    req = parse_v2(header + b"".join(chunks), str(len(header)), spec)
    pd.testing.assert_frame_equal(req.data, frame)
    err = refused(parse_v2, header + b"".join(chunks)[:-3], str(len(header)), spec)
    assert "binary_data_size does not fit" in err.problems[0] or "bytes, not" in err.problems[0]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["inputs"].pop(), r"inputs: missing 1 column\(s\) the model needs: 'member'"),
        (lambda d: d["inputs"][0].update(name="agee"), r"'agee'"),
        (
            lambda d: d["inputs"][0].update(datatype="FP64"),
            r"input 'age': datatype FP64 does not fit the column's int64",
        ),
        (lambda d: d["inputs"][1].update(shape=[2]), r"input 'income': 'shape' \[2\] holds 2 values, 'data' has 3"),
        (lambda d: d["inputs"][1].update(shape=[1, 3]), r"input 'income': shape must be \[rows\] or \[rows, 1\]"),
        (lambda d: d["inputs"][1].update(data=[1.0, SECRET, 2.0]), r"input 'income': expected numbers"),
        (lambda d: d["inputs"][1].update(datatype="FLOAT"), r"input 'income': 'datatype' must be one of"),
        (lambda d: d.update(id=5), r"'id' must be a string"),
        (lambda d: d.update(inputs=[]), r"'inputs' must be a non-empty list"),
        (lambda d: d["inputs"].append(dict(d["inputs"][0])), r"input 'age' is given twice"),
        (lambda d: d["inputs"][1].update(data=[[1.0], [2.0, 3.0]]), r"ragged"),
    ],
)
def test_v2_bad_tensors(spec: InputSpec, frame: pd.DataFrame, edit: Any, message: str) -> None:
    doc = v2_columns(frame, False)
    edit(doc)
    err = refused(parse_v2, body(doc), None, spec)
    assert err.status == 400
    assert any(__import__("re").search(message, p) for p in err.problems), err.problems


def test_tensor_signature() -> None:
    spec = InputSpec.from_signature({"inputs": infer_schema(np.zeros((2, 3), dtype="float32"))})
    got = parse_predict(body({"data": [[1, 2, 3], [4, 5, 6]]}), spec)
    assert got.dtype == np.float32 and got.shape == (2, 3)
    assert parse_predict(body([1, 2, 3]), spec).shape == (1, 3)  # one example without its batch dimension
    req = parse_v2(
        body({"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 3], "data": [1, 2, 3]}]}), None, spec
    )
    assert req.data.shape == (1, 3)
    err = refused(parse_predict, body({"data": [[1, 2]]}), spec)
    assert "expected shape [-1, 3]" in err.problems[0]
    err = refused(
        parse_v2, body({"inputs": [{"name": "x", "datatype": "FP32", "shape": [3], "data": [1, 2, 3]}]}), None, spec
    )
    assert "one input tensor named 'input'" in err.problems[0]
    assert spec.synthetic().shape == (1, 3)


def test_v2_output_form() -> None:
    out = v2_output("predict_proba", np.array([[0.25, 0.75], [1.0, 0.0]]))
    assert out["datatype"] == "FP64" and out["shape"] == [2, 2]
    assert list(out["data"]) == [0.25, 0.75, 1.0, 0.0]
    assert v2_output("predict", np.array(["a", "b"], dtype=object))["datatype"] == "BYTES"


@given(arrays(np.int64, array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4)))
def test_nested_shape_round_trips_any_regular_array(arr: np.ndarray) -> None:
    shape, flat = nested_shape(arr.tolist(), "data")
    assert shape == arr.shape
    assert flat == arr.reshape(-1).tolist()


@given(st.lists(st.one_of(st.none(), st.booleans(), st.text(max_size=3), st.floats(allow_nan=False)), min_size=1))
def test_columns_accept_exactly_the_right_json_types(values: list[Any]) -> None:
    spec = InputSpec.from_signature({"inputs": infer_schema(pd.DataFrame({"x": [1.5]}))})
    ok = all(type(v) in (int, float) and np.isfinite(v) for v in values)
    if ok:
        assert len(spec.from_columns({"x": values})) == len(values)
    else:
        with pytest.raises(RequestError, match="column 'x'"):
            spec.from_columns({"x": values})


def test_one_record_is_one_row(spec: InputSpec, frame: pd.DataFrame) -> None:
    one = parse_predict(body(records(frame)[1]), spec)
    pd.testing.assert_frame_equal(one, frame.iloc[[1]].reset_index(drop=True))
    assert "missing 1 column(s)" in str(refused(parse_predict, body({"age": 1, "income": 2.0, "city": "x"}), spec))


def test_nullable_columns_take_null_as_a_missing_value(spec: InputSpec, frame: pd.DataFrame) -> None:
    nullable = dataclasses.replace(spec, nullable=frozenset({"age", "income", "city", "member"}))
    recs = records(frame)
    recs[0].update(age=None, income=None, city=None, member=None)
    got = parse_predict(body(recs), nullable)
    assert got.isna().iloc[0].all() and not got.isna().iloc[1:].any().any()
    assert got["age"].dtype == np.float64  # an int column with a missing value widens, as pandas reads it
    assert got["income"].tolist()[1:] == [2.5, 3.5]
    # not nullable: refused, naming the column
    assert "column 'income': 1 null value(s)" in str(refused(parse_predict, body(recs), spec))
    # CSV: an empty cell of a nullable column is missing
    csv = b"age,income,city,member\n,,,\n41,2.5,b,false\n"
    got = parse_invocations(csv, "text/csv", nullable)
    assert got.isna().iloc[0].all() and got["city"].tolist()[1] == "b"
    assert "1 cell(s) are not numbers" in str(refused(parse_invocations, csv, "text/csv", spec))


def test_probe_nulls_finds_the_columns_an_imputing_pipeline_takes_missing() -> None:
    from sklearn.compose import make_column_transformer
    from sklearn.datasets import load_breast_cancer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from mlgate.serve.protocol import probe_nulls

    X, y = load_breast_cancer(as_frame=True, return_X_y=True)
    X = X.iloc[:, :4]
    spec = InputSpec.from_signature({"inputs": infer_schema(X)})
    imputing = make_pipeline(SimpleImputer(), LogisticRegression(max_iter=500)).fit(X, y)
    assert probe_nulls(spec, imputing.predict).nullable == frozenset(X.columns)
    plain = LogisticRegression(max_iter=500).fit(X, y)
    assert probe_nulls(spec, plain.predict).nullable == frozenset()
    # only the first column is imputed: only it is nullable
    first = X.columns[0]
    part = make_column_transformer((SimpleImputer(), [first]), remainder="passthrough")
    partial = make_pipeline(part, LogisticRegression(max_iter=500)).fit(X, y)
    assert probe_nulls(spec, partial.predict).nullable == frozenset({first})
    # a signature says so itself when the sample the model predicted on at registration had a missing value
    sample = X.head(5).copy()
    sample.iloc[2, 1] = np.nan
    assert InputSpec.from_signature({"inputs": infer_schema(sample)}).nullable == frozenset({X.columns[1]})


def test_v2_binary_nan_is_a_missing_value_where_the_column_takes_one(spec: InputSpec) -> None:
    def request(values: list[float], name: str = "income") -> tuple[bytes, str]:
        raw = np.asarray(values, dtype="<f8").tobytes()
        doc: dict[str, Any] = {"inputs": [{"name": name, "datatype": "FP64", "shape": [len(values)]}]}
        doc["inputs"][0]["parameters"] = {"binary_data_size": len(raw)}
        header = body(doc)
        return header + raw, str(len(header))

    only_income = InputSpec.from_signature({"inputs": infer_schema(pd.DataFrame({"income": [1.0]}))})
    nullable = dataclasses.replace(only_income, nullable=frozenset({"income"}))
    got = parse_v2(*request([1.5, float("nan")]), nullable).data
    assert got["income"].iloc[0] == 1.5 and np.isnan(got["income"].iloc[1])
    assert "1 null value(s)" in str(refused(parse_v2, *request([1.5, float("nan")]), only_income))
    assert "non-finite" in str(refused(parse_v2, *request([float("inf")]), nullable))
    tensor = InputSpec("tensor", tensor_dtype="float64", tensor_shape=(-1,))
    assert "non-finite" in str(refused(parse_v2, *request([float("nan")], "input"), tensor))
