"""ECG orders from a hospital information system: ORM^O01 and OML^O21 (new: ORC-1 NW, cancel: CA).

A message is parsed (``hl7apy``), checked and stored in one transaction, or
refused as a whole with a typed :class:`Hl7Refusal` and nothing stored.
Idempotent: the order is keyed by (site, placer order number), so a
retransmitted NW (same or new MSH-10 control id) is the order already stored,
and a repeated CA of a cancelled order is acknowledged again.

Where the values are read (HL7 v2.3-2.5.1; IHE Radiology/Cardiology SWF usage):
patient id PID-3.1, name PID-5 (family^given), birth date PID-7, sex PID-8;
placer order number ORC-2 (else OBR-2), filler ORC-3 (else OBR-3), accession
number OBR-18 (IHE "placer field 1") else IPC-1; requested time TQ1-7, else
ORC-7.4 (TQ start), else OBR-6; priority TQ1-9, else ORC-7.6, else OBR-27.6.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.exceptions import HL7apyException
from hl7apy.parser import parse_message
from sqlalchemy.orm import Session

from app.integration import hl7_fields as f
from app.integration.hl7_codec import Hl7Refusal, component
from storage.models import Order, Patient, Sex, Urgency, utcnow_aware
from storage.repositories import AuditRepository, Hl7Repository, OrderRepository, PatientRepository

ACCEPTED = {("ORM", "O01"), ("OML", "O21")}


@dataclass(frozen=True)
class Header:
    """What the ACK needs from MSH, known even when the rest of the message is refused."""

    control_id: str
    sending_application: str
    sending_facility: str
    message_type: str
    trigger: str
    version: str
    processing_id: str


@dataclass(frozen=True)
class OrderMessage:
    header: Header
    control: str  # ORC-1: NW or CA
    patient_id: str
    patient_name: str
    sex: Sex
    birth_date: dt.date | None
    placer: str
    filler: str
    accession: str
    service_code: str
    service_text: str
    requested_at: dt.datetime | None
    urgency: Urgency


def _segments(text: str) -> dict[str, object]:
    """First segment of each name, parsed by hl7apy (tolerant: Chinese HIS add Z-segments and
    leave optional groups out)."""
    try:
        msg = parse_message(text, find_groups=False, validation_level=VALIDATION_LEVEL.TOLERANT)
    except (HL7apyException, ValueError, KeyError, IndexError, AttributeError) as exc:
        raise Hl7Refusal(f"malformed HL7 message: {exc or type(exc).__name__}", hl7_error="100") from exc
    out: dict[str, object] = {}
    for seg in msg.children:
        out.setdefault(seg.name, seg)
    return out


def _field(segs: dict[str, object], name: str, n: int) -> str:
    seg = segs.get(name)
    if seg is None:
        return ""
    try:
        return getattr(seg, f"{name.lower()}_{n}").to_er7()
    except (HL7apyException, AttributeError, ValueError):
        return ""


def header(text: str) -> Header:
    """MSH read by hand (no library): needed to answer even a message hl7apy cannot parse."""
    msh = text.split("\r", 1)[0]
    if not msh.startswith("MSH") or len(msh) < 8:
        return Header("", "", "", "", "", "2.5.1", "P")
    fields = [""] + msh.split(msh[3])  # fields[1] is the separator itself: MSH-n is fields[n]
    get = lambda n: fields[n] if len(fields) > n else ""
    return Header(control_id=get(10)[:64], sending_application=component(get(3), 1),
                  sending_facility=component(get(4), 1), message_type=component(get(9), 1),
                  trigger=component(get(9), 2), version=component(get(12), 1) or "2.5.1",
                  processing_id=component(get(11), 1) or "P")


def parse_order(text: str, local_offset_min: int) -> OrderMessage:
    """The order in ``text``, or :class:`Hl7Refusal` naming the first problem found."""
    head = header(text)
    if (head.message_type, head.trigger) not in ACCEPTED:
        raise Hl7Refusal(f"unsupported message type {head.message_type}^{head.trigger}: "
                         "this listener takes ORM^O01 and OML^O21", hl7_error="200", location="MSH-9")
    if not head.control_id:
        raise Hl7Refusal("MSH-10 message control id is missing", hl7_error="101", location="MSH-10")
    segs = _segments(text)
    for required in ("PID", "ORC"):
        if required not in segs:
            raise Hl7Refusal(f"the {required} segment is missing", ack_code="AE", hl7_error="100",
                             location=required)
    g = lambda name, n, c=1: component(_field(segs, name, n), c)
    control = g("ORC", 1).upper()
    if control not in ("NW", "CA"):
        raise Hl7Refusal(f"ORC-1 order control {control!r} is not supported (NW new, CA cancel)",
                         ack_code="AE", hl7_error="103", location="ORC-1")
    patient_id = g("PID", 3)
    if not patient_id:
        raise Hl7Refusal("PID-3 patient identifier is missing", ack_code="AE", hl7_error="101", location="PID-3")
    placer = g("ORC", 2) or g("OBR", 2)
    if not placer:
        raise Hl7Refusal("placer order number is missing (ORC-2 and OBR-2 empty)", ack_code="AE",
                         hl7_error="101", location="ORC-2")
    requested = (f.timestamp(g("TQ1", 7), local_offset_min, "TQ1-7")
                 or f.timestamp(g("ORC", 7, 4), local_offset_min, "ORC-7.4")
                 or f.timestamp(g("OBR", 6), local_offset_min, "OBR-6"))
    prio_where, prio_value = next(((w, v) for w, v in (("TQ1-9", g("TQ1", 9)), ("ORC-7.6", g("ORC", 7, 6)),
                                                       ("OBR-27.6", g("OBR", 27, 6))) if v), ("TQ1-9", ""))
    return OrderMessage(
        header=head, control=control, patient_id=patient_id[:64],
        patient_name=f.person_name(g("PID", 5, 1), g("PID", 5, 2))[:200], sex=f.sex(g("PID", 8)),
        birth_date=f.birth_date(g("PID", 7)), placer=placer[:64], filler=(g("ORC", 3) or g("OBR", 3))[:64],
        accession=(g("OBR", 18) or g("IPC", 1))[:64], service_code=g("OBR", 4, 1)[:64],
        service_text=g("OBR", 4, 2)[:200], requested_at=requested, urgency=f.priority(prio_value, prio_where))


def _patient(session: Session, site_id: int, msg: OrderMessage, actor: str) -> Patient:
    """The site's patient by PID-3, created or brought up to date: the HIS is the source of record."""
    repo = PatientRepository(session)
    patient = repo.by_external_id(site_id, msg.patient_id)
    if patient is None:
        return repo.add(Patient(site_id=site_id, external_id=msg.patient_id, name=msg.patient_name,
                                sex=msg.sex, birth_date=msg.birth_date))
    new = {"name": msg.patient_name or patient.name, "sex": msg.sex if msg.sex != Sex.unknown else patient.sex,
           "birth_date": msg.birth_date or patient.birth_date}
    changed = sorted(k for k, v in new.items() if getattr(patient, k) != v)
    for k in changed:
        setattr(patient, k, new[k])
    if changed:
        AuditRepository(session).add(actor=actor, actor_site_id=site_id, action="patient.updated",
                                     object_type="patient", object_id=str(patient.id), detail={"fields": changed})
    return patient


