"""The 12-lead waveform object built for the PACS from a study uploaded as WFDB (issue #18, 4b).

Checked by other implementations: pydicom decodes the samples back, dcmtk's dcmdump reads the file,
Orthanc stores it next to the report's PDF.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pydicom
import pydicom.uid
import pytest
from fastapi.testclient import TestClient
from pydicom.sr.codedict import codes

from app.integration import pacs_export
from app.integration.dicom_uid import derived_uid
from app.integration.pacs_waveform import LEAD_CODES, WAVEFORM_S, recording_waveform, twelve_lead_object
from app.main import create_app
from app.settings import Settings
from ecg.io import read_recording
from ecg.types import Recording
from storage.models import Study
from storage.repositories import StudyRepository
from tests.app.dicom_peers import Orthanc, dcmdump
from tests.app.factories import World, make_world, patient_form, upload, wait_for_status, wfdb_files
from tests.app.hl7_peer import ack_code, configure, listener_port, order_message, send
from tests.app.test_dicom import ENCAPSULATED_PDF, TWELVE_LEAD, dicom_settings

LUDB = "ludb/1"  # 12 leads, 500 Hz, 10 s


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(dicom_settings(settings))) as c:
        yield c


@pytest.fixture
def world(client: TestClient) -> World:
    return make_world(client)


def _uploaded(world: World, data: Path, record: str, **form: str) -> str:
    r = upload(world.client, world.a.auth, wfdb_files(data, record), patient_form(**form))
    assert r.status_code == 202, r.text
    return str(r.json()["id"])


def _build(world: World, sid: str) -> pydicom.Dataset | None:
    ctx = world.client.app.state.ctx
    with ctx.session_factory() as s:
        study = StudyRepository(s).get_one(uuid.UUID(sid))
        return recording_waveform(ctx.blobs, study, pacs_export.study_uid(None, study, None))


def test_derived_uids_are_the_same_in_every_process_and_valid():
    """A re-sent object must be the same instance: pydicom's ``generate_uid(prefix=None, ...)`` is random."""
    script = "from app.integration.dicom_uid import derived_uid; print(derived_uid('ecghub-waveform', 'x'))"
    other = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.strip()
    uid = derived_uid("ecghub-waveform", "x")
    assert uid == other != derived_uid("ecghub-waveform", "y")
    assert uid.startswith("2.25.") and len(uid) <= 64 and pydicom.uid.UID(uid).is_valid


def test_lead_codes_are_cid_3001_as_pydicom_has_them():
    cid = {c.value: c for c in codes.cid3001.concepts.values()}
    for lead, (value, meaning) in LEAD_CODES.items():
        assert cid[value].scheme_designator == "MDC" and cid[value].meaning == meaning, lead
    assert codes.UCUM.Microvolt.value == "uV"


def test_wfdb_upload_becomes_a_12_lead_object_dcmtk_reads_and_pydicom_decodes_within_one_lsb(world, data,
                                                                                              tmp_path):
    sid = _uploaded(world, data, LUDB, patient_name="王小红")
    ds = _build(world, sid)
    assert ds is not None
    path = tmp_path / "waveform.dcm"
    ds.save_as(path, enforce_file_format=True)

    dumped = dcmdump(path, "SOPClassUID", "Modality", "PatientName", "NumberOfWaveformChannels",
                     "NumberOfWaveformSamples", "SamplingFrequency", "WaveformSampleInterpretation")
    assert dumped["SOPClassUID"] == "TwelveLeadECGWaveformStorage"  # dcmtk's name of the UID; -Un: the UID
    raw = subprocess.run(["dcmdump", "-Un", "+P", "SOPClassUID", str(path)], capture_output=True, text=True)
    assert raw.returncode == 0 and f"[{TWELVE_LEAD}]" in raw.stdout, raw.stdout + raw.stderr
    assert (dumped["Modality"], dumped["PatientName"]) == ("ECG", "王小红")
    assert (dumped["NumberOfWaveformChannels"], dumped["NumberOfWaveformSamples"]) == ("12", "5000")
    assert (dumped["SamplingFrequency"], dumped["WaveformSampleInterpretation"]) == ("500", "SS")

    back = pydicom.dcmread(path)
    decoded = back.waveform_array(0)  # µV: raw x sensitivity x correction + baseline
    rec = read_recording(data / LUDB)
    want = rec.signals[: int(WAVEFORM_S * rec.fs), [rec.leads.index(ld) for ld in LEAD_CODES]] * 1000.0
    lsb = float(back.WaveformSequence[0].ChannelDefinitionSequence[0].ChannelSensitivity)
    assert lsb == 1.0  # LUDB's ±1 mV fits int16 at 1 µV/LSB
    assert decoded.shape == want.shape == (5000, 12)
    assert np.max(np.abs(decoded - want)) <= lsb
    assert [c.ChannelSourceSequence[0].CodeValue for c in back.WaveformSequence[0].ChannelDefinitionSequence] == \
        [code for code, _ in LEAD_CODES.values()]

    # Our own reader takes it back as a 12-lead recording, in mV (PS3.16's "aVR, augmented voltage, right").
    again = read_recording({"waveform.dcm": path.read_bytes()})
    assert set(again.leads) == set(LEAD_CODES) and again.fs == 500.0
    assert np.max(np.abs(again.lead("V1")[:5000] - rec.lead("V1")[:5000])) <= lsb / 1000.0

    # A re-send is the same instance.
    same = _build(world, sid)
    assert same is not None and (same.SOPInstanceUID, same.SeriesInstanceUID) == (ds.SOPInstanceUID,
                                                                                 ds.SeriesInstanceUID)


