"""DICOM with real peers: dcmtk as the ECG cart (storescu, findscu, dcmodify, dcmdump), Orthanc as the PACS.

ecghub's side is pynetdicom; every peer here is another implementation, started by the test.
The shared device files (../shared/data/formats/dicom) are sent as a cart sends them.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pydicom
import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from sqlalchemy import func, select, update

from app.main import create_app
from app.settings import Settings
from storage.models import DicomDelivery, Patient, Study
from tests.app.conftest import METRICS_TOKEN
from tests.app.dicom_peers import CART_AE, Orthanc, add_peer, dcmdump, dcmodify, dicom_port, findscu, storescu
from tests.app.factories import World, make_world, wait_for_status
from tests.app.hl7_peer import ResultPeer, ack_code, configure, listener_port, order_message, send

TWELVE_LEAD = "1.2.840.10008.5.1.4.1.1.9.1.1"
ENCAPSULATED_PDF = "1.2.840.10008.5.1.4.1.1.104.1"

MORTARA = "formats/dicom/waveform_ecg.dcm"  # 12-lead, 1000 Hz, patient 642341, accession 03028041970546
MORTARA_UID = "1.3.6.1.4.1.20029.40.20130125105919.5407.1.1"
TOOLKIT = "formats/dicom/ECGToolkit_Example.dcm"  # 12-lead, 500 Hz, patient SBJ-123, no accession number


def dicom_settings(settings: Settings) -> Settings:
    """The test settings plus in-process HL7 and DICOM listeners on free ports and fast dispatchers."""
    return Settings(**{**settings.model_dump(), "hl7_listen_port": 0, "hl7_interval_s": 0.2, "hl7_timeout_s": 3.0,
                       "dicom_listen_port": 0, "dicom_interval_s": 0.2, "dicom_timeout_s": 5.0})


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(dicom_settings(settings))) as c:
        yield c


@pytest.fixture
def world(client: TestClient) -> World:
    return make_world(client)


def _copy(data: Path, name: str, tmp_path: Path) -> Path:
    dst = tmp_path / Path(name).name
    shutil.copy(data / name, dst)
    dst.chmod(0o644)
    return dst


def _counts(client: TestClient) -> tuple[int, int]:
    with client.app.state.ctx.session_factory() as s:
        return s.scalar(select(func.count(Study.id))), s.scalar(select(func.count(Patient.id)))


def _studies(world: World) -> list[dict]:
    return world.client.get("/api/v1/studies", headers=world.a.auth).json()["items"]


def test_cart_store_becomes_a_study_once_for_the_mapped_site(world, data, tmp_path):
    add_peer(world.client, world.admin, world.a.site_id)
    port = dicom_port(world.client)
    sent = storescu(port, data / MORTARA)
    assert sent.status == "0x0000", sent.summary
    (study,) = _studies(world)
    assert study["patient"] == {"id": "642341", "name": "Anonymous", "sex": "F", "birth_date": "1971-01-23"}
    detail = world.client.get(f"/api/v1/studies/{study['id']}", headers=world.a.auth).json()
    assert detail["recording"]["format"] == "dicom" and detail["recording"]["fs_hz"] == 1000
    assert detail["recording"]["files"][0]["name"] == f"{MORTARA_UID}.dcm"
    # The device dated it 2013 (its clock, as far as anyone can tell over DICOM): nobody at the cart
    # can confirm, so the time of receipt is the trusted one and the disagreement is kept visible.
    acquired = dt.datetime.fromisoformat(detail["acquired_at"])
    assert abs(dt.datetime.now(dt.UTC) - acquired) < dt.timedelta(minutes=5), detail["acquired_at"]
    assert detail["acquired_at_source"] == "server_receipt"
    # The stored original is the object as sent: the same SOP instance, readable by pydicom.
    blob = world.client.get(detail["links"]["files"][0], headers=world.a.auth)
    assert blob.status_code == 200
    assert pydicom.dcmread(io.BytesIO(blob.content)).SOPInstanceUID == MORTARA_UID

    # Sent again (a cart that lost the response): success, the same study, nothing new.
    again = storescu(port, data / MORTARA)
    assert again.status == "0x0000", again.summary
    assert _counts(world.client) == (1, 1)
    # The other clinic sees nothing of it.
    assert world.client.get("/api/v1/studies", headers=world.b.auth).json()["items"] == []


def test_accession_number_names_the_order_and_its_patient_wins(world, data, tmp_path):
    """A cart that took the patient from the worklist sends the order's accession number: the study is
    that order's, with the HIS's patient (name, birth date), not what the device file says."""
    configure(world.client, world.admin, world.a.site_id, None)
    add_peer(world.client, world.admin, world.a.site_id)
    assert ack_code(send(listener_port(world.client), order_message("ORD-1", accession="ACC-77"))) == "AA"
    cart_file = _copy(data, TOOLKIT, tmp_path)
    dcmodify(cart_file, AccessionNumber="ACC-77", AcquisitionDateTime="20261125094000", StudyDate="20261125",
             ContentDate="20261125")
    sent = storescu(dicom_port(world.client), cart_file)
    assert sent.status == "0x0000", sent.summary
    (study,) = _studies(world)
    assert study["patient"] == {"id": "P-7", "name": "王小明", "sex": "M", "birth_date": "2019-03-04"}
    orders = world.client.get("/api/v1/orders", headers=world.a.auth, params={"status": "completed"}).json()
    assert [(o["accession_number"], o["study_id"]) for o in orders] == [("ACC-77", study["id"])]


def test_unknown_calling_ae_title_is_rejected_and_nothing_stored(world, data):
    add_peer(world.client, world.admin, world.a.site_id)
    sent = storescu(dicom_port(world.client), data / MORTARA, calling="STRANGER")
    assert sent.code != 0 and "Calling AE Title Not Recognized" in sent.output, sent.summary
    assert _counts(world.client) == (0, 0)


def test_no_peer_configured_rejects_everyone(world, data):
    sent = storescu(dicom_port(world.client), data / MORTARA, calling=CART_AE)
    assert sent.code != 0 and "Calling AE Title Not Recognized" in sent.output, sent.summary
    assert _counts(world.client) == (0, 0)


def test_non_ecg_sop_class_is_not_accepted_in_negotiation(world, data, tmp_path):
    add_peer(world.client, world.admin, world.a.site_id)
    image = _copy(data, MORTARA, tmp_path)
    dcmodify(image, SOPClassUID="1.2.840.10008.5.1.4.1.1.7")  # Secondary Capture Image Storage
    sent = storescu(dicom_port(world.client), image)
    assert "No Acceptable Presentation Contexts" in sent.output and not sent.status, sent.summary
    assert _counts(world.client) == (0, 0)


def _lying_waveform(data: Path, tmp_path: Path) -> Path:
    """The device file with half its rhythm samples cut, the declared sample count unchanged."""
    ds = pydicom.dcmread(data / MORTARA)
    group = ds.WaveformSequence[0]
    group.WaveformData = group.WaveformData[: len(group.WaveformData) // 2]
    out = tmp_path / "lying.dcm"
    ds.save_as(out, enforce_file_format=True)
    return out


def _no_waveform(data: Path, tmp_path: Path) -> Path:
    """An object that says 12-lead ECG and holds no waveform at all."""
    ds = pydicom.dcmread(data / MORTARA)
    del ds.WaveformSequence
    out = tmp_path / "empty.dcm"
    ds.save_as(out, enforce_file_format=True)
    return out


def _no_patient(data: Path, tmp_path: Path) -> Path:
    ds = pydicom.dcmread(data / MORTARA)
    ds.PatientID = ""
    out = tmp_path / "anonymous.dcm"
    ds.save_as(out, enforce_file_format=True)
    return out


@pytest.mark.parametrize("make, status, reason", [
    (_lying_waveform, "0xc000", "the waveform data holds 120000 bytes"),
    (_no_waveform, "0xc000", "no ECG waveform"),
    (_no_patient, "0xc001", "patient_id"),
])
def test_unreadable_or_lying_objects_get_a_failure_status_and_store_nothing(world, data, tmp_path, make, status,
                                                                             reason):
    add_peer(world.client, world.admin, world.a.site_id)
    sent = storescu(dicom_port(world.client), make(data, tmp_path))
    assert (sent.status, reason in sent.comment) == (status, True), sent.summary
    assert _counts(world.client) == (0, 0)
    blobs = world.client.app.state.ctx.settings.resolved_blob_dir
    assert not blobs.exists() or not any(p.is_file() for p in blobs.rglob("*"))


def test_admin_dicom_peers_validate_conflict_and_remove(world, data):
    peer = add_peer(world.client, world.admin, world.a.site_id)
    listed = world.client.get("/api/v1/admin/dicom-peers", headers=world.admin).json()
    assert [(p["ae_title"], p["site_id"]) for p in listed] == [(CART_AE, world.a.site_id)]
    dup = world.client.post("/api/v1/admin/dicom-peers", headers=world.admin,
                            json={"ae_title": CART_AE, "site_id": world.b.site_id})
    assert dup.status_code == 409
    for bad in ("A\\B", "", " ", "X" * 17, "CART\n"):
        r = world.client.post("/api/v1/admin/dicom-peers", headers=world.admin,
                              json={"ae_title": bad, "site_id": world.a.site_id})
        assert r.status_code == 422, bad
    nosite = world.client.post("/api/v1/admin/dicom-peers", headers=world.admin,
                               json={"ae_title": "CART02", "site_id": 999999})
    assert nosite.status_code == 404
    assert world.client.get("/api/v1/admin/dicom-peers", headers=world.a.auth).status_code == 403
    assert world.client.delete(f"/api/v1/admin/dicom-peers/{peer['id']}", headers=world.admin).status_code == 204
    assert world.client.delete(f"/api/v1/admin/dicom-peers/{peer['id']}", headers=world.admin).status_code == 404
    # Removed: the cart is turned away again.
    sent = storescu(dicom_port(world.client), data / MORTARA)
    assert sent.code != 0 and "Calling AE Title Not Recognized" in sent.output


WORKLIST_KEYS = ["PatientName", "PatientID", "PatientBirthDate", "PatientSex", "AccessionNumber",
                 "RequestedProcedureDescription", "StudyInstanceUID",
                 "ScheduledProcedureStepSequence[0].Modality=ECG",
                 "ScheduledProcedureStepSequence[0].ScheduledStationAETitle",
                 "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartTime"]


def test_worklist_gives_the_sites_scheduled_orders_in_chinese_filtered_by_date_and_patient(world, tmp_path):
    configure(world.client, world.admin, world.a.site_id, None)
    add_peer(world.client, world.admin, world.a.site_id)
    add_peer(world.client, world.admin, world.b.site_id, ae_title="CARTB")
    hl7 = listener_port(world.client)
    assert ack_code(send(hl7, order_message("W-1", accession="ACC-1"))) == "AA"  # 2026-11-25 09:30 local
    assert ack_code(send(hl7, order_message("W-2", placer="PL-2", patient_id="P-8", family="欧阳", given="娜娜",
                                            sex="F", birth="20260901", accession="ACC-2",
                                            when="20261126080000"))) == "AA"
    port = dicom_port(world.client)
    day = "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate=20261125"
    found, files = findscu(port, [*WORKLIST_KEYS, day], tmp_path / "day")
    assert found.code == 0, found.output
    assert len(files) == 1, found.output
    got = dcmdump(files[0], "SpecificCharacterSet", "PatientName", "PatientID", "PatientBirthDate", "PatientSex",
                  "AccessionNumber", "Modality", "ScheduledStationAETitle", "ScheduledProcedureStepStartTime")
    assert got["SpecificCharacterSet"] == "ISO_IR 192"
    assert (got["PatientName"], got["PatientID"], got["PatientBirthDate"], got["PatientSex"]) == \
        ("王小明", "P-7", "20190304", "M")
    assert (got["AccessionNumber"], got["Modality"], got["ScheduledStationAETitle"]) == ("ACC-1", "ECG", CART_AE)
    assert got["ScheduledProcedureStepStartTime"] == "093000"  # China Standard Time, as the HIS sent it

    both, files = findscu(port, [*WORKLIST_KEYS, day.replace("20261125", "20261125-20261126")], tmp_path / "two")
    assert len(files) == 2, both.output
    names = sorted(dcmdump(f, "PatientName")["PatientName"] for f in files)
    assert names == sorted(["王小明", "欧阳娜娜"])
    _, files = findscu(port, [*WORKLIST_KEYS, "PatientID=P-8"], tmp_path / "pid")
    assert [dcmdump(f, "PatientID")["PatientID"] for f in files] == ["P-8"]
    _, files = findscu(port, [*WORKLIST_KEYS[:-3], "ScheduledProcedureStepSequence[0].Modality=CT"],
                       tmp_path / "ct")
    assert files == []
    # The other site's cart sees none of site A's orders; an unknown AE is turned away.
    _, files = findscu(port, WORKLIST_KEYS, tmp_path / "b", calling="CARTB")
    assert files == []
    stranger, files = findscu(port, WORKLIST_KEYS, tmp_path / "x", calling="STRANGER")
    assert files == [] and "Calling AE Title Not Recognized" in stranger.output
    bad, files = findscu(port, [*WORKLIST_KEYS, day.replace("20261125", "2026-11-xx")], tmp_path / "bad")
    assert files == [] and "DataSetDoesNotMatchSOPClass" in bad.output, bad.output  # status 0xA900


def _set_pacs(world: World, orthanc: Orthanc) -> None:
    r = world.client.put(f"/api/v1/admin/sites/{world.a.site_id}/pacs", headers=world.admin,
                         json={"pacs": {"host": "127.0.0.1", "port": orthanc.dicom_port, "ae_title": orthanc.ae_title}})
    assert r.status_code == 200, r.text


def _sign(world: World, sid: str) -> None:
    assert wait_for_status(world.client, world.a.auth, sid)["status"] == "awaiting_read"
    claim = world.client.post(f"/api/v1/reader/studies/{sid}/claim", headers=world.reader).json()["claim"]
    r = world.client.post(f"/api/v1/reader/claims/{claim['id']}/sign", headers=world.reader,
                          json={"statements": ["SR"], "free_text": "请随访"})
    assert r.status_code == 201, r.text


def test_round_trip_order_worklist_cart_sign_oru_pacs_fhir_then_amendment(world, data, tmp_path):
    """#18's round trip: HL7 order -> findscu sees it -> storescu sends the cart's object -> the study is the
    order's (right patient and age) -> signed -> ORU^R01 at the HL7 peer -> waveform + PDF in Orthanc,
    one study with the accession number -> FHIR DiagnosticReport; then an amendment: status C, a new PDF."""
    peer = ResultPeer().start()
    orthanc = Orthanc(tmp_path / "orthanc").start()
    try:
        configure(world.client, world.admin, world.a.site_id, peer.port)
        add_peer(world.client, world.admin, world.a.site_id)
        _set_pacs(world, orthanc)
        assert ack_code(send(listener_port(world.client), order_message("RT-1", accession="ACC-RT"))) == "AA"

        found, answers = findscu(dicom_port(world.client), [*WORKLIST_KEYS, "AccessionNumber=ACC-RT"],
                                 tmp_path / "wl")
        assert len(answers) == 1, found.output
        entry = dcmdump(answers[0], "PatientID", "PatientName", "AccessionNumber", "StudyInstanceUID")
        assert (entry["PatientID"], entry["PatientName"], entry["AccessionNumber"]) == ("P-7", "王小明", "ACC-RT")

        # The cart fills the object from the worklist entry and records now (China Standard Time).
        cart_file = _copy(data, MORTARA, tmp_path)
        now = dt.datetime.now(dt.timezone(dt.timedelta(hours=8))) - dt.timedelta(minutes=1)
        dcmodify(cart_file, PatientID="P-7", AccessionNumber="ACC-RT", StudyInstanceUID=entry["StudyInstanceUID"],
                 AcquisitionDateTime=now.strftime("%Y%m%d%H%M%S"), StudyDate=now.strftime("%Y%m%d"),
                 ContentDate=now.strftime("%Y%m%d"))
        sent = storescu(dicom_port(world.client), cart_file)
        assert sent.status == "0x0000", sent.summary
        (study,) = _studies(world)
        assert study["patient"] == {"id": "P-7", "name": "王小明", "sex": "M", "birth_date": "2019-03-04"}
        age_years = (dt.datetime.fromisoformat(study["acquired_at"]).date() - dt.date(2019, 3, 4)).days / 365.25
        assert 7 <= age_years < 8.5  # the HIS's birth date, the cart's acquisition time: a 7-year-old
        sid = study["id"]
        _sign(world, sid)

        (oru,) = peer.wait_for(1)
        assert str(oru.segment("OBR")[18]) == "ACC-RT" and str(oru.segment("OBR")[25]) == "F"
        assert any(str(s[3][0][0]) == "8867-4" for s in oru.segments("OBX"))  # LOINC heart rate

        stored = orthanc.wait_for(2)
        by_class = {i["SOPClassUID"]: i for i in stored}
        assert set(by_class) == {TWELVE_LEAD, ENCAPSULATED_PDF}, stored
        assert {i["StudyInstanceUID"] for i in stored} == {entry["StudyInstanceUID"]}
        assert {i["AccessionNumber"] for i in stored} == {"ACC-RT"}
        assert by_class[TWELVE_LEAD]["SOPInstanceUID"] == MORTARA_UID
        pdf_id = next(i for i in orthanc.get("/instances")
                      if orthanc.get(f"/instances/{i}/simplified-tags")["SOPClassUID"] == ENCAPSULATED_PDF)
        exported = tmp_path / "report.dcm"
        exported.write_bytes(orthanc.file(pdf_id))
        dumped = dcmdump(exported, "PatientName", "MIMETypeOfEncapsulatedDocument", "AccessionNumber")
        assert dumped["PatientName"] == "王小明" and dumped["MIMETypeOfEncapsulatedDocument"] == "application/pdf"
        assert pydicom.dcmread(exported).EncapsulatedDocument.startswith(b"%PDF")
        log = world.client.get(f"/api/v1/admin/sites/{world.a.site_id}/pacs/deliveries", headers=world.admin).json()
        assert [(d["status"], d["report_version"]) for d in log] == [("delivered", 1)]

        bundle = world.client.get("/fhir/DiagnosticReport", headers=world.a.auth,
                                  params={"patient.identifier": "P-7"}).json()
        (report,) = [e["resource"] for e in bundle["entry"]]
        DiagnosticReport.model_validate(report)
        assert report["status"] == "final"

        amended = world.client.post(f"/api/v1/reader/studies/{sid}/amend", headers=world.reader, json={
            "statements": ["SR", "ABN"], "free_text": "更正", "reason": "missed finding on review"})
        assert amended.status_code == 201, amended.text
        assert str(peer.wait_for(2)[1].segment("OBR")[25]) == "C"
        stored = orthanc.wait_for(3)
        pdfs = [i for i in stored if i["SOPClassUID"] == ENCAPSULATED_PDF]
        assert len(pdfs) == 2 and len({p["SOPInstanceUID"] for p in pdfs}) == 2
        assert {i["StudyInstanceUID"] for i in stored} == {entry["StudyInstanceUID"]}
    finally:
        orthanc.stop()
        peer.stop()


def test_pacs_down_then_up_delivery_is_retried_and_nothing_is_lost(world, data, tmp_path):
    add_peer(world.client, world.admin, world.a.site_id)
    orthanc = Orthanc(tmp_path / "orthanc")  # configured, not started yet: the PACS is down
    _set_pacs(world, orthanc)
    sent = storescu(dicom_port(world.client), data / MORTARA)
    assert sent.status == "0x0000", sent.summary
    (study,) = _studies(world)
    _sign(world, study["id"])
    factory = world.client.app.state.ctx.session_factory
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with factory() as s:
            d = s.scalar(select(DicomDelivery))
        if d is not None and d.attempts >= 1:
            break
        time.sleep(0.1)
    assert d is not None and d.status == "pending" and d.attempts >= 1 and "no association" in d.last_error
    metrics = world.client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
    assert 'ecghub_outbox_retrying{channel="dicom"} 1.0' in metrics, metrics[-800:]
    orthanc.start()
    try:
        with factory() as s:  # the backoff has elapsed
            s.execute(update(DicomDelivery).values(next_attempt_at=dt.datetime.now(dt.UTC)))
            s.commit()
        stored = orthanc.wait_for(2)
        assert sorted(i["SOPClassUID"] for i in stored) == sorted([TWELVE_LEAD, ENCAPSULATED_PDF])
        time.sleep(1)
        assert len(orthanc.instances()) == 2  # delivered once
        log = world.client.get(f"/api/v1/admin/sites/{world.a.site_id}/pacs/deliveries", headers=world.admin).json()
        assert log[0]["status"] == "delivered" and log[0]["attempts"] >= 2
    finally:
        orthanc.stop()


def test_hub_wide_pacs_from_settings_serves_a_site_without_its_own(settings, data, tmp_path):
    """``ECGHUB_DICOM_PACS`` (AE@host:port): the hub's PACS receives the results of sites without one."""
    orthanc = Orthanc(tmp_path / "orthanc", ae_title="HUBPACS").start()
    try:
        hub = Settings(**{**dicom_settings(settings).model_dump(),
                          "dicom_pacs": f"HUBPACS@127.0.0.1:{orthanc.dicom_port}"})
        with TestClient(create_app(hub)) as c:
            world = make_world(c)
            add_peer(c, world.admin, world.a.site_id)
            assert storescu(dicom_port(c), data / MORTARA).status == "0x0000"
            (study,) = _studies(world)
            _sign(world, study["id"])
            stored = orthanc.wait_for(2)
            assert sorted(i["SOPClassUID"] for i in stored) == sorted([TWELVE_LEAD, ENCAPSULATED_PDF])
            # The site has no PACS of its own; its delivery log shows where the results went.
            assert c.get(f"/api/v1/admin/sites/{world.a.site_id}/pacs", headers=world.admin).json() == {"pacs": None}
            log = c.get(f"/api/v1/admin/sites/{world.a.site_id}/pacs/deliveries", headers=world.admin).json()
            assert [(d["ae_title"], d["status"]) for d in log] == [("HUBPACS", "delivered")]
    finally:
        orthanc.stop()


def test_dicom_listen_command_stores_and_stops_on_sigterm(world, settings, data, tmp_path):
    """``ecghub dicom-listen`` as its own process on the same database as the API."""
    add_peer(world.client, world.admin, world.a.site_id)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
           "ECGHUB_DATABASE_URL": settings.database_url, "ECGHUB_VAR_DIR": str(settings.var_dir)}
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "dicom-listen", "--port", "0"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        port = None
        deadline = time.monotonic() + 60
        while port is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if "DICOM listener" in line:
                port = int(line.rsplit(":", 1)[1])
        assert port, "the listener did not report its port"
        sent = storescu(port, data / MORTARA)
        assert sent.status == "0x0000", sent.summary
        assert [s["patient"]["id"] for s in _studies(world)] == ["642341"]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0


def test_readiness_covers_the_dicom_listener(world):
    """/readyz answers ready while the in-process DICOM listener accepts connections, 503 naming it
    once it does not (a balancer then stops sending carts' traffic to this process)."""
    assert world.client.get("/readyz").json() == {"status": "ready"}
    world.client.app.state.dicom_listener.stop()
    r = world.client.get("/readyz")
    assert r.status_code == 503 and "DICOM listener" in r.json()["detail"], r.text
