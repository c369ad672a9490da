"""FHIR R4 resources (as JSON dicts) for ecghub's patients, orders, signed reports and measurements.

Patient, ServiceRequest (an HL7 order), DiagnosticReport (one per signed
study: id = study id, latest signed version; ``final``, or ``amended`` once
amended) and Observation (one per measurement of that version: LOINC code,
UCUM unit; id = ``<study id>-<short name>``). Every resource is validated
with the ``fhir.resources`` models before it is served (:func:`validated`).
The models are FHIR R4B (4.3.0), the R4 technical correction that pydantic-2
``fhir.resources`` ships; Patient, ServiceRequest, DiagnosticReport and
Observation did not change between R4 (4.0.1) and R4B as far as I know (not
checked against the 4.0.1 StructureDefinitions).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from app.integration.results_out import LOINC
from storage.models import Order, Patient, Report, Site, Study, User

LOINC_SYSTEM, UCUM = "http://loinc.org", "http://unitsofmeasure.org"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
STATEMENT_SYSTEM = "urn:ecghub:statement"
#: measurement key -> Observation id suffix (FHIR ids allow letters, digits, '-' and '.')
SHORT = {"heart_rate_bpm": "hr", "pr_ms": "pr", "qrs_ms": "qrs", "qt_ms": "qt", "qtc_bazett_ms": "qtc",
         "p_axis_deg": "paxis", "qrs_axis_deg": "qrsaxis", "t_axis_deg": "taxis"}
UNIT_DISPLAY = {"/min": "/min", "ms": "ms", "deg": "°"}
GENDER = {"M": "male", "F": "female", "U": "unknown"}
PRIORITY = {"stat": "stat", "urgent": "urgent", "routine": "routine"}
ORDER_STATUS = {"scheduled": "active", "completed": "completed", "cancelled": "revoked"}


def validated(resource: dict[str, Any]) -> dict[str, Any]:
    """``resource`` unchanged once the R4B model of its type accepts it (raises otherwise)."""
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    return resource


def instant(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="seconds")


def patient_identifier_system(site: Site) -> str:
    return f"urn:ecghub:site:{site.code}:patient"


def patient(p: Patient, site: Site) -> dict[str, Any]:
    out: dict[str, Any] = {
        "resourceType": "Patient", "id": str(p.id),
        "identifier": [{"use": "usual", "type": {"coding": [{"system": V2_0203, "code": "MR"}]},
                        "system": patient_identifier_system(site), "value": p.external_id}],
        "name": [{"text": p.name}], "gender": GENDER.get(p.sex.value, "unknown"),
        "managingOrganization": {"display": site.name},
    }
    if p.birth_date:
        out["birthDate"] = p.birth_date.isoformat()
    return out


def service_request(o: Order) -> dict[str, Any]:
    ids = [("PLAC", f"urn:ecghub:placer:{o.sending_facility}", o.placer_order_number),
           ("FILL", f"urn:ecghub:filler:{o.sending_facility}", o.filler_order_number),
           ("ACSN", f"urn:ecghub:accession:{o.sending_facility}", o.accession_number)]
    code: dict[str, Any] = {"text": o.service_text or "ECG"}
    if o.service_code:
        code["coding"] = [{"code": o.service_code, **({"display": o.service_text} if o.service_text else {})}]
    out: dict[str, Any] = {
        "resourceType": "ServiceRequest", "id": str(o.id),
        "identifier": [{"type": {"coding": [{"system": V2_0203, "code": t}]}, "system": s, "value": v}
                       for t, s, v in ids if v],
        "status": ORDER_STATUS[o.status], "intent": "order", "priority": PRIORITY[o.urgency.value],
        "code": code, "subject": {"reference": f"Patient/{o.patient_id}"}, "authoredOn": instant(o.created_at),
    }
    if o.requested_at:
        out["occurrenceDateTime"] = instant(o.requested_at)
    return out


def _status(report: Report) -> str:
    return "final" if report.version == 1 else "amended"


def _signer(signer: User | None) -> list[dict[str, str]]:
    return [{"display": signer.display_name or signer.username}] if signer else []


def observations(study: Study, report: Report, signer: User | None) -> list[dict[str, Any]]:
    """One Observation per measurement of the signed version (values the cardiologist confirmed)."""
    values = (report.measurements or {}).get("values", {})
    out = []
    for key, (code, text, unit) in LOINC.items():
        if values.get(key) is None:
            continue
        obs = {"resourceType": "Observation", "id": f"{study.id}-{SHORT[key]}", "status": _status(report),
               "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                         "code": "procedure"}]}],
               "code": {"coding": [{"system": LOINC_SYSTEM, "code": code, "display": text}], "text": text},
               "subject": {"reference": f"Patient/{study.patient_id}"},
               "effectiveDateTime": instant(study.acquired_at), "issued": instant(report.signed_at),
               "valueQuantity": {"value": round(float(values[key]), 1), "unit": UNIT_DISPLAY[unit], "system": UCUM,
                                 "code": unit}}
        if signer:
            obs["performer"] = _signer(signer)
        out.append(obs)
    return out


def diagnostic_report(study: Study, report: Report, signer: User | None, order: Order | None,
                      pdf_url: str) -> dict[str, Any]:
    """The study's signed report; ``presentedForm`` links the PDF (same credentials as the API)."""
    statements = report.statements or []
    conclusion = "；".join(s["zh"] for s in statements) + " / " + "; ".join(s["en"] for s in statements)
    if report.free_text.strip():
        conclusion += "\n" + report.free_text.strip()
    out: dict[str, Any] = {
        "resourceType": "DiagnosticReport", "id": str(study.id),
        "identifier": [{"system": "urn:ecghub:study", "value": str(study.id)}],
        "status": _status(report),
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "EC",
                                  "display": "Electrocardiac (e.g., EKG, EEC, Holter)"}]}],
        "code": {"coding": [{"system": LOINC_SYSTEM, "code": "11524-6", "display": "EKG study"}]},
        "subject": {"reference": f"Patient/{study.patient_id}"},
        "effectiveDateTime": instant(study.acquired_at), "issued": instant(report.signed_at),
        "result": [{"reference": f"Observation/{o['id']}"} for o in observations(study, report, signer)],
        "conclusion": conclusion.strip(" /"),
        "conclusionCode": [{"coding": [{"system": STATEMENT_SYSTEM, "code": s["code"], "display": s["en"]}],
                            "text": s["zh"]} for s in statements],
        "presentedForm": [{"contentType": "application/pdf", "language": "zh-CN", "url": pdf_url,
                           "title": f"ECG report v{report.version}", "creation": instant(report.signed_at)}],
    }
    if signer:
        out["resultsInterpreter"] = _signer(signer)
    if order is not None:
        out["basedOn"] = [{"reference": f"ServiceRequest/{order.id}"}]
    if not out["result"]:
        del out["result"]
    if not out["conclusionCode"]:
        del out["conclusionCode"]
    return out

