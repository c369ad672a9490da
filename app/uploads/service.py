"""Accepting a clinic's upload: validate, check the recording, store the originals, record the study.

Order matters for "no data lost, no false success":
1. an earlier upload with this Idempotency-Key (or, without one, this exact body) is replayed;
2. validate the form and CHECK the recording from its headers and sizes (``inspect_recording``:
   format, rate, leads, length; a bad file is a 4xx naming the problem). The samples are not
   decoded here: the analysis worker reads them once. The acquisition time passes the clock
   checks (``clock.py``: future, before birth, long ago) or is refused until confirmed;
3. write the original files to the blob store, fsynced together (content-addressed);
4. one transaction: patient upsert, study, recording, files, audit event. The unique
   (site, Idempotency-Key) guards a concurrent identical upload: the loser's insert fails and
   it replays the winner's study;
5. only after the commit, publish the analysis job (the sweeper covers a crash here).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import uuid
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.auth.principal import Principal
from app.context import AppContext
from app.errors import (
    IdempotencyConflict,
    InvalidUpload,
    ServiceUnavailable,
    UnreadableUpload,
)
from app.uploads import clock
from app.uploads.schemas import LOCAL_TZ, UploadMetadata
from ecg.io import RecordingInfo, inspect_recording
from ecg.types import UnreadableRecording
from storage.blobs import BlobError
from storage.db import read_only
from storage.models import (
    PRIORITY_RANK,
    Patient,
    Recording,
    RecordingFile,
    Study,
    StudyStatus,
    utcnow_aware,
)
from storage.repositories import AuditRepository, PatientRepository, StudyRepository


@dataclass(frozen=True)
class UploadedFile:
    name: str
    data: bytes


@dataclass(frozen=True)
class UploadResult:
    study: Study
    replayed: bool


def clean_filename(raw: str | None) -> str:
    """The base name of an uploaded file; refuses empty or hidden/parent names."""
    name = os.path.basename((raw or "").replace("\\", "/")).strip()
    if not name or name in (".", "..") or len(name) > 255:
        raise InvalidUpload(f"invalid file name {raw!r}")
    return name


def request_fingerprint(meta: UploadMetadata, files: list[UploadedFile]) -> str:
    """sha256 over the metadata and each file's (name, sha256): same request <=> same fingerprint.
    An unset confirmation is left out, so requests hash as they did before the field existed."""
    doc = {
        "meta": meta.model_dump(mode="json", exclude=None if meta.confirm_acquired_at else {"confirm_acquired_at"}),
        "files": sorted((f.name, hashlib.sha256(f.data).hexdigest()) for f in files),
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def _replay(session: Session, principal: Principal, key: str, fingerprint: str) -> Study | None:
    study = StudyRepository(session).by_idempotency_key(principal.site_id, key)
    if study is None:
        return None
    if study.request_hash != fingerprint:
        raise IdempotencyConflict(
            "this Idempotency-Key was already used for a different upload; use a new key for a new study",
            study_id=str(study.id),
        )
    return study


def _inspect(files: list[UploadedFile], meta: UploadMetadata) -> RecordingInfo:
    """The recording checked and described from headers and sizes (WFDB, DICOM: no sample decoded)."""
    try:
        # Names travel with the bytes: a WFDB header names its .dat, and an extension that
        # disagrees with the content is worth a warning on the study.
        return inspect_recording({f.name: f.data for f in files}, fs=meta.fs)
    except UnreadableRecording as exc:
        raise UnreadableUpload(str(exc)) from exc


def upload_study(
    ctx: AppContext, session: Session, principal: Principal, meta: UploadMetadata,
    files: list[UploadedFile], idempotency_key: str | None, *, receipt_time_if_suspect: bool = False,
) -> UploadResult:
    """Store one upload as a study (or return the study an earlier identical request made).

    ``receipt_time_if_suspect``: a suspect acquisition time is replaced by the time of receipt
    instead of refused (for senders nobody can ask to confirm: a DICOM cart)."""
    if not files:
        raise InvalidUpload("no file uploaded: send the recording in the 'files' field")
    if len({f.name for f in files}) != len(files):
        raise InvalidUpload("two uploaded files have the same name")
    fingerprint = request_fingerprint(meta, files)
    # Without a key, an identical body from the same site is the same study: a retry.
    key = idempotency_key or f"auto:{fingerprint}"
    with read_only():  # a look-up: no write lock while the recording is parsed and stored
        earlier = _replay(session, principal, key, fingerprint)
        session.rollback()
    if earlier is not None:
        return _replayed(session, principal, earlier)
    recording = _inspect(files, meta)
    # Before anything is stored: a suspect clock is a 422 the clinic confirms or corrects.
    acquisition = clock.resolve(meta, _aware(recording.start_time), utcnow_aware(),
                                ctx.settings.upload_max_acquisition_age_days,
                                receipt_time_if_suspect=receipt_time_if_suspect)
    try:
        blob_keys = ctx.blobs.put_many([f.data for f in files])
    except (BlobError, OSError) as exc:
        raise ServiceUnavailable("the file store is not available; nothing was recorded, try again") from exc
    try:
        return _record(session, principal, meta, files, blob_keys, recording, acquisition, key, fingerprint)
    except IntegrityError:
        # The unique (site, key) says a concurrent identical request won the race: replay its study.
        session.rollback()
        earlier = _replay(session, principal, key, fingerprint)
        if earlier is None:
            raise
        return _replayed(session, principal, earlier)


def _replayed(session: Session, principal: Principal, study: Study) -> UploadResult:
    AuditRepository(session).add(actor=principal.actor, actor_site_id=principal.site_id,
                                 action="study.upload_replayed", object_type="study", object_id=str(study.id))
    return UploadResult(study, replayed=True)


def _patient(session: Session, principal: Principal, meta: UploadMetadata) -> Patient:
    """Upsert the clinic's patient; a change of name, sex or birth date is audited."""
    patient, changed = PatientRepository(session).upsert(
        principal.site_id, meta.patient_id, name=meta.patient_name, sex=meta.patient_sex,
        birth_date=meta.patient_birth_date)
    if changed:
        AuditRepository(session).add(actor=principal.actor, actor_site_id=principal.site_id,
                                     action="patient.updated", object_type="patient", object_id=str(patient.id),
                                     detail={"fields": changed})
    return patient


