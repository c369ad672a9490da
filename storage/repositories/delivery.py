"""Share links, the event log and webhook deliveries."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Event, ShareLink, WebhookDelivery


class DeliveryRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- share links ------------------------------------------------------------------
    def add_link(self, link: ShareLink) -> ShareLink:
        self.session.add(link)
        self.session.flush()
        return link

    def link_by_hash(self, token_hash: str) -> ShareLink | None:
        return self.session.scalar(select(ShareLink).where(ShareLink.token_hash == token_hash))

    def link(self, link_id: int) -> ShareLink | None:
        return self.session.get(ShareLink, link_id)

    def links_for_study(self, study_id: uuid.UUID) -> list[ShareLink]:
        stmt = select(ShareLink).where(ShareLink.study_id == study_id).order_by(ShareLink.id.desc())
        return list(self.session.scalars(stmt))

    # -- events -----------------------------------------------------------------------
    def add_event(self, event: Event) -> Event:
        self.session.add(event)
        self.session.flush()
        return event

    def events_after(self, site_id: int | None, after_id: int, limit: int,
                     types: Sequence[str] | None = None) -> list[Event]:
        """Events after ``after_id`` (of one site, of the given types when set), oldest first."""
        stmt = select(Event).where(Event.id > after_id).order_by(Event.id).limit(limit)
        if site_id is not None:
            stmt = stmt.where(Event.site_id == site_id)
        if types is not None:
            stmt = stmt.where(Event.type.in_(list(types)))
        return list(self.session.scalars(stmt))

    def last_event_id(self) -> int:
        """The newest event's id (0 when there is none): where a new listener starts."""
        return int(self.session.scalar(select(func.max(Event.id))) or 0)

    def event(self, event_id: int) -> Event | None:
        return self.session.get(Event, event_id)

    # -- webhooks ---------------------------------------------------------------------
    def add_delivery(self, delivery: WebhookDelivery) -> None:
        self.session.add(delivery)
        self.session.flush()

    def due_deliveries(self, now: dt.datetime, limit: int = 20) -> list[WebhookDelivery]:
        """Pending deliveries whose time has come, locked so that two dispatchers never send one twice."""
        stmt = (
            select(WebhookDelivery)
            .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now)
            .order_by(WebhookDelivery.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(self.session.scalars(stmt))

    def deliveries_for_site(self, site_id: int, limit: int = 200) -> list[WebhookDelivery]:
        stmt = (
            select(WebhookDelivery).where(WebhookDelivery.site_id == site_id)
            .order_by(WebhookDelivery.id.desc()).limit(limit)
        )
        return list(self.session.scalars(stmt))
