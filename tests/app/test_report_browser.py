"""The shared report page in headless Chromium at a phone's size (360 x 740), via Playwright.

Screenshots are kept in test-artifacts/ for people to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.app.factories import patient_form, upload, wait_for_status, wfdb_files
from tests.app.live import ARTIFACTS, CHROMIUM_ARGS, chromium_path, served, wait_js


@pytest.fixture
def live(sqlite_template: Path, tmp_path: Path):
    with served(sqlite_template, tmp_path) as live_world:
        yield live_world


def _signed_link(world, data) -> tuple[str, str]:
    resp = upload(world.client, world.a.auth, wfdb_files(data, "ludb/1"), form=patient_form(patient_name="王小明"))
    sid = wait_for_status(world.client, world.a.auth, resp.json()["id"])["id"]
    claim = world.client.post(f"/api/v1/reader/studies/{sid}/claim", headers=world.reader).json()["claim"]
    world.client.post(f"/api/v1/reader/claims/{claim['id']}/sign", headers=world.reader,
                      json={"statements": ["SR", "NORM"]}).raise_for_status()
    link = world.client.post(f"/api/v1/studies/{sid}/share-links", headers=world.a.auth, json={}).json()
    return link["url"], str(link["id"])


def test_phone_opens_shared_report(live, data):
    base, world = live
    url, link_id = _signed_link(world, data)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True,
                                locale="zh-CN")
        page.goto(url)
        page.wait_for_load_state("networkidle")
        assert page.get_by_text("窦性心律").first.is_visible()
        assert page.get_by_text("王小明").is_visible()
        img = page.locator("img").first
        img.scroll_into_view_if_needed()
        wait_js(page, "document.images[0].complete && document.images[0].naturalWidth > 0")
        width, scroll = page.evaluate("[document.documentElement.clientWidth, document.documentElement.scrollWidth]")
        assert scroll <= width, f"horizontal scroll: content {scroll}px wide in a {width}px viewport"
        box = img.bounding_box()
        assert box and box["width"] <= 360 and box["height"] > 150
        page.screenshot(path=str(ARTIFACTS / "report_phone_360.png"), full_page=True)

        world.client.post(f"/api/v1/share-links/{link_id}/revoke", headers=world.a.auth).raise_for_status()
        page.goto(url)
        alert = page.get_by_role("alert")
        assert "撤销" in alert.inner_text() or "过期" in alert.inner_text()
        assert "王小明" not in page.content()
        page.screenshot(path=str(ARTIFACTS / "report_phone_revoked.png"))
        browser.close()
