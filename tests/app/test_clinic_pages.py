"""The clinic console (/clinic/) in headless Chromium via Playwright, at a tablet's width (768 px).

One live server and one browser for the module (the world: clinics A and B, a
reader, an admin). Screenshots go to test-artifacts/ for people to look at.
"""

from __future__ import annotations

import base64
import json
import re
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.app.factories import PASSWORD, patient_form, upload, wait_for_status, wfdb_files
from tests.app.live import ARTIFACTS, chromium, served

TABLET = {"width": 768, "height": 1024}


@pytest.fixture(scope="module")
def live(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory):
    with served(sqlite_template, tmp_path_factory.mktemp("clinic-live")) as live_world:
        yield live_world


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def _login(browser, base: str, username: str, next_path: str = "/clinic/") -> Page:
    page = browser.new_page(viewport=TABLET, locale="zh-CN")
    page.goto(f"{base}/login?next={next_path}")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{next_path}")
    return page


def _no_horizontal_scroll(page: Page) -> None:
    width, scroll = page.evaluate("[document.documentElement.clientWidth, document.documentElement.scrollWidth]")
    assert scroll <= width, f"horizontal scroll: content {scroll}px wide in a {width}px viewport"


def _fill_patient(page: Page, pid: str, name: str) -> None:
    page.fill("#patient_id", pid)
    page.fill("#patient_name", name)
    page.select_option("#patient_sex", "F")
    page.fill("#patient_birth_date", "2019-03-04")
    page.fill("#indication", "心悸")


def _electrode_off_record(tmp: Path, data: Path, lead_index: int = 7) -> list[Path]:
    """LUDB record 1 with one lead (V2 by default) set to zero volts: a flat, electrode-off lead."""
    src = data / "ludb" / "1"
    x = np.fromfile(src.with_suffix(".dat"), dtype="<i2").reshape(-1, 12).copy()
    header = src.with_suffix(".hea").read_text().splitlines()
    adc_zero = int(header[1 + lead_index].split()[2].split("(")[1].rstrip(")/mV"))
    x[:, lead_index] = adc_zero  # physical value 0 mV
    x.tofile(tmp / "off1.dat")
    lines = [header[0].replace("1 ", "off1 ", 1)]
    for i, line in enumerate(header[1:13]):
        f = line.split(" ")
        f[0] = "off1.dat"
        if i == lead_index:
            f[5], f[6] = str(adc_zero), "0"  # initial value, checksum
        lines.append(" ".join(f))
    (tmp / "off1.hea").write_text("\n".join(lines + header[13:]) + "\n")
    return [tmp / "off1.hea", tmp / "off1.dat"]


def test_upload_with_progress_retry_and_quality_verdict(live, browser, data):
    base, _ = live
    page = _login(browser, base, "tech-a")
    expect(page.get_by_role("heading", name="上传心电图")).to_be_visible()
    keys: list[str] = []
    page.on("request", lambda r: keys.append(r.headers.get("idempotency-key", ""))
            if r.method == "POST" and r.url.endswith("/api/v1/studies") else None)

    page.set_input_files("#files", [str(data / "ludb" / "1.hea"), str(data / "ludb" / "1.dat")])
    expect(page.locator("#file-list li")).to_have_count(2)
    _fill_patient(page, "P-100", "王小红")

    # First attempt: the link drops. The page says so and offers a retry with the same Idempotency-Key.
    page.route("**/api/v1/studies", lambda route: route.abort("connectionreset"))
    page.click("#upload-button")
    expect(page.locator("#upload-error")).to_contain_text("网络中断")
    expect(page.locator("#retry-button")).to_be_visible()
    page.unroute("**/api/v1/studies")

    # Retry over a slow link (~60 KB/s up): the progress bar moves through intermediate values.
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 20, "downloadThroughput": -1,
                                                  "uploadThroughput": 60 * 1024})
    page.click("#retry-button")
    seen: set[int] = set()
    shot = False
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        value = page.evaluate("document.getElementById('upload-progress').value")
        seen.add(int(value))
        if 10 < value < 90 and not shot:
            expect(page.locator("#progress-box")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "clinic_upload_progress.png"))
            shot = True
        if page.evaluate("document.getElementById('upload-progress').dataset.done === '1'"):
            break
        time.sleep(0.1)
    cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                  "uploadThroughput": -1})
    assert shot and any(0 < v < 100 for v in seen), f"no intermediate progress seen: {sorted(seen)}"
    expect(page.locator("#progress-text")).to_contain_text("100%")
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1], keys

    verdict = page.locator("#quality .verdict[data-verdict]")
    expect(verdict).to_be_visible(timeout=30000)
    assert verdict.get_attribute("data-verdict") in ("good", "acceptable")
    assert "质量" in verdict.inner_text()
    expect(page.locator("#studies-body tr").first).to_contain_text("王小红")
    _no_horizontal_scroll(page)
    page.screenshot(path=str(ARTIFACTS / "clinic_console_768.png"), full_page=True)
    page.close()


