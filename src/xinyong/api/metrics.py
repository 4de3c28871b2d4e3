"""Prometheus metrics: on `/metrics` for admin keys, or on a port of their own (`XINYONG_METRICS_PORT`).

Two kinds. What a process sees happen (requests by route and status with latency histograms,
checks by context and outcome, the depth of its commit queue) is counted in the process; under
`xinyong serve` every worker counts into files of a shared directory (prometheus-client's
multiprocess mode, `PROMETHEUS_MULTIPROC_DIR`), so any worker, and the metrics port, answers for
all of them. What the store holds (rows ingested, the audit chain, overdue objections and
repairs, notices pending and dead, scheduled jobs) is read from the store at the scrape, at most
once every `STORE_TTL_S`, so every replica shows the store's own numbers whoever did the work.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine

from xinyong.api import errors
from xinyong.api.deps import guard
from xinyong.services.context import AppContext
from xinyong.services.keys import Principal

log = logging.getLogger("xinyong.metrics")
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
STORE_TTL_S = 10.0
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Counter(
    "xinyong_http_requests", "HTTP requests answered, by method, route and status.", ["method", "route", "status"]
)
LATENCY = Histogram(
    "xinyong_http_request_duration_seconds",
    "Time to answer a request, by method and route.",
    ["method", "route"],
    buckets=BUCKETS,
)
CHECKS = Counter("xinyong_checks", "Checks decided and stored, by context and outcome.", ["context", "outcome"])
COMMIT_QUEUE = Gauge(
    "xinyong_commit_queue_depth",
    "Checks waiting for the group committer, summed over live processes.",
    multiprocess_mode="livesum",
)

router = APIRouter(tags=["operations"], responses=errors.RESPONSES)


def observe_request(method: str, route: str, status: int, elapsed: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(elapsed)


def observe_check(context: str, outcome: str) -> None:
    CHECKS.labels(context, outcome).inc()


def queue_depth(ctx: AppContext) -> None:
    """Set the commit queue's depth after each request: it is 0 again once the last is answered."""
    COMMIT_QUEUE.set(ctx.check_queue_depth)


def process_ended() -> None:
    """In multiprocess mode, drop this process's live gauges (its queue is no more)."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


class StoreCollector(Collector):
    """The store's figures as metric families, read at most every `STORE_TTL_S` seconds."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._cached: tuple[float, list[Metric]] | None = None

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            if self._cached is None or time.monotonic() - self._cached[0] > STORE_TTL_S:
                self._cached = (time.monotonic(), list(self._read()))
            yield from self._cached[1]

    def _read(self) -> Iterable[Metric]:
        from xinyong.services.figures import store_figures

        up = GaugeMetricFamily("xinyong_store_up", "1 when the store answered the last scrape's queries.")
        try:
            f = store_figures(self.engine, datetime.now(UTC))
        except Exception as exc:  # noqa: BLE001 - a scrape reports the store down rather than fail
            log.warning("the store did not answer the metrics' queries: %s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        rows = CounterMetricFamily(
            "xinyong_ingest_rows", "Rows of department files ingested, by outcome.", labels=["outcome"]
        )
        for outcome, n in f["ingest_rows"].items():
            rows.add_metric([outcome], n)
        yield rows
        yield GaugeMetricFamily(
            "xinyong_audit_chain_length", "Events in the hash-chained audit log.", value=f["audit_events"]
        )
        last = f["audit_last_event_at"]
        if last is not None:
            yield GaugeMetricFamily(
                "xinyong_audit_last_event_timestamp_seconds",
                "When the last audit event was appended.",
                value=last.timestamp(),
            )
        checkpoint = next((j for j in f["jobs"] if j["name"] == "audit-checkpoint" and j["finished_at"]), None)
        if checkpoint is not None and checkpoint["outcome"] == "ok":
            yield GaugeMetricFamily(
                "xinyong_audit_last_checkpoint_timestamp_seconds",
                "When the audit chain was last checkpointed by a scheduled run.",
                value=checkpoint["finished_at"].timestamp(),
            )
        for name, help_ in (
            ("overdue_objections", "Objections not decided by their deadline."),
            ("overdue_repairs", "Credit repair requests not decided by their deadline."),
            ("open_objections", "Objections awaiting a decision."),
            ("open_repairs", "Credit repair requests awaiting a decision."),
        ):
            yield GaugeMetricFamily(f"xinyong_{name}", help_, value=f[name])
        notices = GaugeMetricFamily("xinyong_notices", "Notices by delivery state.", labels=["state"])
        for state, n in f["notices"].items():
            notices.add_metric([state], n)
        yield notices
        yield from _job_families(f["jobs"])


def _job_families(jobs: list[dict[str, object]]) -> Iterator[Metric]:
    last_ok = GaugeMetricFamily(
        "xinyong_job_last_success_timestamp_seconds", "When a scheduled job last ended well.", labels=["job"]
    )
    failing = GaugeMetricFamily("xinyong_job_failing", "1 when a scheduled job's last run failed.", labels=["job"])
    for j in jobs:
        finished = j["finished_at"]
        if j["outcome"] == "ok" and isinstance(finished, datetime):
            last_ok.add_metric([str(j["name"])], finished.timestamp())
        failing.add_metric([str(j["name"])], 1 if j["outcome"] == "failed" else 0)
    yield last_ok
    yield failing


def exposition(store: StoreCollector) -> bytes:
    """Every metric in Prometheus' text format: the processes' (of every worker, in
    multiprocess mode) followed by the store's."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes)  # type: ignore[no-untyped-call]
    else:
        processes = REGISTRY
    stored = CollectorRegistry(auto_describe=False)
    stored.register(store)
    return generate_latest(processes) + generate_latest(stored)


@router.get(
    "/metrics",
    name="metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus' text format."}},
)
def metrics(request: Request, _: Annotated[Principal, Depends(guard("metrics"))]) -> Response:
    """Metrics of the server's processes and of the store, for Prometheus (admin keys)."""
    return Response(exposition(request.app.state.store_metrics), media_type=CONTENT_TYPE_LATEST)


def start_metrics_server(host: str, port: int, engine: Engine) -> Any:
    """Serve every metric on a port of its own from a thread of this process; the server."""
    from prometheus_client import start_http_server

    class Everything(Collector):
        def __init__(self) -> None:
            self.store = StoreCollector(engine)

        def collect(self) -> Iterator[Metric]:
            from prometheus_client.parser import text_string_to_metric_families

            yield from text_string_to_metric_families(exposition(self.store).decode())

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Everything())
    server, _ = start_http_server(port, addr=host, registry=registry)
    return server
