"""The critical-value closed loop (危急值报告制度) through the API, on SQLite and PostgreSQL.

A reader's critical statement raises a notice for the clinic; the clinic acknowledges it
with who received it, whom they told and when, and the read-back. Hostile input is a 422
naming the field and changes nothing; a second acknowledgement is a 409; another site's
notice is a 404; the hub sees unacknowledged notices past the bound as overdue.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from storage.models import User
from tests.app.factories import PASSWORD, patient_form, upload, wait_for_status, wfdb_files
from tests.app.live import ARTIFACTS, chromium, served

LOOP = {"told_name": "王建国", "told_role": "主治医师", "read_back": "ST段抬高，急性心肌梗死可能",
        "action_taken": "已通知患者立即到急诊"}


def _name_the_nurse(world, ctx) -> None:
    """The receiving nurse's account carries her name and title, as an admin sets them."""
    with ctx.session_factory() as s:
        nurse = s.get(User, world.extra["users"]["tech-a"])
        nurse.display_name, nurse.title = "李护士", "护士"
        s.commit()


def _signed_critical(world, data) -> str:
    """A signed report with a critical statement (STE) for 张危急; returns the study id."""
    resp = upload(world.client, world.a.auth, wfdb_files(data, "ludb/1"), form=patient_form(patient_name="张危急"))
    assert resp.status_code == 202, resp.text
    sid = wait_for_status(world.client, world.a.auth, resp.json()["id"])["id"]
    claim = world.client.post(f"/api/v1/reader/studies/{sid}/claim", headers=world.reader).json()["claim"]
    world.client.post(f"/api/v1/reader/claims/{claim['id']}/sign", headers=world.reader,
                      json={"statements": ["SR", "STE"]}).raise_for_status()
    return sid


def _critical_notice(world, data) -> dict:
    """The clinic's open notice for a signed critical statement (listing it = shown to the clinic)."""
    sid = _signed_critical(world, data)
    _name_the_nurse(world, world.client.app.state.ctx)
    return next(n for n in world.client.get("/api/v1/notices", headers=world.a.auth).json() if n["study_id"] == sid)


def _ack(world, notice_id: int, body: dict, headers=None):
    return world.client.post(f"/api/v1/notices/{notice_id}/acknowledge", headers=headers or world.a.auth, json=body)


def _untouched(world, notice_id: int) -> None:
    got = world.client.get(f"/api/v1/notices/{notice_id}", headers=world.a.auth).json()
    assert got["acknowledged_at"] is None and got["read_back"] is None and got["told_name"] is None
    assert [s["step"] for s in got["chain"]] == ["raised", "shown"]


def test_acknowledgement_records_the_whole_loop_and_the_chain_shows_it(world, data):
    notice = _critical_notice(world, data)
    assert (notice["patient_name"], notice["patient_id"]) == ("张危急", "P-001")
    assert notice["text"].startswith("ST段抬高")  # the finding in Chinese first
    before = world.client.get(f"/api/v1/notices/{notice['id']}", headers=world.a.auth).json()
    assert [s["step"] for s in before["chain"]] == ["raised", "shown"]  # listed to the clinic = shown

    told = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)).astimezone(dt.timezone(dt.timedelta(hours=8)))
    resp = _ack(world, notice["id"], {**LOOP, "told_at": told.replace(tzinfo=None).isoformat()})  # naive = CST
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert (got["received_by_name"], got["received_by_role"]) == ("李护士", "护士")  # from the session's user
    assert (got["told_name"], got["told_role"], got["read_back"], got["action_taken"]) == \
        (LOOP["told_name"], LOOP["told_role"], LOOP["read_back"], LOOP["action_taken"])
    assert abs(dt.datetime.fromisoformat(got["told_at"]) - told) < dt.timedelta(seconds=1)
    assert got["acknowledged_by"].startswith("user:") and got["acknowledged_at"]
    chain = got["chain"]
    assert [s["step"] for s in chain] == ["raised", "shown", "acknowledged"]
    assert chain[0]["actor"] == "system:reader" and chain[1]["actor"] == got["acknowledged_by"]
    assert chain[2]["detail"]["read_back"] == LOOP["read_back"] and chain[2]["detail"]["told_name"] == "王建国"
    assert world.client.get(f"/api/v1/notices/{notice['id']}", headers=world.admin).json()["chain"] == chain
    assert world.client.get("/api/v1/notices", headers=world.a.auth, params={"unacknowledged": True}).json() == []


def test_a_second_acknowledgement_is_409_and_changes_nothing(world, data):
    notice = _critical_notice(world, data)
    first = _ack(world, notice["id"], LOOP).json()
    again = _ack(world, notice["id"], {**LOOP, "read_back": "另一个内容", "told_name": "别人"})
    assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"
    assert "already acknowledged" in again.json()["detail"]
    now = world.client.get(f"/api/v1/notices/{notice['id']}", headers=world.a.auth).json()
    assert {k: now[k] for k in LOOP} == {k: first[k] for k in LOOP}
    assert now["acknowledged_at"] == first["acknowledged_at"]
    assert [s["step"] for s in now["chain"]].count("acknowledged") == 1


