"""The OpenAPI document of a server, written from the signature of the version it serves.

The request schemas say what the server accepts, no more and no less, as far as JSON Schema can: a
body the schema accepts is scored (2xx) and one it refuses gets a 4xx (the fuzzing test runs
schemathesis with every check against a real server). A few rules tie one field to another, which
OpenAPI 3.0 cannot state; the operation descriptions list them: the columns of ``{column: [values]}``
have one length, and a V2 request sends every column once, each tensor with the same number of rows
and as many values as its ``shape`` holds.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from mlgate.serve.input_spec import V2_TO_NUMPY, InputSpec, numpy_dtype, v2_datatype

_JSON_TYPE = {"float": "number", "int": "integer", "bool": "boolean", "string": "string", "datetime": "string"}
# CSV cells as the server reads them (float(), int(), true/false/1/0); non-finite numbers are refused
_CSV_CELL = {
    "float": r"-?(0|[1-9][0-9]{0,14})(\.[0-9]{1,12})?",
    "int": r"-?(0|[1-9][0-9]{0,14})",
    "bool": r"(true|false|1|0)",
    "string": r"[^,\"\r\n]*",
    "datetime": r"[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])",
}
CROSS_FIELD = (
    "Rules JSON Schema cannot state: the lists of {column: [values]} have one length; a V2 request sends "
    "every column once, every tensor with the same number of rows, 'data' holding as many values as "
    "'shape' says (flat, or nested as 'shape'), and 'shape' is [rows] or [rows, 1]."
)


def _error(description: str = "The request was refused; every offending field is named.") -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {"type": "string"},
                        "problems": {"type": "array", "items": {"type": "string"}},
                    },
                }
            }
        },
    }


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _ok(schema: dict[str, Any] | None = None, description: str = "OK") -> dict[str, Any]:
    body: dict[str, Any] = {"description": description}
    if schema is not None:
        body["content"] = {"application/json": {"schema": schema}}
    return body


def _value(spec: InputSpec, name: str) -> dict[str, Any]:
    """The JSON schema of one value of column ``name``: its type, its dtype's range, and null if nullable."""
    kind = spec.kinds[name]
    schema: dict[str, Any] = {"type": _JSON_TYPE[kind]}
    dtype = numpy_dtype(spec.dtypes[name])
    if kind == "float":
        top = float(np.finfo(dtype).max)
        schema |= {"minimum": -top, "maximum": top}
    elif kind == "int":
        info = np.iinfo(dtype) if dtype.kind in "iu" else np.iinfo(np.int64)
        schema |= {"minimum": int(info.min), "maximum": int(info.max)}
    elif kind == "datetime":
        schema["format"] = "date-time"
    if name in spec.nullable:
        schema["nullable"] = True
    return schema


def _union(schemas: list[dict[str, Any]]) -> dict[str, Any]:
    distinct = [s for i, s in enumerate(schemas) if s not in schemas[:i]]
    return distinct[0] if len(distinct) == 1 else {"anyOf": distinct}


def _columns_forms(spec: InputSpec) -> dict[str, dict[str, Any]]:
    """The schemas of the table forms for a columns signature (records, rows, split, {column: [values]})."""
    n = len(spec.names)
    values = {c: _value(spec, c) for c in spec.names}
    record = {
        "type": "object",
        "properties": values,
        "required": list(spec.names),
        "additionalProperties": False,
    }
    # rows are in signature order; OpenAPI 3.0 has no per-position item schemas, so a row of mixed types
    # is described by the union of its columns' schemas
    row = {"type": "array", "items": _union(list(values.values())), "minItems": n, "maxItems": n}
    rows = {"type": "array", "items": row, "minItems": 1}
    names = {"type": "array", "items": {"type": "string", "enum": list(spec.names)}, "minItems": n, "maxItems": n}
    names["uniqueItems"] = True
    split = {
        "type": "object",
        "required": ["columns", "data"],
        "properties": {"columns": names, "data": rows},
        "additionalProperties": False,
    }
    by_column = {
        "type": "object",
        "properties": {c: {"type": "array", "items": v, "minItems": 1} for c, v in values.items()},
        "required": list(spec.names),
        "additionalProperties": False,
    }
    return {
        "record": record,
        "records": {"type": "array", "items": record, "minItems": 1},
        "row": row,
        "rows": rows,
        "split": split,
        "by_column": by_column,
    }


