"""The reading workstation (/reader/) in headless Chromium at 1366 x 768, via Playwright.

A reader logs in through the form, presses N, sees 12 leads drawn, measures an RR
interval with the calipers on LUDB record 3 (checked against the cardiologists'
lead II QRS marks), drags the T end mark and sees QTc follow, signs with S; the
clinic then reads the signed report. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import wfdb
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, sync_playwright

from tests.app.factories import PASSWORD, World, patient_form, upload, wait_for_status, wfdb_files
from tests.app.live import ARTIFACTS, CHROMIUM_ARGS, chromium_path, served, wait_js

CURRENT, PRIOR = "ludb/3", "ludb/5"
LUDB_FS = 500.0


@pytest.fixture
def live(sqlite_template: Path, tmp_path: Path) -> Iterator[tuple[str, World]]:
    with served(sqlite_template, tmp_path) as live_world:
        yield live_world


@pytest.fixture
def live_short_lease(sqlite_template: Path, tmp_path: Path) -> Iterator[tuple[str, World]]:
    """Leases of 12 s, so that the page's automatic renewal (at half the lease) shows within the test."""
    with served(sqlite_template, tmp_path, lease_minutes=0.2) as live_world:
        yield live_world


def annotated_r_ms(data: Path, record: str) -> np.ndarray:
    """QRS peak times (ms) the LUDB cardiologists marked in lead II."""
    ann = wfdb.rdann(str(data / record), "ii")
    return np.array([s for s, sym in zip(ann.sample, ann.symbol) if sym == "N"]) * 1000.0 / LUDB_FS


def _seed(world, data: Path) -> str:
    """A signed prior study and a waiting current study of the same child; returns the current study's id."""
    form = {"patient_id": "P-77", "patient_name": "李小红"}
    prior = upload(world.client, world.a.auth, wfdb_files(data, PRIOR),
                   form=patient_form(**form, acquired_at="2025-06-01T09:00:00+08:00")).json()["id"]
    wait_for_status(world.client, world.a.auth, prior)
    claim = world.client.post(f"/api/v1/reader/studies/{prior}/claim", headers=world.reader).json()["claim"]
    world.client.post(f"/api/v1/reader/claims/{claim['id']}/sign", headers=world.reader,
                      json={"statements": ["SR", "NORM"]}).raise_for_status()
    current = upload(world.client, world.a.auth, wfdb_files(data, CURRENT),
                     form=patient_form(**form, indication="晕厥")).json()["id"]
    assert wait_for_status(world.client, world.a.auth, current)["status"] == "awaiting_read"
    return current