@pytest.mark.parametrize("change,field", [
    ({"read_back": ""}, "read_back"),
    ({"read_back": "   "}, "read_back"),
    ({"told_name": ""}, "told_name"),
    ({"told_role": "医" * 101}, "told_role"),
    ({"read_back": "x" * 1001}, "read_back"),
    ({"told_name": "王\x07医生"}, None),  # control characters: refused by the input guard before the route
    ({"read_back": "ST\u202e抬高"}, "read_back"),
    ({"action_taken": "a\x00b"}, None),
    ({"told_role": "主治\u200b医师"}, "told_role"),  # invisible: two titles that look alike would differ
    ({"told_at": "2099-01-01T00:00:00+08:00"}, "told_at"),
    ({"told_at": "2020-01-01T00:00:00+08:00"}, "told_at"),
    ({"told_at": "yesterday"}, "told_at"),
    ({"told_at": "0001-01-01T00:00:00"}, "told_at"),  # zone arithmetic would overflow: a 422, not a 500
    ({"received_by_name": "冒名"}, "received_by_name"),
    ({"hospital": "x"}, "hospital"),
])
def test_hostile_acknowledgement_is_422_naming_the_field_and_changes_nothing(world, data, change, field):
    notice = _critical_notice(world, data)
    resp = _ack(world, notice["id"], {**LOOP, **change})
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    if field is None:
        assert resp.json()["type"] == "/problems/control-character"
    else:
        assert field in [e["field"] for e in resp.json()["errors"]], resp.json()
    _untouched(world, notice["id"])


def test_missing_read_back_or_body_is_422(world, data):
    notice = _critical_notice(world, data)
    for body in ({k: v for k, v in LOOP.items() if k != "read_back"}, None):
        resp = world.client.post(f"/api/v1/notices/{notice['id']}/acknowledge", headers=world.a.auth, json=body)
        assert resp.status_code == 422 and resp.headers["content-type"] == "application/problem+json"
    _untouched(world, notice["id"])


def test_another_sites_notice_is_404_and_an_api_key_must_name_the_person(world, data):
    notice = _critical_notice(world, data)
    assert _ack(world, notice["id"], LOOP, headers=world.b.auth).status_code == 404
    assert world.client.get(f"/api/v1/notices/{notice['id']}", headers=world.b.auth).status_code == 404
    assert _ack(world, 999999, LOOP).status_code == 404
    nameless = _ack(world, notice["id"], LOOP, headers=world.a.key)
    assert nameless.status_code == 422 and nameless.json()["errors"][0]["field"] == "received_by_name"
    _untouched(world, notice["id"])
    ok = _ack(world, notice["id"], {**LOOP, "received_by_name": "赵护士", "received_by_role": "护士"},
              headers=world.a.key)
    assert ok.status_code == 200 and ok.json()["received_by_name"] == "赵护士"


def test_hub_admins_see_unacknowledged_notices_past_the_bound_as_overdue(world, data):
    notice = _critical_notice(world, data)
    settings = world.client.app.state.ctx.settings
    assert settings.notice_escalation_min == 15.0  # the default bound (min)
    assert world.client.get("/api/v1/admin/notices/overdue", headers=world.admin).json() == []  # just raised
    assert world.client.get("/api/v1/admin/notices/overdue", headers=world.a.auth).status_code == 403
    settings.notice_escalation_min = 0
    overdue = world.client.get("/api/v1/admin/notices/overdue", headers=world.admin).json()
    assert [(o["id"], o["patient_name"], o["site_name"]) for o in overdue] == [(notice["id"], "张危急", "Clinic A")]
    assert overdue[0]["waiting_min"] >= 0 and overdue[0]["text"].startswith("ST段抬高")
    assert _ack(world, notice["id"], LOOP).status_code == 200
    assert world.client.get("/api/v1/admin/notices/overdue", headers=world.admin).json() == []


# ---- the clinic page, in Chromium ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def live(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory):
    # notice_escalation_min=0: every open notice is overdue at once, for the admin page's list.
    with served(sqlite_template, tmp_path_factory.mktemp("critical-live"), seed=_name_the_nurse,
                notice_escalation_min=0) as live_world:
        yield live_world


