"""The reading workstation (/reader/): amending a signed report, and N while a claimed study is open.

A reader opens a study from "recently signed by me", sees the signed version, edits it,
gives the mandatory reason and signs the amendment; the clinic then reads version 2 with
the reason and version 1 unchanged. Pressing N with a claimed study open asks first
(put it back or keep reading) instead of silently leaving the claim behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

from tests.app.factories import (
    PASSWORD,
    World,
    patient_form,
    upload,
    wait_for_status,
    wfdb_files,
)
from tests.app.live import ARTIFACTS, chromium, served, wait_js

RECORD = "ludb/3"


@pytest.fixture
def live(sqlite_template: Path, tmp_path: Path) -> Iterator[tuple[str, World, Any]]:
    holder: dict[str, Any] = {}
    with served(sqlite_template, tmp_path, seed=lambda _w, ctx: holder.update(ctx=ctx)) as (base, world):
        yield base, world, holder["ctx"]


def _queued(world: World, data: Path, **form: str) -> str:
    sid = upload(world.client, world.a.auth, wfdb_files(data, RECORD), form=patient_form(**form)).json()["id"]
    assert wait_for_status(world.client, world.a.auth, sid)["status"] == "awaiting_read"
    return sid


def _signed(world: World, data: Path, headers: dict[str, str], **sign: Any) -> str:
    sid = _queued(world, data)
    claim = world.client.post(f"/api/v1/reader/studies/{sid}/claim", headers=headers).json()["claim"]
    world.client.post(f"/api/v1/reader/claims/{claim['id']}/sign", headers=headers, json=sign).raise_for_status()
    return sid


def _login(page: Page, base: str) -> None:
    page.goto(f"{base}/reader/")
    page.fill("#username", "reader")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/reader/")
    wait_js(page, "document.querySelector('[data-count=routine]').textContent !== '–'")


def _serious(page: Page) -> list[Any]:
    found = [v for v in Axe().run(page).response["violations"] if v["impact"] in ("serious", "critical")]
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in found]


def test_reader_amends_a_signed_report_from_the_page(live, data):
    base, world, _ = live
    sid = _signed(world, data, world.reader, statements=["SR"], free_text="首次报告", measurements={"qrs_ms": 90})
    before = world.client.get(f"/api/v1/studies/{sid}/report", headers=world.a.auth).json()
    assert [v["version"] for v in before["versions"]] == [1]
    reason = "复核后补充：正常心电图"
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        _login(page, base)

        # keyboard only: open "recently signed by me", then the study
        page.focus("#rd-recent summary")
        page.keyboard.press("Enter")
        page.wait_for_selector(f"[data-amend-study='{sid}']")
        assert "v1" in page.inner_text("#rd-recent-rows")
        page.focus(f"[data-amend-study='{sid}']")
        page.keyboard.press("Enter")
        page.wait_for_selector(f"#rd-ecg[data-study='{sid}'][data-drawn-leads='12']")
        page.wait_for_selector("#rd-version-list li[data-version='1'].current")
        assert page.is_visible("#rd-amend") and page.is_visible("#rd-amend-reason")
        assert page.is_hidden("#rd-sign") and page.is_hidden("#rd-return") and page.is_hidden("#rd-release")
        # prefilled from the signed version: statements, free text, the reader's corrected QRS
        assert page.eval_on_selector_all("#rd-chosen li", "els => els.map(e => e.dataset.code)") == ["SR"]
        assert page.input_value("#rd-free") == "首次报告"
        assert page.input_value("#m-qrs_ms") == "90"
        assert "edited" in page.get_attribute("#m-qrs_ms", "class")
        assert not _serious(page)
        page.screenshot(path=str(ARTIFACTS / "reader_amend_open.png"), full_page=True)

        # no reason: refused before anything is sent, focus on the reason
        page.evaluate("document.activeElement.blur()")
        page.keyboard.press("s")
        assert "更正原因" in page.inner_text("#rd-msg.err")
        assert page.evaluate("document.activeElement.id") == "rd-amend-reason"

        # edits; an out-of-range heart rate first: the API's problem detail shows in the banner
        page.fill("#rd-stmt-input", "norm")
        page.keyboard.press("Enter")
        page.fill("#rd-free", "修订：正常心电图")
        page.fill("#m-qt_ms", "400")
        page.fill("#m-heart_rate_bpm", "5")
        page.fill("#rd-amend-reason", reason)
        page.evaluate("document.activeElement.blur()")
        page.keyboard.press("s")
        page.wait_for_selector("#rd-dlg-sign[open]")
        assert "更正" in page.inner_text("#dlg-sign-h")
        page.keyboard.press("Enter")
        # the banner still shows the earlier "reason missing" error: wait for the API's answer to replace it
        wait_js(page, "document.querySelector('#rd-msg.err')?.innerText.includes('heart_rate_bpm')")
        assert "heart_rate_bpm" in page.inner_text("#rd-msg")
        page.fill("#m-heart_rate_bpm", "80")
        page.evaluate("document.activeElement.blur()")
        page.keyboard.press("s")
        page.wait_for_selector("#rd-dlg-sign[open]")
        page.keyboard.press("Enter")
        page.wait_for_selector("#rd-msg.ok")
        assert "第 2 版" in page.inner_text("#rd-msg")
        page.wait_for_selector("#rd-version-list li[data-version='2'].current")
        assert "已更正" in page.inner_text("#rd-study-label")
        assert reason in page.inner_text("#rd-version-list li[data-version='2']")
        assert "首次报告" in page.inner_text("#rd-version-list li[data-version='1']")  # still shown, read-only
        assert page.input_value("#rd-amend-reason") == ""  # ready for a further amendment, of version 2
        wait_js(page, "document.getElementById('rd-recent-rows').textContent.includes('v2')")
        page.screenshot(path=str(ARTIFACTS / "reader_amended.png"), full_page=True)

        # no claim is held on an amended study: N simply takes the next study (the queue is empty)
        page.keyboard.press("n")
        wait_js(page, "document.getElementById('rd-study').hidden")
        assert not page.is_visible("#rd-dlg-leave")
        assert not errors, errors

    after = world.client.get(f"/api/v1/studies/{sid}/report", headers=world.a.auth).json()
    assert after["status"] == "amended"
    v2, v1 = after["versions"]
    assert v2["version"] == 2 and v2["supersedes_version"] == 1 and v2["amendment_reason"] == reason
    assert [s["code"] for s in v2["statements"]] == ["SR", "NORM"] and v2["free_text"] == "修订：正常心电图"
    assert v2["measurements"]["qt_ms"] == 400 and v2["measurements"]["heart_rate_bpm"] == 80
    assert v2["measurements"]["qrs_ms"] == 90  # the earlier correction is carried over
    assert {"qt_ms", "heart_rate_bpm", "qrs_ms"} <= set(v2["edited_measurements"])
    assert v1 == before["versions"][0]  # the signed version 1 is unchanged


def test_n_with_a_claimed_study_open_asks_before_putting_it_back(live, data):
    base, world, _ = live
    sid = _queued(world, data)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        _login(page, base)
        page.keyboard.press("n")
        page.wait_for_selector(f"#rd-ecg[data-study='{sid}'][data-drawn-leads='12']")
        first = world.client.get("/api/v1/reader/worklist", headers=world.reader).json()["my_claims"]
        assert [c["study_id"] for c in first] == [sid]
        page.fill("#rd-stmt-input", "SR")  # a draft has been started
        page.keyboard.press("Enter")
        page.evaluate("document.activeElement.blur()")

        # N: asked, with the draft warning; the safe choice has the focus. Esc and Enter keep reading.
        for key in ("Escape", "Enter"):
            page.keyboard.press("n")
            page.wait_for_selector("#rd-dlg-leave[open]")
            assert page.is_visible("#rd-dlg-leave-draft")
            assert page.evaluate("document.activeElement.id") == "rd-dlg-leave-cancel"
            if key == "Escape":
                assert not _serious(page)
                page.screenshot(path=str(ARTIFACTS / "reader_n_while_open.png"))
            page.keyboard.press(key)
            page.wait_for_selector("#rd-dlg-leave", state="hidden")
            assert page.get_attribute("#rd-ecg", "data-study") == sid
            assert page.eval_on_selector_all("#rd-chosen li", "els => els.length") == 1  # draft kept
        held = world.client.get("/api/v1/reader/worklist", headers=world.reader).json()["my_claims"]
        assert [c["id"] for c in held] == [first[0]["id"]]  # nothing released behind the reader's back

        # the button asks too; N again (or the button) puts the study back and takes the next one,
        # which here is the same study again: the page says so
        page.click("#rd-next")
        page.wait_for_selector("#rd-dlg-leave[open]")
        page.keyboard.press("n")
        wait_js(page, "document.querySelector('#rd-msg.ok')?.innerText.includes('仍是最紧急')")
        assert "仍是最紧急" in page.inner_text("#rd-msg")
        assert not page.is_visible("#rd-dlg-leave")  # asked once, not again for the same key press
        page.wait_for_selector(f"#rd-ecg[data-study='{sid}'][data-drawn-leads='12']")
        now = world.client.get("/api/v1/reader/worklist", headers=world.reader).json()["my_claims"]
        assert len(now) == 1 and now[0]["study_id"] == sid and now[0]["id"] != first[0]["id"]
        assert page.eval_on_selector_all("#rd-chosen li", "els => els.length") == 0
        assert not errors, errors


def test_recent_lists_only_own_latest_signatures_within_scope(live, data):
    _, world, ctx = live
    from storage.repositories import ReadingRepository

    sid = _signed(world, data, world.reader, statements=["SR"])
    recent = world.client.get("/api/v1/reader/recent", headers=world.reader).json()
    assert [(r["study_id"], r["version"], r["status"]) for r in recent] == [(sid, 1, "reported")]
    assert world.client.get("/api/v1/reader/recent", headers=world.extra["reader2"]).json() == []
    assert world.client.get("/api/v1/reader/recent", headers=world.extra["adult_reader"]).json() == []
    assert world.client.get("/api/v1/reader/recent", headers=world.a.auth).status_code == 403

    # another reader amends: the study is now on their list, no longer on the first reader's
    world.client.post(f"/api/v1/reader/studies/{sid}/amend", headers=world.extra["reader2"],
                      json={"statements": ["SR", "NORM"], "reason": "second opinion"}).raise_for_status()
    assert world.client.get("/api/v1/reader/recent", headers=world.reader).json() == []
    assert [r["version"] for r in world.client.get("/api/v1/reader/recent", headers=world.extra["reader2"]).json()] == [2]

    # outside the reader's coverage (site A no longer covered): not listed, although they signed it
    world.client.post(f"/api/v1/reader/studies/{sid}/amend", headers=world.reader,
                      json={"statements": ["SR"], "reason": "back to sinus rhythm only"}).raise_for_status()
    assert len(world.client.get("/api/v1/reader/recent", headers=world.reader).json()) == 1
    with ctx.session_factory() as s:
        ReadingRepository(s).set_coverage(world.extra["users"]["reader"], [world.b.site_id])
        s.commit()
    assert world.client.get("/api/v1/reader/recent", headers=world.reader).json() == []
    assert world.client.get("/api/v1/reader/recent?limit=0", headers=world.reader).status_code == 422
