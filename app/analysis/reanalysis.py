"""Re-analysis of stored studies with the current pipeline: a documented command, never silent.

``ecghub reanalyze`` (``--dry-run`` to list only) runs the pipeline again on
every study whose latest analysis came from another pipeline version (or on the
``--study`` ids given). For each study it:

* stores a NEW analysis row (the old ones stay: what the reader saw is kept);
* only for a study still waiting in the queue (``awaiting_read``, unclaimed)
  updates its priority and due time, and raises the critical-value notices the
  new analysis finds (a notice already raised for a code is not raised twice);
  a study being read, signed or returned keeps its priority: the cardiologist's
  report is what counts there;
* writes an audit event ``study.reanalyzed`` (versions, priority before and
  after, codes added and removed) and prints one line saying all of that.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session, sessionmaker

from app.analysis.service import age_in_days, analysed_seconds, notice_text, sla_due
from app.notices.service import raise_notice
from app.notify.service import announce_queued
from app.settings import Settings
from app.studies.recording import load_window
from ecg.analyze import analyze_recording
from ecg.serialize import analysis_to_dict
from ecg.triage import is_critical_value
from ecg.types import UnreadableRecording
from ecg.version import PIPELINE_VERSION
from storage.blobs import BlobStore
from storage.models import PRIORITY_RANK, Analysis, StudyStatus, Urgency
from storage.repositories import AuditRepository, StudyRepository

ACTOR = "system:reanalysis"


@dataclass(frozen=True)
class Outcome:
    """What re-analysis did to one study (printed by the command)."""

    study_id: uuid.UUID
    status: str
    old_version: str
    priority_before: str
    priority_after: str
    added: tuple[str, ...]
    removed: tuple[str, ...]
    requeued: bool
    error: str = ""

    def line(self) -> str:
        if self.error:
            return f"{self.study_id} {self.status}: not re-analysed ({self.error})"
        move = (f"priority {self.priority_before} -> {self.priority_after}" if self.requeued
                else f"priority kept {self.priority_before} (status {self.status}; new analysis would give "
                     f"{self.priority_after})")
        return (f"{self.study_id} {self.old_version} -> {PIPELINE_VERSION}: {move}; "
                f"added {list(self.added) or '-'}, removed {list(self.removed) or '-'}")


def candidates(session_factory: sessionmaker[Session], limit: int) -> list[uuid.UUID]:
    """Studies whose latest analysis was made by another pipeline version."""
    with session_factory() as session:
        return StudyRepository(session).ids_analysed_by_other_version(PIPELINE_VERSION, limit)


def reanalyze_study(session_factory: sessionmaker[Session], blobs: BlobStore, settings: Settings,
                    study_id: uuid.UUID, *, dry_run: bool = False) -> Outcome:
    """Analyse one study again (module doc); with ``dry_run`` nothing is stored."""
    with session_factory() as session:
        repo = StudyRepository(session)
        study = repo.get(study_id)
        if study is None:
            return Outcome(study_id, "missing", "", "", "", (), (), False, "no such study")
        last = repo.latest_analysis(study_id)
        old_codes = {f["code"] for f in (last.result.get("findings", []) if last else [])}
        patient = study.patient
        age = age_in_days(patient.birth_date, study.acquired_at)
        sex = patient.sex.value if patient.sex.value in ("M", "F") else None
        files = [(f.name, f.blob_key) for f in study.recording.files]
        window_s = analysed_seconds(study.recording)
        status, before, old_version = study.status, study.priority, last.pipeline_version if last else "-"
        urgency, received_at = study.clinic_urgency.value, study.received_at
    try:
        recording, whole = load_window(blobs, files, 0.0, window_s)  # as the first analysis read it
    except UnreadableRecording as exc:
        return Outcome(study_id, status.value, old_version, before.value, before.value, (), (), False, str(exc))
    analysis = analyze_recording(recording, age_days=age, sex=sex, mains_hz=settings.mains_hz, clinic_urgency=urgency,
                                 full_duration_s=whole.duration_s)
    codes = {f.code for f in analysis.findings}
    after = Urgency(analysis.priority)
    queued = status == StudyStatus.awaiting_read and analysis.quality.verdict != "unreadable"
    out = Outcome(study_id, status.value, old_version, before.value, after.value, tuple(sorted(codes - old_codes)),
                  tuple(sorted(old_codes - codes)), queued)
    if dry_run:
        return out
    with session_factory() as session:
        repo = StudyRepository(session)
        if queued and repo.transition(study_id, expected=StudyStatus.awaiting_read, new=StudyStatus.awaiting_read,
                                      priority=after, priority_rank=PRIORITY_RANK[after],
                                      due_at=sla_due(settings, after, received_at)):
            study = repo.get_one(study_id)
            for f in analysis.findings:
                if is_critical_value(f):
                    raise_notice(session, study, f.code, notice_text(f), source="machine")
            if after != before:
                announce_queued(session, study, "changed")  # the readers' queues re-sort
        else:
            out = replace(out, requeued=False)
        repo.add_analysis(Analysis(study_id=study_id, pipeline_version=analysis.pipeline_version, duration_ms=0.0,
                                   quality_verdict=analysis.quality.verdict, result=analysis_to_dict(analysis)))
        AuditRepository(session).add(actor=ACTOR, actor_site_id=None, action="study.reanalyzed", object_type="study",
                                     object_id=str(study_id), detail={
                                         "from": old_version, "to": PIPELINE_VERSION, "priority_before": before.value,
                                         "priority_after": after.value if out.requeued else before.value,
                                         "added": list(out.added), "removed": list(out.removed)})
        session.commit()
    return out
