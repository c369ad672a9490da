"""Structured JSON logs with request ids, and Prometheus metrics.

Logs never carry patient data: only ids, routes, statuses and timings. With
several uvicorn workers, set PROMETHEUS_MULTIPROC_DIR so /metrics aggregates
all processes (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import contextvars
import logging
import os
import time
import uuid

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from pythonjsonlogger.json import JsonFormatter
from starlette.types import Message, Receive, Scope, Send

from app.middleware import HttpMiddleware

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

HTTP_SECONDS = Histogram("ecghub_http_request_seconds", "HTTP request duration", ["method", "route", "status"],
                         buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
UPLOADS = Counter("ecghub_uploads_total", "Upload outcomes", ["outcome"])
ANALYSIS_SECONDS = Histogram("ecghub_analysis_seconds", "Pipeline time per study",
                             buckets=(.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
CLAIM_SECONDS = Histogram("ecghub_claim_seconds", "Time to claim the next study",
                          buckets=(.002, .005, .01, .025, .05, .1, .25, .5, 1))
TURNAROUND_SECONDS = Histogram("ecghub_turnaround_seconds", "Received to first signed report", ["priority"],
                               buckets=(60, 300, 600, 1800, 3600, 4 * 3600, 12 * 3600, 24 * 3600, 72 * 3600))
BACKLOG_STUDIES = Gauge("ecghub_analysis_backlog_studies", "Studies stored and not yet analysed",
                        multiprocess_mode="max")
BACKLOG_AGE_SECONDS = Gauge("ecghub_analysis_backlog_age_seconds",
                            "Time since the oldest not-yet-analysed study was received", multiprocess_mode="max")
OUTBOX_PENDING = Gauge("ecghub_outbox_pending", "Result deliveries not yet acknowledged by their peer",
                       ["channel"], multiprocess_mode="max")
OUTBOX_RETRYING = Gauge("ecghub_outbox_retrying", "Pending deliveries that already failed at least once "
                        "(a peer down or refusing)", ["channel"], multiprocess_mode="max")
QUEUE_DEPTH = Gauge("ecghub_queue_depth", "Studies waiting for a read", ["priority"], multiprocess_mode="max")


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr: time, level, logger, message, request_id."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s"))
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("pika").setLevel(logging.WARNING)  # connection chatter, one line per open/close


class RequestContext(HttpMiddleware):
    """ASGI middleware: a request id per request (X-Request-ID in, echoed out) and request metrics."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")[:64]
        rid = incoming if incoming.replace("-", "").isalnum() else uuid.uuid4().hex
        token = request_id.set(rid)
        start, status = time.perf_counter(), 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", rid.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            HTTP_SECONDS.labels(scope["method"], path, str(status)).observe(time.perf_counter() - start)
            request_id.reset(token)


def metrics_payload() -> tuple[bytes, str]:
    """The exposition text; aggregated over processes when PROMETHEUS_MULTIPROC_DIR is set."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
