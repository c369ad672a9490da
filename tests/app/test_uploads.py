"""The clinic upload endpoint end to end on real MIT-BIH files, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import zipfile

import numpy as np
import wfdb

from tests.app.factories import patient_form, upload, wait_for_status, wfdb_files


def test_upload_record_100_is_stored_byte_exact_and_analyzed(world, data):
    files = wfdb_files(data, "mitdb/100")
    resp = upload(world.client, world.a.auth, files)
    assert resp.status_code == 202, resp.text
    body = resp.json()
    assert resp.headers["Location"] == f"/api/v1/studies/{body['id']}"
    assert body["status"] == "received"

    study = wait_for_status(world.client, world.a.auth, body["id"])
    assert study["status"] == "awaiting_read", study
    stored = {f["name"]: f["sha256"] for f in study["recording"]["files"]}
    for _, (name, content, _) in files:
        assert stored[name] == hashlib.sha256(content).hexdigest()
        got = world.client.get(f"/api/v1/studies/{body['id']}/files/{name}", headers=world.a.auth)
        assert got.status_code == 200 and got.content == content
    assert study["recording"]["format"] == "wfdb"
    assert study["recording"]["fs_hz"] == 360
    assert abs(study["recording"]["duration_s"] - 1805.56) < 0.1

    # The measured rate agrees with the cardiologists' beat labels of record 100.
    ann = wfdb.rdann(str(data / "mitdb" / "100"), "atr")
    beats = np.isin(np.array(ann.symbol), list("NLRBAaJSVrFejnE/fQ"))
    ref_bpm = 60.0 * 360 / np.median(np.diff(ann.sample[beats]))
    analysis = study["analysis"]
    assert abs(analysis["heart_rate_bpm"] - ref_bpm) < 3
    assert analysis["quality"]["verdict"] in ("good", "acceptable")
    assert analysis["beats"] > 2200


def test_upload_as_zip_with_api_key(world, data):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for ext in (".hea", ".dat"):
            zf.write(data / "ludb" / f"1{ext}", f"1{ext}")
    resp = upload(world.client, world.a.key, [("files", ("1.zip", buf.getvalue(), "application/zip"))])
    assert resp.status_code == 202, resp.text
    study = wait_for_status(world.client, world.a.key, resp.json()["id"])
    assert study["status"] in ("awaiting_read", "unreadable")
    assert study["recording"]["leads"][:3] == ["I", "II", "III"]
    assert len(study["recording"]["leads"]) == 12


def test_retries_with_same_key_make_one_study(world, data):
    files = wfdb_files(data, "mitdb/100")
    ids = set()
    for attempt in range(4):
        resp = upload(world.client, world.a.auth, files, key="retry-key-1")
        assert resp.status_code == 202, resp.text
        assert (resp.headers.get("Idempotent-Replayed") == "true") == (attempt > 0)
        ids.add(resp.json()["id"])
    assert len(ids) == 1
    listing = world.client.get("/api/v1/studies", headers=world.a.auth).json()
    assert [s["id"] for s in listing["items"]] == list(ids)


def test_same_body_without_key_is_one_study(world, data):
    files = wfdb_files(data, "mitdb/100")
    first = upload(world.client, world.a.auth, files, key="")
    again = upload(world.client, world.a.auth, files, key="")
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]


def test_same_key_different_body_is_409(world, data):
    resp = upload(world.client, world.a.auth, wfdb_files(data, "mitdb/100"), key="k-409")
    assert resp.status_code == 202
    other = upload(world.client, world.a.auth, wfdb_files(data, "mitdb/101"), key="k-409")
    assert other.status_code == 409
    assert other.headers["content-type"].startswith("application/problem+json")
    assert "Idempotency-Key" in other.json()["detail"]
    changed_form = upload(world.client, world.a.auth, wfdb_files(data, "mitdb/100"),
                          form=patient_form(patient_name="Someone Else"), key="k-409")
    assert changed_form.status_code == 409


def test_same_key_from_two_sites_are_two_studies(world, data):
    files = wfdb_files(data, "mitdb/100")
    a = upload(world.client, world.a.auth, files, key="shared-key")
    b = upload(world.client, world.b.auth, files, key="shared-key")
    assert a.status_code == b.status_code == 202
    assert a.json()["id"] != b.json()["id"]


def test_cursor_pagination_and_filters(world, data):
    files = wfdb_files(data, "mitdb/100")
    for i in range(5):
        assert upload(world.client, world.a.auth, files, form=patient_form(patient_id=f"P-{i}")).status_code == 202
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = world.client.get("/api/v1/studies", headers=world.a.auth, params=params).json()
        seen += [s["id"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5
    only = world.client.get("/api/v1/studies", headers=world.a.auth, params={"patient_id": "P-3"}).json()
    assert [s["patient"]["id"] for s in only["items"]] == ["P-3"]
    bad = world.client.get("/api/v1/studies", headers=world.a.auth, params={"cursor": "garbage!"})
    assert bad.status_code == 422
    future = world.client.get("/api/v1/studies", headers=world.a.auth,
                              params={"received_from": "2099-01-01T00:00:00+00:00"}).json()
    assert future["items"] == []


def _ludb1_with(data, edit) -> list:
    """LUDB record 1 (12 leads, format 16) with its samples changed by ``edit(samples)``."""
    x = np.fromfile(data / "ludb" / "1.dat", dtype="<i2").reshape(-1, 12).copy()
    edit(x)
    return [("files", ("1.hea", (data / "ludb" / "1.hea").read_bytes(), "text/plain")),
            ("files", ("1.dat", x.tobytes(), "application/octet-stream"))]


def test_api_checks_headers_and_the_worker_decodes_the_samples(world, data):
    """The API reads header and sizes only: a lead with no valid sample is accepted (202) and the
    worker, which decodes the samples once, marks the study unreadable with the reason."""
    def lose_v2(x):
        x[:, 7] = -32768  # format 16's "no sample" value throughout lead V2

    resp = upload(world.client, world.a.auth, _ludb1_with(data, lose_v2))
    assert resp.status_code == 202, resp.text
    study = wait_for_status(world.client, world.a.auth, resp.json()["id"])
    assert study["status"] == "unreadable"
    assert "lead V2 holds no valid samples" in study["status_reason"]


def test_notes_found_by_decoding_are_added_to_the_recording(world, data):
    def gap_in_ii(x):
        x[1000:1010, 1] = -32768

    resp = upload(world.client, world.a.auth, _ludb1_with(data, gap_in_ii))
    assert resp.status_code == 202, resp.text
    assert not any("missing samples" in w for w in resp.json().get("recording", {}).get("warnings", []))
    study = wait_for_status(world.client, world.a.auth, resp.json()["id"])
    assert study["status"] in ("awaiting_read", "unreadable")
    assert any(w.startswith("II: 10 missing samples") for w in study["recording"]["warnings"]), study["recording"]


def test_concurrent_identical_uploads_make_one_study_and_one_patient(world, data):
    """No look-up guards the insert: the unique (site, Idempotency-Key) does, and the patient upsert
    lets two uploads for one new patient meet without an error."""
    from concurrent.futures import ThreadPoolExecutor

    files = wfdb_files(data, "mitdb/100")
    form = patient_form(patient_id="RACE-1")
    with ThreadPoolExecutor(4) as pool:
        same_key = list(pool.map(lambda _: upload(world.client, world.a.auth, files, form=form, key="race-key"),
                                 range(4)))
        other_keys = list(pool.map(lambda i: upload(world.client, world.a.auth, files, form=form, key=f"race-{i}"),
                                   range(4)))
    assert all(r.status_code == 202 for r in same_key + other_keys), [r.text for r in same_key + other_keys]
    assert len({r.json()["id"] for r in same_key}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") != "true" for r in same_key) == 1
    assert len({r.json()["id"] for r in other_keys}) == 4
    from sqlalchemy import func, select

    from storage.models import Patient, Study

    with world.client.app.state.ctx.session_factory() as s:
        patients = list(s.scalars(select(Patient.id).where(Patient.external_id == "RACE-1")))
        studies = s.scalar(select(func.count()).select_from(Study).where(Study.patient_id.in_(patients)))
    assert len(patients) == 1 and studies == 5
