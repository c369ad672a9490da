"""Response bodies of the study endpoints."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from pydantic import BaseModel, Field

from app.reading.schemas import ReportOut
from storage.models import Analysis, Study


class StudyLinks(BaseModel):
    self: str
    files: list[str] = []


def _links(study: Study) -> StudyLinks:
    base = f"/api/v1/studies/{study.id}"
    files = [f"{base}/files/{f.name}" for f in study.recording.files] if study.recording else []
    return StudyLinks(self=base, files=files)


class StudyAccepted(BaseModel):
    """Answer to an upload: the study exists and its analysis is queued."""

    id: uuid.UUID
    status: str
    received_at: dt.datetime
    links: StudyLinks

    @classmethod
    def of(cls, study: Study) -> "StudyAccepted":
        return cls(id=study.id, status=study.status.value, received_at=study.received_at, links=_links(study))


class PatientOut(BaseModel):
    id: str
    name: str
    sex: str
    birth_date: dt.date | None


class RecordingFileOut(BaseModel):
    name: str
    sha256: str
    size_bytes: int


class RecordingOut(BaseModel):
    format: str
    fs_hz: float
    leads: list[str]
    duration_s: float
    n_samples: int
    start_time: dt.datetime | None
    warnings: list[str]
    demographics_in_file: dict[str, Any]
    files: list[RecordingFileOut]


class StudySummary(BaseModel):
    id: uuid.UUID
    status: str
    priority: str
    clinic_urgency: str
    received_at: dt.datetime
    acquired_at: dt.datetime
    patient: PatientOut
    first_signed_at: dt.datetime | None = None  # first report signature: turnaround without fetching it

    @classmethod
    def of(cls, study: Study, first_signed_at: dt.datetime | None = None) -> "StudySummary":
        p = study.patient
        return cls(
            id=study.id, status=study.status.value, priority=study.priority.value,
            clinic_urgency=study.clinic_urgency.value, received_at=study.received_at,
            acquired_at=study.acquired_at,
            patient=PatientOut(id=p.external_id, name=p.name, sex=p.sex.value, birth_date=p.birth_date),
            first_signed_at=first_signed_at,
        )


class StudyDetail(StudySummary):
    acquired_at_source: str | None = Field(
        None, description="where acquired_at (and so the age) came from: 'device' (file header), 'form', or "
        "'server_receipt' (the device clock was wrong); null for studies stored before this was recorded")
    status_reason: str
    indication: str
    due_at: dt.datetime | None
    recording: RecordingOut
    analysis: dict[str, Any] | None
    links: StudyLinks

    @classmethod
    def build(cls, study: Study, analysis: Analysis | None, first_signed_at: dt.datetime | None = None) -> "StudyDetail":
        r = study.recording
        rec = RecordingOut(
            format=r.format, fs_hz=r.fs_hz, leads=r.leads, duration_s=r.duration_s, n_samples=r.n_samples,
            start_time=r.start_time, warnings=r.warnings, demographics_in_file=r.file_demographics,
            files=[RecordingFileOut(name=f.name, sha256=f.blob_key, size_bytes=f.size_bytes) for f in r.files],
        )
        summary = StudySummary.of(study, first_signed_at).model_dump()
        return cls(
            **summary, acquired_at_source=study.acquired_at_source, status_reason=study.status_reason, indication=study.indication, due_at=study.due_at,
            recording=rec, analysis=_analysis_out(analysis), links=_links(study),
        )


def _analysis_out(analysis: Analysis | None) -> dict[str, Any] | None:
    """The stored pipeline result (quality, measurements, findings) without the beat list."""
    if analysis is None:
        return None
    result = {k: v for k, v in analysis.result.items() if k != "r_peaks"}
    result["beats"] = len(analysis.result.get("r_peaks", []))
    result["analyzed_at"] = analysis.created_at.isoformat()
    return result


class StudyList(BaseModel):
    items: list[StudySummary]
    next_cursor: str | None


class StudyReport(BaseModel):
    study_id: uuid.UUID
    status: str
    status_reason: str
    versions: list[ReportOut]
