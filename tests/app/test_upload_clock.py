"""Upload-time clock checks through the API, on SQLite and PostgreSQL.

A device whose clock was never set dates its files years in the past: a 7-year-old's
record dated before her birth was analysed as "0 days old". Now an acquisition time in
the future, before the birth date or older than the bound is refused (422 naming the
check, nothing stored) until the clinic confirms or corrects it, with the same
Idempotency-Key; the study says which time it got (acquired_at_source).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from app.analysis.service import age_in_days
from app.settings import Settings
from storage.models import AuditEvent
from tests.app.factories import PASSWORD, patient_form, upload, wait_for_status, wfdb_files
from tests.app.live import ARTIFACTS, chromium, served

CST = dt.timezone(dt.timedelta(hours=8))
BIRTH = "2019-03-04"  # a 7-year-old on the test machine's calendar


DEFAULT_BOUND_DAYS = Settings.model_fields["upload_max_acquisition_age_days"].default


@pytest.fixture(autouse=True)
def default_bound(request: pytest.FixtureRequest) -> None:
    """This module tests the shipped bound (30 days), not the suite's wider one for fixture dates."""
    if "world" in request.fixturenames:
        world = request.getfixturevalue("world")
        world.client.app.state.ctx.settings.upload_max_acquisition_age_days = DEFAULT_BOUND_DAYS


def _files(data: Path, device_time: dt.datetime | None) -> list:
    """LUDB record 1 with the device's clock written into the WFDB header (``HH:MM:SS DD/MM/YYYY``, local time)."""
    files = wfdb_files(data, "ludb/1")
    name, content, mime = files[0][1]
    lines = content.decode().split("\n")
    if device_time is not None:
        local = device_time.astimezone(CST)
        lines[0] = f"{lines[0].strip()} {local:%H:%M:%S} {local:%d/%m/%Y}"
    files[0] = ("files", (name, "\n".join(lines).encode(), mime))
    return files


def _form(**over: str) -> dict[str, str]:
    form = patient_form(**{"patient_birth_date": BIRTH, **over})
    if "acquired_at" not in over:
        form.pop("acquired_at")  # the device's time, as a clinic that leaves the field empty sends it
    return form


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _refused(resp, code: str) -> dict:
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert body["type"] == "/problems/acquisition-time" and body["code"] == code, body
    assert body["confirm_field"] == "confirm_acquired_at" and "nothing was stored" in body["detail"]
    return body


def _nothing_stored(world) -> None:
    assert world.client.get("/api/v1/studies", headers=world.a.auth).json()["items"] == []
    blobs = Path(world.client.app.state.ctx.settings.resolved_blob_dir)
    assert not any(p.is_file() for p in blobs.rglob("*")), "a refused upload left blobs behind"


def _study(world, resp) -> dict:
    assert resp.status_code == 202, resp.text
    return world.client.get(f"/api/v1/studies/{resp.json()['id']}", headers=world.a.auth).json()


