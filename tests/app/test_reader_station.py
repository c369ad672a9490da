"""The reading station's round-2 tools in headless Chromium (Playwright): queue rows that name the
patient, clinic and indication; a stat arrival announced live; filter choices; voltage calipers;
and the layout at 1366 x 768. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.app.factories import PASSWORD, World, patient_form, upload, wait_for_status, wfdb_files
from tests.app.live import ARTIFACTS, chromium, served


@pytest.fixture
def live(sqlite_template: Path, tmp_path: Path) -> Iterator[tuple[str, World]]:
    with served(sqlite_template, tmp_path) as live_world:
        yield live_world


def _queued(world: World, data: Path, record: str, **form: str) -> str:
    sid = upload(world.client, world.a.auth, wfdb_files(data, record), form=patient_form(**form)).json()["id"]
    assert wait_for_status(world.client, world.a.auth, sid)["status"] == "awaiting_read"
    return sid


def _open_reader(browser, base: str) -> Page:
    page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page.goto(f"{base}/reader/")
    page.fill("#username", "reader")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/reader/")
    return page


def test_queue_row_names_patient_clinic_and_indication(live, data):
    base, world = live
    sid = _queued(world, data, "ludb/1", patient_name="张晓东", indication="心悸三天")
    with chromium() as browser:
        page = _open_reader(browser, base)
        page.click("#rd-queue summary")
        row = page.locator(f"#rd-queue-rows tr[data-study='{sid}']")
        row.wait_for()
        text = row.inner_text()
        assert "张晓东" in text and "心悸三天" in text and "Clinic A" in text, text
        assert "分钟" in row.locator(".rd-q-wait").inner_text()
        page.screenshot(path=str(ARTIFACTS / "reader_queue_rows.png"))
