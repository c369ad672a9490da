"""The hub's admin pages (/admin/) in headless Chromium via Playwright, at a desktop size (1366 x 900).

The dashboard is checked on the hand-worked scenario of test_stats.py: the
charts are drawn (pixels on the canvases) and the numbers match the API's.
Screenshots go to test-artifacts/.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.app.factories import PASSWORD
from tests.app.live import ARTIFACTS, chromium, served
from tests.app.test_stats import seed_scenario

DESKTOP = {"width": 1366, "height": 900}
CANVASES = ("chart-volume", "chart-tat", "chart-readers", "chart-notices")


@pytest.fixture(scope="module")
def live(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory):
    with served(sqlite_template, tmp_path_factory.mktemp("admin-live"), seed=seed_scenario) as live_world:
        yield live_world


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def _login(browser, base: str, username: str, next_path: str = "/admin/") -> Page:
    page = browser.new_page(viewport=DESKTOP, locale="zh-CN")
    page.goto(f"{base}/login?next={next_path}")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: url.startswith(f"{base}{next_path}"))
    return page


def _check_page(page: Page, name: str) -> None:
    """No serious/critical axe violation, no horizontal scroll, and a screenshot."""
    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, [(v["id"], v["impact"], v["nodes"][0]["target"]) for v in bad]
    width, scroll = page.evaluate("[document.documentElement.clientWidth, document.documentElement.scrollWidth]")
    assert scroll <= width, f"horizontal scroll on {name}: {scroll}px in {width}px"
    page.screenshot(path=str(ARTIFACTS / f"admin_{name}.png"), full_page=True)


def _painted(page: Page, canvas_id: str) -> int:
    """How many pixels of the canvas are not transparent (Chart.js draws on a transparent canvas)."""
    return page.evaluate("""id => {
        const c = document.getElementById(id);
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
        return n; }""", canvas_id)


def test_dashboard_draws_charts_for_the_seeded_scenario(live, browser):
    base, world = live
    page = _login(browser, base, "admin", "/admin/")
    page.goto(f"{base}/admin/?from=2026-11-18&to=2026-11-20")
    page.wait_for_selector("body[data-stats-loaded='1']")
    expect(page.locator("#kpi-studies")).to_have_text("14")
    expect(page.locator("#kpi-notices")).to_have_text("1")
    for cid in CANVASES:
        assert page.evaluate("id => !!Chart.getChart(document.getElementById(id))", cid), cid
        assert _painted(page, cid) > 2000, f"{cid} looks blank"
    series = page.evaluate("Chart.getChart(document.getElementById('chart-volume')).data.datasets.map(d => d.label)")
    assert series == ["Clinic A", "Clinic B"]
    p90 = page.evaluate("Chart.getChart(document.getElementById('chart-tat')).data.datasets[1].data")
    assert p90 == [20.0, 40.0, 300.0]
    tat_table = page.locator("#table-tat").inner_text()
    assert "10.0 分钟" in tat_table and "240 分钟" in tat_table
    # On time over every due study: 6 of 9 signed + 1 unsigned past due; unreadable 3 and returned 1 of 14.
    expect(page.locator("#kpi-sla")).to_have_text("60.0%")
    expect(page.locator("#kpi-sla-detail")).to_contain_text("6 / 10")
    expect(page.locator("#kpi-unreadable")).to_have_text("21.4%")
    expect(page.locator("#kpi-returned")).to_have_text("7.1%")
    expect(page.locator("#kpi-read")).to_have_text("2.0 分钟")
    rows = page.locator("#clinic-table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first.locator("th")).to_have_text("Clinic B")  # worst unreadable rate first
    assert page.locator("#clinic-table svg.spark").count() == 2
    _check_page(page, "dashboard_1366")

    # Filter by clinic: only clinic B's numbers; the URL keeps the filter.
    page.select_option("#f-site", label="Clinic B")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#kpi-studies")).to_have_text("5")
    assert "site_id=" in page.url
    expect(page.locator("#clinic-table tbody tr")).to_have_count(1)
    expect(page.locator("#clinic-table tbody th")).to_have_text("Clinic B")
    page.screenshot(path=str(ARTIFACTS / "admin_dashboard_clinic_b.png"), full_page=True)
    page.close()


def test_admin_pages_create_and_list(live, browser):
    base, world = live
    page = _login(browser, base, "admin", "/admin/sites")
    page.on("dialog", lambda d: d.accept())
    page.fill("#site-code", "xx-township")
    page.fill("#site-name", "新丰镇卫生院")
    page.select_option("#site-level", "township")
    page.fill("#site-region", "XX 县")
    page.get_by_role("button", name="创建").click()
    expect(page.locator("#site-table")).to_contain_text("新丰镇卫生院")
    page.fill("#site-code", "xx-township")
    page.fill("#site-name", "duplicate")
    page.get_by_role("button", name="创建").click()
    expect(page.locator("#form-status")).to_contain_text("exists")  # the API's error, shown
    _check_page(page, "sites")

    page.goto(f"{base}/admin/users")
    page.select_option("#user-site", label="Hub ECG centre (hub)")
    page.fill("#user-username", "dr-li")
    page.fill("#user-display", "李医生")
    page.fill("#user-password", "a long enough password")
    page.select_option("#user-role", "reader")
    page.check("input[name=reader_pools][value=pediatric]")
    page.get_by_role("button", name="创建").click()
    expect(page.locator("#user-table")).to_contain_text("dr-li")
    row = page.locator("#user-table tr", has_text="dr-li")
    expect(row).to_contain_text("儿科")
    _check_page(page, "users")

    page.goto(f"{base}/admin/coverage")
    form = page.locator("form.coverage-form", has_text="dr-li")
    form.get_by_label("新丰镇卫生院").check()
    form.get_by_label("Clinic A").check()
    form.get_by_role("button", name="保存").click()
    expect(form.locator("[role=status]")).to_have_text("已保存。")
    users = world.client.get("/api/v1/admin/users", headers=world.admin, params={"role": "reader"}).json()
    dr = next(u for u in users if u["username"] == "dr-li")
    assert len(dr["covered_site_ids"]) == 2 and world.a.site_id in dr["covered_site_ids"]
    _check_page(page, "coverage")

    page.goto(f"{base}/admin/api-keys")
    page.select_option("#key-site", label="新丰镇卫生院 (xx-township)")
    page.fill("#key-name", "心电图机 1")
    page.get_by_role("button", name="创建").click()
    token = page.locator("#new-token-value").inner_text()
    assert token.startswith("ek_")
    assert httpx.get(f"{base}/api/v1/studies", headers={"X-API-Key": token}).status_code == 200
    row = page.locator("#key-table tr", has_text="心电图机 1")
    expect(row).to_contain_text("有效")
    _check_page(page, "api_keys")
    page.reload()
    assert token not in page.content()  # shown once only
    page.locator("#key-table tr", has_text="心电图机 1").get_by_role("button", name="撤销").click()
    expect(page.locator("#key-table tr", has_text="心电图机 1")).to_contain_text("已撤销")
    assert httpx.get(f"{base}/api/v1/studies", headers={"X-API-Key": token}).status_code == 401
    page.close()


def test_only_admins_reach_admin_pages(live, browser):
    base, _ = live
    page = browser.new_page(viewport=DESKTOP, locale="zh-CN")
    page.goto(f"{base}/login")
    page.fill("#username", "reader")
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert any(c["name"] == "ecghub_session" for c in page.context.cookies())
    for path in ("/admin/", "/admin/sites", "/admin/users", "/admin/coverage", "/admin/api-keys"):
        resp = page.goto(f"{base}{path}")
        assert resp.status == 403, path
        assert "无权访问" in page.content()
    status = page.evaluate("fetch('/api/v1/admin/stats').then(r => r.status)")
    assert status == 403
    page.close()