def test_device_clock_before_birth_is_refused_then_confirmed_with_the_same_key(world, data):
    device = dt.datetime(2015, 1, 2, 10, 30, tzinfo=CST)  # years before this 7-year-old was born
    files = _files(data, device)
    body = _refused(upload(world.client, world.a.auth, files, form=_form(), key="cart-7"), "acquired_before_birth")
    assert body["checks"] == ["acquired_before_birth", "acquired_long_ago"]
    assert body["acquired_at_source"] == "device" and body["device_time"].startswith("2015-01-02T02:30")
    assert body["birth_date"] == BIRTH
    _nothing_stored(world)

    again = upload(world.client, world.a.auth, files, form=_form(), key="cart-7")
    _refused(again, "acquired_before_birth")  # refused again, not replayed: nothing was stored under the key
    confirmed = upload(world.client, world.a.auth, files, form=_form(confirm_acquired_at="true"), key="cart-7")
    study = _study(world, confirmed)
    assert study["acquired_at_source"] == "server_receipt"  # a time before birth cannot be true
    received, acquired = (dt.datetime.fromisoformat(study[k]) for k in ("received_at", "acquired_at"))
    assert abs(acquired - received) < dt.timedelta(seconds=5)
    assert study["recording"]["start_time"].startswith("2015-01-02")  # the device's own time is kept, as read
    replay = upload(world.client, world.a.auth, files, form=_form(confirm_acquired_at="true"), key="cart-7")
    assert replay.headers.get("Idempotent-Replayed") == "true" and replay.json()["id"] == study["id"]

    wait_for_status(world.client, world.a.auth, study["id"])
    claimed = world.client.post(f"/api/v1/reader/studies/{study['id']}/claim", headers=world.reader).json()
    assert claimed["patient"]["age_days"] > 7 * 365  # 7 years old, not "0 days"
    with world.client.app.state.ctx.session_factory() as s:
        created = s.query(AuditEvent).filter_by(object_id=study["id"], action="study.created").one()
    assert created.detail["acquired_at_source"] == "server_receipt"
    assert created.detail["acquired_at_confirmed"] == ["acquired_before_birth", "acquired_long_ago"]


def test_correcting_the_time_instead_is_accepted_and_the_header_disagreement_is_said(world, data):
    files = _files(data, dt.datetime(2015, 1, 2, 10, 30, tzinfo=CST))
    _refused(upload(world.client, world.a.auth, files, form=_form(), key="fix-me"), "acquired_before_birth")
    typed = (_now() - dt.timedelta(hours=1)).astimezone(CST).replace(tzinfo=None, microsecond=0)
    study = _study(world, upload(world.client, world.a.auth, files, form=_form(acquired_at=typed.isoformat()),
                                 key="fix-me"))
    assert study["acquired_at_source"] == "form"
    assert dt.datetime.fromisoformat(study["acquired_at"]) == typed.replace(tzinfo=CST)
    assert any("header time differs from the form" in w for w in study["recording"]["warnings"])


def test_future_time_is_refused_and_a_confirmation_uses_the_receipt_time(world, data):
    ahead = (_now() + dt.timedelta(days=1)).astimezone(CST).isoformat()
    body = _refused(upload(world.client, world.a.auth, _files(data, None), form=_form(acquired_at=ahead)),
                    "acquired_at_future")
    assert body["checks"] == ["acquired_at_future"] and "future" in body["detail"]
    assert body["acquired_at_source"] == "form"
    _nothing_stored(world)
    study = _study(world, upload(world.client, world.a.auth, _files(data, None),
                                 form=_form(acquired_at=ahead, confirm_acquired_at="true")))
    assert study["acquired_at_source"] == "server_receipt"
    assert dt.datetime.fromisoformat(study["acquired_at"]) < _now() + dt.timedelta(seconds=1)


def test_a_few_minutes_ahead_is_tolerated(world, data):
    ahead = (_now() + dt.timedelta(minutes=5)).astimezone(CST).isoformat()
    assert _study(world, upload(world.client, world.a.auth, _files(data, None),
                                form=_form(acquired_at=ahead)))["acquired_at_source"] == "form"


def test_form_time_before_birth_is_named(world, data):
    body = _refused(upload(world.client, world.a.auth, _files(data, None),
                           form=_form(acquired_at="2018-06-01T09:00:00+08:00")), "acquired_before_birth")
    assert "birth" in body["detail"] and body["form_time"].startswith("2018-06-01T01:00")


def test_old_record_is_refused_then_kept_as_stated_when_confirmed(world, data):
    device = (_now() - dt.timedelta(days=60)).replace(microsecond=0)
    body = _refused(upload(world.client, world.a.auth, _files(data, device), form=_form()), "acquired_long_ago")
    assert body["checks"] == ["acquired_long_ago"] and body["max_age_days"] == 30
    assert "30 days" in body["detail"]
    study = _study(world, upload(world.client, world.a.auth, _files(data, device),
                                 form=_form(confirm_acquired_at="true")))
    assert study["acquired_at_source"] == "device"  # a late upload of an old record: the time is true
    assert dt.datetime.fromisoformat(study["acquired_at"]) == device


