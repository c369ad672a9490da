"""Malformed uploads get a clear 4xx naming the problem, and nothing is stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.app.factories import patient_form, upload, wfdb_files


def _nothing_stored(world) -> None:
    listing = world.client.get("/api/v1/studies", headers=world.a.auth).json()
    assert listing["items"] == []
    blob_dir = Path(world.client.app.state.ctx.settings.resolved_blob_dir)
    assert not any(p.is_file() for p in blob_dir.rglob("*")), "a refused upload left blobs behind"


def _problem(resp, status: int, *words: str) -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    detail = resp.json()["detail"].lower()
    for w in words:
        assert w.lower() in detail, detail


def test_truncated_dat(world, data):
    hea = (data / "mitdb/100.hea").read_bytes()
    dat = (data / "mitdb/100.dat").read_bytes()[:100_000]
    resp = upload(world.client, world.a.auth, [("files", ("100.hea", hea, "text/plain")),
                                               ("files", ("100.dat", dat, "application/octet-stream"))])
    _problem(resp, 422, "trunc")
    _nothing_stored(world)


def test_header_lies_about_length(world, data):
    hea = (data / "mitdb/100.hea").read_text().replace("650000", "990000", 1).encode()
    dat = (data / "mitdb/100.dat").read_bytes()
    resp = upload(world.client, world.a.auth, [("files", ("100.hea", hea, "text/plain")),
                                               ("files", ("100.dat", dat, "application/octet-stream"))])
    assert resp.status_code == 422, resp.text
    _nothing_stored(world)


@pytest.mark.parametrize("name,content", [
    ("empty.dat", b""),
    ("image.png", b"\x89PNG\r\n\x1a\n" + bytes(2000)),
    ("notes.txt", "这不是心电图 — not an ECG at all\n".encode()),
])
def test_wrong_or_empty_file(world, name, content):
    resp = upload(world.client, world.a.auth, [("files", (name, content, "application/octet-stream"))])
    assert resp.status_code == 422, resp.text
    assert resp.json()["type"] == "/problems/unreadable-recording"
    _nothing_stored(world)


def test_dat_without_header(world, data):
    dat = (data / "mitdb/100.dat").read_bytes()
    resp = upload(world.client, world.a.auth, [("files", ("100.dat", dat, "application/octet-stream"))])
    assert resp.status_code == 422
    _nothing_stored(world)


def test_too_large_is_413(world):
    big = bytes(9 * 1024 * 1024)  # the test settings cap uploads at 8 MiB
    resp = upload(world.client, world.a.auth, [("files", ("big.dat", big, "application/octet-stream"))])
    _problem(resp, 413, "limit")
    _nothing_stored(world)


def test_too_many_files_is_413(world, data):
    files = [("files", (f"f{i}.dat", b"x", "application/octet-stream")) for i in range(17)]
    _problem(upload(world.client, world.a.auth, files), 413, "too many files")
    _nothing_stored(world)


def test_no_file_is_422(world):
    resp = world.client.post("/api/v1/studies", headers=world.a.auth, data=patient_form())
    _problem(resp, 422, "no file")


@pytest.mark.parametrize("override,word", [
    ({"patient_id": ""}, "patient_id"),
    ({"patient_sex": "X"}, "patient_sex"),
    ({"acquired_at": "2099-01-01T00:00:00+08:00"}, "future"),
    ({"patient_birth_date": "2027-01-01", "acquired_at": "2026-11-25T09:00:00+08:00"}, "birth"),
    ({"urgency": "whenever"}, "urgency"),
    ({"hospital": "x"}, "unknown form field"),
])
def test_bad_form_fields_are_422(world, data, override, word):
    form = patient_form(**override)
    if override.get("patient_id") == "":
        form.pop("patient_id")
    resp = upload(world.client, world.a.auth, wfdb_files(data, "mitdb/100"), form=form)
    _problem(resp, 422, word)
    _nothing_stored(world)


def test_refused_upload_leaves_earlier_study_untouched(world, data):
    ok = upload(world.client, world.a.auth, wfdb_files(data, "mitdb/100"), key="keep-me")
    assert ok.status_code == 202
    before = world.client.get(f"/api/v1/studies/{ok.json()['id']}", headers=world.a.auth).json()
    bad = upload(world.client, world.a.auth, [("files", ("x.dat", b"garbage", "application/octet-stream"))])
    assert bad.status_code == 422
    after = world.client.get(f"/api/v1/studies/{ok.json()['id']}", headers=world.a.auth).json()
    assert after["recording"] == before["recording"]
    assert len(world.client.get("/api/v1/studies", headers=world.a.auth).json()["items"]) == 1


def test_csv_zip_bomb_is_refused_without_growing_the_process(world):
    """Issue 17: a 15 kB zip of an 8 M-line CSV took the server from 587 to 1,568 MiB before its 422."""
    import io
    import tracemalloc
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("ecg.csv", b"# fs=500\nI\n" + b"0\n" * 8_000_000)
    bomb = buf.getvalue()
    assert len(bomb) < 40_000
    tracemalloc.start()
    try:
        resp = upload(world.client, world.a.auth, [("files", ("ecg.zip", bomb, "application/zip"))])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    _problem(resp, 422, "zip would expand", "times")
    assert peak < 16 << 20, f"refusing the bomb peaked at {peak / 2**20:.0f} MiB of allocations"
    _nothing_stored(world)
