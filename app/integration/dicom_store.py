"""C-STORE from ECG carts: a received DICOM ECG object becomes a study exactly as an upload does.

The object (as the cart encoded it, with a Part 10 file header) goes through
``app.uploads.service.upload_study``: the same admission control, the same
recording check (``ecg.io.inspect_recording``), the same blob store and the same
one transaction. The idempotency key is ``dicom:<SOP Instance UID>``: a cart that
sends an instance again (a lost C-STORE response, a resend of the day's
queue) gets success and the study made the first time, never a second study.

Patient and order: the object's Accession Number names the order (of the
calling AE's site, not cancelled); the order's patient is the HIS's patient of
record, so its id, name, sex and birth date are used over the cart's typing.
Without an accession match the object's own patient module is used and the
study is matched to the patient's scheduled order by patient id and time
(``order_match``), as an upload is.

Every refusal is a :class:`DicomRefusal` with a PS3.4 B.2.3 failure status and
the reason as Error Comment; nothing is stored.
"""

from __future__ import annotations

import datetime as dt
import io
import uuid
from dataclasses import dataclass

import pydicom
from pydantic import ValidationError
from pydicom.dataset import Dataset
from pydicom.uid import UID, GeneralECGWaveformStorage, TwelveLeadECGWaveformStorage
from sqlalchemy.orm import Session

from app.auth.principal import Principal
from app.context import AppContext
from app.errors import (
    IdempotencyConflict,
    InvalidUpload,
    Overloaded,
    ServiceUnavailable,
    UnreadableUpload,
)
from app.integration.hl7_fields import person_name
from app.integration.order_match import order_for_study
from app.uploads import service
from app.uploads.schemas import UploadMetadata
from storage.db import read_only
from storage.models import DicomPeer, Order, Role, Sex, Study
from storage.repositories import DicomRepository

#: The SOP classes this listener stores (PS3.4 Annex B): what an ECG cart sends.
ECG_STORAGE = (TwelveLeadECGWaveformStorage, GeneralECGWaveformStorage)

#: C-STORE failure statuses (PS3.4 Table B.2-1; C000-CFFF "cannot understand" is SCP-specific).
OUT_OF_RESOURCES = 0xA700
DATASET_MISMATCH = 0xA900  # the data set does not match the SOP class: a lying object
CANNOT_UNDERSTAND = 0xC000  # the waveform cannot be read
INVALID_PATIENT = 0xC001  # the patient module is missing or wrong (no id, no name, bad birth date)
PROCESSING_FAILURE = 0x0110

_HEADER_TAGS = ("SpecificCharacterSet", "SOPClassUID", "SOPInstanceUID", "AccessionNumber", "PatientID",
                "PatientName", "PatientSex", "PatientBirthDate")


class DicomRefusal(Exception):
    """A C-STORE answered with a failure ``status``; ``reason`` goes back as the Error Comment (<= 64 chars
    on the wire, so the start of it names the problem)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclass(frozen=True)
class StoreOutcome:
    study_id: uuid.UUID
    replayed: bool
    order_id: int | None


def _header(data: bytes) -> Dataset:
    """The few elements needed to route the object (no waveform decoded)."""
    try:
        return pydicom.dcmread(io.BytesIO(data), specific_tags=list(_HEADER_TAGS))
    except Exception as exc:  # pydicom raises many types on damaged input
        raise DicomRefusal(CANNOT_UNDERSTAND, f"the object cannot be parsed: {type(exc).__name__}") from exc


def _check_identity(ds: Dataset, sop_class: str, sop_instance: str) -> None:
    """The object must be what the C-STORE request says it is (Affected SOP Class and Instance UIDs)."""
    if str(ds.get("SOPClassUID", "")) != sop_class:
        raise DicomRefusal(DATASET_MISMATCH, f"SOP Class UID {ds.get('SOPClassUID', '')} in the object is not "
                                             f"the requested {sop_class}")
    if str(ds.get("SOPInstanceUID", "")) != sop_instance:
        raise DicomRefusal(DATASET_MISMATCH, "SOP Instance UID in the object differs from the request")


def _file_patient(ds: Dataset) -> dict[str, object]:
    """The object's patient module as upload form fields (Chinese names family first, no space)."""
    try:
        pn = ds.get("PatientName")
        name = person_name(str(pn.family_name), str(pn.given_name)) if pn else ""
        birth = str(ds.get("PatientBirthDate", "") or "")
        born = dt.datetime.strptime(birth, "%Y%m%d").date() if birth else None
    except (ValueError, UnicodeError, AttributeError) as exc:
        raise DicomRefusal(INVALID_PATIENT, f"patient module unreadable: {exc}") from exc
    sex = {"M": Sex.male, "F": Sex.female}.get(str(ds.get("PatientSex", "") or "").upper(), Sex.unknown)
    return {"patient_id": str(ds.get("PatientID", "") or ""), "patient_name": name.strip(),
            "patient_sex": sex, "patient_birth_date": born}


