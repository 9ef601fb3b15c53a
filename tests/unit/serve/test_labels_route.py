"""``POST /labels`` on a real server: labels stored where ``mlgate labels add`` puts them, joined by the monitor."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from mlgate.monitor.labels import read_labels
from mlgate.serve.app import REQUEST_ID_HEADER


def records(seeded: Any, start: int, n: int) -> list[dict[str, Any]]:
    return json.loads(seeded.X.iloc[start : start + n].to_json(orient="records"))


def test_posted_labels_are_stored_and_give_the_monitor_realized_accuracy(
    start_server: Any, seeded: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlgate.monitor import monitor
    from mlgate.registry.store import Registry

    monkeypatch.chdir(tmp_path)  # a server started without settings keeps labels under the current folder
    server = start_server(log_dir=tmp_path / "log", log_flush_s=30)
    labels = []
    with httpx.Client(base_url=server.base) as http:
        for i in range(0, 40, 4):
            rid = f"req-{i}"
            ok = http.post("/predict", json=records(seeded, i, 4), headers={REQUEST_ID_HEADER: rid})
            assert ok.status_code == 200
            labels += [{"request_id": rid, "row": j, "label": int(seeded.y.iloc[i + j])} for j in range(4)]
        stored = http.post("/labels", json={"labels": labels})
    assert stored.status_code == 200, stored.text
    assert stored.json()["labels"] == 40
    folder = tmp_path / ".mlgate" / "monitor" / "labels"
    known = read_labels(folder)
    assert known is not None and known.height == 40
    assert set(known["label"].to_list()) == {"0", "1"}
    server.app.state.predlog.flush()
    reg = Registry(seeded.url, artifacts=str(seeded.artifacts))
    try:
        report = monitor("bc@production", tmp_path / "log", registry=reg, labels=folder)
    finally:
        reg.close()
    realized = [w.realized for w in report.windows if w.realized is not None]
    assert sum(r.labelled for r in realized) == 40
    assert all(r.metrics["accuracy"] > 0.85 for r in realized)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "the body is not JSON"),
        (b'{"labels": 3}', 'the body must be {"labels"'),
        (json.dumps({"labels": [{"request_id": "a"}]}).encode(), "the POST /labels body has no 'label' column"),
        (
            json.dumps({"labels": [{"request_id": "a", "label": 1}, {"request_id": "a", "label": 0}]}).encode(),
            "labels[1], column 'request_id': labels request 'a' row 0 again (first on labels[0])",
        ),
        (
            json.dumps({"labels": [{"request_id": "a", "label": 1, "time": "yesterday"}]}).encode(),
            "labels[0], column 'time': is 'yesterday', not an ISO time",
        ),
    ],
)
def test_a_wrong_body_is_a_400_naming_the_problem_and_stores_nothing(
    start_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: bytes, message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    server = start_server()
    refused = httpx.post(f"{server.base}/labels", content=body, headers={"content-type": "application/json"})
    assert refused.status_code == 400
    assert message in refused.json()["error"]
    assert read_labels(tmp_path / ".mlgate" / "monitor" / "labels") is None


def test_a_label_outside_the_served_classes_is_a_400_unless_allowed(
    start_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    server = start_server()  # bc:1, a classifier of 0 and 1
    folder = tmp_path / ".mlgate" / "monitor" / "labels"
    body = {"labels": [{"request_id": "a", "label": 1}, {"request_id": "b", "label": "malignant"}]}
    refused = httpx.post(f"{server.base}/labels", json=body)
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert "labels[1], column 'label': 'malignant' is not one of the model's classes (0, 1)" in error
    assert "allow_new_classes=true" in error
    assert read_labels(folder) is None
    allowed = httpx.post(f"{server.base}/labels", params={"allow_new_classes": "true"}, json=body)
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["labels"] == 2 and allowed.json()["new_classes"] == {"malignant": 1}


def test_an_empty_body_says_there_are_no_labels_and_a_bare_list_is_taken(
    start_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    server = start_server()
    folder = tmp_path / ".mlgate" / "monitor" / "labels"
    for body in ({"labels": []}, []):
        refused = httpx.post(f"{server.base}/labels", json=body)
        assert refused.status_code == 400
        assert "no labels in the body" in refused.json()["error"]
    assert read_labels(folder) is None
    stored = httpx.post(f"{server.base}/labels", json=[{"request_id": "a", "label": 1}])
    assert stored.status_code == 200 and stored.json()["labels"] == 1