def _login(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/reader/")
    assert "/login" in page.url
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/reader/")


_STRIP_TOPS = """() => {
  // Per device-pixel column of the rhythm strip, the highest dark (trace) pixel; -1 where none.
  const c = document.getElementById('rd-ecg'), dpr = c.width / parseFloat(c.style.width);
  const top = Math.round(parseFloat(c.dataset.stripTop) * dpr), bottom = Math.round(parseFloat(c.dataset.stripBottom) * dpr);
  const img = c.getContext('2d').getImageData(0, top, c.width, bottom - top).data;
  const out = new Array(c.width).fill(-1);
  for (let x = 0; x < c.width; x++) for (let y = 0; y < bottom - top; y++) {
    const i = (y * c.width + x) * 4;
    if (img[i] < 90 && img[i + 1] < 90 && img[i + 2] < 90) { out[x] = top + y; break; }
  }
  return {tops: out, dpr};
}"""

_DARK_PER_CELL = """() => {
  const c = document.getElementById('rd-ecg'), dpr = c.width / parseFloat(c.style.width);
  const ctx = c.getContext('2d');
  return window.__rd.state.layout.rows.map(r => {
    const d = ctx.getImageData(Math.round(r.x0 * dpr), Math.round(r.y * dpr), Math.round((r.x1 - r.x0) * dpr),
                               Math.round(r.h * dpr)).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] < 90 && d[i + 1] < 90 && d[i + 2] < 90) n++;
    return [r.lead, n];
  });
}"""


def _r_peaks_on_screen(page: Page) -> tuple[list[float], float]:
    """x (CSS px in the canvas) of the R peaks found in the drawn rhythm strip's pixels, and the DPR."""
    got = page.evaluate(_STRIP_TOPS)
    tops, dpr = np.array(got["tops"], dtype=float), got["dpr"]
    x0 = float(page.get_attribute("#rd-ecg", "data-x0")) * dpr
    tops[: int(x0 + 40 * dpr)] = -1  # the calibration pulse and the lead name
    valid = tops >= 0
    baseline = np.median(tops[valid])
    px_mm = float(page.get_attribute("#rd-ecg", "data-px-per-mm")) * dpr
    half = int(0.25 * 50 * px_mm)  # +-250 ms at 50 mm/s
    peaks = []
    for x in np.flatnonzero(valid):
        lo, hi = max(0, x - half), min(len(tops), x + half)
        win = tops[lo:hi][valid[lo:hi]]
        if tops[x] == win.min() and baseline - tops[x] > 4 * px_mm and (not peaks or x - peaks[-1] > half):
            peaks.append(x)
    # the trace's top is flat over a few columns at a peak: take the middle of that run
    xs = []
    for x in peaks:
        run = x
        while run + 1 < len(tops) and tops[run + 1] == tops[x]:
            run += 1
        xs.append((x + run) / 2 / dpr + 0.5 / dpr)
    return xs, dpr


def test_reader_reads_measures_and_signs(live, data):
    base, world = live
    study_id = _seed(world, data)
    ann_ms = annotated_r_ms(data, CURRENT)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768}, device_scale_factor=2, locale="zh-CN")
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        _login(page, base, "reader")
        wait_js(page, "document.querySelector('[data-count=routine]').textContent !== '–'")
        page.keyboard.press("n")
        page.wait_for_selector(f"#rd-ecg[data-study='{study_id}'][data-drawn-leads='12']")
        page.wait_for_selector(".rd-handle[data-mark=t_end]")  # median beats and marks arrived
        cells = page.evaluate(_DARK_PER_CELL)
        assert len({lead for lead, _ in cells}) == 12
        assert all(n > 200 for _, n in cells), cells  # every lead's cell holds a drawn trace
        width, scroll = page.evaluate("[document.documentElement.clientWidth, document.documentElement.scrollWidth]")
        assert scroll <= width, f"horizontal scroll: {scroll}px content in a {width}px viewport"
        assert "李小红" in page.inner_text("#rd-patient")
        assert "SR" in page.inner_text("#rd-prior")  # the prior study's signed report, for comparison
        page.click("#rd-prior [data-prior='0']")  # ... and its tracing under the current one
        page.wait_for_selector("#rd-prior-canvas[data-drawn-leads='12']")
        page.screenshot(path=str(ARTIFACTS / "reader_study_open.png"), full_page=True)

        violations = [v for v in Axe().run(page).response["violations"] if v["impact"] in ("serious", "critical")]
        assert not violations, [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in violations]

        # a click on a lead enlarges it (with the rhythm strip kept below); Esc goes back to 3 x 4
        v1 = next(r for r in page.evaluate("window.__rd.state.layout.rows") if r["lead"] == "V1")
        page.locator("#rd-over").click(position={"x": v1["x0"] + 40, "y": v1["y"] + v1["h"] / 2})
        page.wait_for_selector("#rd-ecg[data-drawn-leads='2']")
        assert page.input_value("#rd-enlarge") == "V1"
        page.screenshot(path=str(ARTIFACTS / "reader_lead_enlarged.png"))
        page.keyboard.press("Escape")
        page.wait_for_selector("#rd-ecg[data-drawn-leads='12']")

        # calipers at 50 mm/s on two R peaks found in the drawn strip's pixels
        page.select_option("#rd-speed", "50")
        wait_js(page, "document.getElementById('rd-ecg').dataset.mmPerS === '50'")
        page.keyboard.press("c")
        xs, _ = _r_peaks_on_screen(page)
        px_per_s = float(page.get_attribute("#rd-ecg", "data-px-per-mm")) * 50
        x0 = float(page.get_attribute("#rd-ecg", "data-x0"))
        matched = []
        for x in xs:
            t_ms = (x - x0) / px_per_s * 1000
            k = int(np.argmin(np.abs(ann_ms - t_ms)))
            if abs(ann_ms[k] - t_ms) < 40:  # the drawing puts each R where the cardiologists marked it
                matched.append((x, k))
        page.locator("#rd-ecg-scroll").evaluate("el => el.scrollLeft = 0")
        visible = page.locator("#rd-ecg-scroll").evaluate("el => el.clientWidth")
        pair = next((a, b) for a, b in zip(matched, matched[1:]) if b[1] == a[1] + 1 and b[0] < visible - 5)
        canvas = page.locator("#rd-over")
        canvas.scroll_into_view_if_needed()
        page.evaluate("window.scrollBy(0, 300)")
        box = canvas.bounding_box()
        y = box["y"] + float(page.get_attribute("#rd-ecg", "data-strip-bottom")) - 20
        assert 0 < y < 768
        for x, _ in pair:
            page.mouse.click(box["x"] + x, y)
        shown = float(re.search(r"(\d+)\s*ms", page.inner_text("#rd-caliper-out")).group(1))
        expected = ann_ms[pair[1][1]] - ann_ms[pair[0][1]]
        assert abs(shown - expected) <= 10, f"calipers {shown} ms vs annotated RR {expected} ms"
        page.keyboard.press("m")  # march the interval out across the strip
        page.screenshot(path=str(ARTIFACTS / "reader_calipers_50mm_s.png"))

        # drag the T end mark 8 px earlier: QT and QTc follow
        qtc_before = float(page.input_value("#m-qtc_bazett_ms"))
        qt_before = float(page.input_value("#m-qt_ms"))
        handle = page.locator(".rd-handle[data-mark=t_end]")
        handle.scroll_into_view_if_needed()
        hb = handle.bounding_box()
        page.mouse.move(hb["x"] + hb["width"] / 2, hb["y"] + hb["height"] / 2)
        page.mouse.down()
        page.mouse.move(hb["x"] + hb["width"] / 2 - 8, hb["y"] + hb["height"] / 2, steps=4)
        page.mouse.up()
        qt_after, qtc_after = float(page.input_value("#m-qt_ms")), float(page.input_value("#m-qtc_bazett_ms"))
        assert qt_after < qt_before and qtc_after < qtc_before
        rr_annotated = float(np.mean(np.diff(ann_ms)))
        assert qtc_after == pytest.approx(qt_after / np.sqrt(rr_annotated / 1000), rel=0.02)
        handle.focus()  # the marks are sliders: the keyboard moves them too (2 ms a step)
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowLeft")
        page.keyboard.press("ArrowLeft")
        assert float(page.input_value("#m-qt_ms")) == pytest.approx(qt_after - 2)
        qt_after = float(page.input_value("#m-qt_ms"))
        page.screenshot(path=str(ARTIFACTS / "reader_t_end_dragged.png"), full_page=True)

        # statements by type-ahead (Chinese, then code), then S signs after confirming
        page.fill("#rd-stmt-input", "窦性心律")
        page.keyboard.press("Enter")
        page.fill("#rd-stmt-input", "norm")
        page.keyboard.press("Enter")
        page.evaluate("document.activeElement.blur()")
        page.keyboard.press("s")
        page.wait_for_selector("#rd-dlg-sign[open]")
        page.keyboard.press("Enter")
        page.wait_for_selector("#rd-msg.ok")
        assert "已签发" in page.inner_text("#rd-msg")
        page.screenshot(path=str(ARTIFACTS / "reader_signed.png"))
        assert not errors, errors
        browser.close()

    report = world.client.get(f"/api/v1/studies/{study_id}/report", headers=world.a.auth).json()
    latest = report["versions"][0]
    assert report["status"] == "reported"
    assert [s["code"] for s in latest["statements"]] == ["SR", "NORM"]
    assert latest["measurements"]["qt_ms"] == qt_after and "qt_ms" in latest["edited_measurements"]