def _order_patient(order: Order) -> dict[str, object]:
    p = order.patient
    return {"patient_id": p.external_id, "patient_name": p.name or p.external_id, "patient_sex": p.sex,
            "patient_birth_date": p.birth_date, "urgency": order.urgency}


def _metadata(fields: dict[str, object]) -> UploadMetadata:
    """The upload form's validation on what the object (or its order) says."""
    try:
        return UploadMetadata.model_validate({k: v for k, v in fields.items() if v not in ("", None)})
    except ValidationError as exc:
        why = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'patient'}: {e['msg']}" for e in exc.errors())
        raise DicomRefusal(INVALID_PATIENT, why) from exc


def principal_for(peer: DicomPeer) -> Principal:
    """A cart acts as a clinic of its site; audited as ``dicom:<peer id>``."""
    return Principal(kind="dicom", id=peer.id, site_id=peer.site_id, role=Role.clinic)


def store_object(ctx: AppContext, session: Session, peer: DicomPeer, sop_class: str, sop_instance: str,
                 data: bytes) -> StoreOutcome:
    """Store one received object (``data``: Part 10 bytes) as a study of the peer's site and commit."""
    if sop_class not in ECG_STORAGE:
        raise DicomRefusal(DATASET_MISMATCH, f"SOP class {sop_class} is not an ECG waveform")
    ds = _header(data)
    _check_identity(ds, sop_class, sop_instance)
    try:
        ctx.admission.check()  # its own session: before this one holds SQLite's write lock
    except Overloaded as exc:
        raise DicomRefusal(OUT_OF_RESOURCES, exc.detail) from exc
    accession = str(ds.get("AccessionNumber", "") or "").strip()
    with read_only():
        order = DicomRepository(session).order_by_accession(peer.site_id, accession) if accession else None
        meta = _metadata(_order_patient(order) if order is not None else _file_patient(ds))
        session.rollback()
    # Named for the instance; some devices write UIDs the upload's file-name rule refuses ("..").
    name = f"{sop_instance}.dcm" if UID(sop_instance).is_valid else "waveform.dcm"
    files = [service.UploadedFile(name, data)]
    try:
        # Over DICOM nobody can confirm a suspect device time, and a cart sends right after recording:
        # the receipt time is then the trusted one (the age, so the age-dependent limits, come from it).
        result = service.upload_study(ctx, session, principal_for(peer), meta, files, f"dicom:{sop_instance}",
                                      receipt_time_if_suspect=True)
    except ServiceUnavailable as exc:
        raise DicomRefusal(OUT_OF_RESOURCES, exc.detail) from exc
    except UnreadableUpload as exc:
        raise DicomRefusal(CANNOT_UNDERSTAND, exc.detail) from exc
    except InvalidUpload as exc:
        raise DicomRefusal(INVALID_PATIENT, exc.detail) from exc
    except IdempotencyConflict as exc:  # the instance was stored before (other bytes or order): keep the first
        session.rollback()
        return StoreOutcome(uuid.UUID(str(exc.extra["study_id"])), replayed=True, order_id=order.id if order else None)
    study = result.study
    linked = _link(session, study, order) if not result.replayed else order
    session.commit()
    return StoreOutcome(study.id, result.replayed, linked.id if linked else None)


def _link(session: Session, study: Study, order: Order | None) -> Order | None:
    """Record which order the new study fulfils: the accession's order, else the patient's nearest."""
    if order is None:
        return order_for_study(session, study)
    if order.study_id is None:
        order.study_id, order.status = study.id, "completed"
        session.flush()
    return order
