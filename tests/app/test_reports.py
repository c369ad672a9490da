"""Reports for people: share links and the phone page, PDF/PNG, events and signed webhooks."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import update
from standardwebhooks.webhooks import Webhook

from app.notify.webhooks import deliver_due
from storage.models import AuditEvent, ShareLink, WebhookDelivery
from tests.app.factories import patient_form, upload, wait_for_status, wfdb_files


def _signed(world, data, statements=("SR", "NORM"), record="ludb/1", headers=None) -> str:
    headers = headers or world.a.auth
    resp = upload(world.client, headers, wfdb_files(data, record), form=patient_form(patient_name="王小明"))
    sid = wait_for_status(world.client, headers, resp.json()["id"])["id"]
    claim = world.client.post(f"/api/v1/reader/studies/{sid}/claim", headers=world.reader).json()["claim"]
    r = world.client.post(f"/api/v1/reader/claims/{claim['id']}/sign", headers=world.reader,
                          json={"statements": list(statements), "free_text": "请随访"})
    assert r.status_code == 201, r.text
    return sid


def _link(world, sid, headers=None, **body) -> dict:
    resp = world.client.post(f"/api/v1/studies/{sid}/share-links", headers=headers or world.a.auth, json=body)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_share_link_page_png_pdf(world, data):
    sid = _signed(world, data)
    link = _link(world, sid)
    assert link["qr_svg"].startswith("<svg") and link["qr_png_base64"]
    page = world.client.get(_path(link["url"]))
    assert page.status_code == 200 and page.headers["cache-control"] == "private, no-store"
    assert "窦性心律" in page.text and "王小明" in page.text and "请随访" in page.text
    en = world.client.get(_path(link["url"]), params={"lang": "en"})
    assert "Sinus rhythm" in en.text and "Normal ECG for age" in en.text
    png = world.client.get(_path(link["url"]) + "/ecg.png")
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(page.content) + len(png.content) < 500_000
    pdf = world.client.get(_path(link["url"]) + "/report.pdf")
    assert pdf.status_code == 200 and pdf.content[:5] == b"%PDF-"
    with world.client.app.state.ctx.session_factory() as s:
        opened = {e.action for e in s.query(AuditEvent).filter(AuditEvent.actor == f"share_link:{link['id']}")}
    assert {"report.shared_page", "report.shared_png", "report.shared_pdf"} <= opened


def test_revoked_expired_and_unknown_links_show_nothing(world, data):
    sid = _signed(world, data)
    revoked, expired = _link(world, sid), _link(world, sid)
    assert world.client.post(f"/api/v1/share-links/{revoked['id']}/revoke", headers=world.b.auth).status_code == 404
    assert world.client.post(f"/api/v1/share-links/{revoked['id']}/revoke", headers=world.a.auth).status_code == 200
    with world.client.app.state.ctx.session_factory() as s:
        s.execute(update(ShareLink).where(ShareLink.id == expired["id"]).values(
            expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
        s.commit()
    for link in (revoked, expired):
        for suffix in ("", "/ecg.png", "/report.pdf"):
            resp = world.client.get(_path(link["url"]) + suffix)
            assert resp.status_code == 410
            assert "王小明" not in resp.text and "窦性" not in resp.text
            assert "过期" in resp.text or "撤销" in resp.text
    unknown = world.client.get("/r/not-a-real-token")
    assert unknown.status_code == 404 and "王小明" not in unknown.text


def test_unsigned_study_shows_status_not_interpretation(world, data):
    resp = upload(world.client, world.a.auth, wfdb_files(data, "ludb/1"))
    sid = wait_for_status(world.client, world.a.auth, resp.json()["id"])["id"]
    link = _link(world, sid)
    page = world.client.get(_path(link["url"]))
    assert page.status_code == 200 and "尚未签发" in page.text
    assert "窦性心律" not in page.text  # the machine's finding is never shown as a report
    assert world.client.get(_path(link["url"]) + "/report.pdf").status_code == 409
    assert world.client.get(f"/api/v1/studies/{sid}/report.pdf", headers=world.a.auth).status_code == 409


def test_links_are_tenant_scoped(world, data):
    sid = _signed(world, data)
    assert world.client.post(f"/api/v1/studies/{sid}/share-links", headers=world.b.auth, json={}).status_code == 404
    assert world.client.get(f"/api/v1/studies/{sid}/share-links", headers=world.b.auth).status_code == 404
    assert world.client.get(f"/api/v1/studies/{sid}/report.pdf", headers=world.b.auth).status_code == 404
    too_long = world.client.post(f"/api/v1/studies/{sid}/share-links", headers=world.a.auth, json={"hours": 100000})
    assert too_long.status_code == 409


def test_clinic_pdf_and_png(world, data):
    sid = _signed(world, data)
    pdf = world.client.get(f"/api/v1/studies/{sid}/report.pdf", headers=world.a.auth)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    png = world.client.get(f"/api/v1/studies/{sid}/report.png", headers=world.a.key)
    assert png.status_code == 200 and png.content[:4] == b"\x89PNG"


class _Receiver:
    """A real HTTP server on loopback that records webhook requests and answers with scripted codes."""

    def __init__(self, codes: list[int]) -> None:
        self.codes, self.requests = list(codes), []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                outer.requests.append((dict(self.headers.items()), body.decode()))
                self.send_response(outer.codes.pop(0) if outer.codes else 200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def receivers():
    made = []

    def make(codes: list[int]) -> _Receiver:
        made.append(_Receiver(codes))
        return made[-1]

    yield make
    for r in made:
        r.close()


def test_webhook_signed_retried_and_site_scoped(world, data, receivers):
    a, b = receivers([500]), receivers([])
    secret_a = world.client.put(f"/api/v1/admin/sites/{world.a.site_id}/webhook", headers=world.admin,
                                json={"url": a.url}).json()["secret"]
    world.client.put(f"/api/v1/admin/sites/{world.b.site_id}/webhook", headers=world.admin, json={"url": b.url})
    sid = _signed(world, data)
    ctx = world.client.app.state.ctx
    ctx.webhooks.stop()  # drive delivery by hand, deterministically
    deliver_due(ctx.session_factory)
    assert len(a.requests) == 1 and b.requests == []
    log = world.client.get(f"/api/v1/admin/sites/{world.a.site_id}/webhook-deliveries", headers=world.admin).json()
    assert log[0]["status"] == "pending" and log[0]["attempts"] == 1 and log[0]["last_status_code"] == 500
    with ctx.session_factory() as s:  # the 5 s backoff has "passed"
        s.execute(update(WebhookDelivery).values(next_attempt_at=dt.datetime.now(dt.UTC)))
        s.commit()
    assert deliver_due(ctx.session_factory) == 1
    headers, body = a.requests[-1]
    payload = Webhook(secret_a).verify(body, {k.lower(): v for k, v in headers.items()})
    assert payload["type"] == "report.signed" and payload["study_id"] == sid
    assert "王小明" not in body  # ids and links only
    with pytest.raises(Exception):
        Webhook(secret_a).verify(body.replace("signed", "amended"), {k.lower(): v for k, v in headers.items()})
    log = world.client.get(f"/api/v1/admin/sites/{world.a.site_id}/webhook-deliveries", headers=world.admin).json()
    assert log[0]["status"] == "delivered" and log[0]["attempts"] == 2
    assert deliver_due(ctx.session_factory) == 0 and b.requests == []


def test_events_poll_is_site_scoped(world, data):
    sid = _signed(world, data)
    mine = world.client.get("/api/v1/events", headers=world.a.auth).json()
    assert [e["type"] for e in mine["events"]] == ["report.signed"] and mine["events"][0]["study_id"] == sid
    assert world.client.get("/api/v1/events", headers=world.b.auth).json()["events"] == []
    after = world.client.get("/api/v1/events", headers=world.a.auth, params={"after": mine["last_id"]}).json()
    assert after["events"] == [] and after["last_id"] == mine["last_id"]
    json.dumps(mine)


def test_printed_band_is_wider_for_a_child_and_printed(world, data):
    """AHA: >= 250 Hz for children (capped at 0.45 fs: 225 Hz at 500 Hz), 150 Hz from 18 years."""
    import subprocess

    def footer(birth: str) -> str:
        resp = upload(world.client, world.a.auth, wfdb_files(data, "ludb/1"),
                      form=patient_form(patient_birth_date=birth, patient_id=f"P-{birth}"))
        sid = wait_for_status(world.client, world.a.auth, resp.json()["id"])["id"]
        claim = world.client.post(f"/api/v1/reader/studies/{sid}/claim", headers=world.reader).json()["claim"]
        world.client.post(f"/api/v1/reader/claims/{claim['id']}/sign", headers=world.reader, json={"statements": ["SR"]})
        pdf = world.client.get(f"/api/v1/studies/{sid}/report.pdf", headers=world.a.auth).content
        return subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()

    assert "滤波 0.05-225 Hz" in footer("2019-03-04")
    assert "滤波 0.05-150 Hz" in footer("1970-03-04")


def test_reports_are_signed_with_the_readers_name_and_title(world, data):
    """Not the login name: an admin sets the name and title printed on what the reader signs."""
    import subprocess

    reader = world.extra["users"]["reader"]
    r = world.client.patch(f"/api/v1/admin/users/{reader}", headers=world.admin,
                           json={"display_name": "李明", "title": "主任医师"})
    assert r.status_code == 200 and (r.json()["display_name"], r.json()["title"]) == ("李明", "主任医师")
    bad = world.client.patch(f"/api/v1/admin/users/{reader}", headers=world.admin, json={"title": "主任\u202e医师"})
    assert bad.status_code == 422
    sid = _signed(world, data)
    pdf = world.client.get(f"/api/v1/studies/{sid}/report.pdf", headers=world.a.auth).content
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert "报告医师 李明 主任医师" in text and "reader " not in text


def test_a_version_is_printed_as_signed_even_after_an_amendment(world, data):
    """The PACS outbox renders the version it was queued for: version 1, sent after version 2 was
    signed, still prints version 1's words (and is signed by its own signer)."""
    import uuid

    from app.reports import document
    from storage.repositories import StudyRepository

    sid = _signed(world, data, statements=("SR", "NORM"))
    r = world.client.post(f"/api/v1/reader/studies/{sid}/amend", headers=world.reader,
                          json={"statements": ["SR", "LVH"], "free_text": "更正：左室高电压", "reason": "复核后更正"})
    assert r.status_code in (200, 201), r.text
    with world.client.app.state.ctx.session_factory() as s:
        study = StudyRepository(s).get_one(uuid.UUID(sid))
        first, latest = document.load(s, study, 1), document.load(s, study)
    assert first.latest is not None and latest.latest is not None
    assert (first.latest.version, latest.latest.version) == (1, 2)
    assert [x["code"] for x in first.latest.statements] == ["SR", "NORM"] and first.latest.free_text == "请随访"
    assert first.history == [] and [v.version for v in latest.history] == [1]
