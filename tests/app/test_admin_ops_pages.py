"""The admin's working pages in headless Chromium (Playwright): users (edit name and title, reset password
shown once, end sessions, disable), the live queue with the overdue list (reassign, requeue), the webhook
page, and the per-clinic table sorted and filtered with 120+ clinics. Each page passes axe (serious and
critical) and shows no English in the sections these pages add when the browser asks for Chinese.

Data: the hand-counted scenario of test_admin_figures (10-11 Nov 2026) plus 120 more clinics with a few
studies each on 1-5 Nov 2026.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from storage.models import PRIORITY_RANK, Patient, Sex, Site, SiteLevel, Study, StudyStatus, Urgency
from tests.app.factories import PASSWORD
from tests.app.live import chromium, served
from tests.app.test_admin_figures import seed_hand_count
from tests.app.test_admin_pages import DESKTOP, _check_page, _login

MANY = 120
#: Words a Chinese admin page may show in Latin letters: names of standards and units, not machine text.
ALLOWED_LATIN = {"API", "CSV", "URL", "Webhook", "HTTP", "P50", "P90"}


def _many_clinics(ctx) -> None:
    """120 township clinics; clinic i received (i % 7) + 1 routine studies, all reported, on 1-5 Nov."""
    day = dt.datetime(2026, 11, 1, 2, 0, tzinfo=dt.UTC)
    with ctx.session_factory() as s:
        for i in range(MANY):
            site = Site(code=f"tw-{i:03d}", name=f"乡镇卫生院 {i:03d}", level=SiteLevel.township, region="R")
            s.add(site)
            s.flush()
            p = Patient(site_id=site.id, external_id=f"M{i}", name="Many", sex=Sex.female)
            s.add(p)
            s.flush()
            for k in range(i % 7 + 1):
                at = day + dt.timedelta(days=k % 5, minutes=k)
                s.add(Study(id=uuid.uuid4(), site_id=site.id, patient_id=p.id, acquired_at=at, received_at=at,
                            clinic_urgency=Urgency.routine, status=StudyStatus.reported, priority=Urgency.routine,
                            priority_rank=PRIORITY_RANK[Urgency.routine], due_at=at + dt.timedelta(hours=4),
                            idempotency_key=f"many{i}-{k}", request_hash="0" * 64, uploaded_by="test"))
        s.commit()


def _seed(world, ctx) -> None:
    world.extra["ids"] = seed_hand_count(world, ctx)
    _many_clinics(ctx)


@pytest.fixture(scope="module")
def live(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory):
    with served(sqlite_template, tmp_path_factory.mktemp("admin-ops-live"), seed=_seed) as live_world:
        yield live_world


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def _no_english(page: Page, selector: str) -> None:
    """The labels, headings, buttons and column headers under ``selector`` have no English words (data
    cells, codes and the names the API returns are left out: "Clinic A" or a login name is data)."""
    text = page.evaluate("""sel => {
        const out = [];
        for (const root of document.querySelectorAll(sel)) {
            const c = root.cloneNode(true);
            c.querySelectorAll('tbody, select, code, h3, input, .reader-claims caption, #edit-username, #delivery-site, .token-box')
             .forEach(n => n.remove());
            out.push(c.innerText);
        }
        return out.join('\\n'); }""", selector)
    assert text.strip(), f"nothing under {selector}"
    words = {w for w in re.findall(r"[A-Za-z][A-Za-z0-9]+", text)} - ALLOWED_LATIN
    assert not words, f"English on the zh-CN page under {selector}: {sorted(words)}"


def test_users_section_edits_resets_and_disables(live, browser):
    base, world = live
    page = _login(browser, base, "admin", "/admin/users")
    page.on("dialog", lambda d: d.accept())
    row = page.locator("#user-table tr", has_text="reader2")

    row.get_by_role("button", name="编辑").click()
    page.fill("#edit-display", "王芳")
    page.fill("#edit-title", "副主任医师")
    page.locator("#edit-form").get_by_role("button", name="保存").click()
    expect(page.locator("#user-table tr", has_text="reader2")).to_contain_text("副主任医师")
    expect(page.locator("#user-table tr", has_text="reader2")).to_contain_text("王芳")

    # Reset: the temporary password is shown once; the old one stops working; login asks for a new one.
    page.locator("#user-table tr", has_text="reader2").get_by_role("button", name="重置密码").click()
    temp = page.locator("#temp-password-value").inner_text()
    assert len(temp) >= 12
    expect(page.locator("#temp-password")).to_contain_text("只显示这一次")
    token = lambda pw: httpx.post(f"{base}/api/v1/auth/token", data={"username": "reader2", "password": pw})
    assert token(PASSWORD).status_code == 401
    assert token(temp).status_code == 403  # password change required
    _check_page(page, "users_reset")
    _no_english(page, "main")
    page.reload()
    page.wait_for_selector("#user-table tr >> text=reader2")
    assert temp not in page.content()

    # End sessions: a token issued before stops working.
    reader = world.client.post("/api/v1/auth/token", data={"username": "reader", "password": PASSWORD}).json()
    bearer = {"Authorization": f"Bearer {reader['access_token']}"}
    assert world.client.get("/api/v1/reader/worklist", headers=bearer).status_code == 200
    with page.expect_response(lambda r: r.url.endswith(f"/users/{world.extra['users']['reader']}/revoke-sessions")):
        page.locator("#user-table tr:has(th:text-is('reader'))").get_by_role("button", name="强制下线").click()
    expect(page.locator("#user-status")).to_have_text("已强制下线。")
    assert world.client.get("/api/v1/reader/worklist", headers=bearer).status_code == 401

    # Disable: the row says so, its buttons go, login is refused.
    page.locator("#user-table tr", has_text="adult-reader").get_by_role("button", name="停用").click()
    disabled = page.locator("#user-table tr", has_text="adult-reader")
    expect(disabled).to_contain_text("已停用")
    expect(disabled.get_by_role("button", name="停用")).to_have_count(0)
    assert httpx.post(f"{base}/api/v1/auth/token", data={"username": "adult-reader", "password": PASSWORD}
                      ).status_code == 401
    page.close()


def _wait_for_escalations(page: Page, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not page.locator("#escalation-table tbody tr").count():
        assert time.monotonic() < deadline, "no escalation appeared"
        page.click("#queue-refresh")
        page.wait_for_timeout(300)


def test_queue_shows_overdue_and_moves_claims(live, browser):
    base, world = live
    ids = world.extra["ids"]
    world.client.patch(f"/api/v1/admin/users/{world.extra['users']['reader2']}", headers=world.admin,
                       json={"display_name": "王芳"}).raise_for_status()
    page = _login(browser, base, "admin", "/admin/queue")
    page.on("dialog", lambda d: d.accept())
    page.wait_for_selector("body[data-queue-loaded]")
    overdue = page.locator("#overdue-table tbody tr")
    expect(overdue).to_have_count(2)  # b2 (urgent) and a3 (routine), most urgent first
    expect(overdue.nth(0)).to_contain_text(str(ids["b2"])[:8])
    expect(overdue.nth(0)).to_contain_text("加急")
    expect(overdue.nth(1)).to_contain_text(str(ids["a3"])[:8])
    assert overdue.nth(0).get_attribute("class") == "overdue"
    expect(overdue.nth(0)).to_contain_text("超时")
    expect(page.locator("#queue-depth [data-priority=urgent]")).to_contain_text("待出报告 1")
    expect(page.locator("#waiting-table tbody tr")).to_have_count(3)
    _wait_for_escalations(page)  # the housekeeper (every 0.5 s here) raised one per overdue study
    expect(page.locator("#escalation-table tbody tr", has_text="超时未签发")).to_have_count(2)
    _check_page(page, "queue")
    _no_english(page, "main")

    claims = page.locator("#claims-by-reader")
    expect(claims.locator("h3")).to_have_text(["reader · 1"])
    label = f"reader · {str(ids['a4'])[:8]}"
    page.get_by_label(f"改派给 · {label}").select_option(label="王芳")
    page.get_by_role("button", name=f"改派 · {label}").click()
    expect(claims.locator("h3")).to_have_text(["王芳 · 1"])
    page.get_by_role("button", name=f"放回队列 · 王芳 · {str(ids['a4'])[:8]}").click()
    expect(claims).to_contain_text("没有已领取的检查")
    a4 = page.locator("#waiting-table tbody tr", has_text=str(ids["a4"])[:8])
    expect(a4).to_contain_text("未领取")
    expect(a4).to_contain_text("等待阅图")
    page.close()


def test_clinic_table_sorts_and_filters_many_clinics(live, browser):
    base, world = live
    page = _login(browser, base, "admin", "/admin/")
    page.goto(f"{base}/admin/?from=2026-11-01&to=2026-11-11")
    page.wait_for_selector("body[data-stats-loaded='1']")
    rows = page.locator("#clinic-table tbody tr")
    expect(rows).to_have_count(MANY + 2)
    assert page.locator("#clinic-table svg.spark").count() == MANY + 2
    expect(page.locator("#clinic-count")).to_have_text(f"显示 {MANY + 2} / {MANY + 2} 个单位")

    header = page.locator("#clinic-table thead th", has_text="检查数")
    header.get_by_role("button").click()  # most studies first
    assert header.get_attribute("aria-sort") == "descending"
    counts = [int(x) for x in page.locator("#clinic-table tbody tr td:nth-child(2)").all_inner_texts()]
    assert counts == sorted(counts, reverse=True) and counts[0] == 7
    header.get_by_role("button").click()
    assert header.get_attribute("aria-sort") == "ascending"
    counts = [int(x) for x in page.locator("#clinic-table tbody tr td:nth-child(2)").all_inner_texts()]
    assert counts == sorted(counts)

    rate = page.locator("#clinic-table thead th", has_text="按时率")
    rate.get_by_role("button").click()  # lowest on-time rate first: Clinic A (1 of 3)
    expect(rows.first.locator("th")).to_have_text("Clinic A")

    page.fill("#clinic-filter", "Clinic")
    expect(page.locator("#clinic-table tbody tr:not([hidden])")).to_have_count(2)
    expect(page.locator("#clinic-count")).to_have_text(f"显示 2 / {MANY + 2} 个单位")
    _check_page(page, "dashboard_many_clinics")
    _no_english(page, "#clinics, .kpis")

    href = page.locator("#export-clinics").get_attribute("href")
    assert "from=2026-11-01" in href and "to=2026-11-11" in href
    resp = page.request.get(f"{base}{href}")
    assert resp.status == 200 and resp.body().startswith(b"\xef\xbb\xbf")
    assert len(resp.body().decode("utf-8-sig").strip().splitlines()) == MANY + 3
    page.close()


def test_webhook_page_sets_url_shows_secret_once_and_log(live, browser):
    base, world = live
    page = _login(browser, base, "admin", "/admin/webhooks")
    page.on("dialog", lambda d: d.accept())
    page.select_option("#webhook-site", label="Clinic A (clinic-a)")
    page.fill("#webhook-url", "https://clinic-a.example/ecg-hook")
    page.get_by_role("button", name="保存推送地址").click()
    secret = page.locator("#webhook-secret-value").inner_text()
    assert len(secret) >= 16
    expect(page.locator("#webhook-table tr", has_text="Clinic A")).to_contain_text("https://clinic-a.example/ecg-hook")
    page.get_by_role("button", name="查看推送记录 · Clinic A").click()
    expect(page.locator("#delivery-table")).to_contain_text("暂无推送记录")
    _check_page(page, "webhooks")
    _no_english(page, "main")
    page.reload()
    page.wait_for_selector("#webhook-table tr >> text=Clinic A")
    assert secret not in page.content()
    page.get_by_role("button", name="停用推送 · Clinic A").click()
    expect(page.locator("#webhook-table tr", has_text="Clinic A")).to_contain_text("未设置")
    page.close()


def test_new_admin_pages_are_admin_only(live, browser):
    base, _ = live
    page = browser.new_page(viewport=DESKTOP, locale="zh-CN")
    page.goto(f"{base}/login")
    page.fill("#username", "tech-a")
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    for path in ("/admin/queue", "/admin/webhooks"):
        assert page.goto(f"{base}{path}").status == 403, path
    for api_path in ("/api/v1/admin/queue", "/api/v1/admin/stats/clinics.csv", "/api/v1/admin/stats/studies.csv"):
        assert page.evaluate("p => fetch(p).then(r => r.status)", api_path) == 403, api_path
    page.close()