def test_reader_page_refuses_clinic_and_anonymous(live):
    base, _ = live
    with httpx.Client(base_url=base) as anon:
        resp = anon.get("/reader/")
        assert resp.status_code == 303 and resp.headers["location"].startswith("/login?next=/reader/")
    with httpx.Client(base_url=base) as clinic:
        assert clinic.post("/login", data={"username": "tech-a", "password": PASSWORD}).status_code == 303
        resp = clinic.get("/reader/")
        assert resp.status_code == 403
        assert "阅图工作站" not in resp.text or "无权" in resp.text
        assert clinic.get("/api/v1/reader/worklist").status_code == 403
    with httpx.Client(base_url=base) as reader:
        assert reader.post("/login", data={"username": "reader", "password": PASSWORD}).status_code == 303
        page = reader.get("/reader/?lang=en")
        assert page.status_code == 200 and "Reading workstation" in page.text and "Calipers" in page.text
        assert "阅图工作站" in reader.get("/reader/?lang=zh-CN").text


def test_reader_sees_api_errors_lease_renewal_and_returns_a_study(live_short_lease, data):
    base, world = live_short_lease
    sid = upload(world.client, world.a.auth, wfdb_files(data, "mitdb/100"), form=patient_form()).json()["id"]
    assert wait_for_status(world.client, world.a.auth, sid)["status"] == "awaiting_read"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        _login(page, base, "reader")
        page.click("#rd-next")
        page.wait_for_selector(f"#rd-ecg[data-study='{sid}'][data-drawn-leads='2']")  # MLII and V5, 30 min
        page.click("#rd-next-win")  # the next 10 s window of the long recording
        wait_js(page, "Object.keys(window.__rd.state.waves).some((k) => k.includes('start_s=10&'))")
        assert page.input_value("#rd-start") == "10"
        first = world.client.get("/api/v1/reader/worklist", headers=world.reader).json()["my_claims"][0]
        deadline = time.monotonic() + 10  # past half of the 12 s lease the page renews it by itself
        while True:
            renewed = world.client.get("/api/v1/reader/worklist", headers=world.reader).json()["my_claims"][0]
            if renewed["lease_until"] > first["lease_until"] or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert renewed["id"] == first["id"] and renewed["lease_until"] > first["lease_until"]
        assert re.search(r"\d:\d\d", page.inner_text("#rd-my-claims"))  # lease countdown shown

        # signing without a statement: told so, in Chinese, before anything is sent
        page.evaluate("document.activeElement.blur()")
        page.keyboard.press("s")
        assert "至少" in page.inner_text("#rd-msg.err")
        # the claim ends elsewhere (another tab released it): the API's refusal is shown with its detail
        world.client.post(f"/api/v1/reader/claims/{first['id']}/release", headers=world.reader).raise_for_status()
        page.fill("#rd-stmt-input", "SR")
        page.keyboard.press("Enter")
        page.evaluate("document.activeElement.blur()")
        page.keyboard.press("s")
        page.click("#rd-dlg-sign-ok")
        wait_js(page, "document.querySelector('#rd-msg').textContent.includes('released')")
        msg = page.inner_text("#rd-msg.err")
        assert "检查状态已改变" in msg and "claim has ended" in msg
        page.screenshot(path=str(ARTIFACTS / "reader_api_error.png"))

        # take it again and return it to the clinic with a reason
        page.keyboard.press("n")
        page.wait_for_selector("#rd-return:not([disabled])")
        page.click("#rd-return")
        page.fill("#rd-return-reason", "V1-V3 电极位置错误，请重新记录")
        page.click("#rd-dlg-ret-ok")
        deadline = time.monotonic() + 15  # an earlier success message may still show: ask the server
        while (study := world.client.get(f"/api/v1/studies/{sid}/report", headers=world.a.auth).json())[
                "status"] != "returned" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert study["status"] == "returned" and "V1-V3" in study["status_reason"]

        # LUDB record 7: the cardiologists diagnosed STEMI; the machine did not say so. The reader's
        # critical statement raises the clinic's critical notice as soon as it is signed.
        stemi = upload(world.client, world.a.auth, wfdb_files(data, "ludb/7"), form=patient_form()).json()["id"]
        assert wait_for_status(world.client, world.a.auth, stemi)["status"] == "awaiting_read"
        assert not world.client.get("/api/v1/notices", headers=world.a.auth).json()
        page.keyboard.press("n")
        page.wait_for_selector(f"#rd-ecg[data-study='{stemi}'][data-drawn-leads='12']")
        page.keyboard.press("r")
        page.keyboard.type("ST段抬高")
        page.keyboard.press("Enter")
        page.evaluate("document.activeElement.blur()")
        page.keyboard.press("s")
        assert page.is_visible("#rd-dlg-crit")  # warned before signing
        page.keyboard.press("Enter")
        wait_js(page, "document.querySelector('#rd-msg.ok')?.innerText.includes('危急值')")
        assert "危急值" in page.inner_text("#rd-msg")
        assert not errors, errors
        browser.close()
    notices = world.client.get("/api/v1/notices", headers=world.a.auth).json()
    assert [(n["study_id"], n["code"], n["source"]) for n in notices] == [(stemi, "STE", "reader")]


