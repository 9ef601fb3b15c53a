"""Server metrics: what a Prometheus scrape sees, in one process and across worker processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from mlgate.serve.metrics import ServeMetrics


def _samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition text by (name, sorted labels)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text.decode())
        for s in family.samples
    }


def test_requests_latency_and_errors_are_counted_by_route_version_and_status() -> None:
    m = ServeMetrics()
    m.observe("/predict", "3", 200, 0.0015)
    m.observe("/predict", "3", 200, 0.004)
    m.observe("/predict", "3", 400, 0.0002)
    m.error("/predict", "3", "client")
    labels = {"route": "/predict", "version": "3", "status": "200"}
    assert m.value("mlgate_serve_requests_total", labels) == 2
    assert m.value("mlgate_serve_request_duration_seconds_count", labels) == 2
    assert m.value("mlgate_serve_request_duration_seconds_sum", labels) == 0.0055
    # the 2 ms bucket holds the 1.5 ms request, not the 4 ms one
    assert m.value("mlgate_serve_request_duration_seconds_bucket", {**labels, "le": "0.002"}) == 1
    assert m.value("mlgate_serve_errors_total", {"route": "/predict", "version": "3", "kind": "client"}) == 1
    assert m.value("mlgate_serve_requests_total", {**labels, "status": "500"}) == 0  # absent reads as 0


def test_the_held_version_is_one_series_per_alias_and_readiness_follows_the_primary() -> None:
    m = ServeMetrics()
    assert m.value("mlgate_serve_ready") == 0
    m.serving("bc", "canary", "4", "blake3:44", "1.1.0-rc.4", primary=False)
    assert m.value("mlgate_serve_ready") == 0  # a canary alone does not make the server ready
    m.serving("bc", "production", "3", "blake3:33", "1.0.0")
    m.serving("bc", "production", "5", "blake3:55", "1.2.0")  # a swap replaces the series
    body, content_type = m.render()
    assert content_type.startswith("text/plain")
    info = {
        dict(labels)["alias"]: (dict(labels)["version"], value)
        for (name, labels), value in _samples(body).items()
        if name == "mlgate_serve_model_info"
    }
    assert info == {"production": ("5", 1.0), "canary": ("4", 1.0)}
    assert m.value("mlgate_serve_ready") == 1
    m.unserving("canary")
    held = [dict(labels)["alias"] for (name, labels), _ in _samples(m.render()[0]).items() if name.endswith("_info")]
    assert held == ["production"]


def test_shadow_agreement_is_the_share_of_every_row_compared_since_start() -> None:
    m = ServeMetrics()
    m.compared("3", "4", agree=9, disagree=1)
    m.compared("3", "4", agree=1, disagree=9)
    assert m.value("mlgate_serve_shadow_agreement") == 0.5
    rows = {"version": "3", "shadow_version": "4"}
    assert m.value("mlgate_serve_shadow_predictions_total", {**rows, "outcome": "disagree"}) == 10


def test_two_servers_in_one_process_keep_their_own_counts() -> None:
    a, b = ServeMetrics(), ServeMetrics()
    a.log_dropped.labels("queue_full").inc(3)
    assert a.value("mlgate_prediction_log_dropped_total", {"reason": "queue_full"}) == 3
    assert b.value("mlgate_prediction_log_dropped_total", {"reason": "queue_full"}) == 0


WORKER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from mlgate.serve.metrics import ServeMetrics

    m = ServeMetrics(Path(sys.argv[1]))
    for _ in range(int(sys.argv[2])):
        m.observe("/predict", "3", 200, 0.001)
    m.in_flight.inc(int(sys.argv[3]))
    m.serving("bc", "production", "3", "blake3:33", "1.0.0")
    if sys.argv[4] == "stop":
        m.worker_stopped()
    """
)


def _worker(folder: Path, requests: int, in_flight: int, stop: str) -> None:
    env = {"PROMETHEUS_MULTIPROC_DIR": str(folder), "PATH": "/usr/bin:/bin"}
    cmd = [sys.executable, "-c", WORKER, str(folder), str(requests), str(in_flight), stop]
    subprocess.run(cmd, env=env, check=True, timeout=120)


def test_a_scrape_of_any_worker_sees_the_whole_server(tmp_path: Path) -> None:
    """Counters add up over workers; a stopped worker's live gauges (in flight, ready) leave the scrape."""
    _worker(tmp_path, requests=2, in_flight=1, stop="keep")
    _worker(tmp_path, requests=3, in_flight=4, stop="stop")
    samples = _samples(ServeMetrics(tmp_path).render()[0])
    labels = (("route", "/predict"), ("status", "200"), ("version", "3"))
    assert samples[("mlgate_serve_requests_total", labels)] == 5
    assert samples[("mlgate_serve_in_flight_requests", ())] == 1  # the stopped worker's 4 are gone
    assert samples[("mlgate_serve_ready", ())] == 1
