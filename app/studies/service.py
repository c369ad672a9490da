"""Reading studies with tenancy and audit: a site sees only its own studies."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid

from sqlalchemy.orm import Session

from app.auth.principal import Principal
from app.errors import InvalidUpload, NotFound
from storage.blobs import BlobStore
from storage.models import Analysis, Report, Role, Study, StudyStatus
from storage.repositories import AuditRepository, ReadingRepository, StudyPage, StudyRepository


class InvalidQuery(InvalidUpload):
    type, title = "/problems/invalid-query", "Invalid query"


def _site_scope(principal: Principal) -> int | None:
    """The site whose studies ``principal`` may see; None for hub admins (all sites)."""
    return None if principal.role == Role.admin else principal.site_id


def get_study(session: Session, principal: Principal, study_id: uuid.UUID, *, audit_action: str = "study.read") -> Study:
    """The study, or NotFound if it does not exist *or* belongs to another site (no existence leak)."""
    repo = StudyRepository(session)
    scope = _site_scope(principal)
    study = repo.get(study_id) if scope is None else repo.get_for_site(study_id, scope)
    if study is None:
        raise NotFound("no such study")
    AuditRepository(session).add(actor=principal.actor, actor_site_id=principal.site_id, action=audit_action,
                                 object_type="study", object_id=str(study.id))
    return study


def get_study_detail(
    session: Session, principal: Principal, study_id: uuid.UUID,
) -> tuple[Study, Analysis | None, dt.datetime | None]:
    """The study (tenancy-checked, audited), its latest analysis and first report signature, if any."""
    study = get_study(session, principal, study_id)
    repo = StudyRepository(session)
    return study, repo.latest_analysis(study.id), repo.first_signed_at([study.id]).get(study.id)


def get_reports(session: Session, principal: Principal, study_id: uuid.UUID) -> tuple[Study, list[Report]]:
    """The study (tenancy-checked, audited) and its signed report versions, latest first."""
    study = get_study(session, principal, study_id, audit_action="report.read")
    return study, ReadingRepository(session).reports(study.id)


def encode_cursor(after: tuple[dt.datetime, uuid.UUID]) -> str:
    raw = json.dumps([after[0].isoformat(), str(after[1])]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, sid = json.loads(raw)
        return dt.datetime.fromisoformat(at), uuid.UUID(sid)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
        raise InvalidQuery("cursor is not valid; use the next_cursor of the previous page") from exc


def list_studies(
    session: Session, principal: Principal, *, limit: int, cursor: str | None, status: StudyStatus | None,
    received_from: dt.datetime | None, received_to: dt.datetime | None, patient_id: str | None,
) -> StudyPage:
    for name, value in (("received_from", received_from), ("received_to", received_to)):
        if value is not None and value.tzinfo is None:
            raise InvalidQuery(f"{name} needs a time zone (e.g. 2026-11-25T08:00:00+08:00)")
    page = StudyRepository(session).list_page(
        site_id=_site_scope(principal), limit=limit, status=status, received_from=received_from,
        received_to=received_to, patient_external_id=patient_id,
        after=decode_cursor(cursor) if cursor else None,
    )
    if page.items:
        AuditRepository(session).add(actor=principal.actor, actor_site_id=principal.site_id, action="study.list",
                                     object_type="site", object_id=str(principal.site_id),
                                     detail={"studies": [str(s.id) for s in page.items]})
    return page


def original_file(session: Session, blobs: BlobStore, principal: Principal, study_id: uuid.UUID, name: str) -> bytes:
    """The original bytes of one uploaded file, verified against its sha256."""
    study = get_study(session, principal, study_id, audit_action="study.file_read")
    for f in study.recording.files:
        if f.name == name:
            return blobs.get(f.blob_key)
    raise NotFound("no such file in this study")
