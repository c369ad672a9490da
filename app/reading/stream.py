"""GET /api/v1/reader/stream: server-sent events announcing studies entering the reader's queue.

The source is the event log the clinics' long-poll reads (``events``, app.notify): analysis,
re-analysis and a requeue (put back, lapsed lease, revoked claim) append a ``study.queued``
event with the study's priority; this stream polls for those of studies the reader may read
(their pools and covered sites, checked on every poll) and sends each as one SSE message
(``id`` = event id, ``event: study.queued``, ``data`` = the event JSON, ids and priority only,
no patient data). A comment line is sent every ``reader_stream_heartbeat_s`` so proxies keep the
connection; the stream ends after ``reader_stream_max_s`` (or ``lifetime_s``, if shorter) with
an ``event: bye``, and the browser's EventSource reconnects with ``Last-Event-ID``, which
re-checks the login. Each poll is its own short read-only transaction: none is held open.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from app.auth.principal import Principal
from app.context import AppContext
from app.deps import CtxDep, ReaderOnly
from app.errors import InvalidRequest
from app.notify.service import event_body
from storage.db import read_only
from storage.repositories import DeliveryRepository, ReadingRepository

router = APIRouter(prefix="/api/v1", tags=["reading queue"])

#: How long (ms) the browser waits before reconnecting after the stream ends.
RETRY_MS = 3000
_MAX_ID = 2**63 - 1


@router.get("/reader/stream", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "server-sent events: study.queued, heartbeats, bye"}})
async def stream(
    request: Request, ctx: CtxDep, reader: ReaderOnly,
    after: Annotated[int | None, Query(ge=0, le=_MAX_ID, description="last event id already seen")] = None,
    lifetime_s: Annotated[float | None, Query(gt=0, le=3600, description="end sooner than the server's "
                                                                       "maximum (s)")] = None,
    last_event_id: Annotated[str | None, Header(max_length=20)] = None,
) -> StreamingResponse:
    """Announce studies (new, re-prioritised or put back) in this reader's queue as they arrive."""
    start = after if after is not None else _header_id(last_event_id)
    if start is None:
        start = await run_in_threadpool(_last_id, ctx)  # a new listener hears only what comes next
    lifetime = min(lifetime_s or ctx.settings.reader_stream_max_s, ctx.settings.reader_stream_max_s)
    return StreamingResponse(_messages(request, ctx, reader, start, lifetime), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _header_id(value: str | None) -> int | None:
    """The Last-Event-ID the browser sends on reconnecting; a clear 422 if it is not an event id."""
    if value is None or value == "":
        return None
    if not value.isdigit() or int(value) > _MAX_ID:
        raise InvalidRequest("Last-Event-ID must be an event id (a non-negative integer)")
    return int(value)


def _last_id(ctx: AppContext) -> int:
    with read_only(), ctx.session_factory() as session:
        try:
            return DeliveryRepository(session).last_event_id()
        finally:
            session.rollback()


def _fetch(ctx: AppContext, reader: Principal, after: int) -> list[dict[str, Any]]:
    """The reader's queue events after ``after``, as JSON bodies (one short read-only transaction)."""
    with read_only(), ctx.session_factory() as session:
        try:
            events = ReadingRepository(session).queue_events_after(reader.id, reader.reader_pools, after)
            return [event_body(e) for e in events]
        finally:
            session.rollback()


def sse(body: dict[str, Any]) -> str:
    """One SSE message: the event id, its type as the event name, the JSON body as data."""
    return f"id: {body['id']}\nevent: {body['type']}\ndata: {json.dumps(body, separators=(',', ':'))}\n\n"


async def _messages(request: Request, ctx: AppContext, reader: Principal, after: int,
                    lifetime_s: float) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    poll, beat = ctx.settings.reader_stream_poll_s, ctx.settings.reader_stream_heartbeat_s
    end = loop.time() + lifetime_s
    next_beat = loop.time() + beat
    yield f"retry: {RETRY_MS}\n: connected\n\n"
    while loop.time() < end:
        if await request.is_disconnected():
            return
        for body in await run_in_threadpool(_fetch, ctx, reader, after):
            after = body["id"]
            yield sse(body)
        if loop.time() >= next_beat:
            next_beat = loop.time() + beat
            yield ": heartbeat\n\n"
        await asyncio.sleep(min(poll, max(0.0, end - loop.time())))
    yield f"event: bye\ndata: {json.dumps({'last_id': after})}\n\n"
