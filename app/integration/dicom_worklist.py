"""Modality Worklist (C-FIND, PS3.4 Annex K): the calling cart's site's scheduled ECG orders.

Matching keys honoured (what carts send): Scheduled Procedure Step Start Date
(single date or range, in the hub's local time: ``hl7_local_utc_offset_min``),
Modality (anything but ECG matches nothing), Patient ID and Accession Number
(single value; ``*`` or empty is universal). Scheduled Station AE Title is not
a filter: orders belong to a site, and every cart of the site sees them.
Answers are in UTF-8 (Specific Character Set ISO_IR 192), so Chinese names
arrive as the HIS sent them; only the keys the query asked for are returned.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from sqlalchemy.orm import Session

from app.integration.dicom_uid import derived_uid
from storage.models import DicomPeer, Order
from storage.repositories import DicomRepository

CHARSET = "ISO_IR 192"


class WorklistQueryError(ValueError):
    """A matching key the worklist cannot read (answered with C-FIND status 0xA900 and the reason)."""


@dataclass(frozen=True)
class WorklistQuery:
    """The query keys that filter, as values (None: universal match)."""

    day_from: dt.date | None
    day_to: dt.date | None  # inclusive
    modality: str | None
    patient_id: str | None
    accession_number: str | None


def order_study_uid(order: Order) -> str:
    """The Study Instance UID offered for an order: derived from (site, placer order number), so the
    worklist, the cart's object and the PACS export agree without storing it (``derived_uid``)."""
    return derived_uid("ecghub-order", str(order.site_id), order.placer_order_number)


def _single(value: object) -> str | None:
    text = str(value or "").strip()
    if text in ("", "*"):
        return None
    if any(c in text for c in "*?\\"):
        raise WorklistQueryError(f"wildcards or lists are not supported in {text!r}")
    return text


def _date(text: str) -> dt.date:
    try:
        return dt.datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise WorklistQueryError(f"{text!r} is not a DICOM date (YYYYMMDD)") from None


def _date_range(value: object) -> tuple[dt.date | None, dt.date | None]:
    """A DA matching key: ``D``, ``D1-D2``, ``D-`` or ``-D`` (PS3.4 C.2.2.2.5)."""
    text = str(value or "").strip()
    if not text:
        return None, None
    if "-" not in text:
        day = _date(text)
        return day, day
    lo, hi = (part.strip() for part in text.split("-", 1))
    return (_date(lo) if lo else None), (_date(hi) if hi else None)


def parse_query(identifier: Dataset) -> WorklistQuery:
    """The filtering keys of a worklist query identifier."""
    sps_seq = identifier.get("ScheduledProcedureStepSequence") or []
    sps = sps_seq[0] if len(sps_seq) else Dataset()
    lo, hi = _date_range(sps.get("ScheduledProcedureStepStartDate", ""))
    modality = _single(sps.get("Modality", ""))
    return WorklistQuery(day_from=lo, day_to=hi, modality=modality.upper() if modality else None,
                         patient_id=_single(identifier.get("PatientID", "")),
                         accession_number=_single(identifier.get("AccessionNumber", "")))


def _utc_bounds(q: WorklistQuery, offset_min: int) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The local-day range as UTC instants [from, to)."""
    tz = dt.timezone(dt.timedelta(minutes=offset_min))
    start = dt.datetime.combine(q.day_from, dt.time(), tz).astimezone(dt.UTC) if q.day_from else None
    end = (dt.datetime.combine(q.day_to + dt.timedelta(days=1), dt.time(), tz).astimezone(dt.UTC)
           if q.day_to else None)
    return start, end


def _entry(order: Order, peer: DicomPeer, offset_min: int) -> Dataset:
    """Every attribute this worklist offers for one order (the Patient, Imaging Service Request,
    Requested Procedure and Scheduled Procedure Step modules)."""
    p = order.patient
    local = order.requested_at.astimezone(dt.timezone(dt.timedelta(minutes=offset_min))) if order.requested_at \
        else None
    sps = Dataset()
    sps.Modality = "ECG"
    sps.ScheduledStationAETitle = peer.ae_title
    sps.ScheduledProcedureStepStartDate = local.strftime("%Y%m%d") if local else ""
    sps.ScheduledProcedureStepStartTime = local.strftime("%H%M%S") if local else ""
    sps.ScheduledProcedureStepID = str(order.id)
    sps.ScheduledProcedureStepDescription = order.service_text or "ECG"
    ds = Dataset()
    ds.SpecificCharacterSet = CHARSET
    ds.PatientName = p.name
    ds.PatientID = p.external_id
    ds.PatientBirthDate = p.birth_date.strftime("%Y%m%d") if p.birth_date else ""
    ds.PatientSex = p.sex.value if p.sex.value in ("M", "F") else "O"
    ds.AccessionNumber = order.accession_number[:16]
    ds.RequestedProcedureID = order.placer_order_number[:16]
    ds.RequestedProcedureDescription = order.service_text or "ECG"
    ds.StudyInstanceUID = order_study_uid(order)
    ds.ScheduledProcedureStepSequence = Sequence([sps])
    return ds


def _only_asked(full: Dataset, asked: Dataset) -> Dataset:
    """The attributes of ``full`` that the query asked for (sequences: the keys of their first item)."""
    out = Dataset()
    for elem in asked:
        if elem.keyword == "SpecificCharacterSet" or elem.keyword not in full:
            continue
        value = full[elem.keyword]
        if elem.VR == "SQ" and elem.value and len(elem.value) and value.VR == "SQ":
            out[elem.keyword] = DataElement(value.tag, "SQ", Sequence(
                [_only_asked(item, elem.value[0]) for item in value.value]))
        else:
            out[elem.keyword] = value
    out.SpecificCharacterSet = CHARSET
    return out


def worklist(session: Session, peer: DicomPeer, identifier: Dataset, offset_min: int, limit: int) -> list[Dataset]:
    """The answers to one worklist query from ``peer`` (its site's scheduled orders)."""
    q = parse_query(identifier)
    if q.modality is not None and q.modality != "ECG":
        return []
    start, end = _utc_bounds(q, offset_min)
    orders = DicomRepository(session).worklist(peer.site_id, requested_from=start, requested_to=end,
                                               patient_external_id=q.patient_id,
                                               accession_number=q.accession_number, limit=limit)
    return [_only_asked(_entry(o, peer, offset_min), identifier) for o in orders]
