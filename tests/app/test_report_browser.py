"""The shared report page in headless Chromium at a phone's size (390 x 844), via Playwright.

What a parent sees: the hospital, the signer's name and title, the plain-language explanation,
the tracing as vector SVG with legible lead labels that enlarges per lead on tap, a hint in
WeChat's in-app browser, and no English machine text on the Chinese page. Screenshots are kept
in test-artifacts/ for people to look at.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from app.reading.lexicon import lexicon
from tests.app.factories import patient_form, upload, wait_for_status, wfdb_files
from tests.app.live import ARTIFACTS, chromium, served

PHONE = {"width": 390, "height": 844}
WECHAT_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
             "Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN")
SAFARI_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
             "Version/17.0 Mobile/15E148 Safari/604.1")
EXPLANATION = "孩子的心跳节律正常，各项测量在同龄儿童的正常范围内，不需要治疗。"
#: Words of the machine's English wording that must never reach a Chinese page (besides the lexicon's).
INTERNAL_WORDS = {"unverified", "transcribed", "transcription", "verified", "machine", "unreadable", "draft"}


@pytest.fixture
def live(sqlite_template: Path, tmp_path: Path):
    with served(sqlite_template, tmp_path) as live_world:
        yield live_world


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def _signed_link(world, data) -> tuple[str, str]:
    reader = world.extra["users"]["reader"]
    world.client.patch(f"/api/v1/admin/users/{reader}", headers=world.admin,
                       json={"display_name": "李明", "title": "主任医师"}).raise_for_status()
    resp = upload(world.client, world.a.auth, wfdb_files(data, "ludb/1"), form=patient_form(patient_name="王小明"))
    sid = wait_for_status(world.client, world.a.auth, resp.json()["id"])["id"]
    claim = world.client.post(f"/api/v1/reader/studies/{sid}/claim", headers=world.reader).json()["claim"]
    world.client.post(f"/api/v1/reader/claims/{claim['id']}/sign", headers=world.reader,
                      json={"statements": ["SR", "NORM"], "patient_explanation": EXPLANATION}).raise_for_status()
    link = world.client.post(f"/api/v1/studies/{sid}/share-links", headers=world.a.auth, json={}).json()
    return link["url"], str(link["id"])


def _phone(browser, user_agent: str | None = None):
    return browser.new_page(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN",
                            user_agent=user_agent)


def _label_sizes(page) -> list[tuple[str, float, float]]:
    """(lead, computed font size px, rendered height px) of every lead label on the page."""
    return page.evaluate("""() => [...document.querySelectorAll('button.lead .label')].map((el) =>
        [el.textContent, parseFloat(getComputedStyle(el).fontSize), el.getBoundingClientRect().height])""")


def _english_words(text: str) -> set[str]:
    """Lower-case ASCII words (3+ letters) of ``text`` that belong to the lexicon's English or internal wording.

    Abbreviations written with two or more capitals (QRS, QTc, aVR, WPW) are left out: Chinese
    reports use them as they are.
    """
    words = {w for st in lexicon().values() for w in re.findall(r"[A-Za-z]{3,}", st.en)}
    vocabulary = {w.lower() for w in words if sum(c.isupper() for c in w) < 2} | INTERNAL_WORDS
    return {w.lower() for w in re.findall(r"[A-Za-z]{3,}", text)} & vocabulary


def test_phone_report_official_legible_and_zoomable(live, browser, data):
    base, world = live
    url, link_id = _signed_link(world, data)
    page = _phone(browser, SAFARI_UA)
    page.goto(url)
    expect(page.get_by_text("区域儿童医院心电诊断中心")).to_be_visible()
    expect(page.get_by_role("heading", name="心电图报告", exact=True)).to_be_visible()
    expect(page.locator("#signer")).to_contain_text("李明 主任医师")
    expect(page.locator("#family")).to_contain_text(EXPLANATION)
    expect(page.locator("#wechat-hint")).to_have_count(0)
    leads = page.locator("button.lead")
    assert leads.count() == 13  # 3 x 4 plus the lead II rhythm strip
    assert page.locator("button.lead svg path.trace").count() == 13
    for lead, size_px, height_px in _label_sizes(page):
        assert size_px >= 12 and height_px >= 12, (lead, size_px, height_px)
    width, scroll = page.evaluate("[document.documentElement.clientWidth, document.documentElement.scrollWidth]")
    assert scroll <= width, f"horizontal scroll: content {scroll}px wide in a {width}px viewport"
    axe = Axe().run(page)
    bad = [v for v in axe.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, [(v["id"], v["impact"], v["nodes"][0]["target"]) for v in bad]
    page.screenshot(path=str(ARTIFACTS / "report_phone_390.png"), full_page=True)

    cell = page.locator("button.lead[data-lead='V1']")
    small = cell.locator("svg").bounding_box()
    cell.tap()
    zoom = page.get_by_role("dialog")
    expect(zoom).to_be_visible()
    expect(zoom.get_by_role("heading")).to_have_text("V1 导联")
    big = zoom.locator("svg").bounding_box()
    assert big["width"] >= 3.5 * small["width"] and big["height"] >= 3.5 * small["height"], (small, big)
    assert big["width"] / 62.5 >= 5.0  # >= 5 CSS px per paper mm: 1 mV (10 mm) is >= 50 px tall
    page.screenshot(path=str(ARTIFACTS / "report_phone_390_lead_V1.png"))
    page.keyboard.press("Escape")
    expect(zoom).to_be_hidden()
    expect(cell).to_be_focused()

    page.locator("button.lead").last.tap()  # the 10 s rhythm strip: wider than the phone, scrolls sideways
    strip = zoom.locator("svg").bounding_box()
    assert strip["width"] >= 260 * 5.0 - 1
    page.get_by_role("button", name="关闭").tap()
    expect(zoom).to_be_hidden()

    world.client.post(f"/api/v1/share-links/{link_id}/revoke", headers=world.a.auth).raise_for_status()
    page.goto(url)
    alert = page.get_by_role("alert")
    assert "撤销" in alert.inner_text() or "过期" in alert.inner_text()
    assert "王小明" not in page.content()
    page.close()


def test_wechat_browser_gets_the_pdf_hint_others_do_not(live, browser, data):
    base, world = live
    url, _ = _signed_link(world, data)
    wechat = _phone(browser, WECHAT_UA)
    wechat.goto(url)
    hint = wechat.locator("#wechat-hint")
    expect(hint).to_be_visible()
    expect(hint).to_contain_text("右上角")
    expect(hint).to_contain_text("在浏览器打开")
    assert hint.bounding_box()["y"] < 844, "the hint must be on the first screen"
    wechat.screenshot(path=str(ARTIFACTS / "report_phone_wechat.png"))
    wechat.close()
    for ua in (SAFARI_UA, None):  # Safari on iPhone, and Playwright's own Chromium
        other = _phone(browser, ua)
        other.goto(url)
        expect(other.locator("#pdf-link")).to_be_visible()
        expect(other.locator("#wechat-hint")).to_have_count(0)
        other.close()


def test_chinese_page_shows_no_english_machine_text(live, browser, data):
    """Visible text of the zh-CN page has no word of the English lexicon; the en page has (so the check bites)."""
    base, world = live
    url, _ = _signed_link(world, data)
    page = _phone(browser)
    page.goto(url)
    page.locator("details summary").first.click() if page.locator("details").count() else None
    visible = page.evaluate("document.body.innerText")
    assert "窦性心律" in visible and "QRS" in visible
    assert not _english_words(visible), _english_words(visible)
    page.screenshot(path=str(ARTIFACTS / "report_phone_zh_text.png"), full_page=True)
    page.goto(url + "?lang=en")
    english = page.evaluate("document.body.innerText")
    assert {"sinus", "rhythm"} <= _english_words(english)
    page.close()
