"""Prometheus metrics of the HTTP service (prometheus-client).

* ``shopmind_http_request_duration_seconds{method,route}`` — latency histogram per route *template*
  (``/items/{item_id}``, never the concrete path, so label cardinality stays bounded);
* ``shopmind_http_requests_total{method,route,status}``;
* ``shopmind_model_version_info{run_id}`` — 1 for the serving run, 0 for runs this process served before;
* ``shopmind_training_duration_seconds{outcome}`` and ``shopmind_training_runs_total{outcome}``;
* ``shopmind_events_ingested_total{outcome}`` — inserted, duplicate, rejected;
* ``shopmind_query_log_dropped_total`` — search/click log rows dropped while the store was down
  (``shopmind.store.querylog``: the queue is bounded).

Each app has its own registry (tests build many apps). With several worker processes set
``PROMETHEUS_MULTIPROC_DIR`` (``shopmind serve --workers N`` does) and ``/metrics`` aggregates all of them.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.latency = Histogram(
            "shopmind_http_request_duration_seconds",
            "HTTP request latency by route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.requests = Counter(
            "shopmind_http_requests",
            "HTTP requests by route and status",
            ["method", "route", "status"],
            registry=r,
        )
        self.model_version = Gauge(
            "shopmind_model_version_info",
            "1 for the training run being served",
            ["run_id"],
            registry=r,
            multiprocess_mode="liveall",
        )
        self.model_loaded = Gauge(
            "shopmind_model_loaded_timestamp_seconds",
            "When the serving run was loaded (unix time)",
            registry=r,
            multiprocess_mode="liveall",
        )
        self.training_duration = Histogram(
            "shopmind_training_duration_seconds",
            "Duration of training runs",
            ["outcome"],
            buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600),
            registry=r,
        )
        self.training_runs = Counter(
            "shopmind_training_runs", "Training runs by outcome", ["outcome"], registry=r
        )
        self.events = Counter(
            "shopmind_events_ingested", "Events received by outcome", ["outcome"], registry=r
        )
        self.query_log_dropped = Counter(
            "shopmind_query_log_dropped",
            "Search/click log rows dropped because the store could not take them (queue full)",
            registry=r,
        )
        self._run_id: str | None = None

    def set_model(self, run_id: str | None, loaded_at: float) -> None:
        new = run_id or "none"
        if self._run_id is not None and self._run_id != new:
            # 0, not remove(): in multi-process mode a removed label lives on in the worker's file
            self.model_version.labels(run_id=self._run_id).set(0)
        self._run_id = new
        self.model_version.labels(run_id=self._run_id).set(1)
        self.model_loaded.set(loaded_at)

    def training(self, outcome: str, seconds: float | None) -> None:
        self.training_runs.labels(outcome=outcome).inc()
        if seconds is not None:
            self.training_duration.labels(outcome=outcome).observe(seconds)

    def render(self) -> tuple[bytes, str]:
        directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        registry: Any = self.registry
        if directory and os.path.isdir(directory):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
