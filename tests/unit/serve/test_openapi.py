"""The OpenAPI document: a valid OpenAPI 3.0 document whose request schemas follow the served signature.

The fuzzing test (tests/security/test_server.py) checks the schemas against a real server; these check
the document itself, quickly: what a caller of the published schema may and may not send.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from mlgate.serve.input_spec import InputSpec
from mlgate.serve.openapi import CROSS_FIELD, build_openapi
from mlgate.signature import infer_schema

SPEC = InputSpec.from_signature(
    {
        "inputs": {
            "type": "columns",
            "columns": [
                {"name": "age", "dtype": "int8"},
                {"name": "income", "dtype": "float64", "nullable": True},
                {"name": "city", "dtype": "string"},
            ],
        }
    }
)


def _request_schema(doc: dict[str, Any], path: str, media: str = "application/json") -> OAS30Validator:
    return OAS30Validator(doc["paths"][path]["post"]["requestBody"]["content"][media]["schema"])


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return build_openapi("fraud", SPEC, "1.2.3")


def test_the_document_is_valid_openapi_3_0(doc: dict[str, Any]) -> None:
    validate(doc)
    assert doc["openapi"] == "3.0.3"
    assert doc["info"] == {"title": "mlgate serve fraud", "version": "1.2.3"}
    assert {"/predict", "/invocations", "/v2/models/{model_name}/infer", "/metrics"} <= set(doc["paths"])


@pytest.mark.parametrize(
    "body",
    [
        [{"age": 31, "income": 1200.5, "city": "Lyon"}],
        {"age": 31, "income": None, "city": "Lyon"},  # income is nullable
        [[31, 1200.5, "Lyon"], [40, 10.0, "Oslo"]],
        {"columns": ["age", "income", "city"], "data": [[31, 1.0, "Lyon"]]},
        {"data": [[31, 1.0, "Lyon"]]},
    ],
    ids=["records", "record-with-null", "rows", "split", "data"],
)
def test_predict_accepts_every_table_form(doc: dict[str, Any], body: Any) -> None:
    assert _request_schema(doc, "/predict").is_valid(body)


@pytest.mark.parametrize(
    "body",
    [
        [{"age": 31, "income": 1.0}],  # a column missing
        [{"age": 31, "income": 1.0, "city": "Lyon", "extra": 1}],  # a column the model does not take
        [{"age": "31", "income": 1.0, "city": "Lyon"}],  # a string where an integer goes
        [{"age": 300, "income": 1.0, "city": "Lyon"}],  # beyond int8
        [{"age": None, "income": 1.0, "city": "Lyon"}],  # null in a column that is not nullable
        [[31, 1.0]],  # a row of the wrong width
        [],  # no rows
    ],
    ids=["missing", "extra", "type", "range", "null", "width", "empty"],
)
def test_predict_refuses_what_the_server_refuses(doc: dict[str, Any], body: Any) -> None:
    assert not _request_schema(doc, "/predict").is_valid(body)


def test_csv_bodies_need_the_header_in_signature_order(doc: dict[str, Any]) -> None:
    pattern = doc["paths"]["/invocations"]["post"]["requestBody"]["content"]["text/csv"]["schema"]["pattern"]
    assert re.search(pattern, "age,income,city\n31,1200.5,Lyon\n40,,Oslo\n")
    assert not re.search(pattern, "city,age,income\nLyon,31,1200.5\n")
    assert not re.search(pattern, "age,income,city\n,1.0,Lyon\n")  # age is not nullable


def test_v2_inputs_name_each_column_with_its_datatype(doc: dict[str, Any]) -> None:
    infer = _request_schema(doc, "/v2/models/{model_name}/infer")
    tensors = [
        {"name": "age", "shape": [1], "datatype": "INT8", "data": [31]},
        {"name": "income", "shape": [1], "datatype": "FP64", "data": [1.5]},
        {"name": "city", "shape": [1], "datatype": "BYTES", "data": ["Lyon"]},
    ]
    assert infer.is_valid({"inputs": tensors})
    assert not infer.is_valid({"inputs": tensors[:2]})
    wrong_type = [{**tensors[0], "datatype": "FP32"}, *tensors[1:]]
    assert not infer.is_valid({"inputs": wrong_type})
    assert doc["paths"]["/v2/models/{model_name}/infer"]["post"]["description"] == CROSS_FIELD


def test_probabilities_are_documented_only_when_the_version_gives_them(doc: dict[str, Any]) -> None:
    without = build_openapi("fraud", SPEC, "1.2.3", proba=False)
    assert [p["name"] for p in doc["paths"]["/predict"]["post"]["parameters"]] == ["proba"]
    assert without["paths"]["/predict"]["post"]["parameters"] == []
    infer = _request_schema(without, "/v2/models/{model_name}/infer")
    outputs = infer.schema["properties"]["outputs"]["items"]["properties"]["name"]["enum"]
    assert outputs == ["predict"]


def test_before_a_version_is_loaded_the_schemas_are_loose_but_valid() -> None:
    doc = build_openapi("fraud", None, "1.2.3")
    validate(doc)
    assert _request_schema(doc, "/predict").is_valid([{"anything": 1}])


def test_a_real_signature_documents_every_column(breast_cancer: tuple[pd.DataFrame, pd.Series]) -> None:
    X, _ = breast_cancer
    spec = InputSpec.from_signature({"inputs": infer_schema(X)})
    doc = build_openapi("bc", spec, "0.1.0")
    validate(doc)
    records = _request_schema(doc, "/predict")
    rows = X.head(3).to_dict("records")
    assert records.is_valid(rows)
    top = float(np.finfo(np.float64).max)
    assert not records.is_valid([{**rows[0], X.columns[0]: top * 10}])  # inf in JSON terms: refused
