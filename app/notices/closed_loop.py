"""The critical-value closed loop (危急值报告制度): acknowledgement with read-back, its audit chain, overdue.

Chinese practice asks the department that receives a critical value to record who
received it, whom they told (usually the treating doctor) and when, and that the
person told repeated the value back (复述). Acknowledging records exactly that, once:
a second acknowledgement is a 409 and changes nothing. The chain (raised -> first
shown to the clinic -> acknowledged) is read back from the audit events that the
steps already write.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.auth.principal import Principal
from app.errors import Conflict, InvalidRequest, NotFound
from app.notices.schemas import AcknowledgeIn, ChainStep
from app.settings import Settings
from storage.models import AuditEvent, CriticalNotice, Role, utcnow_aware
from storage.repositories import AuditRepository, ReadingRepository, UserRepository

#: Tolerance for the clinic PC's clock when it states when the doctor was told (the same 10 min
#: the upload's acquisition-time check allows).
CLOCK_SKEW = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class Receiver:
    """The clinic staff member who received the value: their name and role or title."""

    name: str
    role: str


def _field_error(field: str, message: str) -> InvalidRequest:
    """A 422 naming the field, shaped like the body-validation errors (``errors[].field``)."""
    return InvalidRequest(f"{field}: {message}", errors=[{"field": field, "message": message}])


def visible_notice(session: Session, principal: Principal, notice_id: int) -> CriticalNotice:
    """The notice if the caller's site owns it (admins: any); another site's is a 404, not a 403."""
    notice = ReadingRepository(session).notice(notice_id)
    if notice is None or (principal.role != Role.admin and notice.site_id != principal.site_id):
        raise NotFound("no such notice")
    return notice


def _receiver(session: Session, principal: Principal, ack: AcknowledgeIn) -> Receiver:
    """A user is who they signed in as; an API key (a device) must name the person."""
    if principal.kind == "api_key":
        if not ack.received_by_name:
            raise _field_error("received_by_name", "an API key is a device: name the staff member who received it")
        return Receiver(ack.received_by_name, ack.received_by_role or "clinic")
    if ack.received_by_name or ack.received_by_role:
        raise _field_error("received_by_name", "taken from the signed-in user; leave it out")
    user = UserRepository(session).get(principal.id)
    if user is None:
        return Receiver(principal.actor, principal.role.value)
    return Receiver(user.display_name or user.username, user.title or user.role.value)


def _told_at(ack: AcknowledgeIn, notice: CriticalNotice, now: dt.datetime) -> dt.datetime:
    """When the person was told: not in the future, not before the notice existed (± CLOCK_SKEW)."""
    at = ack.told_at or now
    if at > now + CLOCK_SKEW:
        raise _field_error("told_at", "is in the future")
    if at < notice.raised_at - CLOCK_SKEW:
        raise _field_error("told_at", "is before the critical value was reported")
    return at


def acknowledge(session: Session, principal: Principal, notice_id: int, ack: AcknowledgeIn) -> CriticalNotice:
    """Record the whole loop once; 409 (nothing changed) if the notice was already acknowledged."""
    notice = visible_notice(session, principal, notice_id)
    if notice.acknowledged_at is not None:
        raise _already(notice)
    now = utcnow_aware()
    receiver = _receiver(session, principal, ack)
    told_at = _told_at(ack, notice, now)
    values = {"received_by_name": receiver.name, "received_by_role": receiver.role, "told_name": ack.told_name,
              "told_role": ack.told_role, "told_at": told_at, "read_back": ack.read_back,
              "action_taken": ack.action_taken or None}
    if not ReadingRepository(session).acknowledge_notice(notice.id, acknowledged_at=now,
                                                         acknowledged_by=principal.actor, **values):
        session.refresh(notice)
        raise _already(notice)  # a concurrent request acknowledged it first
    session.refresh(notice)
    AuditRepository(session).add(
        actor=principal.actor, actor_site_id=principal.site_id, action="notice.acknowledged", object_type="study",
        object_id=str(notice.study_id),
        detail={"notice": notice.id, **{k: v.isoformat() if isinstance(v, dt.datetime) else v
                                        for k, v in values.items()}})
    return notice


def _already(notice: CriticalNotice) -> Conflict:
    at = notice.acknowledged_at.isoformat() if notice.acknowledged_at else "?"
    return Conflict(f"this critical value was already acknowledged at {at} by "
                    f"{notice.received_by_name or notice.acknowledged_by}; nothing was changed",
                    acknowledged_at=at)


def read_notice(session: Session, principal: Principal, notice_id: int) -> CriticalNotice:
    """One notice for its page or the API; the read of patient data is audited."""
    notice = visible_notice(session, principal, notice_id)
    AuditRepository(session).add(actor=principal.actor, actor_site_id=principal.site_id, action="notice.viewed",
                                 object_type="study", object_id=str(notice.study_id), detail={"notice": notice.id})
    return notice


def chain(session: Session, notice: CriticalNotice) -> list[ChainStep]:
    """raised -> first shown to the clinic -> acknowledged, from the audit events, oldest first."""
    audit = AuditRepository(session)
    steps = [_step(e) for e in audit.for_object("study", str(notice.study_id))
             if e.action in ("notice.raised", "notice.acknowledged") and e.detail.get("notice") == notice.id]
    listings = audit.actions_since("site", str(notice.site_id), "notice.list", notice.raised_at)
    shown = next((e for e in listings if notice.id in e.detail.get("notices", [])), None)
    if shown is not None:
        steps.append(ChainStep(step="shown", at=shown.at, actor=shown.actor))
    return sorted(steps, key=lambda s: (s.at, ("raised", "shown", "acknowledged").index(s.step)))


def _step(event: AuditEvent) -> ChainStep:
    kind = "raised" if event.action == "notice.raised" else "acknowledged"
    return ChainStep(step=kind, at=event.at, actor=event.actor,
                     detail={k: v for k, v in event.detail.items() if k != "notice"})


def overdue(session: Session, principal: Principal, settings: Settings,
            now: dt.datetime | None = None) -> list[tuple[CriticalNotice, float]]:
    """Notices unacknowledged for more than ``notice_escalation_min`` minutes, oldest first, with
    how long each has waited (min). The list names patients: the read is audited."""
    now = now or utcnow_aware()
    limit = now - dt.timedelta(minutes=settings.notice_escalation_min)
    notices = ReadingRepository(session).unacknowledged_older_than(limit)
    if notices:
        AuditRepository(session).add(actor=principal.actor, actor_site_id=principal.site_id,
                                     action="notice.overdue_list", object_type="site",
                                     object_id=str(principal.site_id), detail={"notices": [n.id for n in notices]})
    return [(n, (now - n.raised_at).total_seconds() / 60.0) for n in notices]
