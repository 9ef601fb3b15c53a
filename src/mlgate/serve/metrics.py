"""Prometheus metrics of one server, in a registry of its own (two apps in one process never collide)."""

from __future__ import annotations

from typing import Any

# request latencies of a small tabular model sit around a millisecond; the buckets resolve that range
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class ServeMetrics:
    """Requests, latency, errors, in-flight requests, the served version, swaps and swap failures."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

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
        self.in_flight = Gauge("mlgate_serve_in_flight_requests", "Requests being handled.", registry=self.registry)
        self.model_info = Gauge(
            "mlgate_serve_model_info",
            "The version being served (value 1), with its alias, digest and semantic version.",
            ("name", "alias", "version", "digest", "semver"),
            registry=self.registry,
        )
        self.ready = Gauge("mlgate_serve_ready", "1 once a model is loaded and serving.", registry=self.registry)
        self.swaps = Counter(
            "mlgate_serve_swaps", "Versions swapped in, by how (load or retained).", ("how",), registry=self.registry
        )
        self.swap_failures = Counter(
            "mlgate_serve_swap_failures",
            "Versions that were not swapped in, by stage (resolve, verify, load, warmup).",
            ("stage",),
            registry=self.registry,
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

    def serving(self, name: str, alias: str, version: str, digest: str, semver: str) -> None:
        """Record which version now serves."""
        self.model_info.clear()
        self.model_info.labels(name, alias, version, digest, semver).set(1)
        self.ready.set(1)

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def value(self, name: str, labels: dict[str, Any] | None = None) -> float:
        """One sample's value (0 when absent), for tests and the CLI."""
        got = self.registry.get_sample_value(name, labels or {})
        return float(got) if got is not None else 0.0
