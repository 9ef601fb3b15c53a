"""The routes on a real uvicorn server, through real clients: httpx and tritonclient.http.

schemathesis, with every check, runs in tests/security/test_server.py.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import numpy as np
import pytest

from mlgate.serve.app import VERSION_HEADER

SECRET = "9.87654321e300"


def rows(seeded: Any, n: int = 5) -> Any:
    return seeded.X.iloc[40 : 40 + n]


def test_health_and_server_metadata(server: Any) -> None:
    assert httpx.get(f"{server.base}/v2/health/live").json() == {"live": True}
    ready = httpx.get(f"{server.base}/v2/health/ready")
    assert ready.status_code == 200 and ready.json() == {"ready": True}
    meta = httpx.get(f"{server.base}/v2").json()
    assert meta["name"] == "mlgate" and "binary_tensor_data" in meta["extensions"]
    assert ready.headers[VERSION_HEADER] == "bc:1"


def test_model_metadata_and_ready(server: Any, seeded: Any) -> None:
    meta = httpx.get(f"{server.base}/v2/models/bc").json()
    assert meta["versions"] == ["1"] and meta["platform"] == "mlgate-sklearn"
    assert [i["name"] for i in meta["inputs"]] == list(seeded.X.columns)
    assert {i["datatype"] for i in meta["inputs"]} == {"FP64"}
    assert [o["name"] for o in meta["outputs"]] == ["predict", "predict_proba"]
    assert httpx.get(f"{server.base}/v2/models/bc/versions/1").json()["versions"] == ["1"]
    assert httpx.get(f"{server.base}/v2/models/bc/ready").json() == {"name": "bc", "ready": True}
    missing = httpx.get(f"{server.base}/v2/models/fraud")
    assert missing.status_code == 404 and "'fraud' is not served here" in missing.json()["error"]
    other = httpx.get(f"{server.base}/v2/models/bc/versions/2/ready")
    assert other.status_code == 404 and "serving bc:1" in other.json()["error"]


def v2_body(frame: Any, *, nested: bool, rid: str | None = "abc") -> dict[str, Any]:
    inputs = [
        {
            "name": c,
            "datatype": "FP64",
            "shape": [len(frame), 1] if nested else [len(frame)],
            "data": [[v] for v in frame[c]] if nested else frame[c].tolist(),
        }
        for c in frame.columns
    ]
    return {"id": rid, "inputs": inputs} if rid else {"inputs": inputs}


@pytest.mark.parametrize("nested", [False, True])
def test_v2_infer(server: Any, seeded: Any, nested: bool) -> None:
    frame = rows(seeded)
    model = seeded.models[1]
    r = httpx.post(f"{server.base}/v2/models/bc/infer", json=v2_body(frame, nested=nested))
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["id"] == "abc" and doc["model_name"] == "bc" and doc["model_version"] == "1"
    out = {o["name"]: o for o in doc["outputs"]}
    assert out["predict"]["shape"] == [5] and out["predict"]["datatype"] == "INT64"
    assert out["predict"]["data"] == model.predict(frame).tolist()
    assert out["predict_proba"]["shape"] == [5, 2] and out["predict_proba"]["parameters"] == {"classes": ["0", "1"]}
    np.testing.assert_allclose(np.reshape(out["predict_proba"]["data"], (5, 2)), model.predict_proba(frame))
    assert r.headers[VERSION_HEADER] == "bc:1"
    only = httpx.post(
        f"{server.base}/v2/models/bc/versions/1/infer",
        json={**v2_body(frame, nested=False, rid=None), "outputs": [{"name": "predict"}]},
    ).json()
    assert [o["name"] for o in only["outputs"]] == ["predict"] and "id" not in only
    bad = httpx.post(
        f"{server.base}/v2/models/bc/infer", json={**v2_body(frame, nested=False), "outputs": [{"name": "p"}]}
    )
    assert bad.status_code == 400 and "unknown output(s) 'p'" in bad.json()["error"]


def test_predict_and_invocations_formats(server: Any, seeded: Any) -> None:
    frame = rows(seeded)
    want = seeded.models[1].predict(frame).tolist()
    recs = json.loads(frame.to_json(orient="records"))
    split = {"columns": list(frame.columns), "data": frame.values.tolist()}
    assert httpx.post(f"{server.base}/predict", json=recs).json() == {"predictions": want}
    assert httpx.post(f"{server.base}/predict", json=split).json() == {"predictions": want}
    for doc in (
        {"dataframe_split": json.loads(frame.to_json(orient="split"))},
        {"dataframe_records": recs},
        {"instances": recs},
        {"inputs": {c: frame[c].tolist() for c in frame.columns}},
    ):
        r = httpx.post(f"{server.base}/invocations", json=doc)
        assert r.json() == {"predictions": want}, (list(doc), r.text)
        assert r.headers[VERSION_HEADER] == "bc:1"
    csv = httpx.post(
        f"{server.base}/invocations", content=frame.to_csv(index=False), headers={"content-type": "text/csv"}
    )
    assert csv.json() == {"predictions": want}


def test_bad_input_is_4xx_naming_fields_without_values(server: Any, seeded: Any) -> None:
    frame = rows(seeded, 2)
    recs = json.loads(frame.to_json(orient="records"))
    recs[0]["mean radius"] = "9.87654321e300"
    del recs[1]["worst area"]
    r = httpx.post(f"{server.base}/predict", json=recs)
    assert r.status_code == 400
    assert "some records lack the column(s) 'worst area'" in r.json()["error"]
    recs[1]["worst area"] = 1.0
    r = httpx.post(f"{server.base}/predict", json=recs)
    assert r.status_code == 400 and r.json()["problems"] == [
        "column 'mean radius': expected numbers, got numbers, strings"
    ]
    assert SECRET not in r.text
    assert r.headers[VERSION_HEADER] == "bc:1"
    r = httpx.post(
        f"{server.base}/predict", content=b'[{"mean radius": 1,', headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and "not valid JSON" in r.json()["error"]
    r = httpx.post(f"{server.base}/invocations", content=b"<x/>", headers={"content-type": "application/xml"})
    assert r.status_code == 415
    r = httpx.get(f"{server.base}/predict")
    assert r.status_code == 405 and "error" in r.json()
    assert httpx.get(f"{server.base}/nowhere").status_code == 404


def test_oversized_body_is_413(start_server: Any, seeded: Any) -> None:
    small = start_server(max_body_bytes=2048)
    recs = json.loads(rows(seeded, 10).to_json(orient="records"))
    r = httpx.post(f"{small.base}/predict", json=recs)
    assert r.status_code == 413 and "the limit is 2048" in r.json()["error"]

    def chunks() -> Any:  # no content-length: the limit holds while streaming too
        yield json.dumps(recs).encode()

    r = httpx.post(f"{small.base}/predict", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413 and "larger than the limit of 2048 bytes" in r.json()["error"]
    assert httpx.post(f"{small.base}/predict", json=recs[:1]).status_code == 200


def test_an_exception_inside_the_model_is_500_not_4xx(server: Any, seeded: Any) -> None:
    # valid by the signature (a finite float64), but the scaler overflows it to infinity and the
    # logistic regression refuses that: the model failed, not the caller
    recs = json.loads(rows(seeded, 1).to_json(orient="records"))
    recs[0]["mean smoothness"] = 1.5e308
    r = httpx.post(f"{server.base}/predict", json=recs)
    assert r.status_code == 500
    assert r.json()["error"].startswith("the model bc:1 failed: ")
    assert "1.5e+308" not in r.text
    assert (
        server.metrics.value("mlgate_serve_errors_total", {"route": "/predict", "version": "bc:1", "kind": "model"})
        == 1
    )
    recs[0]["mean smoothness"] = 0.1
    assert httpx.post(f"{server.base}/predict", json=recs).status_code == 200


def test_metrics_count_requests_by_route_version_and_status(server: Any, seeded: Any) -> None:
    recs = json.loads(rows(seeded, 1).to_json(orient="records"))
    for _ in range(3):
        httpx.post(f"{server.base}/predict", json=recs)
    httpx.post(f"{server.base}/predict", json=[{}])
    text = httpx.get(f"{server.base}/metrics").text
    assert 'mlgate_serve_requests_total{route="/predict",status="200",version="bc:1"} 3.0' in text
    assert 'mlgate_serve_requests_total{route="/predict",status="400",version="bc:1"} 1.0' in text
    assert 'mlgate_serve_errors_total{kind="client",route="/predict",version="bc:1"} 1.0' in text
    assert 'mlgate_serve_request_duration_seconds_count{route="/predict",status="200",version="bc:1"} 3.0' in text
    assert 'mlgate_serve_model_info{alias="production",digest="blake3:' in text
    assert "mlgate_serve_in_flight_requests 1.0" in text  # the scrape itself
    assert "mlgate_serve_swap_failures_total" in text or "mlgate_serve_swap_failures" in text


@pytest.mark.parametrize("binary", [False, True])
def test_tritonclient(server: Any, seeded: Any, binary: bool) -> None:
    import tritonclient.http as triton

    frame = rows(seeded, 4)
    client = triton.InferenceServerClient(url=f"127.0.0.1:{server.port}")
    try:
        assert client.is_server_live() and client.is_server_ready()
        assert client.is_model_ready("bc")
        meta = client.get_model_metadata("bc")
        assert len(meta["inputs"]) == 30
        inputs = []
        for c in frame.columns:
            tensor = triton.InferInput(c, [len(frame), 1], "FP64")
            tensor.set_data_from_numpy(frame[[c]].to_numpy(), binary_data=binary)
            inputs.append(tensor)
        outputs = [triton.InferRequestedOutput("predict", binary_data=False)]
        result = client.infer("bc", inputs, outputs=outputs, request_id="t-1")
        assert result.get_response()["id"] == "t-1"
        np.testing.assert_array_equal(result.as_numpy("predict"), seeded.models[1].predict(frame))
        with pytest.raises(triton.InferenceServerException, match="missing 1 column"):
            client.infer("bc", inputs[:-1])
    finally:
        client.close()


def test_predict_proba_names_the_classes_and_one_record_is_one_row(server: Any, seeded: Any) -> None:
    frame = rows(seeded, 3)
    model = seeded.models[1]
    recs = json.loads(frame.to_json(orient="records"))
    r = httpx.post(f"{server.base}/predict", params={"proba": "true"}, json=recs)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["predictions"] == model.predict(frame).tolist()
    assert [sorted(p) for p in doc["probabilities"]] == [["0", "1"]] * 3
    want = model.predict_proba(frame)
    np.testing.assert_allclose([[p["0"], p["1"]] for p in doc["probabilities"]], want)
    assert "probabilities" not in httpx.post(f"{server.base}/predict", json=recs).json()
    bad = httpx.post(f"{server.base}/predict", params={"proba": "yes"}, json=recs)
    assert bad.status_code == 400 and "proba must be true or false" in bad.json()["error"]
    one = httpx.post(f"{server.base}/predict", json=recs[0])
    assert one.status_code == 200 and one.json() == {"predictions": model.predict(frame.iloc[:1]).tolist()}
    meta = httpx.get(f"{server.base}/v2/models/bc").json()
    assert meta["parameters"]["classes"] == ["0", "1"]
    assert meta["outputs"][1] == {"name": "predict_proba", "datatype": "FP64", "shape": [-1, 2]}
    # this model refuses missing values (no imputer): null is a 400 naming the column
    recs[0]["mean radius"] = None
    r = httpx.post(f"{server.base}/predict", json=recs)
    assert r.status_code == 400 and "column 'mean radius': 1 null value(s)" in r.json()["error"]


def test_a_model_trained_on_missing_values_is_served_rows_with_nulls(
    start_server: Any, seeded: Any, seeded_registry: Any
) -> None:
    import pandas as pd
    from sklearn.compose import make_column_transformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    import mlgate

    numeric = list(seeded.X.columns[:6])
    rng = np.random.default_rng(0)
    X = seeded.X[numeric].mask(rng.random((len(seeded.X), len(numeric))) < 0.1)  # 10% missing
    size = np.where(seeded.X["mean radius"] > 14, "large", "small").astype(object)
    size[rng.random(len(size)) < 0.1] = None
    X["size"] = pd.Series(size, dtype="str")
    impute_numbers = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    impute_text = make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore"))
    pipe = make_pipeline(
        make_column_transformer((impute_numbers, numeric), (impute_text, ["size"])), LogisticRegression(max_iter=1000)
    ).fit(X, seeded.y)
    mv = mlgate.log_model(pipe, "imputing", sample_input=X.head(20), registry=seeded_registry)
    seeded_registry.set_alias("imputing", "production", mv.number)
    server = start_server(name="imputing")

    holes = X.iloc[:4].copy()
    holes.iloc[0, :] = None
    holes.iloc[1, 2] = None
    holes.loc[holes.index[2], "size"] = None
    recs = [{k: (None if pd.isna(v) else v) for k, v in r.items()} for r in holes.to_dict(orient="records")]
    r = httpx.post(f"{server.base}/predict", params={"proba": "true"}, json=recs)
    assert r.status_code == 200, r.text
    assert r.json()["predictions"] == pipe.predict(holes).tolist()
    np.testing.assert_allclose([[p["0"], p["1"]] for p in r.json()["probabilities"]], pipe.predict_proba(holes))
    # the same rows through V2 and CSV (an empty cell is missing)
    inputs = [
        {"name": c, "datatype": "BYTES" if c == "size" else "FP64", "shape": [4], "data": [rec[c] for rec in recs]}
        for c in X.columns
    ]
    v2 = httpx.post(
        f"{server.base}/v2/models/imputing/infer", json={"inputs": inputs, "outputs": [{"name": "predict"}]}
    )
    assert v2.status_code == 200, v2.text
    assert v2.json()["outputs"][0]["data"] == pipe.predict(holes).tolist()
    csv = httpx.post(
        f"{server.base}/invocations", content=holes.to_csv(index=False), headers={"content-type": "text/csv"}
    )
    assert csv.json() == {"predictions": pipe.predict(holes).tolist()}
    # the published schema says so too
    schema = httpx.get(f"{server.base}/openapi.json").json()
    record = schema["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]["anyOf"][1]
    assert record["properties"]["size"] == {"type": "string", "nullable": True}
