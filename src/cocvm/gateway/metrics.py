"""Prometheus metrics: requests by route and status, request latency, and store errors.

With several worker processes, `cocvm serve` points PROMETHEUS_MULTIPROC_DIR at a fresh folder
before the workers start, and `/metrics` adds up every worker's numbers from there.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

REQUESTS = Counter(
    "cocvm_requests_total", "Requests answered, by route and HTTP status.", ["route", "status"]
)
LATENCY = Histogram(
    "cocvm_request_duration_seconds",
    "Time from receiving a request to sending its reply, by route.",
    ["route"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
STORE_ERRORS = Counter(
    "cocvm_store_errors_total", "Requests that failed because the catalog store was unavailable."
)
REDIS_ERRORS = Counter(
    "cocvm_redis_errors_total", "Requests that failed because Redis was unavailable."
)


class RequestMetrics:
    """Records one request's route, status and latency, with label children bound once."""

    def __init__(self) -> None:
        self._counters: dict[tuple[str, int], Counter] = {}
        self._histograms: dict[str, Histogram] = {}

    def observe(self, route: str, status: int, seconds: float) -> None:
        counter = self._counters.get((route, status))
        if counter is None:
            counter = REQUESTS.labels(route=route, status=str(status))
            self._counters[(route, status)] = counter
        counter.inc()
        histogram = self._histograms.get(route)
        if histogram is None:
            histogram = LATENCY.labels(route=route)
            self._histograms[route] = histogram
        histogram.observe(seconds)


def render_metrics() -> tuple[bytes, str]:
    """Return the metrics in Prometheus' text format and its content type."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(), CONTENT_TYPE_LATEST
