"""The report as a family and a clinic get it: hospital, title, logo, the reader's words, printed exactly.

The PDF's text is read back with poppler's ``pdftotext`` (Debian poppler-utils); hostile text
(mathtext ``$...$``, markup) must print as typed, and direction controls are refused when signing.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.settings import Settings
from tests.app.conftest import METRICS_TOKEN
from tests.app.factories import patient_form, upload, wait_for_status, wfdb_files

HUB = "区域儿童医院心电诊断中心 $x_1$ <b>"
TITLE = "心电图报告 $\\alpha$"
EXPLANATION = "孩子的心跳规律，属于正常范围，不用担心。$5$ <script>alert(1)</script> 如有胸痛请复诊。"
LOGO_SVG = ('<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40" viewBox="0 0 40 40">'
            '<circle cx="20" cy="20" r="18" fill="#c00"/><rect x="17" y="8" width="6" height="24" fill="#fff"/>'
            '<rect x="8" y="17" width="24" height="6" fill="#fff"/></svg>')


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """The suite's settings plus this hub's branding and an SVG logo file."""
    logo = tmp_path / "logo.svg"
    logo.write_text(LOGO_SVG)
    return Settings(
        var_dir=tmp_path / "var", database_url=database_url, secret_key="test-secret-key-not-for-production",
        worker_mode="inprocess", sweep_interval_s=0.5, sweep_grace_s=0.0, max_upload_bytes=8 * 1024 * 1024,
        metrics_token=METRICS_TOKEN, hub_name=HUB, report_title=TITLE, report_logo=logo,
    )


def _claimed(world, data, name: str = "王小明") -> tuple[str, int]:
    resp = upload(world.client, world.a.auth, wfdb_files(data, "ludb/1"), form=patient_form(patient_name=name))
    sid = wait_for_status(world.client, world.a.auth, resp.json()["id"])["id"]
    claim = world.client.post(f"/api/v1/reader/studies/{sid}/claim", headers=world.reader).json()["claim"]
    return sid, claim["id"]


def _sign(world, claim_id: int, **body) -> object:
    return world.client.post(f"/api/v1/reader/claims/{claim_id}/sign", headers=world.reader,
                             json={"statements": ["SR", "NORM"], **body})


def _pdf_text(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def _squeezed(text: str) -> str:
    """Text without whitespace: wrapping across printed lines may drop or add spaces and breaks."""
    return re.sub(r"\s+", "", text)


def _pages(pdf: bytes) -> int:
    info = subprocess.run(["pdfinfo", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def test_pdf_prints_hospital_title_and_explanation_exactly(world, data):
    sid, claim = _claimed(world, data)
    assert _sign(world, claim, patient_explanation=EXPLANATION, free_text="请随访").status_code == 201
    pdf = world.client.get(f"/api/v1/studies/{sid}/report.pdf", headers=world.a.auth).content
    text = _pdf_text(pdf)
    first_line = text.splitlines()[0] if text.splitlines() else ""
    assert HUB in text and TITLE in text, first_line
    assert _squeezed("给家属的说明：" + EXPLANATION) in _squeezed(text)
    assert "诊断意见：窦性心律；正常心电图" in text and "Sinus" not in text  # zh only on the family's copy
    assert "补充说明：请随访" in text and _pages(pdf) == 1
    images = subprocess.run(["pdfimages", "-list", "-"], input=pdf, capture_output=True, check=True)
    assert len(images.stdout.decode().splitlines()) >= 3, "the SVG logo is not drawn on the PDF"


def test_header_sizes_are_legible(world, data):
    """Title >= 10 pt, patient block >= 9 pt: font sizes read from the PDF's text (pdftotext -bbox)."""
    sid, claim = _claimed(world, data)
    assert _sign(world, claim).status_code == 201
    pdf = world.client.get(f"/api/v1/studies/{sid}/report.pdf", headers=world.a.auth).content
    bbox = subprocess.run(["pdftotext", "-bbox", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    words = re.findall(r'<word xMin="(-?[\d.]+)" yMin="(-?[\d.]+)" xMax="(-?[\d.]+)" yMax="(-?[\d.]+)">([^<]*)</word>', bbox)
    box = {w: float(y1) - float(y0) for _, y0, _, y1, w in words}
    # a word box is the CJK font's ascent + descent, proportional to its size: the footer's
    # "滤波" (6.5 pt, same font) converts box heights to points
    assert "滤波" in box, list(box)
    size_pt = {w: round(6.5 * h / box["滤波"], 2) for w, h in box.items()}
    assert size_pt.get("心电图报告", 0) >= 10.0 and size_pt["王小明"] >= 9.0 and size_pt["姓名"] >= 9.0, {w: round(p, 1) for w, p in size_pt.items() if not w.isascii()}


def test_long_texts_continue_on_a_second_page(world, data):
    sid, claim = _claimed(world, data)
    long_words = "这是一段很长的补充说明，用来检查续页是否完整打印。" * 40
    assert _sign(world, claim, patient_explanation=EXPLANATION, free_text=long_words).status_code == 201
    pdf = world.client.get(f"/api/v1/studies/{sid}/report.pdf", headers=world.a.auth).content
    text = _pdf_text(pdf)
    assert _pages(pdf) == 2 and "续见下页" in text
    assert _squeezed(long_words) in _squeezed(text) and _squeezed(EXPLANATION) in _squeezed(text)


@pytest.mark.parametrize("bad", ["\u202e正常", "正常\u200b", "正常\x07"])
def test_hostile_explanation_is_refused_and_nothing_is_signed(world, data, bad):
    sid, claim = _claimed(world, data)
    r = _sign(world, claim, patient_explanation=bad)
    assert r.status_code == 422
    assert "patient_explanation" in r.text or "control character" in r.text  # \x07: the input guard, earlier
    assert world.client.get(f"/api/v1/studies/{sid}", headers=world.a.auth).json()["status"] != "reported"
    assert _sign(world, claim, patient_explanation="一切正常").status_code == 201  # the claim is still open


def test_phone_page_shows_branding_and_escapes_text(world, data):
    sid, claim = _claimed(world, data)
    assert _sign(world, claim, patient_explanation=EXPLANATION).status_code == 201
    link = world.client.post(f"/api/v1/studies/{sid}/share-links", headers=world.a.auth, json={}).json()
    page = world.client.get("/" + link["url"].split("/", 3)[3]).text
    assert "区域儿童医院心电诊断中心 $x_1$ &lt;b&gt;" in page and "心电图报告 $\\alpha$" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert 'src="data:image/svg+xml;base64,' in page


def test_branding_settings_refuse_unprintable_text_and_missing_logo(tmp_path):
    with pytest.raises(ValidationError, match="direction-control"):
        Settings(hub_name="儿童医院\u202e")
    with pytest.raises(ValidationError, match="report_logo"):
        Settings(report_logo=tmp_path / "missing.png")
    with pytest.raises(ValidationError, match="report_logo"):
        (tmp_path / "logo.gif").write_bytes(b"GIF89a")
        Settings(report_logo=tmp_path / "logo.gif")
