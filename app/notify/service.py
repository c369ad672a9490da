"""Recording events and queueing their webhook deliveries in the same transaction as the change.

The event and its delivery rows commit with the signature (outbox pattern):
a report is never signed without its notification on record, and a
notification is never sent for a signature that rolled back. Payloads carry
ids and links only, no patient data: the clinic fetches the report with its
own credentials.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from storage.models import Event, Site, Study, WebhookDelivery, utcnow_aware
from storage.repositories import DeliveryRepository, SiteRepository

#: What a clinic hears about (the polling feed and webhooks).
CLINIC_EVENT_TYPES = ("report.signed", "report.amended", "study.returned", "study.unreadable", "notice.raised")
#: What the readers' live stream announces: a study (re)entered the reading queue, with its priority.
#: Kept off the clinic's feed and webhooks; the readers' stream (app.reading.stream) reads them.
READER_EVENT_TYPES = ("study.queued",)
EVENT_TYPES = CLINIC_EVENT_TYPES + READER_EVENT_TYPES


def emit(session: Session, study: Study, type_: str, **data: Any) -> Event:
    """Append an event for ``study``'s site and queue its webhook delivery if the site has one
    (clinic event types only)."""
    assert type_ in EVENT_TYPES, type_
    repo = DeliveryRepository(session)
    payload = {"type": type_, "study_id": str(study.id), "data": data,
               "links": {"study": f"/api/v1/studies/{study.id}", "report": f"/api/v1/studies/{study.id}/report"}}
    event = repo.add_event(Event(site_id=study.site_id, study_id=study.id, type=type_, created_at=utcnow_aware(),
                                 payload=payload))
    site: Site | None = SiteRepository(session).get(study.site_id)
    if site is not None and site.webhook_url and type_ in CLINIC_EVENT_TYPES:
        repo.add_delivery(WebhookDelivery(event_id=event.id, site_id=site.id, url=site.webhook_url,
                                          next_attempt_at=utcnow_aware()))
    return event


def event_body(event: Event) -> dict[str, Any]:
    return {"id": event.id, "created_at": event.created_at.isoformat(), **event.payload}


def announce_queued(session: Session, study: Study, reason: str) -> Event:
    """Tell the readers' live stream that ``study`` is waiting for a read (``reason``: new, changed, requeued)."""
    return emit(session, study, "study.queued", priority=study.priority.value,
                pool=study.pool.value if study.pool else None, reason=reason)
