"""Canary and shadow: the deterministic split, sticky keys, following both aliases, and mirrored scoring."""

from __future__ import annotations

import json
from typing import Any

import httpx
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlgate.cli import main
from mlgate.errors import NotFoundError, UsageError
from mlgate.serve.app import VARIANT_HEADER, VERSION_HEADER
from mlgate.serve.options import ServeOptions
from mlgate.serve.routing import CanarySplit, agreement, key_share
from mlgate.serve.server import serve
from tests.unit.serve.conftest import wait_for


def records(seeded: Any, start: int = 0, n: int = 3) -> list[dict[str, Any]]:
    return json.loads(seeded.X.iloc[start : start + n].to_json(orient="records"))


# -- the split ----------------------------------------------------------------------------------------


@given(st.text(max_size=40), st.floats(0, 1), st.floats(0, 1))
def test_a_keyed_split_is_sticky_and_monotone_in_the_weight(key: str, w1: float, w2: float) -> None:
    lo, hi = sorted((w1, w2))
    share = key_share(key)
    assert 0.0 <= share < 1.0 and share == key_share(key)
    # raising the weight only ever moves keys to the canary
    assert not CanarySplit(lo).to_canary(key) or CanarySplit(hi).to_canary(key)
    assert CanarySplit(hi).to_canary(key) == CanarySplit(hi).to_canary(key)


@given(st.floats(0, 1), st.integers(1, 500))
def test_keyless_requests_get_the_weight_exactly(weight: float, n: int) -> None:
    split = CanarySplit(weight)
    got = sum(split.to_canary(None) for _ in range(n))
    assert abs(got - n * weight) < 1.0 + 1e-9


def test_keyed_shares_are_close_to_the_weight() -> None:
    split = CanarySplit(0.2)
    got = sum(split.to_canary(f"user-{i}") for i in range(20_000))
    assert 0.19 < got / 20_000 < 0.21


