"""Closed-loop critical-value reporting and escalations.

A critical machine finding or a reader's critical statement raises a
CriticalNotice for the study's clinic; the clinic acknowledges it with the whole
loop recorded (``app/notices/closed_loop.py``).
Housekeeping raises an Escalation, once, for a notice unacknowledged after
``notice_escalation_min``, a stat study unclaimed after
``stat_unclaimed_escalation_min``, and a study past its ``due_at``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from app.auth.principal import Principal
from app.notify.service import emit
from app.settings import Settings
from storage.models import CriticalNotice, Escalation, Role, Study, utcnow_aware
from storage.repositories import AuditRepository, ReadingRepository


def raise_notice(session: Session, study: Study, code: str, text: str, *, source: str) -> CriticalNotice | None:
    """Open a notice for ``study``'s clinic unless one with this code exists; audited."""
    notice = CriticalNotice(study_id=study.id, site_id=study.site_id, code=code, text=text, source=source,
                            raised_at=utcnow_aware())
    if not ReadingRepository(session).add_notice(notice):
        return None
    emit(session, study, "notice.raised", code=code, notice_id=notice.id)
    AuditRepository(session).add(actor=f"system:{source}", actor_site_id=None, action="notice.raised",
                                 object_type="study", object_id=str(study.id), detail={"code": code, "notice": notice.id})
    return notice


def scope(principal: Principal) -> int | None:
    """The site whose notices the caller sees: None (all) for hub admins."""
    return None if principal.role == Role.admin else principal.site_id


def list_notices(session: Session, principal: Principal, unacknowledged_only: bool) -> list[CriticalNotice]:
    notices = ReadingRepository(session).notices_for_site(scope(principal), unacknowledged_only)
    if notices:
        AuditRepository(session).add(actor=principal.actor, actor_site_id=principal.site_id, action="notice.list",
                                     object_type="site", object_id=str(principal.site_id),
                                     detail={"notices": [n.id for n in notices]})
    return notices


def escalate(session: Session, settings: Settings, now: dt.datetime | None = None) -> list[Escalation]:
    """Raise the escalations that are due (each at most once per kind and study)."""
    now = now or utcnow_aware()
    repo = ReadingRepository(session)
    due: list[tuple[str, Study | CriticalNotice, str]] = []
    for n in repo.unacknowledged_older_than(now - dt.timedelta(minutes=settings.notice_escalation_min)):
        due.append(("notice_unacknowledged", n, f"critical notice {n.code} unacknowledged since {n.raised_at.isoformat()}"))
    for s in repo.unclaimed_stat_older_than(now - dt.timedelta(minutes=settings.stat_unclaimed_escalation_min)):
        due.append(("stat_unclaimed", s, f"stat study unclaimed since {s.received_at.isoformat()}"))
    for s in repo.overdue(now):
        due.append(("overdue", s, f"due at {s.due_at.isoformat() if s.due_at else '?'}, not signed"))
    raised = []
    for kind, obj, detail in due:
        study_id = obj.study_id if isinstance(obj, CriticalNotice) else obj.id
        if repo.has_escalation(kind, study_id):
            continue
        esc = Escalation(kind=kind, study_id=study_id, site_id=obj.site_id, raised_at=now, detail=detail)
        repo.add_escalation(esc)
        AuditRepository(session).add(actor="system:housekeeping", actor_site_id=None, action="escalation.raised",
                                     object_type="study", object_id=str(study_id), detail={"kind": kind})
        raised.append(esc)
    return raised


def list_escalations(session: Session) -> list[Escalation]:
    return ReadingRepository(session).escalations()
