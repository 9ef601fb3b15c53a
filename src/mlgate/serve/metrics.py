"""Prometheus metrics of one server, in a registry of its own (two apps in one process never collide).

With several workers (``mlgate serve --workers N``) each worker is a process of its own: ``serve`` points
``PROMETHEUS_MULTIPROC_DIR`` at a temporary folder before the workers start, every worker writes its
values there, and ``/metrics`` in any worker reads them all (prometheus_client's multiprocess mode), so a
scrape sees the whole server. Gauges then say how the workers' values combine: in-flight requests and
queued log records add up, the server is ready when every live worker is, a version is held (1) when
any live worker holds it, and the shadow agreement share is reported per worker (a ``pid`` label).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# request latencies of a small tabular model sit around a millisecond; the buckets resolve that range
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class ServeMetrics:
    """Requests, latency, errors, in-flight requests, served versions, swaps, canary, shadow, batches, the log."""

    def __init__(self, multiprocess_dir: Path | None = None) -> None:
        """``multiprocess_dir``: the folder the workers share (PROMETHEUS_MULTIPROC_DIR, already set in the
        environment when prometheus_client was imported); None for a single process."""
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.multiprocess_dir = multiprocess_dir
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ("route", "version", "status")
        self.requests = Counter(
            "mlgate_serve_requests", "Requests by route, model version and status.", labels, registry=self.registry
        )
        self.latency = Histogram(
            "mlgate_serve_request_duration_seconds",
            "Request latency by route, model version and status.",
            labels,
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "mlgate_serve_errors",
            "Failed requests by route, model version and kind (client: bad input; model: the model raised; "
            "unavailable: no model loaded).",
            ("route", "version", "kind"),
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "mlgate_serve_in_flight_requests",
            "Requests being handled.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.model_info = Gauge(
            "mlgate_serve_model_info",
            "The version each followed alias holds (value 1), with its digest and semantic version.",
            ("name", "alias", "version", "digest", "semver"),
            registry=self.registry,
            multiprocess_mode="livemax",
        )
        self._info_labels: dict[str, tuple[str, ...]] = {}
        self.ready = Gauge(
            "mlgate_serve_ready",
            "1 once a model is loaded and serving (in every worker).",
            registry=self.registry,
            multiprocess_mode="livemin",
        )
        self.swaps = Counter(
            "mlgate_serve_swaps",
            "Versions swapped in, by alias and how (load or retained).",
            ("alias", "how"),
            registry=self.registry,
        )
        self.swap_failures = Counter(
            "mlgate_serve_swap_failures",
            "Versions that were not swapped in, by alias and stage (resolve, verify, load, warmup).",
            ("alias", "stage"),
            registry=self.registry,
        )
        self.routed = Counter(
            "mlgate_serve_routed",
            "Scored requests by variant (primary or canary) and the version that served them.",
            ("variant", "version"),
            registry=self.registry,
        )
        self.shadow = Counter(
            "mlgate_serve_shadow_predictions",
            "Rows the shadow version scored, by outcome: agree or disagree with the served prediction.",
            ("version", "shadow_version", "outcome"),
            registry=self.registry,
        )
        self.shadow_requests = Counter(
            "mlgate_serve_shadow_requests",
            "Mirrored requests by outcome: scored, error (the shadow raised or refused the input), skipped "
            "(the shadow queue was full or nothing is loaded).",
            ("outcome",),
            registry=self.registry,
        )
        self.shadow_agreement = Gauge(
            "mlgate_serve_shadow_agreement",
            "Share of the rows scored by the shadow whose prediction equals the served one (since start).",
            registry=self.registry,
            multiprocess_mode="liveall",
        )
        self._agree = 0
        self._compared = 0
        self.batch_size = Histogram(
            "mlgate_serve_batch_size",
            "Rows per predict call when adaptive batching is on.",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.batch_requests = Histogram(
            "mlgate_serve_batch_requests",
            "Requests per predict call when adaptive batching is on.",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.log_dropped = Counter(
            "mlgate_prediction_log_dropped",
            "Prediction-log records dropped, by reason (queue_full, write_error).",
            ("reason",),
            registry=self.registry,
        )
        self.log_written = Counter(
            "mlgate_prediction_log_written", "Prediction-log records written to Parquet.", registry=self.registry
        )
        self.log_queue = Gauge(
            "mlgate_prediction_log_queued",
            "Records waiting in the prediction-log queue.",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.registry_errors = Counter(
            "mlgate_serve_registry_errors",
            "Polls of the alias that could not reach the registry (the loaded version keeps serving).",
            registry=self.registry,
        )

    def observe(self, route: str, version: str, status: int, seconds: float) -> None:
        """Count one finished request."""
        code = str(status)
        self.requests.labels(route, version, code).inc()
        self.latency.labels(route, version, code).observe(seconds)

    def error(self, route: str, version: str, kind: str) -> None:
        """Count one failed request of ``kind`` (client, model, unavailable)."""
        self.errors.labels(route, version, kind).inc()

    def serving(self, name: str, alias: str, version: str, digest: str, semver: str, *, primary: bool = True) -> None:
        """Record which version ``alias`` now holds; the primary alias also makes the server ready."""
        self._drop_info(alias)
        self._info_labels[alias] = (name, alias, version, digest, semver)
        self.model_info.labels(name, alias, version, digest, semver).set(1)
        if primary:
            self.ready.set(1)

    def unserving(self, alias: str) -> None:
        """``alias`` holds nothing any more (a canary or shadow alias was deleted)."""
        self._drop_info(alias)

    def _drop_info(self, alias: str) -> None:
        old = self._info_labels.pop(alias, None)
        if old is None:
            return
        if self.multiprocess_dir is None:
            self.model_info.remove(*old)
        else:  # the shared files cannot forget a series: it drops to 0 (livemax: still 1 if another worker holds it)
            self.model_info.labels(*old).set(0)

    def compared(self, version: str, shadow_version: str, agree: int, disagree: int) -> None:
        """Count the rows a shadow agreed and disagreed on, and update the agreement share."""
        self.shadow.labels(version, shadow_version, "agree").inc(agree)
        self.shadow.labels(version, shadow_version, "disagree").inc(disagree)
        self._agree += agree
        self._compared += agree + disagree
        if self._compared:
            self.shadow_agreement.set(self._agree / self._compared)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        if self.multiprocess_dir is None:
            return generate_latest(self.registry), CONTENT_TYPE_LATEST
        from prometheus_client.multiprocess import MultiProcessCollector

        every_worker = CollectorRegistry()
        MultiProcessCollector(every_worker, path=str(self.multiprocess_dir))
        return generate_latest(every_worker), CONTENT_TYPE_LATEST

    def worker_stopped(self) -> None:
        """Forget this worker's live gauges (in-flight, ready, held versions) in the shared folder."""
        if self.multiprocess_dir is not None:
            import os

            from prometheus_client.multiprocess import mark_process_dead

            mark_process_dead(os.getpid(), str(self.multiprocess_dir))

    def value(self, name: str, labels: dict[str, Any] | None = None) -> float:
        """One sample's value (0 when absent), for tests and the CLI."""
        got = self.registry.get_sample_value(name, labels or {})
        return float(got) if got is not None else 0.0
