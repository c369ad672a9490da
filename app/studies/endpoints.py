"""GET /api/v1/studies and /api/v1/studies/{id}: the clinic's view of its studies."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from app.content_disposition import content_disposition
from app.deps import ClinicOrAdmin, CtxDep, SessionDep
from app.studies import service
from app.reading.views import reports_out
from app.studies.schemas import StudyDetail, StudyList, StudyReport, StudySummary
from storage.models import StudyStatus

router = APIRouter(prefix="/api/v1/studies", tags=["studies"])


@router.get("", response_model=StudyList)
def list_studies(
    session: SessionDep,
    principal: ClinicOrAdmin,
    status: StudyStatus | None = None,
    received_from: dt.datetime | None = None,
    received_to: dt.datetime | None = None,
    patient_id: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> StudyList:
    """The caller's site's studies, newest first; follow ``next_cursor`` for the next page."""
    page = service.list_studies(session, principal, limit=limit, cursor=cursor, status=status,
                                received_from=received_from, received_to=received_to, patient_id=patient_id)
    body = StudyList(
        items=[StudySummary.of(s, page.first_signed_at.get(s.id)) for s in page.items],
        next_cursor=service.encode_cursor(page.next_after) if page.next_after else None,
    )
    return body


@router.get("/{study_id}", response_model=StudyDetail)
def get_study(study_id: uuid.UUID, session: SessionDep, principal: ClinicOrAdmin) -> StudyDetail:
    """Status, quality verdict with reasons, measurements and findings when the analysis is done."""
    study, analysis, first_signed_at = service.get_study_detail(session, principal, study_id)
    return StudyDetail.build(study, analysis, first_signed_at)


@router.get("/{study_id}/report", response_model=StudyReport)
def get_report(study_id: uuid.UUID, session: SessionDep, principal: ClinicOrAdmin) -> StudyReport:
    """Signed report versions, latest first. Unsigned studies show their status and no interpretation."""
    study, reports = service.get_reports(session, principal, study_id)
    return StudyReport(study_id=study.id, status=study.status.value, status_reason=study.status_reason,
                       versions=reports_out(reports))


@router.get("/{study_id}/files/{name}", response_class=Response)
def get_file(study_id: uuid.UUID, name: str, ctx: CtxDep, session: SessionDep, principal: ClinicOrAdmin) -> Response:
    """One original uploaded file, byte for byte."""
    data = service.original_file(session, ctx.blobs, principal, study_id, name)
    return Response(data, media_type="application/octet-stream",
                    headers={"Content-Disposition": content_disposition(name)})
