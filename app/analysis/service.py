"""Analyse one stored study: read its original files, run ``ecg``, store the result.

The job holds no database transaction while the pipeline runs (SQLite has a
single writer), and the final status change is conditional on the study still
being ``received``: a job delivered twice, or by two workers, stores exactly one
analysis.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from app.settings import Settings
from ecg.analyze import analysed_samples, analyze_recording
from ecg.serialize import analysis_to_dict
from ecg.triage import is_critical_value
from ecg.types import Finding
from ecg.types import UnreadableRecording
from storage.blobs import BlobStore
from app.notices.service import raise_notice
from app.observability import ANALYSIS_SECONDS
from app.notify.service import announce_queued, emit
from app.studies.recording import load_window
from storage.models import PRIORITY_RANK, Analysis, ReaderPool, Recording, StudyStatus, Urgency
from storage.repositories import AuditRepository, StudyRepository

log = logging.getLogger(__name__)
#: Birth dates are calendar dates in China; the acquisition's date is taken on the same clock.
CHINA_TZ = ZoneInfo("Asia/Shanghai")
SYSTEM_ACTOR = "system:analysis"


@dataclass(frozen=True)
class _Input:
    files: dict[str, str]
    age_days: int | None
    sex: str | None
    clinic_urgency: Urgency
    received_at: dt.datetime
    warnings: tuple[str, ...]  # the recording's warnings from the upload's header check
    analysed_s: float          # the start of the recording the pipeline interprets (ecg.analyze.analysed_samples)


def sla_due(settings: Settings, priority: Urgency, received_at: dt.datetime) -> dt.datetime:
    """``due_at`` = received + SLA(priority) (DESIGN section 4)."""
    minutes = {
        Urgency.stat: settings.sla_stat_min,
        Urgency.urgent: settings.sla_urgent_min,
        Urgency.routine: settings.sla_routine_min,
    }[priority]
    return received_at + dt.timedelta(minutes=minutes)


def reader_pool(settings: Settings, age_days: int | None) -> ReaderPool:
    """Children (and patients of unknown age, at a children's hospital) go to the pediatric pool."""
    if age_days is None or age_days < settings.pediatric_age_years * 365.25:
        return ReaderPool.pediatric
    return ReaderPool.adult


def age_in_days(birth_date: dt.date | None, at: dt.datetime) -> int | None:
    """Age (days) on the acquisition date, China Standard Time; None when unknown or impossible.

    An acquisition before birth (a wrong device clock on a study stored before the upload's clock
    checks) is an unknown age, not a newborn: clamping it to 0 chose newborn limits and made false
    critical values.
    """
    if birth_date is None:
        return None
    days = (at.astimezone(CHINA_TZ).date() - birth_date).days
    return days if days >= 0 else None


def analysed_seconds(recording: Recording) -> float:
    """How much of a stored recording (s, from its start) the pipeline interprets: the window the
    analysis decodes (``ecg.analyze.analysed_samples``, from the rate and leads stored at upload)."""
    return analysed_samples(recording.fs_hz, len(recording.leads)) / recording.fs_hz


def _load_input(session: Session, study_id: uuid.UUID) -> _Input | None:
    repo = StudyRepository(session)
    study = repo.get(study_id)
    if study is None or study.status != StudyStatus.received:
        return None
    repo.count_attempt(study_id)
    patient = study.patient
    return _Input(
        files={f.name: f.blob_key for f in study.recording.files},
        age_days=age_in_days(patient.birth_date, study.acquired_at),
        sex=patient.sex.value if patient.sex.value in ("M", "F") else None,
        clinic_urgency=study.clinic_urgency,
        received_at=study.received_at,
        warnings=tuple(study.recording.warnings or ()),
        analysed_s=analysed_seconds(study.recording),
    )


def notice_text(f: Finding) -> str:
    """A machine critical value as the clinic reads it: Chinese first, the English beside it, the evidence."""
    zh, ev = f.text_zh or f.text, f.evidence_zh or f.evidence
    return f"{zh}（{f.text}）：{ev}" if f.text_zh else f"{f.text} ({f.evidence})"


def analyze_study(
    session_factory: sessionmaker[Session], blobs: BlobStore, settings: Settings, study_id: uuid.UUID
) -> str:
    """Run the pipeline for ``study_id``; returns what happened (for logs and tests)."""
    with session_factory() as session:
        job = _load_input(session, study_id)
        session.commit()
    if job is None:
        return "skipped"
    started = time.perf_counter()
    try:  # the one read of the samples: only the part the pipeline interprets is decoded (a 4 h
        # 12-lead record is 691 MB as float64; its first 10 min are 29 MB)
        recording, whole = load_window(blobs, job.files.items(), 0.0, job.analysed_s)
    except UnreadableRecording as exc:
        return _store_unreadable(session_factory, study_id, str(exc))
    analysis = analyze_recording(recording, age_days=job.age_days, sex=job.sex, mains_hz=settings.mains_hz,
                                 clinic_urgency=job.clinic_urgency.value,  # triage happens once, in the pipeline
                                 full_duration_s=whole.duration_s)
    elapsed_ms = (time.perf_counter() - started) * 1000.0
    ANALYSIS_SECONDS.observe(elapsed_ms / 1000.0)
    result = analysis_to_dict(analysis)
    priority = Urgency(analysis.priority)
    unreadable = analysis.quality.verdict == "unreadable"
    with session_factory() as session:
        repo = StudyRepository(session)
        won = repo.transition(
            study_id,
            expected=StudyStatus.received,
            new=StudyStatus.unreadable if unreadable else StudyStatus.awaiting_read,
            priority=priority,
            priority_rank=PRIORITY_RANK[priority],
            pool=reader_pool(settings, job.age_days),
            due_at=None if unreadable else sla_due(settings, priority, job.received_at),
            status_reason="; ".join(analysis.quality.reasons) if unreadable else "",
        )
        if not won:
            return "skipped"
        study = repo.get_one(study_id)
        decoded = [w for w in recording.warnings if w not in job.warnings]
        if decoded:  # found only by decoding (e.g. missing samples filled): shown with the upload's notes
            study.recording.warnings = [*job.warnings, *decoded]
        if unreadable:
            emit(session, study, "study.unreadable", reasons=list(analysis.quality.reasons))
        else:
            for f in analysis.findings:
                if is_critical_value(f):  # the cited critical-value list (危急值), not any "critical" label
                    raise_notice(session, study, f.code, notice_text(f), source="machine")
            announce_queued(session, study, "new")  # the readers' live stream (a stat arrival alerts)
        repo.add_analysis(Analysis(
            study_id=study_id, pipeline_version=analysis.pipeline_version, duration_ms=elapsed_ms,
            quality_verdict=analysis.quality.verdict, result=result,
        ))
        AuditRepository(session).add(
            actor=SYSTEM_ACTOR, actor_site_id=None, action="study.analyzed", object_type="study",
            object_id=str(study_id), detail={"verdict": analysis.quality.verdict, "priority": priority.value},
        )
        session.commit()
    return "unreadable" if unreadable else "awaiting_read"


def _store_unreadable(session_factory: sessionmaker[Session], study_id: uuid.UUID, reason: str) -> str:
    with session_factory() as session:
        repo = StudyRepository(session)
        if repo.transition(study_id, expected=StudyStatus.received, new=StudyStatus.unreadable, status_reason=reason):
            emit(session, repo.get_one(study_id), "study.unreadable", reasons=[reason])
            AuditRepository(session).add(actor=SYSTEM_ACTOR, actor_site_id=None, action="study.unreadable",
                                         object_type="study", object_id=str(study_id))
        session.commit()
    return "unreadable"


def mark_failed(session_factory: sessionmaker[Session], study_id: uuid.UUID, error: str) -> None:
    """Retries exhausted: make the failure visible on the study instead of leaving it ``received``."""
    with session_factory() as session:
        if StudyRepository(session).transition(
            study_id, expected=StudyStatus.received, new=StudyStatus.analysis_failed,
            status_reason=f"automated analysis failed: {error}"[:2000],
        ):
            AuditRepository(session).add(actor=SYSTEM_ACTOR, actor_site_id=None, action="study.analysis_failed",
                                         object_type="study", object_id=str(study_id), detail={"error": error[:500]})
        session.commit()
    log.error("analysis failed for study %s: %s", study_id, error)
