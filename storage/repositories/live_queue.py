"""The admin's live view of the reading queue: studies waiting for a report and the claims open on them.

No patient data: the admin acts on the queue (reassigns, requeues, phones a
reader), and a study is named by its clinic, priority and id.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from storage.models import Claim, Site, Study, User
from storage.repositories.stats import OPEN_STATUSES


class LiveQueueRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def waiting(self, limit: int) -> list[dict[str, Any]]:
        """Studies queued or in read, most urgent first (priority, then due time), each with its open
        claim if any: ``claim_id``, ``reader_id``, ``reader_name``, ``claimed_at``, ``lease_until``."""
        reader_name = func.coalesce(func.nullif(User.display_name, ""), User.username)
        stmt = (select(Study.id.label("study_id"), Study.site_id, Site.name.label("site_name"), Study.priority,
                       Study.status, Study.pool, Study.received_at, Study.due_at, Claim.id.label("claim_id"),
                       Claim.reader_id, reader_name.label("reader_name"), Claim.claimed_at, Claim.lease_until)
                .join(Site, Site.id == Study.site_id)
                .outerjoin(Claim, Claim.open_study_id == Study.id)
                .outerjoin(User, User.id == Claim.reader_id)
                .where(Study.status.in_(OPEN_STATUSES))
                .order_by(Study.priority_rank, Study.due_at, Study.received_at, Study.id)
                .limit(limit))
        return [dict(row._mapping) for row in self.session.execute(stmt)]

    def depth(self, now: dt.datetime) -> list[dict[str, Any]]:
        """Per priority: studies waiting (queued or in read) and how many are past their due time."""
        stmt = (select(Study.priority, func.count().label("waiting"),
                       func.sum(case((Study.due_at < now, 1), else_=0)).label("overdue"))
                .where(Study.status.in_(OPEN_STATUSES)).group_by(Study.priority))
        return [{"priority": p, "waiting": int(n), "overdue": int(o or 0)} for p, n, o in self.session.execute(stmt)]


__all__ = ["LiveQueueRepository"]
