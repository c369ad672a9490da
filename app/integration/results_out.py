"""ORU^R01 (HL7 v2.5.1) for a signed report version, built with ``hl7apy`` segments.

Layout: MSH, PID, ORC (RE), OBR (order numbers when the study came from an
order; OBR-25 and every OBX-11 ``F`` for the first signature, ``C``
(corrected) for an amendment; OBR-32 the signing cardiologist), one NM OBX per
measurement, LOINC-coded with UCUM units, one CWE OBX per statement and a TX
OBX for the reader's free text.

LOINC codes (from the issue, loinc.org ECG panel): heart rate 8867-4, PR 8625-6,
QRS duration 8633-0, QT 8634-8, QTc 8636-3 (the report's Bazett value: the
formula used for children; Fridericia is not sent), P/QRS/T axes
8626-4/8632-2/8638-9. Statements and free text are sent under LOINC 8601-7
("EKG impression"); I could not check that code against the LOINC table offline.
Statement codes are ecghub's lexicon codes, a local coding system (HL7 table
0396 "99zzz" form: ``99ECG``), with the English text in CWE-2 and the Chinese
in CWE-9 (original text).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hl7apy.core import Segment

from app.integration.hl7_codec import escape
from storage.models import Order, Report, Site, Study, User

VERSION = "2.5.1"
STATEMENT_SYSTEM = "99ECG"

#: report measurement key -> (LOINC code, LOINC display, UCUM unit)
LOINC = {
    "heart_rate_bpm": ("8867-4", "Heart rate", "/min"),
    "pr_ms": ("8625-6", "P-R Interval", "ms"),
    "qrs_ms": ("8633-0", "QRS duration", "ms"),
    "qt_ms": ("8634-8", "Q-T Interval", "ms"),
    "qtc_bazett_ms": ("8636-3", "Q-T Interval corrected", "ms"),
    "p_axis_deg": ("8626-4", "P wave axis", "deg"),
    "qrs_axis_deg": ("8632-2", "QRS axis", "deg"),
    "t_axis_deg": ("8638-9", "T wave axis", "deg"),
}
IMPRESSION = ("8601-7", "EKG impression")
ECG_SERVICE = ("11524-6", "EKG study", "LN")


@dataclass(frozen=True)
class ResultInput:
    """Everything one ORU needs, read in one transaction."""

    site: Site
    study: Study
    report: Report
    signer: User | None
    order: Order | None
    control_id: str
    receiving_application: str
    receiving_facility: str
    application: str
    facility: str


def ts(value: dt.datetime) -> str:
    """HL7 DTM with an explicit UTC offset (no guessing by the receiver)."""
    return value.astimezone(dt.UTC).strftime("%Y%m%d%H%M%S+0000")


def number(value: float) -> str:
    """A measurement as sent: whole numbers without a decimal point, others to 0.1."""
    rounded = round(float(value), 1)
    return str(int(rounded)) if rounded == int(rounded) else f"{rounded:.1f}"


def _seg(name: str, **fields: str) -> str:
    seg = Segment(name, version=VERSION)
    for key, value in fields.items():
        if value:
            setattr(seg, key, value)
    return seg.to_er7()


def _msh(r: ResultInput, sent: dt.datetime) -> str:
    seg = Segment("MSH", version=VERSION)
    seg.msh_1, seg.msh_2 = "|", "^~\\&"  # a bare hl7apy MSH has no encoding characters
    seg.msh_3, seg.msh_4 = escape(r.application), escape(r.facility)
    if r.receiving_application:
        seg.msh_5 = escape(r.receiving_application)
    if r.receiving_facility:
        seg.msh_6 = escape(r.receiving_facility)
    seg.msh_7, seg.msh_9, seg.msh_10, seg.msh_11 = ts(sent), "ORU^R01^ORU_R01", r.control_id, "P"
    seg.msh_12, seg.msh_15, seg.msh_16, seg.msh_18 = VERSION, "AL", "NE", "UNICODE UTF-8"
    return seg.to_er7()


def _observations(r: ResultInput, status: str, observer: str) -> list[str]:
    values = (r.report.measurements or {}).get("values", {})
    common = {"obx_11": status, "obx_14": ts(r.study.acquired_at), "obx_16": observer}
    impression = f"{IMPRESSION[0]}^{IMPRESSION[1]}^LN"
    rows = [{"obx_2": "NM", "obx_3": f"{code}^{text}^LN", "obx_5": number(values[key]),
             "obx_6": f"{escape(unit)}^{escape(unit)}^UCUM"}
            for key, (code, text, unit) in LOINC.items() if values.get(key) is not None]
    statements = r.report.statements
    rows += [{"obx_2": "CWE", "obx_3": impression, "obx_4": str(i),
              "obx_5": f"{escape(s['code'])}^{escape(s['en'])}^{STATEMENT_SYSTEM}^^^^^^{escape(s['zh'])}"}
             for i, s in enumerate(statements, start=1)]
    if r.report.free_text.strip():
        rows.append({"obx_2": "TX", "obx_3": impression, "obx_4": str(len(statements) + 1),
                     "obx_5": escape(r.report.free_text.strip())})
    return [_seg("OBX", obx_1=str(n), **row, **common) for n, row in enumerate(rows, start=1)]


def build_oru(r: ResultInput, sent: dt.datetime) -> str:
    """The ORU^R01 message (CR-separated ER7 text) for ``r.report``."""
    status = "F" if r.report.version == 1 else "C"
    p = r.study.patient
    placer = r.order.placer_order_number if r.order else ""
    filler = (r.order.filler_order_number if r.order else "") or str(r.study.id)
    signer = r.signer
    observer = f"{signer.id}^{escape(signer.display_name or signer.username)}" if signer else ""
    interpreter = f"{signer.id}&{escape(signer.display_name or signer.username)}" if signer else ""
    service = (f"{escape(r.order.service_code)}^{escape(r.order.service_text)}"
               if r.order and r.order.service_code else "^".join(ECG_SERVICE))
    segments = [
        _msh(r, sent),
        _seg("PID", pid_1="1", pid_3=f"{escape(p.external_id)}^^^{escape(r.site.code)}^MR", pid_5=escape(p.name),
             pid_7=p.birth_date.strftime("%Y%m%d") if p.birth_date else "", pid_8=p.sex.value),
        _seg("ORC", orc_1="RE", orc_2=escape(placer), orc_3=escape(filler), orc_5="CM"),
        _seg("OBR", obr_1="1", obr_2=escape(placer), obr_3=escape(filler), obr_4=service,
             obr_7=ts(r.study.acquired_at), obr_18=escape(r.order.accession_number) if r.order else "",
             obr_22=ts(r.report.signed_at), obr_24="EC", obr_25=status, obr_32=interpreter),
        *_observations(r, status, observer),
    ]
    return "\r".join(segments)
