"""Typed values out of HL7 v2 fields: timestamps (TS/DTM), dates, sex, priority, person names."""

from __future__ import annotations

import datetime as dt
import re

from app.integration.hl7_codec import Hl7Refusal
from storage.models import Sex, Urgency

_TS = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d{1,4})?([+-]\d{4})?$")

#: HL7 table 0027 (priority): S stat, A ASAP, R routine; P pre-op, C callback, T timing critical
#: and PRN carry no urgency of their own for an ECG read, so they are read as routine.
PRIORITIES = {"S": Urgency.stat, "A": Urgency.urgent, "R": Urgency.routine, "P": Urgency.routine,
              "C": Urgency.routine, "T": Urgency.routine, "PRN": Urgency.routine, "": Urgency.routine}


def timestamp(value: str, local_offset_min: int, where: str) -> dt.datetime | None:
    """An HL7 TS/DTM (``YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]``) as aware UTC; no offset means local time."""
    if not value:
        return None
    m = _TS.match(value)
    if m is None:
        raise Hl7Refusal(f"{where} is not an HL7 timestamp: {value!r}", ack_code="AE", hl7_error="102",
                         location=where)
    y, mo, d, h, mi, s, off = m.groups()
    if off:
        sign = 1 if off[0] == "+" else -1
        tz = dt.timezone(sign * dt.timedelta(hours=int(off[1:3]), minutes=int(off[3:5])))
    else:
        tz = dt.timezone(dt.timedelta(minutes=local_offset_min))
    try:
        local = dt.datetime(int(y), int(mo or 1), int(d or 1), int(h or 0), int(mi or 0), int(s or 0), tzinfo=tz)
    except ValueError as exc:
        raise Hl7Refusal(f"{where} is not a valid date/time: {value!r}", ack_code="AE", hl7_error="102",
                         location=where) from exc
    return local.astimezone(dt.UTC)


def birth_date(value: str) -> dt.date | None:
    """PID-7 as a calendar date (the time of birth, when sent, is not kept)."""
    if not value:
        return None
    if not re.match(r"^\d{8}", value):
        raise Hl7Refusal(f"PID-7 birth date is not YYYYMMDD: {value!r}", ack_code="AE", hl7_error="102",
                         location="PID-7")
    try:
        return dt.date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError as exc:
        raise Hl7Refusal(f"PID-7 birth date does not exist: {value!r}", ack_code="AE", hl7_error="102",
                         location="PID-7") from exc


def sex(value: str) -> Sex:
    """PID-8 (HL7 table 0001): M, F; O/A/N/U and empty are not a sex our limits can use: unknown."""
    return {"M": Sex.male, "F": Sex.female}.get(value.upper(), Sex.unknown)


def priority(value: str, where: str) -> Urgency:
    try:
        return PRIORITIES[value.upper()]
    except KeyError:
        raise Hl7Refusal(f"{where} priority {value!r} is not in HL7 table 0027", ack_code="AE",
                         hl7_error="103", location=where) from None


def _cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text)


def person_name(family: str, given: str) -> str:
    """PID-5 as one display string: Chinese names family first without a space (王 + 小明 = 王小明),
    others given first (John Smith)."""
    if _cjk(family + given):
        return family + given
    return " ".join(p for p in (given, family) if p)