def test_a_two_lead_recording_gets_no_waveform_object(world, data):
    """MIT-BIH 100 has two leads (MLII, V5): General ECG would be needed, which is not built."""
    sid = _uploaded(world, data, "mitdb/100")
    assert _build(world, sid) is None


def _recording(signals_mv: np.ndarray, fs: float = 500.0) -> Recording:
    return Recording(signals=signals_mv, fs=fs, leads=tuple(LEAD_CODES), format="wfdb")


def _study(world: World, data: Path) -> Study:
    sid = _uploaded(world, data, LUDB)
    with world.client.app.state.ctx.session_factory() as s:
        study = StudyRepository(s).get_one(uuid.UUID(sid))
        _ = study.patient
        return study


@pytest.mark.parametrize(("peak_mv", "lsb"), [(30.0, 1.0), (50.0, 2.5), (150.0, 5.0), (300.0, 10.0), (400.0, None)])
def test_resolution_is_the_finest_that_does_not_clip(world, data, peak_mv, lsb):
    signals = np.zeros((2000, 12))
    signals[100, 3], signals[200, 7] = peak_mv, -peak_mv
    ds = twelve_lead_object(_recording(signals), _study(world, data), "1.2.3")
    if lsb is None:
        assert ds is None  # beyond ±327 mV at 10 µV/LSB: no object rather than a clipped one
        return
    assert ds is not None
    group = ds.WaveformSequence[0]
    assert float(group.ChannelDefinitionSequence[0].ChannelSensitivity) == lsb
    decoded = ds.waveform_array(0)
    assert decoded[100, 3] == pytest.approx(peak_mv * 1000, abs=lsb)
    assert decoded[200, 7] == pytest.approx(-peak_mv * 1000, abs=lsb)


def test_holter_rate_or_over_16_s_is_not_sent_whole(world, data):
    study = _study(world, data)
    assert twelve_lead_object(_recording(np.zeros((1280, 12)), fs=128.0), study, "1.2.3") is None  # below 200 Hz
    long = twelve_lead_object(_recording(np.zeros((30 * 500, 12))), study, "1.2.3")
    assert long is not None and long.WaveformSequence[0].NumberOfWaveformSamples == 5000  # the first 10 s


def test_signed_wfdb_study_arrives_in_orthanc_as_waveform_and_pdf_in_one_study_with_accession(world, data,
                                                                                             tmp_path):
    orthanc = Orthanc(tmp_path / "orthanc").start()
    try:
        r = world.client.put(f"/api/v1/admin/sites/{world.a.site_id}/pacs", headers=world.admin, json={
            "pacs": {"host": "127.0.0.1", "port": orthanc.dicom_port, "ae_title": orthanc.ae_title}})
        assert r.status_code == 200, r.text
        configure(world.client, world.admin, world.a.site_id, None)  # HOSPA's orders are clinic A's
        assert ack_code(send(listener_port(world.client), order_message("W-1", accession="ACC-W"))) == "AA"
        sid = _uploaded(world, data, LUDB, patient_id="P-7", patient_name="王小明", patient_sex="M",
                        acquired_at=dt.datetime(2026, 11, 25, 9, 40, tzinfo=dt.timezone(dt.timedelta(hours=8)))
                        .isoformat())
        assert wait_for_status(world.client, world.a.auth, sid)["status"] == "awaiting_read"
        claim = world.client.post(f"/api/v1/reader/studies/{sid}/claim", headers=world.reader).json()["claim"]
        signed = world.client.post(f"/api/v1/reader/claims/{claim['id']}/sign", headers=world.reader,
                                   json={"statements": ["SR"], "free_text": "请随访"})
        assert signed.status_code == 201, signed.text

        stored = orthanc.wait_for(2)
        assert sorted(i["SOPClassUID"] for i in stored) == sorted([TWELVE_LEAD, ENCAPSULATED_PDF]), stored
        assert len({i["StudyInstanceUID"] for i in stored}) == 1
        assert {i["AccessionNumber"] for i in stored} == {"ACC-W"}
        assert {i["PatientID"] for i in stored} == {"P-7"}
        wave_id = next(i for i in orthanc.get("/instances")
                       if orthanc.get(f"/instances/{i}/simplified-tags")["SOPClassUID"] == TWELVE_LEAD)
        exported = tmp_path / "waveform.dcm"
        exported.write_bytes(orthanc.file(wave_id))
        assert pydicom.dcmread(exported).waveform_array(0).shape == (5000, 12)
        log = world.client.get(f"/api/v1/admin/sites/{world.a.site_id}/pacs/deliveries", headers=world.admin).json()
        assert [(d["status"], d["report_version"]) for d in log] == [("delivered", 1)]
    finally:
        orthanc.stop()