def test_busy_service_shows_busy_retrying_and_retries_with_the_same_key(live, browser, data):
    """Admission control's 503 (problem type /problems/busy): the page says so and retries by itself."""
    base, _ = live
    page = _login(browser, base, "tech-a")
    keys: list[str] = []
    page.on("request", lambda r: keys.append(r.headers.get("idempotency-key", ""))
            if r.method == "POST" and r.url.endswith("/api/v1/studies") else None)
    page.set_input_files("#files", [str(data / "mitdb" / "101.hea"), str(data / "mitdb" / "101.dat")])
    _fill_patient(page, "P-BUSY", "李繁忙")
    busy = {"type": "/problems/busy", "title": "Service busy, retry later", "status": 503, "reason": "backlog_age",
            "detail": "analysis is behind; nothing was stored, retry in 2 s", "retry_after_s": 2}
    answered: list[int] = []

    def once_busy(route):
        if not answered:
            answered.append(503)
            route.fulfill(status=503, headers={"Retry-After": "2", "Content-Type": "application/problem+json"},
                          body=json.dumps(busy))
        else:
            route.continue_()

    page.route("**/api/v1/studies", once_busy)
    page.click("#upload-button")
    expect(page.locator("#progress-text")).to_contain_text("系统繁忙，正在重试")
    expect(page.locator("#upload-button")).to_be_disabled()
    expect(page.locator("#progress-text")).to_contain_text("100%", timeout=15000)
    assert len(keys) == 2 and keys[0] and keys[0] == keys[1], keys
    page.unroute("**/api/v1/studies")
    page.close()


def test_electrode_off_recording_shows_its_lead_and_reason(live, browser, data, tmp_path):
    base, _ = live
    page = _login(browser, base, "tech-a")
    # Drag and drop this time (the first test used the file picker).
    files = [[p.name, base64.b64encode(p.read_bytes()).decode()] for p in _electrode_off_record(tmp_path, data)]
    page.evaluate("""files => {
        const dt = new DataTransfer();
        for (const [name, b64] of files) dt.items.add(new File([Uint8Array.from(atob(b64), c => c.charCodeAt(0))], name));
        const zone = document.getElementById('dropzone');
        zone.dispatchEvent(new DragEvent('dragover', {dataTransfer: dt, bubbles: true, cancelable: true}));
        zone.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
    }""", files)
    expect(page.locator("#file-list li")).to_have_count(2)
    expect(page.locator("#file-list")).to_contain_text("off1.dat")
    _fill_patient(page, "P-101", "李小明")
    page.click("#upload-button")
    row = page.locator("#quality tr[data-lead='V2']")
    expect(row).to_be_visible(timeout=30000)
    text = row.inner_text()
    assert "电极脱落" in text and "重新记录" in text and "V2" in text, text
    assert "electrode off" not in text  # shown in the page's language
    page.screenshot(path=str(ARTIFACTS / "clinic_electrode_off.png"), full_page=True)

    page.goto(f"{base}/clinic/?lang=en")
    page.locator("#studies-body tr a", has_text="Open").first.click()
    expect(page.locator("#quality tr[data-lead='V2']")).to_contain_text("electrode off")
    study_url = page.url.split("?")[0]

    # The page writes the text from the code and values, not by parsing the English sentence.
    page.goto(f"{study_url}?lang=zh-CN")
    expect(page.locator("#quality tr[data-lead='V2']")).to_contain_text("电极脱落")
    mains = page.evaluate("""ClinicConsole.issueText({code: "mains", lead: "II", text: "II: (English)",
        params: {hz: 50, mv: 0.5, extent_pct: 35}})""")
    assert mains == "II 50 Hz 工频干扰较强（0.50 mV）（占记录的 35%） — 请检查接地，导联线远离电源线", mains
    unknown = page.evaluate("""ClinicConsole.issueText({code: "not_yet_known", lead: "V1", params: {},
        text: "V1: a new problem"})""")
    assert unknown == "V1: a new problem"

    # An analysis stored before the codes existed (reasons only) still shows its English reasons.
    def legacy(route):
        body = route.fetch().json()
        del body["analysis"]["quality"]["issues"]
        for lead in body["analysis"]["quality"]["leads"]:
            del lead["issues"]
        route.fulfill(json=body)
    page.route(f"**/api/v1/studies/{study_url.rsplit('/', 1)[1]}", legacy)
    page.reload()
    row = page.locator("#quality tr[data-lead='V2']")
    expect(row).to_contain_text("V2: flat signal, electrode off — check the V2 electrode and re-record")
    page.close()


