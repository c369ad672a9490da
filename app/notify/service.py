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

EVENT_TYPES = ("report.signed", "report.amended", "study.returned", "study.unreadable", "notice.raised")


def emit(session: Session, study: Study, type_: str, **data: Any) -> Event:
    """Append an event for ``study``'s site and queue its webhook delivery if the site has one."""
    assert type_ in EVENT_TYPES, type_
    repo = DeliveryRepository(session)
    payload = {"type": type_, "study_id": str(study.id), "data": data,
               "links": {"study": f"/api/v1/studies/{study.id}", "report": f"/api/v1/studies/{study.id}/report"}}
    event = repo.add_event(Event(site_id=study.site_id, study_id=study.id, type=type_, created_at=utcnow_aware(),
                                 payload=payload))
    site: Site | None = SiteRepository(session).get(study.site_id)
    if site is not None and site.webhook_url:
        repo.add_delivery(WebhookDelivery(event_id=event.id, site_id=site.id, url=site.webhook_url,
                                          next_attempt_at=utcnow_aware()))
    return event


def event_body(event: Event) -> dict[str, Any]:
    return {"id": event.id, "created_at": event.created_at.isoformat(), **event.payload}