def store(session: Session, msg: OrderMessage) -> tuple[Order, str]:
    """Apply the order message; returns (order, what happened). Caller commits."""
    site_id = Hl7Repository(session).site_for_facility(msg.header.sending_facility)
    if site_id is None:
        raise Hl7Refusal(f"unknown sending facility {msg.header.sending_facility!r} (MSH-4): an administrator "
                         "maps it to a site first", hl7_error="204", location="MSH-4")
    actor = f"hl7:{msg.header.sending_facility}"[:64]
    repo = OrderRepository(session)
    order = repo.by_placer_number(site_id, msg.placer)
    if msg.control == "CA":
        return _cancel(session, order, msg, actor)
    if order is not None:
        return order, "duplicate"
    patient = _patient(session, site_id, msg, actor)
    order = repo.add(Order(
        site_id=site_id, patient_id=patient.id, placer_order_number=msg.placer, filler_order_number=msg.filler,
        accession_number=msg.accession, service_code=msg.service_code, service_text=msg.service_text,
        requested_at=msg.requested_at, urgency=msg.urgency, status="scheduled",
        sending_facility=msg.header.sending_facility[:100],
        message_type=f"{msg.header.message_type}^{msg.header.trigger}",
        message_control_id=msg.header.control_id, created_at=utcnow_aware()))
    AuditRepository(session).add(actor=actor, actor_site_id=site_id, action="order.received", object_type="order",
                                 object_id=str(order.id), detail={"control_id": msg.header.control_id})
    return order, "created"


def _cancel(session: Session, order: Order | None, msg: OrderMessage, actor: str) -> tuple[Order, str]:
    if order is None:
        raise Hl7Refusal(f"no order with placer order number {msg.placer!r} to cancel", ack_code="AE",
                         hl7_error="204", location="ORC-2")
    if order.status == "cancelled":
        return order, "duplicate"
    if order.status == "completed":
        raise Hl7Refusal(f"order {msg.placer!r} was already performed (study {order.study_id}); it cannot be "
                         "cancelled", ack_code="AE", hl7_error="207", location="ORC-1")
    order.status, order.cancelled_at, order.cancel_control_id = "cancelled", utcnow_aware(), msg.header.control_id
    AuditRepository(session).add(actor=actor, actor_site_id=order.site_id, action="order.cancelled",
                                 object_type="order", object_id=str(order.id),
                                 detail={"control_id": msg.header.control_id})
    return order, "cancelled"