def _signed_critical(world, data) -> str:
    resp = upload(world.client, world.a.auth, wfdb_files(data, "ludb/1"), form=patient_form(patient_name="张危急"))
    sid = wait_for_status(world.client, world.a.auth, resp.json()["id"])["id"]
    claim = world.client.post(f"/api/v1/reader/studies/{sid}/claim", headers=world.reader).json()["claim"]
    world.client.post(f"/api/v1/reader/claims/{claim['id']}/sign", headers=world.reader,
                      json={"statements": ["SR", "STE"], "free_text": "请立即联系患者"}).raise_for_status()
    return sid


def test_critical_banner_stays_until_acknowledged_then_report_and_share_slip(live, browser, data):
    base, world = live
    sid = _signed_critical(world, data)
    page = _login(browser, base, "tech-a")
    banner = page.locator("#notice-banner")
    expect(banner).to_be_visible()
    expect(banner.get_by_role("link", name="查看检查").first).to_be_visible()
    page.reload()
    expect(banner).to_be_visible()  # still there after a reload: only an acknowledgment removes it
    # The list shows the turnaround from the first signature it carries (0 minutes here), no "—".
    expect(page.locator(f"tr[data-study='{sid}'] td.tat")).to_have_text(re.compile(r"^\d+ 分钟$"))
    axe = Axe().run(page)
    bad = [v for v in axe.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, [(v["id"], v["impact"], v["nodes"][0]["target"]) for v in bad]
    page.screenshot(path=str(ARTIFACTS / "clinic_critical_banner.png"), full_page=True)

    # The study page: the banner is there too; the signed report, its PDF, a share link and its slip.
    page.goto(f"{base}/clinic/studies/{sid}")
    expect(banner).to_be_visible()
    expect(page.locator("#report .statements")).to_contain_text("窦性心律")
    assert page.get_by_role("link", name="打开报告 PDF（打印）").get_attribute("href") == f"/api/v1/studies/{sid}/report.pdf"
    page.click("#share-create")
    expect(page.locator("#share-new svg")).to_be_visible()
    expect(page.locator("#share-list li")).to_have_count(1)
    _no_horizontal_scroll(page)
    page.screenshot(path=str(ARTIFACTS / "clinic_study_report.png"), full_page=True)
    page.click("#print-slip")
    page.wait_for_url(f"{base}/clinic/studies/{sid}/slip?link=*")
    expect(page.locator("#slip-qr svg")).to_be_visible()
    expect(page.locator("#slip-patient")).to_contain_text("张危急")
    url = page.locator("#slip-url").inner_text()
    assert httpx.get(url, timeout=30).status_code == 200  # the QR's link opens the phone page
    page.emulate_media(media="print")
    page.screenshot(path=str(ARTIFACTS / "clinic_share_slip_print.png"), full_page=True)
    page.emulate_media(media="screen")

    # Acknowledge with the keyboard: the receipt form (whom told, read-back) opens; the banner goes and stays gone.
    page.goto(f"{base}/clinic/")
    ack = banner.get_by_role("button", name="确认接收")
    expect(ack).to_have_count(1)
    ack.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#ack-told-name")).to_be_focused()
    for text in ("王医生", "主治医师"):
        page.keyboard.type(text)
        page.keyboard.press("Tab")
    page.fill("#ack-read-back", "ST段抬高")  # the prefilled time is kept
    page.click("#ack-submit")
    expect(banner).to_be_hidden()
    page.reload()
    page.wait_for_selector("body[data-notices-loaded='1']")
    expect(banner).to_be_hidden()
    notices = world.client.get("/api/v1/notices", headers=world.a.auth).json()
    assert [n["acknowledged_by"] is not None for n in notices if n["study_id"] == sid] == [True]
    page.close()


def test_clinic_user_cannot_reach_admin_or_another_sites_study(live, browser, data):
    base, world = live
    resp = upload(world.client, world.b.auth, wfdb_files(data, "ludb/3"), form=patient_form(patient_name="B 站患者"))
    b_study = resp.json()["id"]
    page = _login(browser, base, "tech-a")
    assert page.goto(f"{base}/admin/").status == 403
    assert page.goto(f"{base}/admin/api-keys").status == 403
    other = page.goto(f"{base}/clinic/studies/{b_study}")
    assert other.status == 404 and "B 站患者" not in page.content()
    status = page.evaluate(f"fetch('/api/v1/studies/{b_study}').then(r => r.status)")
    assert status == 404
    page.close()
    admin = _login(browser, base, "admin", "/admin/")
    assert admin.goto(f"{base}/clinic/").status == 403
    admin.close()
    anonymous = browser.new_page()
    anonymous.goto(f"{base}/clinic/")
    assert anonymous.url.startswith(f"{base}/login")
    anonymous.close()


def test_console_axe_keyboard_and_errors(live, browser, data):
    base, _ = live
    page = _login(browser, base, "tech-b")
    page.wait_for_selector("body[data-studies-loaded='1'][data-notices-loaded='1']")
    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, [(v["id"], v["impact"], v["nodes"][0]["target"]) for v in bad]
    # Keyboard: the skip link first, then the controls in reading order; focus is visible.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    seen = []
    for _ in range(12):
        page.keyboard.press("Tab")
        seen.append(page.evaluate("document.activeElement.id || document.activeElement.tagName"))
    assert "files" in seen and "patient_id" in seen, seen
    # Errors are shown in words: no file yet; then the API's own validation message.
    page.click("#upload-button")
    expect(page.locator("#upload-error")).to_contain_text("请先选择记录文件")
    page.set_input_files("#files", [str(data / "ludb" / "3.hea"), str(data / "ludb" / "3.dat")])
    _fill_patient(page, "P-200", "赵小强")
    page.fill("#patient_birth_date", "2099-01-01")
    page.click("#upload-button")
    expect(page.locator("#upload-error")).to_contain_text("patient_birth_date")
    assert page.locator("#retry-button").is_hidden()  # a refused form is fixed, not retried
    page.focus("#patient_id")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
    _no_horizontal_scroll(page)
    page.goto(f"{base}/clinic/?lang=en")
    expect(page.get_by_role("heading", name="Upload an ECG")).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == "en"
    page.wait_for_selector("body[data-studies-loaded='1']")
    page.screenshot(path=str(ARTIFACTS / "clinic_console_en_768.png"), full_page=True)
    page.close()


def test_console_shows_the_report_when_it_is_signed(live, browser, data):
    base, world = live
    resp = upload(world.client, world.a.auth, wfdb_files(data, "ludb/5"), form=patient_form(patient_name="陈等报告"))
    sid = wait_for_status(world.client, world.a.auth, resp.json()["id"])["id"]
    page = _login(browser, base, "tech-a")
    row = page.locator(f"#studies-body tr[data-study='{sid}']")
    expect(row).to_contain_text("等待阅图")
    claim = world.client.post(f"/api/v1/reader/studies/{sid}/claim", headers=world.reader).json()["claim"]
    world.client.post(f"/api/v1/reader/claims/{claim['id']}/sign", headers=world.reader,
                      json={"statements": ["SR"]}).raise_for_status()
    # No reload: the page hears report.signed on the event stream and refreshes its list.
    expect(row).to_contain_text("已出报告", timeout=10000)
    expect(row.get_by_role("link", name="PDF")).to_have_attribute("href", f"/api/v1/studies/{sid}/report.pdf")
    expect(row.locator("td.tat")).to_contain_text("分钟")
    page.close()