def test_the_bound_is_a_setting(world, data):
    world.client.app.state.ctx.settings.upload_max_acquisition_age_days = 90
    device = (_now() - dt.timedelta(days=60)).replace(microsecond=0)
    assert _study(world, upload(world.client, world.a.auth, _files(data, device),
                                form=_form()))["acquired_at_source"] == "device"


def test_a_good_device_time_is_used_and_no_time_at_all_is_the_receipt(world, data):
    device = (_now() - dt.timedelta(hours=2)).replace(microsecond=0)
    study = _study(world, upload(world.client, world.a.auth, _files(data, device), form=_form()))
    assert study["acquired_at_source"] == "device" and dt.datetime.fromisoformat(study["acquired_at"]) == device
    bare = _study(world, upload(world.client, world.a.auth, _files(data, None), form=_form(patient_id="P-2")))
    assert bare["acquired_at_source"] == "server_receipt"


def test_header_disagreement_is_said_in_the_refusal(world, data):
    ahead = (_now() + dt.timedelta(days=2)).astimezone(CST).isoformat()
    body = _refused(upload(world.client, world.a.auth, _files(data, _now() - dt.timedelta(hours=3)),
                           form=_form(acquired_at=ahead)), "acquired_at_future")
    assert body["mismatch_min"] > 2 * 24 * 60 and "differs from the form" in body["detail"]


@pytest.mark.parametrize("form,field", [
    ({"patient_birth_date": "2099-01-01"}, "patient_birth_date"),
    ({"confirm_acquired_at": "perhaps"}, "confirm_acquired_at"),
    ({"acquired_at": "0001-01-01T00:00:00"}, "acquired_at"),  # zone arithmetic would overflow: a 422, not a 500
    ({"acquired_at": "9999-12-31T23:59:59-12:00"}, "acquired_at"),
])
def test_impossible_form_values_are_field_errors(world, data, form, field):
    resp = upload(world.client, world.a.auth, _files(data, None), form=_form(**form))
    assert resp.status_code == 422 and field in [e["field"] for e in resp.json()["errors"]], resp.text
    _nothing_stored(world)


def test_age_before_birth_is_unknown_not_a_newborn():
    """Studies stored before the checks existed: a pre-birth acquisition no longer reads as 0 days."""
    assert age_in_days(dt.date(2019, 3, 4), dt.datetime(2015, 1, 2, tzinfo=dt.UTC)) is None
    assert age_in_days(dt.date(2019, 3, 4), dt.datetime(2019, 3, 3, 17, tzinfo=dt.UTC)) == 0  # 01:00 CST, 4 March
    assert age_in_days(dt.date(2019, 3, 4), dt.datetime(2026, 3, 4, tzinfo=dt.UTC)) == 7 * 365 + 2


# ---- the clinic upload page, in Chromium -----------------------------------------------------------------


def _write_record(tmp: Path, data: Path, device_time: dt.datetime) -> list[str]:
    """LUDB record 1 as files on disk, its header carrying the device's (wrong) clock."""
    paths = []
    for _, (name, content, _) in _files(data, device_time):
        (tmp / name).write_bytes(content)
        paths.append(str(tmp / name))
    return paths


