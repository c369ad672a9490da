"""Liveness and readiness probes."""

from __future__ import annotations

import hmac
import socket
from collections.abc import Callable
from functools import partial

from fastapi import APIRouter, Request
from sqlalchemy import text

from fastapi import Response

from app.context import AppContext
from app.deps import CtxDep
from app.observability import OUTBOX_PENDING, OUTBOX_RETRYING, QUEUE_DEPTH, metrics_payload
from app.reading.views import queue_depth
from app.errors import Forbidden, ServiceUnavailable
from storage.repositories import OutboxRepository

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request, ctx: CtxDep) -> dict[str, str]:
    """Ready to take traffic: the database answers, the blob store is reachable, the broker
    accepts connections (broker mode), and the HL7 and DICOM listeners this process runs (when
    configured) accept connections on their ports."""
    checks: list[tuple[str, Callable[[], None]]] = [
        ("database", lambda: _ping_db(ctx)), ("blob store", ctx.blobs.check), ("broker", ctx.jobs.check)]
    for name, attr in (("HL7 listener", "hl7_listener"), ("DICOM listener", "dicom_listener")):
        listener = getattr(request.app.state, attr, None)
        if listener is not None:
            checks.append((name, partial(_accepts, listener.host, listener.port)))
    for name, check in checks:
        try:
            check()
        except Exception as exc:
            raise ServiceUnavailable(f"not ready: {name} unavailable ({type(exc).__name__})") from exc
    return {"status": "ready"}


def _accepts(host: str, port: int) -> None:
    """A TCP connection to a listener of this process opens within 1 s (an unspecified bind
    address is reached on loopback)."""
    with socket.create_connection(("127.0.0.1" if host in ("0.0.0.0", "::", "") else host, port), timeout=1.0):
        pass


def _ping_db(ctx: AppContext) -> None:
    with ctx.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def _may_scrape(request: Request, token: str) -> bool:
    """With a metrics token: only requests bearing it; without: only clients on this machine."""
    if token:
        sent = request.headers.get("authorization", "")
        return hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())
    return request.client is not None and request.client.host in ("127.0.0.1", "::1")


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, ctx: CtxDep) -> Response:
    """Prometheus metrics (no patient data, but the service's volumes and backlog): behind
    ``ECGHUB_METRICS_TOKEN``, or loopback only when no token is set."""
    if not _may_scrape(request, ctx.settings.metrics_token):
        raise Forbidden("metrics need the scrape token (ECGHUB_METRICS_TOKEN) as a Bearer token")
    with ctx.session_factory() as session:
        depth = queue_depth(session)
        outboxes = OutboxRepository(session).pending()
    for channel, (pending, retrying) in outboxes.items():
        OUTBOX_PENDING.labels(channel).set(pending)
        OUTBOX_RETRYING.labels(channel).set(retrying)
    for priority in ("stat", "urgent", "routine"):
        QUEUE_DEPTH.labels(priority).set(depth.get(priority, 0))
    ctx.admission.backlog(max_staleness_s=0)  # sets the analysis-backlog gauges
    body, content_type = metrics_payload()
    return Response(body, media_type=content_type)
