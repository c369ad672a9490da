"""The upload endpoint takes what clinic devices export, recognised by content.

One real file per device format from ../shared/data/formats (credits in its README); the
study's recording says which format was read. A damaged DICOM gets a 422 naming the problem.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app.factories import upload, wait_for_status

FILES = [
    ("dicom/waveform_ecg.dcm", "dicom", 12, 1000),
    ("hl7_aecg/ECGToolkit_Example.xml", "hl7_aecg", 12, 500),
    ("scp_ecg/WelchAllyn_CP_2007.SCP", "scp_ecg", 12, 599.88),
    ("ge_muse/EGM_muse-sinus.xml", "ge_muse", 12, 500),
    ("philips/3191723_ZZDEMOPTONLY_1-04_orig.xml", "philips", 12, 500),
]


@pytest.mark.parametrize("path, kind, n_leads, fs", FILES)
def test_device_format_upload(world, data: Path, path: str, kind: str, n_leads: int, fs: float) -> None:
    content = (data / "formats" / path).read_bytes()
    resp = upload(world.client, world.a.auth, [("files", (Path(path).name, content, "application/octet-stream"))])
    assert resp.status_code == 202, resp.text
    study = wait_for_status(world.client, world.a.auth, resp.json()["id"])
    assert study["status"] in ("awaiting_read", "unreadable"), study
    rec = study["recording"]
    assert rec["format"] == kind
    assert len(rec["leads"]) == n_leads and rec["leads"][:2] == ["I", "II"]
    assert abs(rec["fs_hz"] - fs) < 0.01
    assert 9.9 < rec["duration_s"] < 11.1


def test_device_file_with_misleading_name_is_read_by_content(world, data: Path) -> None:
    content = (data / "formats" / "dicom" / "ECGToolkit_Example.dcm").read_bytes()
    resp = upload(world.client, world.a.auth, [("files", ("ecg.csv", content, "application/octet-stream"))])
    assert resp.status_code == 202, resp.text
    study = wait_for_status(world.client, world.a.auth, resp.json()["id"])
    rec = study["recording"]
    assert rec["format"] == "dicom"
    assert any("does not match the content" in w and "DICOM" in w for w in rec["warnings"]), rec["warnings"]
    # demographics found in the file are offered with the study (the clinic's form stays authoritative)
    assert rec["demographics_in_file"]["patient_id"] == "SBJ-123"
    assert rec["demographics_in_file"]["sex"] == "M"
    assert rec["demographics_in_file"]["birth_date"] == "1953-05-08"


def test_malformed_dicom_is_422(world, data: Path) -> None:
    content = (data / "formats" / "dicom" / "waveform_ecg.dcm").read_bytes()[:40_000]
    resp = upload(world.client, world.a.auth, [("files", ("ecg.dcm", content, "application/octet-stream"))])
    assert resp.status_code == 422, resp.text
    assert resp.json()["type"] == "/problems/unreadable-recording"
    detail = resp.json()["detail"].lower()
    assert "dicom" in detail and "truncated" in detail, detail
    assert world.client.get("/api/v1/studies", headers=world.a.auth).json()["items"] == []
