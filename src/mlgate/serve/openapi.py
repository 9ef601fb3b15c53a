"""The OpenAPI document of a server, written from the signature of the version it serves."""

from __future__ import annotations

from typing import Any

from mlgate.serve.protocol import V2_TO_NUMPY, InputSpec

_JSON_TYPE = {"float": "number", "int": "integer", "bool": "boolean", "string": "string", "datetime": "string"}


def _error() -> dict[str, Any]:
    return {
        "description": "The request was refused; every offending field is named.",
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
    body = {"description": description}
    if schema is not None:
        body["content"] = {"application/json": {"schema": schema}}
    return body


def build_openapi(name: str, spec: InputSpec | None, version: str) -> dict[str, Any]:
    """OpenAPI 3.0 for the routes; request schemas name the signature's columns once a model is loaded."""
    if spec is not None and spec.type == "columns":
        record: dict[str, Any] = {
            "type": "object",
            "properties": {n: {"type": _JSON_TYPE[spec.kinds[n]]} for n in spec.names},
            "required": list(spec.names),
            "additionalProperties": False,
        }
        row = {"type": "array", "items": {}, "minItems": len(spec.names), "maxItems": len(spec.names)}
        columns_names = {"type": "array", "items": {"type": "string", "enum": list(spec.names)}}
    else:
        record = {"type": "object"}
        row = {"type": "array", "items": {}}
        columns_names = {"type": "array", "items": {"type": "string"}}
    records = {"type": "array", "items": record, "minItems": 1}
    split = {
        "type": "object",
        "required": ["columns", "data"],
        "properties": {"columns": columns_names, "data": {"type": "array", "items": row, "minItems": 1}},
        "additionalProperties": False,
    }
    predictions = {"type": "object", "properties": {"predictions": {"type": "array", "items": {}}}}
    tensor = {
        "type": "object",
        "required": ["name", "shape", "datatype", "data"],
        "properties": {
            "name": {"type": "string"},
            "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
            "datatype": {"type": "string", "enum": list(V2_TO_NUMPY)},
            "data": {"type": "array", "items": {}},
            "parameters": {"type": "object"},
        },
    }
    infer_request = {
        "type": "object",
        "required": ["inputs"],
        "properties": {
            "id": {"type": "string"},
            "inputs": {"type": "array", "items": tensor, "minItems": 1},
            "outputs": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
            "parameters": {"type": "object"},
        },
    }
    model_param = {"name": "model_name", "in": "path", "required": True, "schema": {"type": "string", "enum": [name]}}
    version_param = {"name": "model_version", "in": "path", "required": True, "schema": {"type": "string"}}
    errors = {"400": _error(), "404": _error(), "413": _error(), "503": _error()}
    infer = {
        "summary": "Open Inference Protocol V2 inference",
        "requestBody": _json_body(infer_request),
        "responses": {"200": _ok({"type": "object"}), **errors},
    }
    health = {"responses": {"200": _ok({"type": "object"}), "503": _error()}}
    paths: dict[str, Any] = {
        "/predict": {
            "post": {
                "summary": "Predict on records [{column: value}] or {columns, data}",
                "requestBody": _json_body({"oneOf": [records, split]}),
                "responses": {"200": _ok(predictions), **errors},
            }
        },
        "/invocations": {
            "post": {
                "summary": "MLflow scoring formats: dataframe_split, dataframe_records, instances, inputs, CSV",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "dataframe_split": split,
                                    "dataframe_records": records,
                                    "instances": {"type": "array", "items": {}},
                                    "inputs": {},
                                    "params": {"type": "object"},
                                },
                                "minProperties": 1,
                                "additionalProperties": False,
                            }
                        },
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                "responses": {"200": _ok(predictions), "415": _error(), **errors},
            }
        },
        "/v2/health/live": {"get": health},
        "/v2/health/ready": {"get": health},
        "/v2": {"get": {"responses": {"200": _ok({"type": "object"})}}},
        "/v2/models/{model_name}": {"get": {"parameters": [model_param], "responses": {"200": _ok(), **errors}}},
        "/v2/models/{model_name}/ready": {"get": {"parameters": [model_param], "responses": {"200": _ok(), **errors}}},
        "/v2/models/{model_name}/infer": {"post": {"parameters": [model_param], **infer}},
        "/v2/models/{model_name}/versions/{model_version}": {
            "get": {"parameters": [model_param, version_param], "responses": {"200": _ok(), **errors}}
        },
        "/v2/models/{model_name}/versions/{model_version}/ready": {
            "get": {"parameters": [model_param, version_param], "responses": {"200": _ok(), **errors}}
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
