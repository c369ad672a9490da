"""Signing and amending reports. A signed version is never changed; an amendment is a new version."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from app.auth.principal import Principal
from app.errors import Conflict, NotFound
from app.notices.service import raise_notice
from app.notify.service import emit
from app.observability import TURNAROUND_SECONDS
from app.errors import InvalidRequest
from app.reading.claims import own_open_claim
from app.reading.lexicon import lexicon
from app.reading.schemas import AmendIn, SignIn
from storage.models import ClaimOutcome, Report, Study, StudyStatus, utcnow_aware
from storage.models.lifecycle import move
from storage.repositories import AuditRepository, ReadingRepository, StudyRepository


def _validated_statements(codes: list[str]) -> list[dict[str, Any]]:
    lex = lexicon()
    unknown = [c for c in codes if c not in lex]
    if unknown:
        raise InvalidRequest(f"unknown statement code(s): {', '.join(unknown)}")
    if len(set(codes)) != len(codes):
        raise InvalidRequest("a statement is listed twice")
    return [{"code": c, "zh": lex[c].zh, "en": lex[c].en, "severity": lex[c].severity} for c in codes]


def _confirmed(session: Session, study_id: uuid.UUID, body: SignIn) -> tuple[dict[str, Any], list[str]]:
    """Machine measurements overlaid with the reader's corrections; returns (values, edited keys)."""
    analysis = StudyRepository(session).latest_analysis(study_id)
    machine = _machine_measurements(analysis.result if analysis else {})
    edits = body.measurements.model_dump(exclude_none=True)
    edited = sorted(k for k, v in edits.items() if machine.get(k) != v)
    return {**machine, **edits}, edited


def _machine_measurements(result: dict[str, Any]) -> dict[str, Any]:
    iv = result.get("intervals_ms", {}) or {}
    ax = result.get("axes_deg", {}) or {}
    out = {"heart_rate_bpm": result.get("heart_rate_bpm"), "rr_ms": iv.get("rr"), "p_ms": iv.get("p"),
           "pr_ms": iv.get("pr"), "qrs_ms": iv.get("qrs"), "qt_ms": iv.get("qt"),
           "qtc_bazett_ms": iv.get("qtc_bazett"), "qtc_fridericia_ms": iv.get("qtc_fridericia"),
           "p_axis_deg": ax.get("p"), "qrs_axis_deg": ax.get("qrs"), "t_axis_deg": ax.get("t")}
    return {k: v for k, v in out.items() if v is not None}


def _store(session: Session, principal: Principal, study: Study, body: SignIn, reason: str = "") -> Report:
    statements = _validated_statements(body.statements)
    values, edited = _confirmed(session, study.id, body)
    repo = ReadingRepository(session)
    previous = repo.reports(study.id)
    report = repo.add_report(Report(
        study_id=study.id, version=(previous[0].version + 1) if previous else 1, author_id=principal.id,
        statements=statements, free_text=body.free_text, measurements={"values": values, "edited": edited},
        signed_at=utcnow_aware(), supersedes_id=previous[0].id if previous else None, amendment_reason=reason,
        patient_explanation=body.patient_explanation,
    ))
    for s in statements:
        if s["severity"] == "critical":
            raise_notice(session, study, s["code"], s["zh"] + " / " + s["en"], source="reader")
    return report


def _same_study(body: SignIn, study_id: uuid.UUID) -> None:
    """Wrong-patient guard: the study the reader had on screen (``body.study_id``) must be the one signed."""
    if body.study_id is not None and body.study_id != study_id:
        raise Conflict("the study on screen is not the study being signed: reopen the claimed study, check the "
                       "patient, and sign again")


def sign(session: Session, principal: Principal, claim_id: int, body: SignIn) -> Report:
    """Sign the study held by this claim: a new report version, the claim ends, the study is reported."""
    claim = own_open_claim(session, principal, claim_id)
    _same_study(body, claim.study_id)
    study = session.get_one(Study, claim.study_id)
    report = _store(session, principal, study, body)
    ReadingRepository(session).end_claim(claim, ClaimOutcome.signed, utcnow_aware())
    move(study, StudyStatus.reported)
    TURNAROUND_SECONDS.labels(study.priority.value).observe((utcnow_aware() - study.received_at).total_seconds())
    emit(session, study, "report.signed", version=report.version)
    AuditRepository(session).add(actor=principal.actor, actor_site_id=principal.site_id, action="report.signed",
                                 object_type="study", object_id=str(study.id),
                                 detail={"version": report.version, "claim": claim.id})
    session.flush()
    return report


def amend(session: Session, principal: Principal, study_id: uuid.UUID, body: AmendIn) -> Report:
    """A new signed version with a reason; the earlier versions stay readable and unchanged."""
    repo = ReadingRepository(session)
    study = repo.lock_study(study_id)
    if study is None or not repo.is_eligible(study_id, principal.id, principal.reader_pools):
        raise NotFound("no such study in your reading scope")
    if study.status not in (StudyStatus.reported, StudyStatus.amended):
        raise Conflict(f"only a signed study can be amended (status: {study.status.value})")
    _same_study(body, study.id)
    report = _store(session, principal, study, body, reason=body.reason)
    move(study, StudyStatus.amended)
    emit(session, study, "report.amended", version=report.version, reason=body.reason)
    AuditRepository(session).add(actor=principal.actor, actor_site_id=principal.site_id, action="report.amended",
                                 object_type="study", object_id=str(study.id), detail={"version": report.version})
    session.flush()
    return report
