"""The reading station's round-2 tools in headless Chromium (Playwright): queue rows that name the
patient, clinic and indication; a stat arrival announced live; filter choices; voltage calipers;
and the layout at 1366 x 768. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.app.factories import PASSWORD, World, patient_form, upload, wait_for_status, wfdb_files
from tests.app.live import ARTIFACTS, chromium, served, wait_js


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


_RECORD_NOTIFICATIONS = """
  // Record desktop notifications instead of showing them (the browser's API, not ours).
  window.__notes = [];
  window.Notification = class { constructor(title, opts) { window.__notes.push({title, body: (opts || {}).body}); } };
  window.Notification.permission = "granted";
  window.Notification.requestPermission = async () => "granted";
"""


def test_stat_arrival_alerts_the_open_page(live, data):
    base, world = live
    with chromium() as browser:
        page = _open_reader(browser, base)
        page.add_init_script(_RECORD_NOTIFICATIONS)
        page.reload()
        wait_js(page, "document.querySelector('[data-count=stat]').textContent === '0'")
        page.click("#rd-queue summary")  # a gesture: unlocks the page's audio
        time.sleep(1.0)  # the stream is open
        sid = _queued(world, data, "ludb/1", patient_name="急诊患儿", indication="晕厥伴抽搐", urgency="stat")
        page.locator("#rd-stat:not([hidden])").wait_for(timeout=20000)
        alert = page.inner_text("#rd-stat")
        assert "急诊患儿" in alert and "Clinic A" in alert and "晕厥伴抽搐" in alert, alert
        assert page.get_attribute("#rd-stat", "data-study") == sid
        assert page.evaluate("window.__rdBeeps") >= 1
        notes = page.evaluate("window.__notes")
        assert notes and "急诊患儿" in notes[0]["body"], notes
        assert page.inner_text("[data-count=stat]") == "1"  # the queue refreshed without waiting 30 s
        assert page.locator(f"#rd-queue-rows tr[data-study='{sid}']").count() == 1
        page.screenshot(path=str(ARTIFACTS / "reader_stat_alert.png"))
        page.click("#rd-stat-claim")  # claims it straight from the alert
        page.wait_for_selector(f"#rd-ecg[data-study='{sid}'][data-drawn-leads='12']")
        assert page.is_hidden("#rd-stat")


def _open_study(page: Page, world: World, data: Path, record: str = "ludb/3") -> str:
    sid = _queued(world, data, record, patient_name="李小红", indication="晕厥")
    wait_js(page, "document.querySelector('[data-count=routine]').textContent !== '–'")
    page.keyboard.press("n")
    page.wait_for_selector(f"#rd-ecg[data-study='{sid}'][data-drawn-leads='12']")
    return sid


def test_filter_choice_changes_the_drawing_request(live, data):
    base, world = live
    with chromium() as browser:
        page = _open_reader(browser, base)
        _open_study(page, world, data)
        asked: list[str] = []
        page.on("request", lambda r: asked.append(r.url) if "/waveform" in r.url else None)
        seq = int(page.get_attribute("#rd-ecg", "data-draw-seq"))
        page.select_option("#rd-lp", "150")
        wait_js(page, f"Number(document.getElementById('rd-ecg').dataset.drawSeq) > {seq}")
        assert asked and "lp=150" in asked[-1] and "fs=500" in asked[-1] and "hp=0.5" in asked[-1], asked
        page.select_option("#rd-hp", "0.05")
        page.uncheck("#rd-notch")
        wait_js(page, "window.__rd.state.waves && Object.keys(window.__rd.state.waves).some("
                      "(k) => k.includes('hp=0.05') && k.includes('notch=false'))")
        assert "hp=0.05" in asked[-1] and "notch=false" in asked[-1] and "lp=150" in asked[-1], asked
        got = page.evaluate("Object.values(window.__rd.state.waves).map((w) => w.filter)")
        assert {"highpass_hz": 0.05, "lowpass_hz": 150.0, "notch_hz": None} in got, got


def test_voltage_caliper_reads_millivolts_and_amplitude_table_shows(live, data):
    base, world = live
    with chromium() as browser:
        page = _open_reader(browser, base)
        _open_study(page, world, data)
        page.wait_for_selector("#rd-amp-rows tr[data-lead='V5']")  # the per-lead R/S/ST table arrived
        assert page.locator("#rd-amp-rows tr[data-lead]").count() == 12
        page.keyboard.press("v")
        assert page.get_attribute("#rd-vcal", "aria-pressed") == "true"
        row = next(r for r in page.evaluate("window.__rd.state.layout.rows") if r["lead"] == "II" and not r.get("strip"))
        px_mm = float(page.get_attribute("#rd-ecg", "data-px-per-mm"))
        x, y0 = round(row["x0"] + 20), round(row["base"])
        dy = round(15 * px_mm)  # 15 mm up: 1.5 mV at 10 mm/mV (whole pixels, as a mouse clicks)
        page.locator("#rd-over").click(position={"x": x, "y": y0})
        page.locator("#rd-over").click(position={"x": x, "y": y0 - dy})
        text = page.inner_text("#rd-caliper-out")
        expected = dy / (10 * px_mm)
        assert abs(expected - 1.5) < 0.03
        assert "mV" in text and abs(float(page.inner_text("#rd-vcal-mv")) - expected) <= 0.006, text
        assert page.evaluate("document.getElementById('rd-caliper-out').getBoundingClientRect().bottom") <= 768
        page.screenshot(path=str(ARTIFACTS / "reader_voltage_caliper.png"))


def test_rhythm_strip_is_in_view_at_1366_by_768(live, data):
    base, world = live
    with chromium() as browser:
        page = _open_reader(browser, base)
        _open_study(page, world, data)
        assert page.evaluate("window.scrollY") == 0
        bottom = page.evaluate("document.getElementById('rd-ecg').getBoundingClientRect().top"
                               " + Number(document.getElementById('rd-ecg').dataset.stripBottom)")
        assert bottom <= 768, f"rhythm strip ends at {bottom:.0f} px in a 768 px viewport"
        width, scroll = page.evaluate("[document.documentElement.clientWidth, document.documentElement.scrollWidth]")
        assert scroll <= width
        page.screenshot(path=str(ARTIFACTS / "reader_1366x768.png"))