def test_agreement_counts_rows() -> None:
    assert agreement(np.array([0, 1, 1, 0]), np.array([0, 1, 0, 0])) == (3, 1)
    assert agreement(np.array([0.5, 1.0]), np.array([0.5 + 1e-12, 2.0])) == (1, 1)
    assert agreement(np.array([[0.1, 0.9], [0.5, 0.5]]), np.array([[0.1, 0.9], [0.4, 0.6]])) == (1, 1)
    assert agreement(np.array([1, 2, 3]), np.array([1, 2])) == (0, 3)
    assert agreement(np.array(["a", "b"]), np.array(["a", "b"])) == (2, 0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"canary_alias": "canary", "canary_weight": 1.5}, "--canary-weight must be between 0 and 1"),
        ({"canary_weight": 0.2}, "--canary-weight needs --canary-alias"),
        ({"canary_alias": "production"}, "--canary-alias 'production' is the alias being served"),
        ({"shadow_alias": "production"}, "--shadow-alias 'production' is the alias being served"),
    ],
)
def test_canary_and_shadow_options_are_checked(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        ServeOptions("bc", **kwargs)


# -- canary on a real server --------------------------------------------------------------------------


def test_canary_takes_its_share_and_each_response_names_its_version(
    start_server: Any, seeded: Any, seeded_registry: Any
) -> None:
    seeded_registry.set_alias("bc", "canary", 2)
    server = start_server(canary_alias="canary", canary_weight=0.25)
    wait_for(lambda: server.app.state.canary.current is not None)
    want = {f"bc:{n}": m.predict(seeded.X.iloc[:3]).tolist() for n, m in seeded.models.items()}
    seen: list[tuple[str, str]] = []
    with httpx.Client(base_url=server.base) as http:
        for _ in range(40):
            r = http.post("/predict", json=records(seeded))
            assert r.status_code == 200
            assert r.json()["predictions"] == want[r.headers[VERSION_HEADER]]
            seen.append((r.headers[VERSION_HEADER], r.headers[VARIANT_HEADER]))
    assert seen.count(("bc:2", "canary")) == 10 and seen.count(("bc:1", "primary")) == 30
    assert server.metrics.value("mlgate_serve_routed_total", {"variant": "canary", "version": "bc:2"}) == 10
    metrics = httpx.get(f"{server.base}/metrics").text
    assert 'mlgate_serve_model_info{alias="canary",' in metrics and 'alias="production"' in metrics
    # the canary's version answers by number on the V2 routes too
    assert httpx.get(f"{server.base}/v2/models/bc/versions/2").json()["versions"] == ["2"]


def test_a_request_key_sticks_to_one_variant(start_server: Any, seeded: Any, seeded_registry: Any) -> None:
    seeded_registry.set_alias("bc", "canary", 3)
    server = start_server(canary_alias="canary", canary_weight=0.5, request_key_header="x-user")
    wait_for(lambda: server.app.state.canary.current is not None)
    with httpx.Client(base_url=server.base) as http:
        by_key: dict[str, set[str]] = {}
        for i in range(30):
            key = f"user-{i % 6}"
            r = http.post("/predict", json=records(seeded), headers={"x-user": key})
            by_key.setdefault(key, set()).add(r.headers[VERSION_HEADER])
    assert all(len(v) == 1 for v in by_key.values()), by_key
    expected = {k: ("bc:3" if key_share(k) < 0.5 else "bc:1") for k in by_key}
    assert {k: next(iter(v)) for k, v in by_key.items()} == expected


def test_the_canary_follows_its_alias_and_stops_when_it_is_deleted(
    start_server: Any, seeded: Any, seeded_registry: Any
) -> None:
    seeded_registry.set_alias("bc", "canary", 2)
    server = start_server(canary_alias="canary", canary_weight=1.0)

    def served() -> str:
        return httpx.post(f"{server.base}/predict", json=records(seeded)).headers[VERSION_HEADER]

    wait_for(lambda: served() == "bc:2")
    seeded_registry.set_alias("bc", "canary", 3)
    wait_for(lambda: served() == "bc:3")
    seeded_registry.delete_alias("bc", "canary")
    wait_for(lambda: served() == "bc:1")
    assert 'mlgate_serve_model_info{alias="canary"' not in httpx.get(f"{server.base}/metrics").text


def test_a_missing_canary_or_shadow_alias_stops_the_start(
    seeded: Any, seeded_registry: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(NotFoundError, match=r"cannot serve bc@canary"):
        serve(ServeOptions("bc", canary_alias="canary", canary_weight=0.1, port=0), registry=seeded_registry)
    monkeypatch.setenv("MLGATE_REGISTRY", seeded.url)
    monkeypatch.setenv("MLGATE_ARTIFACTS", str(seeded.artifacts))
    assert main(["serve", "bc", "--shadow-alias", "shadow", "--port", "0"]) == 2
    assert "cannot serve bc@shadow" in capsys.readouterr().err


# -- shadow ---------------------------------------------------------------------------------------------


def test_the_shadow_scores_every_request_off_the_response_path(
    start_server: Any, seeded: Any, seeded_registry: Any
) -> None:
    seeded_registry.set_alias("bc", "shadow", 2)
    server = start_server(shadow_alias="shadow")
    wait_for(lambda: server.app.state.shadow.current is not None)
    starts = range(0, 300, 10)
    with httpx.Client(base_url=server.base) as http:
        for start in starts:
            r = http.post("/predict", json=records(seeded, start, 10))
            assert r.status_code == 200 and r.headers[VERSION_HEADER] == "bc:1"
    wait_for(lambda: server.metrics.value("mlgate_serve_shadow_requests_total", {"outcome": "scored"}) == len(starts))
    rows = seeded.X.iloc[:300]
    same = int((seeded.models[1].predict(rows) == seeded.models[2].predict(rows)).sum())
    labels = {"version": "bc:1", "shadow_version": "bc:2"}
    assert server.metrics.value("mlgate_serve_shadow_predictions_total", {**labels, "outcome": "agree"}) == same
    assert (
        server.metrics.value("mlgate_serve_shadow_predictions_total", {**labels, "outcome": "disagree"}) == 300 - same
    )
    assert server.metrics.value("mlgate_serve_shadow_agreement") == pytest.approx(same / 300)
    assert 0 < same < 300  # the two versions really differ on some rows


def test_a_failing_shadow_never_fails_a_response(start_server: Any, seeded: Any, seeded_registry: Any) -> None:
    from sklearn.linear_model import LogisticRegression

    import mlgate

    narrow = seeded.X.iloc[:, :5]  # a version that takes other columns: every mirrored request is refused by it
    mv = mlgate.log_model(
        LogisticRegression(max_iter=500).fit(narrow, seeded.y),
        "bc",
        sample_input=narrow.head(),
        registry=seeded_registry,
    )
    seeded_registry.set_alias("bc", "shadow", mv.number)
    server = start_server(shadow_alias="shadow")
    wait_for(lambda: server.app.state.shadow.current is not None)
    with httpx.Client(base_url=server.base) as http:
        codes = [http.post("/predict", json=records(seeded, i)).status_code for i in range(10)]
    assert codes == [200] * 10
    wait_for(lambda: server.metrics.value("mlgate_serve_shadow_requests_total", {"outcome": "error"}) == 10)
    assert server.metrics.value("mlgate_serve_shadow_agreement") == 0.0