def _tensor_forms(spec: InputSpec | None) -> dict[str, dict[str, Any]]:
    """Loose schemas when no version is loaded yet or the version takes one tensor."""
    array = {"type": "array", "items": {}, "minItems": 1}
    record = {"type": "object"}
    split = {
        "type": "object",
        "required": ["columns", "data"],
        "properties": {"columns": {"type": "array", "items": {"type": "string"}}, "data": array},
        "additionalProperties": False,
    }
    return {
        "record": record,
        "records": {"type": "array", "items": record, "minItems": 1},
        "row": array,
        "rows": array,
        "split": split,
        "by_column": {"type": "object"},
    }


def _csv_pattern(spec: InputSpec) -> str:
    """A regular expression of the CSV bodies the server takes: the header in signature order, then rows."""
    cells = [
        f"({_CSV_CELL[spec.kinds[c]]})" + ("?" if c in spec.nullable and spec.kinds[c] != "string" else "")
        for c in spec.names
    ]
    header = ",".join(re.escape(c) for c in spec.names)
    return f"^{header}(\\r?\\n{','.join(cells)})+(\\r?\\n)?$"


def _v2_tensor(name: Any, datatype: Any, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["name", "shape", "datatype", "data"],
        "properties": {
            "name": name,
            "shape": {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1, "maxItems": 2},
            "datatype": datatype,
            "data": {
                "type": "array",
                "items": {"anyOf": [value, {"type": "array", "items": value, "minItems": 1, "maxItems": 1}]},
                "minItems": 1,
            },
            # binary_data_size belongs to the binary extension, whose bodies are not this JSON
            "parameters": {"type": "object", "not": {"required": ["binary_data_size"]}},
        },
    }


def _v2_inputs(spec: InputSpec | None) -> dict[str, Any]:
    if spec is None or spec.type != "columns":
        any_value = {"anyOf": [{"type": "number"}, {"type": "string"}, {"type": "boolean"}]}
        named = {"type": "string"} if spec is None else {"type": "string", "enum": [spec.tensor_name]}
        tensor = _v2_tensor(named, {"type": "string", "enum": list(V2_TO_NUMPY)}, any_value)
        return {"type": "array", "items": tensor, "minItems": 1}
    tensors = [
        _v2_tensor(
            {"type": "string", "enum": [c]},
            {"type": "string", "enum": [v2_datatype(numpy_dtype(spec.dtypes[c]))]},
            _value(spec, c),
        )
        for c in spec.names
    ]
    n = len(spec.names)
    return {"type": "array", "items": _union(tensors), "minItems": n, "maxItems": n}


