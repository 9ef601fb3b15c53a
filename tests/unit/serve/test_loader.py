"""Hot swap on a real server: promotions under load, retained versions, corrupt blobs, a lost registry."""

from __future__ import annotations

import json
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from mlgate.registry.blobs import blob_key
from mlgate.serve.app import VERSION_HEADER
from tests.unit.serve.conftest import wait_for


def served_version(server: Any) -> str:
    return httpx.get(f"{server.base}/v2/health/ready").headers.get(VERSION_HEADER, "")


def corrupt(seeded: Any, registry: Any, number: int, file: str = "model.skops") -> None:
    digest = registry.get(f"bc:{number}").manifest[file]["digest"]
    path = seeded.artifacts / blob_key(digest)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def test_promotions_under_continuous_load_drop_no_request(server: Any, seeded: Any, seeded_registry: Any) -> None:
    recs = json.loads(seeded.X.iloc[:3].to_json(orient="records"))
    seen: list[tuple[int, str, list[int]]] = []
    stop = threading.Event()

    def client() -> None:
        with httpx.Client(base_url=server.base, timeout=10) as http:
            while not stop.is_set():
                try:
                    r = http.post("/predict", json=recs)
                    seen.append((r.status_code, r.headers.get(VERSION_HEADER, ""), r.json().get("predictions")))
                except httpx.HTTPError as exc:  # a dropped connection counts as a failed request
                    seen.append((0, type(exc).__name__, []))

    threads = [threading.Thread(target=client) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        for number in [2, 1, 3, 1] * 5:  # 20 moves
            seeded_registry.set_alias("bc", "production", number)
            wait_for(lambda n=number: seen and seen[-1][1] == f"bc:{n}")
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert len(seen) > 20
    assert [s for s in seen if s[0] != 200] == []
    # every response was computed by the version its header names
    want = {f"bc:{n}": m.predict(seeded.X.iloc[:3]).tolist() for n, m in seeded.models.items()}
    assert all(preds == want[version] for _, version, preds in seen)
    assert {v for _, v, _ in seen} == {"bc:1", "bc:2", "bc:3"}
    # bc:1 and bc:2 came back while still loaded: pointer swaps, not loads
    assert (
        server.metrics.value("mlgate_serve_swaps_total", {"alias": "production", "how": "retained"}) == 18
    )  # 21 swaps, 3 of them loads
    assert server.metrics.value("mlgate_serve_swaps_total", {"alias": "production", "how": "load"}) == 3


def test_a_corrupt_new_version_is_never_swapped_in(server: Any, seeded: Any, seeded_registry: Any) -> None:
    corrupt(seeded, seeded_registry, 3)
    seeded_registry.set_alias("bc", "production", 3)
    wait_for(
        lambda: (
            server.metrics.value("mlgate_serve_swap_failures_total", {"alias": "production", "stage": "verify"}) >= 1
        )
    )
    time.sleep(0.5)  # a few more polls: it is not retried before retry_failed_s
    assert server.metrics.value("mlgate_serve_swap_failures_total", {"alias": "production", "stage": "verify"}) == 1
    assert served_version(server) == "bc:1"
    r = httpx.post(f"{server.base}/predict", json=json.loads(seeded.X.iloc[:1].to_json(orient="records")))
    assert r.status_code == 200 and r.headers[VERSION_HEADER] == "bc:1"
    assert (
        'mlgate_serve_swap_failures_total{alias="production",stage="verify"} 1.0'
        in httpx.get(f"{server.base}/metrics").text
    )
    seeded_registry.set_alias("bc", "production", 2)  # the next good version is taken as usual
    wait_for(lambda: served_version(server) == "bc:2")


def test_not_ready_until_a_version_loads(start_server: Any, seeded: Any, seeded_registry: Any) -> None:
    corrupt(seeded, seeded_registry, 3)
    seeded_registry.set_alias("bc", "production", 3)
    server = start_server(wait=False, retry_failed_s=0.0)
    wait_for(
        lambda: (
            server.metrics.value("mlgate_serve_swap_failures_total", {"alias": "production", "stage": "verify"}) >= 1
        )
    )
    ready = httpx.get(f"{server.base}/v2/health/ready")
    assert ready.status_code == 503 and ready.json() == {"ready": False}
    assert VERSION_HEADER not in ready.headers
    assert httpx.get(f"{server.base}/v2/health/live").status_code == 200
    r = httpx.post(f"{server.base}/predict", json=[{"mean radius": 1.0}])
    assert r.status_code == 503 and "no version of bc@production is loaded yet" in r.json()["error"]
    assert httpx.get(f"{server.base}/v2/models/bc/ready").status_code == 503
    seeded_registry.set_alias("bc", "production", 1)
    server.wait_ready()
    assert served_version(server) == "bc:1"


def test_registry_unreachable_keeps_serving(server: Any, seeded: Any, seeded_registry: Any) -> None:
    db = Path(seeded.url.removeprefix("sqlite:///"))
    moved = db.with_name("moved")
    moved.mkdir()
    for f in db.parent.glob("registry.db*"):
        shutil.move(f, moved / f.name)
    db.mkdir()  # the database path now cannot be opened
    server.holder.registry.close()  # and the pooled connections are gone, as when the database host dies
    wait_for(lambda: server.metrics.value("mlgate_serve_registry_errors_total") >= 2)
    recs = json.loads(seeded.X.iloc[:2].to_json(orient="records"))
    r = httpx.post(f"{server.base}/predict", json=recs)
    assert r.status_code == 200 and r.headers[VERSION_HEADER] == "bc:1"
    assert httpx.get(f"{server.base}/v2/health/ready").status_code == 200
    db.rmdir()
    for f in moved.iterdir():
        shutil.move(f, db.parent / f.name)
    seeded_registry.close()
    seeded_registry.set_alias("bc", "production", 2)
    wait_for(lambda: served_version(server) == "bc:2")


def test_replaced_versions_are_unloaded_after_keep_previous(start_server: Any, seeded_registry: Any) -> None:
    server = start_server(keep_previous_s=0.0)
    first = server.holder.current
    seeded_registry.set_alias("bc", "production", 2)
    wait_for(lambda: served_version(server) == "bc:2")
    wait_for(lambda: server.holder.retained() == [])
    assert not first.model.path.exists()
    seeded_registry.set_alias("bc", "production", 1)
    wait_for(lambda: served_version(server) == "bc:1")
    assert server.metrics.value("mlgate_serve_swaps_total", {"alias": "production", "how": "load"}) == 3


def test_a_deleted_alias_keeps_the_loaded_version(start_server: Any, seeded_registry: Any) -> None:
    alias = "staging"
    seeded_registry.set_alias("bc", alias, 2)
    server = start_server(alias=alias)
    assert served_version(server) == "bc:2"
    seeded_registry.delete_alias("bc", alias)
    wait_for(lambda: server.metrics.value("mlgate_serve_registry_errors_total") >= 1)
    assert served_version(server) == "bc:2"