def _record(
    session: Session, principal: Principal, meta: UploadMetadata, files: list[UploadedFile],
    blob_keys: list[str], rec: RecordingInfo, acquisition: clock.Acquisition, key: str, fingerprint: str,
) -> UploadResult:
    """The upload's rows, flushed in the caller's one transaction (no look-up: the unique key decides races)."""
    now = utcnow_aware()
    patient = _patient(session, principal, meta)
    warnings = list(rec.warnings)
    if acquisition.mismatch_min is not None:
        warnings.append(f"the file's header time differs from the form's acquired_at by {acquisition.mismatch_min:g} "
                        f"min; the form's time was used")
    # The recording travels inside the new study: the answer's links then need no query.
    recording = Recording(
        format=rec.format, fs_hz=float(rec.fs), leads=list(rec.leads),
        n_samples=rec.n_samples, duration_s=rec.duration_s, start_time=_aware(rec.start_time),
        warnings=warnings, file_demographics=_demographics(rec),
        files=[RecordingFile(position=i, name=f.name, blob_key=k, size_bytes=len(f.data))
               for i, (f, k) in enumerate(zip(files, blob_keys))],
    )
    study = StudyRepository(session).add(Study(
        id=uuid.uuid4(), site_id=principal.site_id, patient_id=patient.id,
        acquired_at=acquisition.at, acquired_at_source=acquisition.source, received_at=now,
        indication=meta.indication, clinic_urgency=meta.urgency, status=StudyStatus.received,
        priority=meta.urgency, priority_rank=PRIORITY_RANK[meta.urgency], idempotency_key=key,
        request_hash=fingerprint, uploaded_by=principal.actor, recording=recording,
    ))
    AuditRepository(session).add(actor=principal.actor, actor_site_id=principal.site_id, action="study.created",
                                 object_type="study", object_id=str(study.id),
                                 detail={"format": rec.format, "files": len(files), **_clock_detail(acquisition)})
    session.flush()
    return UploadResult(study, replayed=False)


def _clock_detail(acquisition: clock.Acquisition) -> dict[str, object]:
    """For the audit: which time the study got, and the clock checks the clinic confirmed."""
    out: dict[str, object] = {"acquired_at_source": acquisition.source}
    if acquisition.confirmed:
        out["acquired_at_confirmed"] = list(acquisition.confirmed)
    return out


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """Recording start times without a zone are device-local (China Standard Time)."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=LOCAL_TZ)


def _demographics(rec: RecordingInfo) -> dict[str, object]:
    d = rec.demographics
    out = {"patient_id": d.patient_id, "age_days": d.age_days, "sex": d.sex,
           "birth_date": d.birth_date.isoformat() if d.birth_date else None}
    return {k: v for k, v in out.items() if v is not None}
