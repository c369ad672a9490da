"""Append-only audit events."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import AuditEvent


class AuditRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(
        self,
        *,
        actor: str,
        actor_site_id: int | None,
        action: str,
        object_type: str,
        object_id: str,
        detail: dict[str, Any] | None = None,
    ) -> AuditEvent:
        """Record one event in the current transaction (it commits or rolls back with the change)."""
        event = AuditEvent(
            actor=actor,
            actor_site_id=actor_site_id,
            action=action,
            object_type=object_type,
            object_id=object_id,
            detail=detail or {},
        )
        self.session.add(event)
        return event

    def for_object(self, object_type: str, object_id: str) -> list[AuditEvent]:
        stmt = (
            select(AuditEvent)
            .where(AuditEvent.object_type == object_type, AuditEvent.object_id == object_id)
            .order_by(AuditEvent.id)
        )
        return list(self.session.scalars(stmt))

    def actions_since(self, object_type: str, object_id: str, action: str, since: dt.datetime,
                      limit: int = 200) -> list[AuditEvent]:
        """The first ``limit`` events of one action on one object at or after ``since``, oldest first
        (bounded: a page polling every few seconds writes many of them)."""
        stmt = (
            select(AuditEvent)
            .where(AuditEvent.object_type == object_type, AuditEvent.object_id == object_id,
                   AuditEvent.action == action, AuditEvent.at >= since)
            .order_by(AuditEvent.id)
            .limit(limit)
        )
        return list(self.session.scalars(stmt))