def build_openapi(name: str, spec: InputSpec | None, version: str, *, proba: bool = True) -> dict[str, Any]:
    """OpenAPI 3.0 for the routes; request schemas follow the loaded version's signature once there is one.

    ``proba``: whether the version gives class probabilities (``/predict?proba=true``).
    """
    forms = _columns_forms(spec) if spec is not None and spec.type == "columns" else _tensor_forms(spec)
    table = [forms["records"], forms["rows"], forms["row"], forms["by_column"]]
    predictions: dict[str, Any] = {
        "type": "object",
        "required": ["predictions"],
        "properties": {"predictions": {"type": "array", "items": {}}},
    }
    inputs = _v2_inputs(spec)
    infer_request = {
        "type": "object",
        "required": ["inputs"],
        "properties": {
            "id": {"type": "string"},
            "inputs": inputs,
            "outputs": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {
                        "name": {"type": "string", "enum": ["predict", *(["predict_proba"] if proba else [])]}
                    },
                },
            },
            "parameters": {"type": "object"},
        },
    }
    model_param = {"name": "model_name", "in": "path", "required": True, "schema": {"type": "string", "enum": [name]}}
    version_param = {"name": "model_version", "in": "path", "required": True, "schema": {"type": "string"}}
    errors = {
        "400": _error(),
        "404": _error("No such model or version here."),
        "408": _error("The body did not arrive in time (--body-timeout); the connection is closed."),
        "413": _error("The body is larger than --max-body."),
        "500": _error("The model raised on valid input (the server log has the traceback)."),
        "503": _error("No version is loaded yet."),
    }
    infer = {
        "summary": "Open Inference Protocol V2 inference",
        "description": CROSS_FIELD,
        "requestBody": _json_body(infer_request),
        "responses": {"200": _ok({"type": "object", "required": ["model_name", "outputs"]}), **errors},
    }
    health = {"responses": {"200": _ok({"type": "object"}), "503": _error()}}
    metadata = {"responses": {"200": _ok({"type": "object"}), "404": errors["404"], "503": errors["503"]}}
    predict_doc = dict(predictions)
    predict_params = []
    if proba:
        predict_doc = {
            **predictions,
            "properties": {
                **predictions["properties"],
                "probabilities": {
                    "type": "array",
                    "items": {"type": "object", "additionalProperties": {"type": "number"}},
                    "description": "With proba=true: one object per row, class label → probability.",
                },
            },
        }
        predict_params = [
            {
                "name": "proba",
                "in": "query",
                "required": False,
                "description": "Also return each row's class probabilities, keyed by class label.",
                "schema": {"type": "boolean", "default": False},
            }
        ]
    mlflow_params = {"params": {"type": "object"}}
    paths: dict[str, Any] = {
        "/predict": {
            "post": {
                "summary": "Predict on records, one record, rows in signature order, or {columns, data}",
                "description": CROSS_FIELD,
                "parameters": predict_params,
                "requestBody": _json_body(
                    {
                        "anyOf": [
                            forms["records"],
                            forms["record"],
                            forms["rows"],
                            forms["row"],
                            forms["split"],
                            {
                                "type": "object",
                                "required": ["data"],
                                "properties": {"data": {"anyOf": [forms["rows"], forms["row"]]}},
                                "additionalProperties": False,
                            },
                        ]
                    }
                ),
                "responses": {"200": _ok(predict_doc), **errors},
            }
        },
        "/invocations": {
            "post": {
                "summary": "MLflow scoring formats: dataframe_split, dataframe_records, instances, inputs, CSV",
                "description": CROSS_FIELD,
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "oneOf": [
                                    _mlflow("dataframe_split", _with_index(forms["split"]), mlflow_params),
                                    _mlflow("dataframe_records", forms["records"], mlflow_params),
                                    _mlflow("instances", {"anyOf": table}, mlflow_params),
                                    _mlflow("inputs", {"anyOf": table}, mlflow_params),
                                ]
                            }
                        },
                        "text/csv": {
                            "schema": (
                                {"type": "string", "pattern": _csv_pattern(spec)}
                                if spec is not None and spec.type == "columns"
                                else {"type": "string", "minLength": 1}
                            )
                        },
                    },
                },
                "responses": {"200": _ok(predictions), "415": _error(), **errors},
            }
        },
        "/v2/health/live": {"get": health},
        "/v2/health/ready": {"get": health},
        "/v2": {"get": {"responses": {"200": _ok({"type": "object"})}}},
        "/v2/models/{model_name}": {"get": {"parameters": [model_param], **metadata}},
        "/v2/models/{model_name}/ready": {"get": {"parameters": [model_param], **metadata}},
        "/v2/models/{model_name}/infer": {"post": {"parameters": [model_param], **infer}},
        "/v2/models/{model_name}/versions/{model_version}": {
            "get": {"parameters": [model_param, version_param], **metadata}
        },
        "/v2/models/{model_name}/versions/{model_version}/ready": {
            "get": {"parameters": [model_param, version_param], **metadata}
        },
        "/v2/models/{model_name}/versions/{model_version}/infer": {
            "post": {"parameters": [model_param, version_param], **infer}
        },
        "/metrics": {"get": {"responses": {"200": {"description": "Prometheus exposition text"}}}},
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": f"mlgate serve {name}", "version": version},
        "paths": paths,
    }


def _with_index(split: dict[str, Any]) -> dict[str, Any]:
    return {**split, "properties": {**split["properties"], "index": {"type": "array"}}}


def _mlflow(key: str, value: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": [key], "properties": {key: value, **extra}, "additionalProperties": False}
