"""Security findings of issue 17, each replayed against the real service (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
import re
import subprocess
import zipfile
from urllib.parse import quote

import numpy as np
import pytest

from storage.models import AuditEvent
from tests.app.factories import PASSWORD, patient_form, upload, wait_for_status, wfdb_files

HOSTILE_NAME = r"$\foo$ 王$x^2$"
HOSTILE_TEXT = "cost $5 and $10; \\alpha"


def _pdf_text(pdf: bytes) -> str:
    run = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return run.stdout.decode("utf-8")


def test_report_pdf_prints_hostile_text_exactly(world, data):
    """Text with TeX-like '$...$' is printed as typed, never as math (a signed document prints what was signed)."""
    resp = upload(world.client, world.a.auth, wfdb_files(data, "ludb/1"),
                  form=patient_form(patient_name=HOSTILE_NAME))
    sid = wait_for_status(world.client, world.a.auth, resp.json()["id"])["id"]
    claim = world.client.post(f"/api/v1/reader/studies/{sid}/claim", headers=world.reader).json()["claim"]
    r = world.client.post(f"/api/v1/reader/claims/{claim['id']}/sign", headers=world.reader,
                          json={"statements": ["SR"], "free_text": HOSTILE_TEXT})
    assert r.status_code == 201, r.text
    pdf = world.client.get(f"/api/v1/studies/{sid}/report.pdf", headers=world.a.auth)
    assert pdf.status_code == 200, pdf.text
    text = _pdf_text(pdf.content)
    assert HOSTILE_NAME in text and HOSTILE_TEXT in text


def test_chinese_file_name_downloads_with_rfc6266_header(world, data):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for ext in (".hea", ".dat"):
            z.write(data / f"ludb/1{ext}", f"1{ext}")
    name = "心电图-甲.zip"
    resp = upload(world.client, world.a.auth, [("files", (name, buf.getvalue(), "application/zip"))])
    assert resp.status_code == 202, resp.text
    got = world.client.get(f"/api/v1/studies/{resp.json()['id']}/files/{quote(name)}", headers=world.a.auth)
    assert got.status_code == 200 and got.content == buf.getvalue()
    cd = got.headers["content-disposition"]
    assert cd.startswith("attachment; filename=\"") and f"filename*=UTF-8''{quote(name, safe='')}" in cd
    assert cd.isascii()


def test_security_headers_on_api_pages_and_errors(world):
    for path, headers in (("/api/v1/studies", world.a.auth), ("/login", {}), ("/api/v1/studies/not-a-uuid", world.a.auth),
                          ("/api/v1/me", {})):
        r = world.client.get(path, headers=headers)
        h = r.headers
        assert "script-src 'self'" in h["content-security-policy"], path
        assert "frame-ancestors 'none'" in h["content-security-policy"], path
        assert h["x-content-type-options"] == "nosniff" and h["x-frame-options"] == "DENY", path
        assert h["referrer-policy"] == "no-referrer", path
        assert h["cache-control"] == "no-store", path
    static = world.client.get("/static/js/api.js")
    assert static.status_code == 200 and static.headers.get("cache-control") != "no-store"


def test_pages_carry_no_inline_script(world):
    """The CSP forbids inline script; every page must start its script from a file."""
    page = world.client.get("/login").text
    for path in ("/clinic/", "/reader/", "/admin/"):
        cookie_page = world.client.get(path)
        page += cookie_page.text
    for tag in re.findall(r"<script\b[^>]*>", page):
        assert "src=" in tag or 'type="application/json"' in tag, tag


def test_control_characters_are_refused_before_any_route(world):
    login = world.client.post("/api/v1/auth/token", data={"username": "tech-a\x00", "password": "x"})
    assert login.status_code == 422 and login.headers["content-type"] == "application/problem+json"
    assert "control character" in login.json()["detail"]
    q = world.client.get("/api/v1/studies?patient_id=P%00", headers=world.a.auth)
    assert q.status_code == 422 and q.json()["type"] == "/problems/control-character"
    body = world.client.post("/api/v1/admin/sites", headers={**world.admin, "content-type": "application/json"},
                             content=b'{"code": "x\\u0000", "name": "n"}')
    assert body.status_code == 422 and body.json()["type"] == "/problems/control-character"


def test_out_of_range_ids_are_422_problems_not_500(world):
    big = 2**40
    for method, path, headers in (("post", f"/api/v1/notices/{big}/acknowledge", world.a.auth),
                                  ("get", f"/api/v1/admin/sites/{big}/webhook-deliveries", world.admin),
                                  ("put", f"/api/v1/admin/readers/{big}/coverage", world.admin),
                                  ("get", f"/api/v1/events?after={2**70}", world.a.auth)):
        r = getattr(world.client, method)(path, headers=headers, **({"json": {}} if method != "get" else {}))
        assert r.status_code == 422, (path, r.status_code, r.text)
        assert r.headers["content-type"] == "application/problem+json", path


def test_wrong_logins_are_throttled_per_account_and_address_with_retry_after(world):
    from app.auth.login import RULES

    allowed = dict(RULES)["pair"]
    for _ in range(allowed):
        r = world.client.post("/api/v1/auth/token", data={"username": "tech-a", "password": "wrong password 1"})
        assert r.status_code == 401
    blocked = world.client.post("/api/v1/auth/token", data={"username": "tech-a", "password": "wrong password 2"})
    assert blocked.status_code == 401  # the failure that starts the block is still answered normally
    r = world.client.post("/api/v1/auth/token", data={"username": "tech-a", "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert r.headers["content-type"] == "application/problem+json"
    # another account from the same address is not blocked by tech-a's failures
    assert world.client.post("/api/v1/auth/token", data={"username": "tech-b", "password": PASSWORD}).status_code == 200
    with world.client.app.state.ctx.session_factory() as s:
        assert s.query(AuditEvent).filter_by(action="auth.lockout").count() >= 1


def test_unknown_user_and_wrong_password_get_the_same_answer(world):
    a = world.client.post("/api/v1/auth/token", data={"username": "no-such-user", "password": "whatever 123"})
    b = world.client.post("/api/v1/auth/token", data={"username": "tech-b", "password": "whatever 123"})
    assert a.status_code == b.status_code == 401 and a.json()["detail"] == b.json()["detail"]


@pytest.mark.parametrize("password, why", [
    ("short1", "at least 10"), ("password12", "common"), ("new-user-x1", "user name"),
    ("aaaaaaaaaaaa", "easy to guess"),
])
def test_weak_passwords_are_refused_with_the_reason(world, password, why):
    r = world.client.post("/api/v1/admin/users", headers=world.admin, json={
        "site_id": world.a.site_id, "username": "new-user-x1", "password": password, "role": "clinic"})
    assert r.status_code == 422, r.text
    assert why in r.json()["detail"]


@pytest.mark.parametrize("name, what", [
    ("王\u202e明", "direction-control"), ("Li\u200bLei", "invisible"), ("a\x07b", "control"),
])
def test_names_with_hidden_or_reordering_characters_are_refused(world, data, name, what):
    r = upload(world.client, world.a.auth, wfdb_files(data, "ludb/1"), form=patient_form(patient_name=name))
    assert r.status_code == 422 and what in r.json()["detail"] and "patient_name" in r.json()["detail"], r.text
    assert world.client.get("/api/v1/studies", headers=world.a.auth).json()["items"] == []  # nothing stored


def test_names_are_stored_in_one_unicode_form(world, data):
    decomposed = "Jose\u0301 王"  # e + combining acute
    r = upload(world.client, world.a.auth, wfdb_files(data, "ludb/1"), form=patient_form(patient_name=decomposed))
    assert r.status_code == 202, r.text
    sid = wait_for_status(world.client, world.a.auth, r.json()["id"])["id"]
    claim = world.client.post(f"/api/v1/reader/studies/{sid}/claim", headers=world.reader)
    assert claim.status_code == 200 and claim.json()["patient"]["name"] == "Jos\u00e9 王"


def test_metrics_need_the_scrape_token(world):
    assert world.client.get("/metrics").status_code == 403
    assert world.client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    from tests.app.conftest import METRICS
    assert world.client.get("/metrics", headers=METRICS).status_code == 200


def test_admin_password_reset_forces_the_user_to_choose_a_new_one(world):
    uid = world.extra["users"]["tech-b"]
    reset = world.client.post(f"/api/v1/admin/users/{uid}/reset-password", headers=world.admin)
    assert reset.status_code == 200, reset.text
    temporary = reset.json()["temporary_password"]
    assert world.client.get("/api/v1/studies", headers=world.b.auth).status_code == 401  # sessions ended
    old = world.client.post("/api/v1/auth/token", data={"username": "tech-b", "password": PASSWORD})
    assert old.status_code == 401
    blocked = world.client.post("/api/v1/auth/token", data={"username": "tech-b", "password": temporary})
    assert blocked.status_code == 403 and blocked.json()["type"] == "/problems/password-change-required"
    weak = world.client.post("/api/v1/auth/password", json={
        "username": "tech-b", "password": temporary, "new_password": "password12"})
    assert weak.status_code == 422 and "common" in weak.json()["detail"]
    new = "quiet river lantern 42"
    changed = world.client.post("/api/v1/auth/password", json={
        "username": "tech-b", "password": temporary, "new_password": new})
    assert changed.status_code == 204, changed.text
    assert world.client.post("/api/v1/auth/token", data={"username": "tech-b", "password": temporary}).status_code == 401
    assert world.client.post("/api/v1/auth/token", data={"username": "tech-b", "password": new}).status_code == 200
    with world.client.app.state.ctx.session_factory() as s:
        actions = {e.action for e in s.query(AuditEvent).filter_by(object_id=str(uid))}
        assert {"user.password_reset", "auth.password_changed"} <= actions


def test_concurrent_first_failures_of_one_key_are_all_counted(database_url):
    """The login flood benchmark's 500 on PostgreSQL: two first failures of one throttle key at once
    both inserted the row and the loser's unique violation escaped. Both must count, neither fail."""
    import datetime as dt
    import threading

    from storage.db import make_engine, make_session_factory
    from storage.models import LoginThrottle, utcnow_aware
    from storage.repositories import ThrottleRepository

    engine = make_engine(database_url)
    sf, n = make_session_factory(engine), 8
    start, errors = threading.Barrier(n), []

    def fail_once() -> None:
        try:
            with sf() as s:
                start.wait()
                ThrottleRepository(s).count_failure("addr:203.0.113.7", utcnow_aware(), dt.timedelta(minutes=15))
                s.commit()
        except Exception as exc:  # collected: the assertion below names it
            errors.append(exc)

    threads = [threading.Thread(target=fail_once) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    with sf() as s:
        failures = s.get(LoginThrottle, "addr:203.0.113.7").failures
    engine.dispose()
    assert errors == [] and failures == n


def test_a_long_upload_is_analysed_and_viewed_through_windows(world, data):
    """Issue 17's 2 h upload (3.3 GiB, beats 14.7 s a call), scaled down: 12 min of 12 leads, zipped.
    The analysis decodes its 10 min window and says so; the beats view covers that window; the
    waveform far past it answers its own window (the whole recording is never decoded)."""
    one = (data / "ludb/1.dat").read_bytes()  # 10 s, 12 leads, format 16
    header = (data / "ludb/1.hea").read_text().splitlines()
    header[0] = "long 12 500 360000"
    hea = "\n".join(line.replace("1.dat", "long.dat") for line in header) + "\n"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("long.hea", hea)
        zf.writestr("long.dat", one * 72)
    r = upload(world.client, world.a.auth, [("files", ("long.zip", buf.getvalue(), "application/zip"))])
    assert r.status_code == 202, r.text
    sid = r.json()["id"]
    assert wait_for_status(world.client, world.a.auth, sid, timeout_s=120)["status"] == "awaiting_read"
    bundle = world.client.get(f"/api/v1/reader/studies/{sid}", headers=world.reader).json()
    assert any("only the first 600 s of this 720 s" in x for x in bundle["analysis"]["quality"]["reasons"])
    beats = world.client.get(f"/api/v1/reader/studies/{sid}/beats", headers=world.reader)
    assert beats.status_code == 200 and beats.json()["median"] is not None
    assert 590_000 < max(b["t_ms"] for b in beats.json()["beats"]) < 600_000  # the analysed 10 min, no more
    wave = world.client.get(f"/api/v1/reader/studies/{sid}/waveform", headers=world.reader,
                            params={"start_s": 705, "duration_s": 10, "fs": 500, "filtered": "false"})
    assert wave.status_code == 200 and wave.json()["start_s"] == 705.0
    first = np.frombuffer(one, "<i2").reshape(-1, 12)[2500]  # 705 s is 5 s into a 10 s copy of LUDB 1
    gains = [float(line.split()[2].split("(")[0]) for line in header[1:13]]
    bases = [int(line.split()[2].split("(")[1].split(")")[0]) for line in header[1:13]]
    leads = list(wave.json()["leads"].values())
    assert [lead[0] for lead in leads] == [round((v - b) / g * 1000) for v, b, g in zip(first, bases, gains)]
