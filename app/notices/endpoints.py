"""Critical notices for clinics (list, acknowledge) and escalations for the hub."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.orm import Session

from app.params import RowId
from app.deps import AdminOnly, ClinicOrAdmin, SessionDep
from app.notices import service
from app.reading.schemas import EscalationOut, NoticeOut
from storage.models import CriticalNotice
from storage.repositories import ReadingRepository

router = APIRouter(prefix="/api/v1", tags=["critical notices"])


def _out(session: Session, notices: list[CriticalNotice]) -> list[NoticeOut]:
    """Notices with the patient named (a critical value is acted on for a person, never by study id)."""
    who = ReadingRepository(session).patients_of([n.study_id for n in notices])
    return [NoticeOut(id=n.id, study_id=n.study_id, patient_name=who.get(n.study_id, (None, None))[0],
                      patient_id=who.get(n.study_id, (None, None))[1], code=n.code, text=n.text, source=n.source,
                      raised_at=n.raised_at, acknowledged_by=n.acknowledged_by, acknowledged_at=n.acknowledged_at)
            for n in notices]


@router.get("/notices", response_model=list[NoticeOut])
def list_notices(session: SessionDep, principal: ClinicOrAdmin, unacknowledged: bool = False) -> list[NoticeOut]:
    """The site's critical notices, newest first (``unacknowledged=true`` for the banner), naming the patient."""
    return _out(session, service.list_notices(session, principal, unacknowledged))


@router.post("/notices/{notice_id}/acknowledge", response_model=NoticeOut)
def acknowledge(notice_id: RowId, session: SessionDep, principal: ClinicOrAdmin) -> NoticeOut:
    """Record that the clinic received the critical result (who and when)."""
    return _out(session, [service.acknowledge(session, principal, notice_id)])[0]


@router.get("/admin/escalations", response_model=list[EscalationOut])
def escalations(session: SessionDep, _: AdminOnly) -> list[EscalationOut]:
    return [EscalationOut(id=e.id, kind=e.kind, study_id=e.study_id, site_id=e.site_id, raised_at=e.raised_at,
                          detail=e.detail) for e in service.list_escalations(session)]
