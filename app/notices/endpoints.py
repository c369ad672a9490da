"""Critical notices for clinics (list, read with its chain, acknowledge with read-back) and, for the
hub, escalations and the overdue list."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.orm import Session

from app.deps import AdminOnly, ClinicOrAdmin, CtxDep, SessionDep
from app.notices import closed_loop, service
from app.notices.schemas import AcknowledgeIn, NoticeDetail, NoticeOut, OverdueNoticeOut
from app.params import RowId
from app.reading.schemas import EscalationOut
from storage.models import CriticalNotice
from storage.repositories import ReadingRepository, SiteRepository

router = APIRouter(prefix="/api/v1", tags=["critical notices"])

_LOOP_FIELDS = ("received_by_name", "received_by_role", "told_name", "told_role", "told_at", "read_back",
                "action_taken")


def _fields(n: CriticalNotice, who: dict) -> dict[str, object]:
    """A notice's API fields with the patient named (a critical value is acted on for a person)."""
    name, external_id = who.get(n.study_id, (None, None))
    return {"id": n.id, "study_id": n.study_id, "patient_name": name, "patient_id": external_id, "code": n.code,
            "text": n.text, "source": n.source, "raised_at": n.raised_at, "acknowledged_by": n.acknowledged_by,
            "acknowledged_at": n.acknowledged_at, **{f: getattr(n, f) for f in _LOOP_FIELDS}}


def _out(session: Session, notices: list[CriticalNotice]) -> list[NoticeOut]:
    who = ReadingRepository(session).patients_of([n.study_id for n in notices])
    return [NoticeOut(**_fields(n, who)) for n in notices]


@router.get("/notices", response_model=list[NoticeOut])
def list_notices(session: SessionDep, principal: ClinicOrAdmin, unacknowledged: bool = False) -> list[NoticeOut]:
    """The site's critical notices, newest first (``unacknowledged=true`` for the banner), naming the patient."""
    return _out(session, service.list_notices(session, principal, unacknowledged))


@router.get("/notices/{notice_id}", response_model=NoticeDetail)
def get_notice(notice_id: RowId, session: SessionDep, principal: ClinicOrAdmin) -> NoticeDetail:
    """One notice with its closed loop and the audited chain: raised, first shown, acknowledged."""
    notice = closed_loop.read_notice(session, principal, notice_id)
    who = ReadingRepository(session).patients_of([notice.study_id])
    return NoticeDetail(**_fields(notice, who), chain=closed_loop.chain(session, notice))


@router.post("/notices/{notice_id}/acknowledge", response_model=NoticeDetail, responses={
    404: {"description": "no such notice at the caller's site"},
    409: {"description": "already acknowledged: nothing was changed"},
    422: {"description": "a field is missing, empty, too long or holds control characters (named)"},
})
def acknowledge(notice_id: RowId, body: AcknowledgeIn, session: SessionDep, principal: ClinicOrAdmin) -> NoticeDetail:
    """Record the closed loop (危急值): who received the value, whom they told and when, the read-back."""
    notice = closed_loop.acknowledge(session, principal, notice_id, body)
    who = ReadingRepository(session).patients_of([notice.study_id])
    return NoticeDetail(**_fields(notice, who), chain=closed_loop.chain(session, notice))


@router.get("/admin/notices/overdue", response_model=list[OverdueNoticeOut])
def overdue_notices(ctx: CtxDep, session: SessionDep, principal: AdminOnly) -> list[OverdueNoticeOut]:
    """Critical notices unacknowledged longer than ``notice_escalation_min`` (default 15 min), oldest first:
    the hub phones these clinics."""
    rows = closed_loop.overdue(session, principal, ctx.settings)
    who = ReadingRepository(session).patients_of([n.study_id for n, _ in rows])
    sites = {s.id: s.name for s in SiteRepository(session).all()} if rows else {}
    return [OverdueNoticeOut(**_fields(n, who), site_id=n.site_id, site_name=sites.get(n.site_id, ""),
                            waiting_min=round(waited, 1)) for n, waited in rows]


@router.get("/admin/escalations", response_model=list[EscalationOut])
def escalations(session: SessionDep, _: AdminOnly) -> list[EscalationOut]:
    return [EscalationOut(id=e.id, kind=e.kind, study_id=e.study_id, site_id=e.site_id, raised_at=e.raised_at,
                          detail=e.detail) for e in service.list_escalations(session)]
