"""GET /api/v1/events (clinic polling, optionally long-poll) and the admin's webhook settings and log."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field, HttpUrl
from starlette.concurrency import run_in_threadpool

from app.params import RowId
from app.deps import AdminOnly, ClinicOrAdmin, SessionDep
from app.errors import NotFound
from app.notify.service import CLINIC_EVENT_TYPES, event_body
from app.notify.webhooks import new_secret
from storage.models import Role
from storage.repositories import AuditRepository, DeliveryRepository, SiteRepository

router = APIRouter(prefix="/api/v1", tags=["notifications"])


class EventPage(BaseModel):
    events: list[dict[str, Any]]
    last_id: int


@router.get("/events", response_model=EventPage)
async def events(
    session: SessionDep, principal: ClinicOrAdmin,
    after: Annotated[int, Query(ge=0, le=2**63 - 1, description="last event id already seen")] = 0,
    wait: Annotated[float, Query(ge=0, le=30, description="long-poll up to this many seconds")] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> EventPage:
    """The site's events after ``after`` (report signed/amended, study returned/unreadable, critical notice)."""
    site = None if principal.role == Role.admin else principal.site_id
    deadline = asyncio.get_running_loop().time() + wait

    def fetch() -> list[dict[str, Any]]:
        try:
            return [event_body(e) for e in DeliveryRepository(session).events_after(site, after, limit,
                                                                                   CLINIC_EVENT_TYPES)]
        finally:
            session.rollback()  # hold no lock while waiting

    found = await run_in_threadpool(fetch)
    while not found and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.5)
        found = await run_in_threadpool(fetch)
    return EventPage(events=found, last_id=found[-1]["id"] if found else after)


class WebhookIn(BaseModel):
    url: HttpUrl | None = Field(None, description="null switches webhooks off")


class WebhookOut(BaseModel):
    url: str | None
    secret: str | None = Field(None, description="shown once when set; verify signatures with it")


class DeliveryOut(BaseModel):
    id: int
    event_id: int
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    last_status_code: int | None
    last_error: str
    delivered_at: dt.datetime | None


@router.put("/admin/sites/{site_id}/webhook", response_model=WebhookOut)
def set_webhook(site_id: RowId, body: WebhookIn, session: SessionDep, admin: AdminOnly) -> WebhookOut:
    """Set (or clear) the site's webhook URL; a new signing secret is generated and shown once."""
    site = SiteRepository(session).get(site_id)
    if site is None:
        raise NotFound("no such site")
    site.webhook_url = str(body.url) if body.url else None
    site.webhook_secret = new_secret() if body.url else None
    AuditRepository(session).add(actor=admin.actor, actor_site_id=admin.site_id, action="site.webhook_set",
                                 object_type="site", object_id=str(site_id))
    return WebhookOut(url=site.webhook_url, secret=site.webhook_secret)


@router.get("/admin/sites/{site_id}/webhook-deliveries", response_model=list[DeliveryOut])
def deliveries(site_id: RowId, session: SessionDep, _: AdminOnly) -> list[DeliveryOut]:
    """The delivery log: every webhook sent to this site, with attempts and errors."""
    return [DeliveryOut(id=d.id, event_id=d.event_id, status=d.status, attempts=d.attempts,
                        next_attempt_at=d.next_attempt_at, last_status_code=d.last_status_code,
                        last_error=d.last_error, delivered_at=d.delivered_at)
            for d in DeliveryRepository(session).deliveries_for_site(site_id)]
