"""The admin's live queue: what is waiting, for how long against its due time, and who holds what.

Also the admin's requeue: end a reader's open claim and put the study back in
the queue (reassigning to a named reader is ``POST /api/v1/admin/claims/{id}/reassign``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.orm import Session

from app.admin.schemas import QueueDepthOut, QueueOut, QueueStudyOut
from app.admin.stats import sla_minutes
from app.auth.principal import Principal
from app.errors import NotFound
from app.reading import claims
from app.settings import Settings
from storage.models import Claim, Urgency, utcnow_aware
from storage.repositories import LiveQueueRepository, ReadingRepository


def _age(now: dt.datetime, since: dt.datetime | None) -> float | None:
    """Seconds from ``since`` to ``now`` (one decimal), None when there is no ``since``."""
    return None if since is None else round((now - since).total_seconds(), 1)


def _study(row: dict[str, Any], now: dt.datetime) -> QueueStudyOut:
    due = row["due_at"]
    overdue = _age(now, due) if due is not None and due < now else None
    return QueueStudyOut(
        study_id=row["study_id"], site_id=row["site_id"], site_name=row["site_name"],
        priority=Urgency(row["priority"]).value, status=str(getattr(row["status"], "value", row["status"])),
        pool=None if row["pool"] is None else str(getattr(row["pool"], "value", row["pool"])),
        received_at=row["received_at"], due_at=due, waiting_s=_age(now, row["received_at"]) or 0.0,
        overdue_s=overdue, claim_id=row["claim_id"], reader_id=row["reader_id"], reader_name=row["reader_name"],
        claimed_at=row["claimed_at"], claim_age_s=_age(now, row["claimed_at"]), lease_until=row["lease_until"])


def live_queue(session: Session, settings: Settings, limit: int, now: dt.datetime | None = None) -> QueueOut:
    """Waiting studies, most urgent first (at most ``limit``), and the depth per priority (all of them)."""
    now = now or utcnow_aware()
    repo = LiveQueueRepository(session)
    rows = repo.waiting(limit + 1)
    depth = {Urgency(d["priority"]): d for d in repo.depth(now)}
    sla = sla_minutes(settings)
    return QueueOut(
        now=now, truncated=len(rows) > limit, studies=[_study(r, now) for r in rows[:limit]],
        depth=[QueueDepthOut(priority=p.value, sla_min=sla[p], waiting=depth.get(p, {}).get("waiting", 0),
                             overdue=depth.get(p, {}).get("overdue", 0)) for p in (Urgency.stat, Urgency.urgent,
                                                                                   Urgency.routine)])


def requeue(session: Session, admin: Principal, claim_id: int) -> Claim:
    """End an open claim (outcome ``revoked``, audited with the reason) and put its study back in the
    queue, where the next eligible reader takes it in priority order."""
    claim = ReadingRepository(session).get_claim(claim_id, lock=True)
    if claim is None or claim.ended_at is not None:
        raise NotFound("no such open claim")
    claims.revoke(session, claim, admin, "requeued_by_admin")
    session.flush()
    return claim