def test_beats_endpoint_matches_the_cardiologists(live, data):
    """The viewer's beats and median-beat fiducials against LUDB record 3's annotations (12 leads)."""
    from bench.intervals import load_reference

    _, world = live
    sid = upload(world.client, world.a.auth, wfdb_files(data, CURRENT), form=patient_form()).json()["id"]
    assert wait_for_status(world.client, world.a.auth, sid)["status"] == "awaiting_read"
    body = world.client.get(f"/api/v1/reader/studies/{sid}/beats", headers=world.reader).json()
    ref = load_reference(data / CURRENT)  # global onsets/offsets over the 12 leads, per IEC 60601-2-25

    beats_ms = np.array([b["t_ms"] for b in body["beats"]])
    ann = annotated_r_ms(data, CURRENT)
    for r in ann:
        assert np.min(np.abs(beats_ms - r)) < 30, f"annotated QRS at {r} ms has no beat in the viewer"
    assert len(beats_ms) <= len(ann) + 2 and {b["label"] for b in body["beats"]} <= set(body["label_meaning"])

    med = body["median"]
    assert set(med["leads"]) == {"I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"}
    assert all(len(v) == round(med["duration_ms"] * med["fs"] / 1000) for v in med["leads"].values())
    f = {k: v - med["r_ms"] for k, v in med["fiducials_ms"].items()}  # ms from R, like the reference
    # Each global mark lies within the spread of the cardiologists' per-lead marks (earliest to latest
    # lead), widened by the tolerance: the viewer's marks are global, the annotation is per lead.
    for k, tol in (("p_on", 40), ("qrs_on", 30), ("qrs_off", 40), ("t_end", 40)):
        per_lead = [v[k] for v in ref.lead_fiducials_ms.values() if k in v]
        assert min(per_lead) - tol <= f[k] <= max(per_lead) + tol, (k, f[k], min(per_lead), max(per_lead))
    assert abs((f["qrs_on"] - f["p_on"]) - ref.pr_ms) <= 30
    lead_qt = float(np.median([v["t_end"] - v["qrs_on"] for v in ref.lead_fiducials_ms.values()
                               if {"qrs_on", "t_end"} <= v.keys()]))  # per lead, not the min/max that runs long
    assert abs((f["t_end"] - f["qrs_on"]) - lead_qt) <= 40
    assert body["rr_mean_ms"] == pytest.approx(float(np.mean(np.diff(ann))), abs=10)

    assert world.client.get(f"/api/v1/reader/studies/{sid}/beats", headers=world.a.auth).status_code == 403
    adult_only = world.extra["adult_reader"]  # a child's study is outside the adult pool
    assert world.client.get(f"/api/v1/reader/studies/{sid}/beats", headers=adult_only).status_code == 404