def test_clinic_page_closes_the_critical_loop_and_shows_the_chain(live, data):
    base, world = live
    sid = _signed_critical(world, data)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 768, "height": 1024}, locale="zh-CN")
        page.goto(f"{base}/login?next=/clinic/")
        page.fill("#username", "tech-a")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        banner = page.locator("#notice-banner")
        expect(banner).to_be_visible()
        item = banner.locator("#notice-list li")
        expect(item).to_have_count(1)
        expect(item.locator(".notice-patient")).to_have_text("张危急")
        expect(item.locator(".notice-pid")).to_have_text("病历号 P-001")
        expect(item.locator(".notice-text")).to_contain_text("ST段抬高")  # the finding in Chinese first
        assert item.get_by_role("link", name="查看检查").get_attribute("href") == f"/clinic/studies/{sid}"

        banner.get_by_role("button", name="确认接收").click()
        form = page.locator("#ack-form")
        expect(form).to_be_visible()
        expect(page.locator("#ack-patient")).to_contain_text("张危急（病历号 P-001）")
        expect(page.locator("#ack-told-name")).to_be_focused()
        expect(form.get_by_label("复述内容（对方复述的危急值） *")).to_be_visible()  # zh-CN labels
        page.click("#ack-submit")  # empty: the browser asks for the name, nothing is sent
        expect(form).to_be_visible()
        page.fill("#ack-told-name", "王建国")
        page.fill("#ack-told-role", "主治医师")
        page.fill("#ack-read-back", "ST段抬高，急性心肌梗死可能")
        page.fill("#ack-action", "已通知患者立即到急诊")
        bad = [v for v in Axe().run(page).response["violations"] if v["impact"] in ("serious", "critical")]
        assert not bad, [(v["id"], v["nodes"][0]["target"]) for v in bad]
        page.screenshot(path=str(ARTIFACTS / "clinic_critical_ack_form.png"), full_page=True)
        page.click("#ack-submit")

        expect(banner).to_be_hidden()
        receipt = page.locator("#notice-receipt")
        expect(receipt).to_be_visible()
        expect(receipt.locator("#receipt-patient")).to_contain_text("张危急（病历号 P-001）：ST段抬高")
        steps = receipt.locator("#receipt-chain li")
        expect(steps).to_have_count(3)
        assert [steps.nth(i).get_attribute("data-step") for i in range(3)] == ["raised", "shown", "acknowledged"]
        expect(steps.nth(0)).to_contain_text("危急值上报")
        expect(steps.nth(1)).to_contain_text("门诊已显示")
        done = steps.nth(2)
        for text in ("已确认接收", "接收人：李护士（护士）", "已通知：王建国（主治医师）", "复述：ST段抬高，急性心肌梗死可能",
                     "处理：已通知患者立即到急诊"):
            expect(done).to_contain_text(text)
        page.screenshot(path=str(ARTIFACTS / "clinic_critical_chain.png"), full_page=True)
        page.reload()
        page.wait_for_selector("body[data-notices-loaded='1']")
        expect(banner).to_be_hidden()
        page.close()

    notice = next(n for n in world.client.get("/api/v1/notices", headers=world.a.auth).json() if n["study_id"] == sid)
    got = world.client.get(f"/api/v1/notices/{notice['id']}", headers=world.a.auth).json()
    assert (got["received_by_name"], got["told_name"], got["read_back"]) == ("李护士", "王建国", "ST段抬高，急性心肌梗死可能")
    told = dt.datetime.fromisoformat(got["told_at"])  # the form's prefilled time: now, in the browser's zone
    assert abs(told - dt.datetime.fromisoformat(got["acknowledged_at"])) < dt.timedelta(minutes=2)
    assert [s["step"] for s in got["chain"]] == ["raised", "shown", "acknowledged"]


def test_admin_dashboard_lists_overdue_notices_until_acknowledged(live, data):
    base, world = live
    sid = _signed_critical(world, data)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="zh-CN")
        page.goto(f"{base}/login?next=/admin/")
        page.fill("#username", "admin")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        section = page.locator("#overdue-notices")
        expect(section.get_by_role("heading")).to_have_text("超时未确认的危急值")
        page.wait_for_selector("#overdue-notices[data-loaded='1']")
        notice = next(n for n in world.client.get("/api/v1/notices", headers=world.a.auth).json()
                      if n["study_id"] == sid)
        row = section.locator(f"tr[data-notice='{notice['id']}']")
        for text in ("Clinic A", "张危急", "P-001", "ST段抬高", "分钟"):
            expect(row).to_contain_text(text)
        bad = [v for v in Axe().run(page).response["violations"] if v["impact"] in ("serious", "critical")]
        assert not bad, [(v["id"], v["nodes"][0]["target"]) for v in bad]
        page.screenshot(path=str(ARTIFACTS / "admin_overdue_notices.png"), full_page=True)
        assert _ack(world, notice["id"], {**LOOP, "received_by_name": "赵护士"}, headers=world.a.key).status_code == 200
        page.reload()
        page.wait_for_selector("#overdue-notices[data-loaded='1']")
        expect(row).to_have_count(0)
        page.close()
