"""The FHIR R4 read API: resources of an ordered, signed study validate against the ``fhir.resources``
models (R4B, the R4 technical correction) and carry the right content; tenancy as for /api/v1."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from fhir.resources.R4B.servicerequest import ServiceRequest

from app.main import create_app
from tests.app.hl7_peer import ack_code, configure, hl7_settings, listener_port, order_message, send, signed_study


@pytest.fixture
def client(settings) -> Iterator[TestClient]:
    with TestClient(create_app(hl7_settings(settings))) as c:
        yield c


def _get(world, path: str, headers=None, **params) -> dict:
    resp = world.client.get(path, headers=headers or world.a.auth, params=params)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/fhir+json")
    return resp.json()


def _entries(bundle: dict) -> list[dict]:
    Bundle.model_validate(bundle)
    assert bundle["type"] == "searchset" and bundle["total"] == len(bundle.get("entry", []))
    return [e["resource"] for e in bundle.get("entry", [])]


@pytest.fixture
def ordered_signed(world, data) -> dict:
    configure(world.client, world.admin, world.a.site_id, None)
    assert ack_code(send(listener_port(world.client), order_message("MSG-F1"))) == "AA"
    sid = signed_study(world, data)
    report = world.client.get(f"/api/v1/studies/{sid}/report", headers=world.a.auth).json()["versions"][0]
    order_id = world.client.get("/api/v1/orders", headers=world.a.auth).json()[0]["id"]
    return {"sid": sid, "values": report["measurements"], "order_id": order_id}


def test_diagnostic_report_observations_patient_and_order_validate(world, ordered_signed):
    sid, values = ordered_signed["sid"], ordered_signed["values"]
    dr = _get(world, f"/fhir/DiagnosticReport/{sid}")
    DiagnosticReport.model_validate(dr)
    assert dr["status"] == "final" and dr["code"]["coding"][0]["code"] == "11524-6"
    assert [c["coding"][0]["code"] for c in dr["conclusionCode"]] == ["SR", "NORM"]
    assert "窦性心律" in dr["conclusion"] and "Sinus rhythm" in dr["conclusion"]
    assert dr["basedOn"] == [{"reference": f"ServiceRequest/{ordered_signed['order_id']}"}]
    pdf_url = dr["presentedForm"][0]["url"]
    assert dr["presentedForm"][0]["contentType"] == "application/pdf"
    assert urlsplit(pdf_url).path == f"/api/v1/studies/{sid}/report.pdf"
    pdf = world.client.get(urlsplit(pdf_url).path, headers=world.a.auth)
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"

    observations = [_get(world, "/fhir/" + r["reference"]) for r in dr["result"]]
    for o in observations:
        Observation.model_validate(o)
        assert o["valueQuantity"]["system"] == "http://unitsofmeasure.org"
        assert o["subject"] == dr["subject"]
    by_code = {o["code"]["coding"][0]["code"]: o for o in observations}
    assert by_code["8867-4"]["valueQuantity"]["code"] == "/min"
    assert by_code["8867-4"]["valueQuantity"]["value"] == pytest.approx(values["heart_rate_bpm"], abs=0.05)
    assert by_code["8633-0"]["valueQuantity"]["code"] == "ms"
    assert by_code["8633-0"]["valueQuantity"]["value"] == pytest.approx(values["qrs_ms"], abs=0.05)

    patient = _get(world, "/fhir/" + dr["subject"]["reference"])
    Patient.model_validate(patient)
    assert (patient["name"][0]["text"], patient["gender"], patient["birthDate"]) == ("王小明", "male", "2019-03-04")
    assert patient["identifier"][0]["value"] == "P-7"

    sr = _get(world, f"/fhir/ServiceRequest/{ordered_signed['order_id']}")
    ServiceRequest.model_validate(sr)
    assert sr["priority"] == "stat" and sr["subject"] == dr["subject"]
    assert {i["type"]["coding"][0]["code"]: i["value"] for i in sr["identifier"]} == \
        {"PLAC": "PL-1001", "FILL": "FL-1001", "ACSN": "ACC-1001"}


def test_search_by_patient_identifier_and_date(world, ordered_signed):
    sid = ordered_signed["sid"]
    found = _entries(_get(world, "/fhir/DiagnosticReport", **{"patient.identifier": "P-7",
                                                              "date": ["ge2026-11-25", "lt2026-11-26"]}))
    assert [r["id"] for r in found] == [sid]
    assert _entries(_get(world, "/fhir/DiagnosticReport", **{"patient.identifier": "P-7", "date": "ge2026-11-26"})) \
        == []
    assert _entries(_get(world, "/fhir/DiagnosticReport", **{"patient.identifier": "nobody"})) == []
    hr = _entries(_get(world, "/fhir/Observation", code="http://loinc.org|8867-4",
                       **{"patient.identifier": "P-7"}))
    assert [o["code"]["coding"][0]["code"] for o in hr] == ["8867-4"]
    patients = _entries(_get(world, "/fhir/Patient", identifier="P-7"))
    assert [p["identifier"][0]["value"] for p in patients] == ["P-7"]
    orders = _entries(_get(world, "/fhir/ServiceRequest", patient=f"Patient/{patients[0]['id']}",
                           occurrence="2026-11-25"))
    assert [o["id"] for o in orders] == [str(ordered_signed["order_id"])]
    bad = world.client.get("/fhir/DiagnosticReport", headers=world.a.auth, params={"date": "soon"})
    assert bad.status_code == 422


def test_amended_report_is_amended_in_fhir(world, ordered_signed):
    sid = ordered_signed["sid"]
    r = world.client.post(f"/api/v1/reader/studies/{sid}/amend", headers=world.reader, json={
        "statements": ["SR", "ABN"], "reason": "second look"})
    assert r.status_code == 201, r.text
    dr = _get(world, f"/fhir/DiagnosticReport/{sid}")
    DiagnosticReport.model_validate(dr)
    assert dr["status"] == "amended" and [c["coding"][0]["code"] for c in dr["conclusionCode"]] == ["SR", "ABN"]
    assert all(_get(world, "/fhir/" + o["reference"])["status"] == "amended" for o in dr["result"])


def test_another_site_sees_nothing_and_anonymous_is_refused(world, ordered_signed):
    sid = ordered_signed["sid"]
    dr = _get(world, f"/fhir/DiagnosticReport/{sid}")
    for path in (f"/fhir/DiagnosticReport/{sid}", "/fhir/" + dr["subject"]["reference"],
                 "/fhir/" + dr["result"][0]["reference"], f"/fhir/ServiceRequest/{ordered_signed['order_id']}"):
        assert world.client.get(path, headers=world.b.auth).status_code == 404, path
        assert world.client.get(path).status_code == 401, path
    for path in ("/fhir/DiagnosticReport", "/fhir/Observation", "/fhir/Patient", "/fhir/ServiceRequest"):
        assert _entries(_get(world, path, headers=world.b.auth, **{"patient.identifier": "P-7"}
                             if path != "/fhir/Patient" else {"identifier": "P-7"})) == []
    # the hub admin sees every site
    assert _get(world, f"/fhir/DiagnosticReport/{sid}", headers=world.admin)["id"] == sid