def test_clinic_page_warns_of_a_wrong_device_clock_and_confirms_with_the_same_key(sqlite_template, tmp_path, data):
    files = _write_record(tmp_path, data, dt.datetime(2015, 1, 2, 10, 30, tzinfo=CST))
    (tmp_path / "live").mkdir()
    with served(sqlite_template, tmp_path / "live", upload_max_acquisition_age_days=DEFAULT_BOUND_DAYS) as (base, world), \
            chromium() as browser:
        page = browser.new_page(viewport={"width": 768, "height": 1024}, locale="zh-CN")
        page.goto(f"{base}/login?next=/clinic/")
        page.fill("#username", "tech-a")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/clinic/")
        sent: list[str] = []  # the Idempotency-Key of each upload request
        page.on("request", lambda r: sent.append(r.headers.get("idempotency-key", ""))
                if r.method == "POST" and r.url.endswith("/api/v1/studies") else None)

        page.set_input_files("#files", files)
        page.fill("#patient_id", "P-7")
        page.fill("#patient_name", "刘小雨")
        page.fill("#patient_birth_date", BIRTH)
        page.click("#upload-button")  # acquisition time left empty: the device's clock (2015) is used

        warning = page.locator("#clock-warning")
        expect(warning).to_be_visible()
        expect(warning.get_by_role("heading")).to_have_text("检查时间需要确认")
        expect(warning.locator("li[data-check=acquired_before_birth]")).to_contain_text(f"早于患者出生日期 {BIRTH}")
        expect(warning.locator("li[data-check=acquired_long_ago]")).to_contain_text("距今已超过 30 天")
        expect(warning).to_contain_text("该时间来自心电图文件")
        expect(page.locator("#clock-effect")).to_contain_text("以服务器接收时间作为检查时间")
        expect(page.locator("#clock-confirm")).to_be_focused()
        assert world.client.get("/api/v1/studies", headers=world.a.auth).json()["items"] == []  # nothing stored
        bad = [v for v in Axe().run(page).response["violations"] if v["impact"] in ("serious", "critical")]
        assert not bad, [(v["id"], v["nodes"][0]["target"]) for v in bad]
        page.screenshot(path=str(ARTIFACTS / "clinic_clock_warning.png"), full_page=True)

        page.click("#clock-confirm")
        expect(page.locator("#progress-text")).to_contain_text("上传完成")
        expect(warning).to_be_hidden()
        assert len(sent) == 2 and sent[0] == sent[1]  # the confirmation is the same upload: the same key
        items = world.client.get("/api/v1/studies", headers=world.a.auth).json()["items"]
        assert len(items) == 1
        study = world.client.get(f"/api/v1/studies/{items[0]['id']}", headers=world.a.auth).json()
        assert study["acquired_at_source"] == "server_receipt"  # confirmed: the impossible time was replaced

        # The next upload: a future time typed by hand; "correct" puts the cursor in the time field.
        page.click("#next-button")
        page.set_input_files("#files", files)
        page.fill("#patient_id", "P-8")
        page.fill("#patient_name", "周小明")
        page.fill("#patient_birth_date", BIRTH)
        future = (_now() + dt.timedelta(days=1)).astimezone(CST)
        page.fill("#acquired_at", f"{future:%Y-%m-%dT%H:%M:%S}")
        page.click("#upload-button")
        expect(warning.locator("li[data-check=acquired_at_future]")).to_contain_text("晚于当前时间")
        expect(warning.locator("li[data-check=mismatch]")).to_contain_text("文件中的记录时间")
        page.click("#clock-correct")
        expect(page.locator("#acquired_at")).to_be_focused()
        right = (_now() - dt.timedelta(minutes=30)).astimezone(CST)
        page.fill("#acquired_at", f"{right:%Y-%m-%dT%H:%M:%S}")
        page.click("#upload-button")
        expect(page.locator("#progress-text")).to_contain_text("上传完成")
        assert len(sent) == 4 and sent[2] == sent[3] != sent[0]  # the corrected upload keeps its key
        newest = world.client.get("/api/v1/studies", headers=world.a.auth).json()["items"][0]
        assert newest["patient"]["id"] == "P-8"
        detail = world.client.get(f"/api/v1/studies/{newest['id']}", headers=world.a.auth).json()
        assert detail["acquired_at_source"] == "form"
        assert abs(dt.datetime.fromisoformat(detail["acquired_at"]) - right.replace(microsecond=0)) < dt.timedelta(seconds=1)
        page.close()
