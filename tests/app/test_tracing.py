"""ECG tracing renderer: geometry measured on the rasterised page, not trusted from the code.

Each PDF is turned into pixels with poppler's ``pdftoppm -r 200`` (Debian
package poppler-utils), then the paper grid, the calibration pulses and a
synthetic sine are measured in pixels and compared with the millimetres they
must have on paper (200 dpi: 7.874 px per mm). Page images are saved under
``test-artifacts/`` for people to look at.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.signal import find_peaks

from app.reports._layout import Layout, strip_layout, twelve_lead_layout
from app.reports.tracing import TracingHeader, render_pdf, render_png
from bench.common import data_dir
from ecg.io import read_recording

DPI = 200
PX_PER_MM = DPI / 25.4
A4_MM = (297.0, 210.0)
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
HEADER = TracingHeader(
    "心电图报告 ECG report",
    (
        "患者 Patient: 张小明  男 M  8岁 8 y  ID 20261125-001",
        "诊所 Clinic: 儿童医院联盟 第三社区诊所 Community clinic 3",
        "采集 Recorded 2026-11-25 09:30   报告 Reported 2026-11-25 10:02",
        "心率 HR 92 bpm  PR 128 ms  QRS 76 ms  QT/QTc 320/396 ms  电轴 Axis +62°",
        "诊断 Interpretation: 窦性心律，正常心电图 Sinus rhythm, normal ECG",
        "签名 Signed: 李医生 Dr. Li",
    ),
)


# ---------------------------------------------------------------- helpers


def _recording(name: str):
    path = data_dir() / name
    if not path.with_suffix(".hea").exists():
        pytest.fail(f"recording {path} not found; set ECGHUB_DATA_DIR to the shared data folder")
    return read_recording(path)


def _rasterise(pdf: bytes, tmp_path: Path, artifact: str) -> np.ndarray:
    """Page 1 of ``pdf`` as an RGB array at 200 dpi (pdftoppm); also saved to test-artifacts/."""
    exe = shutil.which("pdftoppm")
    if exe is None:
        pytest.fail("pdftoppm is missing: install the Debian package poppler-utils")
    src = tmp_path / f"{artifact}.pdf"
    src.write_bytes(pdf)
    out = tmp_path / artifact
    subprocess.run([exe, "-r", str(DPI), "-png", "-f", "1", "-l", "1", "-singlefile", str(src), str(out)],
                   check=True, timeout=60)
    png = out.with_suffix(".png")
    _save_artifact(png.name, png.read_bytes())
    return np.asarray(Image.open(png).convert("RGB"))


def _save_artifact(name: str, data: bytes) -> None:
    """Write test-artifacts/``name`` atomically (xdist workers may write the same page)."""
    ARTIFACTS.mkdir(exist_ok=True)
    tmp = ARTIFACTS / f".{name}.{os.getpid()}.tmp"
    tmp.write_bytes(data)
    os.replace(tmp, ARTIFACTS / name)


def _px(x_mm: float, y_mm: float, page_h_mm: float) -> tuple[int, int]:
    """Page mm (origin bottom-left) to pixel (column, row) at 200 dpi."""
    return int(round(x_mm * PX_PER_MM)), int(round((page_h_mm - y_mm) * PX_PER_MM))


def _dark(img: np.ndarray) -> np.ndarray:
    """Trace ink: black/dark grey pixels (the pink grid is excluded)."""
    return (img < 110).all(axis=-1)


def _major_pink(img: np.ndarray) -> np.ndarray:
    """Pixels of the major (darker pink) grid lines; minor lines and white paper are excluded."""
    r, g, b = (img[..., i].astype(int) for i in range(3))
    return (r > 180) & (g < 170) & (b < 170) & (r - g > 50)


def _centres(profile: np.ndarray, threshold: float) -> list[float]:
    """Weighted centres (px) of runs where ``profile`` exceeds ``threshold``."""
    above = profile > threshold
    centres, start = [], None
    for i, on in enumerate(np.append(above, False)):
        if on and start is None:
            start = i
        elif not on and start is not None:
            idx = np.arange(start, i)
            centres.append(float(np.average(idx, weights=profile[start:i])))
            start = None
    return centres


def _period(centres: Sequence[float]) -> float:
    """Line spacing (px) from a least-squares fit of line positions against their index."""
    c = np.asarray(centres)
    step = np.median(np.diff(c))
    index = np.round((c - c[0]) / step)
    return float(np.polyfit(index, c, 1)[0])


def _grid_periods(img: np.ndarray, layout: Layout) -> tuple[float, float, int, int]:
    """Major-line spacing along x and y (px) and the number of lines found, inside the grid."""
    page_h = A4_MM[1]
    c0, r0 = _px(layout.grid.x0, layout.grid.y1, page_h)
    c1, r1 = _px(layout.grid.x1, layout.grid.y0, page_h)
    mask = _major_pink(img[r0 - 3 : r1 + 4, c0 - 3 : c1 + 4])
    cols = _centres(mask.sum(axis=0).astype(float), 0.4 * mask.shape[0])
    rows = _centres(mask.sum(axis=1).astype(float), 0.4 * mask.shape[1])
    return _period(cols), _period(rows), len(cols), len(rows)


def _pulse_size(img: np.ndarray, layout: Layout, row: int, gain: float, speed: float) -> tuple[float, float]:
    """Width and height (px) of the calibration pulse of ``row``, between line centres."""
    rect = layout.pulse_rect(row, gain, speed)
    page_h = layout.page_mm[1]
    c0, r0 = _px(layout.grid.x0 + 0.2, rect.y1 + 3.0, page_h)
    c1, r1 = _px(layout.trace_x0_mm - 0.2, rect.y0 - 3.0, page_h)
    dark = _dark(img[r0:r1, c0:c1]).astype(float)
    verticals = _centres(dark.sum(axis=0), 0.6 * gain * PX_PER_MM)
    edges = np.zeros(dark.shape[1], dtype=bool)
    for v in verticals:
        edges[max(0, int(v) - 3) : int(v) + 4] = True
    horizontals = _centres(dark[:, ~edges].sum(axis=1), 0.5 * PX_PER_MM)
    assert len(verticals) == 2, f"row {row}: expected the pulse's 2 vertical edges, found {verticals}"
    assert len(horizontals) == 2, f"row {row}: expected the pulse's top and baseline, found {horizontals}"
    return verticals[1] - verticals[0], horizontals[1] - horizontals[0]


def _sine_rhythm(fs: float = 500.0, seconds: float = 14.0, hz: float = 2.5) -> np.ndarray:
    """12 leads of zeros except lead II (the rhythm strip): 1 mV amplitude sine at ``hz``."""
    t = np.arange(int(seconds * fs)) / fs
    x = np.zeros((t.size, 12))
    x[:, 1] = np.sin(2 * np.pi * hz * t)
    return x


TWELVE = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def ludb1_page(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    rec = _recording("ludb/1")
    pdf = render_pdf(rec.signals, rec.fs, rec.leads, HEADER)
    return _rasterise(pdf, tmp_path_factory.mktemp("pdf"), "tracing_ludb1_page")


@pytest.fixture(scope="module")
def mitdb100_page(tmp_path_factory: pytest.TempPathFactory) -> np.ndarray:
    rec = _recording("mitdb/100")
    pdf = render_pdf(rec.signals, rec.fs, rec.leads, HEADER)
    return _rasterise(pdf, tmp_path_factory.mktemp("pdf"), "tracing_mitdb100_page")


# ---------------------------------------------------------------- PDF pages


@pytest.mark.parametrize("page", ["ludb1_page", "mitdb100_page"])
def test_pdf_page_is_a4_landscape_and_inked(page: str, request: pytest.FixtureRequest) -> None:
    img = request.getfixturevalue(page)
    height, width = img.shape[:2]
    assert abs(width - A4_MM[0] * PX_PER_MM) / (A4_MM[0] * PX_PER_MM) < 0.01, width
    assert abs(height - A4_MM[1] * PX_PER_MM) / (A4_MM[1] * PX_PER_MM) < 0.01, height
    assert _dark(img).mean() > 0.003, "page has almost no trace ink"
    assert _major_pink(img).mean() > 0.02, "page has no pink grid"


@pytest.mark.parametrize(
    ("page", "leads"), [("ludb1_page", None), ("mitdb100_page", ("MLII", "V5"))]
)
def test_major_grid_lines_are_5_mm_apart(
    page: str, leads: tuple[str, ...] | None, request: pytest.FixtureRequest
) -> None:
    img = request.getfixturevalue(page)
    layout = twelve_lead_layout(25.0, "a4") if leads is None else strip_layout(leads, 25.0, "a4")
    px, py, n_cols, n_rows = _grid_periods(img, layout)
    expected = 5.0 * PX_PER_MM
    assert abs(px - expected) / expected < 0.02, f"x period {px:.2f} px, expected {expected:.2f}"
    assert abs(py - expected) / expected < 0.02, f"y period {py:.2f} px, expected {expected:.2f}"
    assert n_cols == 54 and n_rows == 35, (n_cols, n_rows)  # 265 x 170 mm of paper


def test_ludb_calibration_pulses_are_10_mm_by_5_mm(ludb1_page: np.ndarray) -> None:
    layout = twelve_lead_layout(25.0, "a4")
    for row in range(4):
        width, height = _pulse_size(ludb1_page, layout, row, 10.0, 25.0)
        assert abs(height - 10 * PX_PER_MM) / (10 * PX_PER_MM) < 0.03, f"row {row}: height {height:.1f} px"
        assert abs(width - 5 * PX_PER_MM) / (5 * PX_PER_MM) < 0.03, f"row {row}: width {width:.1f} px"


def test_mitdb_two_leads_drawn_as_strips_with_pulses(mitdb100_page: np.ndarray) -> None:
    layout = strip_layout(("MLII", "V5"), 25.0, "a4")
    assert len(layout.baselines_mm) == 2
    for row in range(2):
        width, height = _pulse_size(mitdb100_page, layout, row, 10.0, 25.0)
        assert abs(height - 10 * PX_PER_MM) / (10 * PX_PER_MM) < 0.03, f"row {row}: height {height:.1f} px"
        assert abs(width - 5 * PX_PER_MM) / (5 * PX_PER_MM) < 0.03, f"row {row}: width {width:.1f} px"
    # each strip carries about 10 s of MIT-BIH 100's trace (~12 beats) across the full width
    page_h = layout.page_mm[1]
    for base in layout.baselines_mm:
        c0, r0 = _px(layout.trace_x0_mm, base + 15, page_h)
        c1, r1 = _px(layout.trace_x0_mm + 250, base - 15, page_h)
        inked = _dark(mitdb100_page[r0:r1, c0:c1]).any(axis=0)
        assert inked.mean() > 0.95, f"strip at {base} mm is not drawn across 250 mm"


def test_header_text_is_printed(ludb1_page: np.ndarray) -> None:
    layout = twelve_lead_layout(25.0, "a4")
    assert layout.header is not None
    c0, r0 = _px(layout.header.x0, layout.header.y1, A4_MM[1])
    c1, r1 = _px(layout.header.x1, layout.header.y0, A4_MM[1])
    ink = _dark(ludb1_page[r0:r1, c0:c1])
    assert ink.mean() > 0.01, "header area is blank"
    half = ink.shape[1] // 2
    assert ink[:, :half].any() and ink[:, half:].any(), "6 header lines should fill 2 columns"


# ---------------------------------------------------------------- synthetic geometry


@pytest.mark.parametrize(("speed", "gain"), [(25.0, 10.0), (50.0, 20.0)])
def test_synthetic_sine_measures_speed_and_gain(speed: float, gain: float, tmp_path: Path) -> None:
    """A 1 mV, 2.5 Hz sine on the rhythm strip: peak-to-peak 2 mV and period 0.4 s, measured on paper.

    Drawn from 2 s into a 14 s signal so the display filter has real signal on both sides.
    """
    sine = _sine_rhythm()
    header = TracingHeader("sine 正弦")
    pdf = render_pdf(sine, 500.0, TWELVE, header, speed_mm_s=speed, gain_mm_mv=gain, start_s=2.0)
    img = _rasterise(pdf, tmp_path, f"tracing_sine_{speed:g}mm_s_{gain:g}mm_mV")
    layout = twelve_lead_layout(speed, "a4")
    base = layout.baselines_mm[3]
    c0, r0 = _px(layout.trace_x0_mm + 10, base + 1.4 * gain, A4_MM[1])
    c1, r1 = _px(layout.trace_x0_mm + 245, base - 1.4 * gain, A4_MM[1])
    dark = _dark(img[r0:r1, c0:c1])
    assert dark.any(axis=0).all(), "the sine is not continuous across the strip"
    rows = np.arange(dark.shape[0])[:, None]
    centre = (dark * rows).sum(axis=0) / dark.sum(axis=0)  # centreline row per column
    peak_to_peak = centre.max() - centre.min()
    assert abs(peak_to_peak - 2 * gain * PX_PER_MM) / (2 * gain * PX_PER_MM) < 0.02, peak_to_peak
    period_px = 0.4 * speed * PX_PER_MM
    tops, _ = find_peaks(-centre, distance=0.6 * period_px)
    measured = _period(tops.astype(float))
    assert abs(measured - period_px) / period_px < 0.01, f"period {measured:.2f} px, expected {period_px:.2f}"
    width, height = _pulse_size(img, layout, 3, gain, speed)
    assert abs(height - gain * PX_PER_MM) / (gain * PX_PER_MM) < 0.03, height
    assert abs(width - 0.2 * speed * PX_PER_MM) / (0.2 * speed * PX_PER_MM) < 0.03, width


# ---------------------------------------------------------------- PNG for phones


def test_png_for_phones_is_small_and_to_scale() -> None:
    rec = _recording("ludb/1")
    start = time.perf_counter()
    data = render_png(rec.signals, rec.fs, rec.leads)
    elapsed = time.perf_counter() - start
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(data) < 250_000, f"{len(data)} bytes"
    assert elapsed < 3.0, f"PNG took {elapsed:.2f} s"
    img = Image.open(io.BytesIO(data))
    assert img.mode == "P"
    assert (1000 <= img.width <= 1100) and (650 <= img.height <= 750), img.size  # 269 x 178 mm at 100 dpi
    _save_artifact("tracing_ludb1_phone.png", data)


def test_png_grid_survives_palette_quantisation() -> None:
    rec = _recording("ludb/1")
    data = render_png(rec.signals, rec.fs, rec.leads, dpi=DPI)
    img = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    layout = twelve_lead_layout(25.0, "compact")
    page_h = layout.page_mm[1]
    c0, r0 = _px(layout.grid.x0, layout.grid.y1, page_h)
    c1, r1 = _px(layout.grid.x1, layout.grid.y0, page_h)
    mask = _major_pink(img[r0 : r1 + 1, c0 : c1 + 1])
    px = _period(_centres(mask.sum(axis=0).astype(float), 0.4 * mask.shape[0]))
    assert abs(px - 5 * PX_PER_MM) / (5 * PX_PER_MM) < 0.02, px
    width, height = _pulse_size(img, layout, 0, 10.0, 25.0)
    assert abs(height - 10 * PX_PER_MM) / (10 * PX_PER_MM) < 0.03, height


def test_eight_lead_recording_gets_derived_limb_leads() -> None:
    """I, II, V1-V6 only: III, aVR, aVL, aVF are computed, so the page matches the 12-lead one."""
    rec = _recording("ludb/1")
    keep = [rec.leads.index(n) for n in ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")]
    eight = render_png(rec.signals[:, keep], rec.fs, [rec.leads[i] for i in keep])
    twelve = render_png(rec.signals, rec.fs, rec.leads)
    a = np.asarray(Image.open(io.BytesIO(eight)).convert("L"), dtype=float)
    b = np.asarray(Image.open(io.BytesIO(twelve)).convert("L"), dtype=float)
    assert a.shape == b.shape
    assert (np.abs(a - b) > 60).mean() < 0.003, "8-lead page differs from the 12-lead page"


# ---------------------------------------------------------------- text, speed, inputs


def test_chinese_header_has_no_missing_glyphs(tmp_path: Path) -> None:
    rec = _recording("ludb/1")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pdf = render_pdf(rec.signals, rec.fs, rec.leads, HEADER)
        render_png(rec.signals, rec.fs, rec.leads)
    missing = [str(w.message) for w in caught if "missing from" in str(w.message)]
    assert not missing, missing
    exe = shutil.which("pdffonts")
    if exe is None:
        pytest.fail("pdffonts is missing: install the Debian package poppler-utils")
    (tmp_path / "h.pdf").write_bytes(pdf)
    fonts = subprocess.run([exe, str(tmp_path / "h.pdf")], capture_output=True, text=True, check=True).stdout
    assert "WenQuanYi" in fonts or "CJK" in fonts or "ZenHei" in fonts, fonts


def test_missing_glyph_warnings_would_be_caught() -> None:
    """Guard for the test above: a glyph no installed font has (Egyptian hieroglyph) does warn."""
    rec = _recording("mitdb/100")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        render_pdf(rec.signals[:3600], rec.fs, rec.leads, TracingHeader("\U00013000"))
    assert any("missing from" in str(w.message) for w in caught), [str(w.message) for w in caught]


def test_render_times() -> None:
    rec = _recording("ludb/1")
    start = time.perf_counter()
    render_pdf(rec.signals, rec.fs, rec.leads, HEADER)
    elapsed = time.perf_counter() - start
    assert elapsed < 3.0, f"PDF took {elapsed:.2f} s (target 1.5 s)"


def test_long_recording_window_and_gaps(tmp_path: Path) -> None:
    """30 min MIT-BIH record from 60 s on, with a NaN gap: renders, gap left blank."""
    rec = _recording("mitdb/100")
    x = rec.signals.copy()
    gap = slice(int(63 * rec.fs), int(64 * rec.fs))
    x[gap] = np.nan
    pdf = render_pdf(x, rec.fs, rec.leads, HEADER, start_s=60.0)
    img = _rasterise(pdf, tmp_path, "tracing_mitdb100_from60s_gap")
    layout = strip_layout(rec.leads, 25.0, "a4")
    base = layout.baselines_mm[0]
    c0, r0 = _px(layout.trace_x0_mm + 3 * 25 + 5, base + 15, A4_MM[1])
    c1, r1 = _px(layout.trace_x0_mm + 4 * 25 - 5, base - 15, A4_MM[1])
    assert not _dark(img[r0:r1, c0:c1]).any(), "the NaN gap should be left blank"
    c0, _ = _px(layout.trace_x0_mm + 5 * 25, 0, A4_MM[1])
    c1, _ = _px(layout.trace_x0_mm + 9 * 25, 0, A4_MM[1])
    assert _dark(img[r0:r1, c0:c1]).any(axis=0).mean() > 0.95


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"leads": ("I",)}, "lead names"),
        ({"fs": 0.0}, "fs"),
        ({"speed_mm_s": -25.0}, "speed_mm_s"),
        ({"start_s": 11.0}, "start_s"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict, message: str) -> None:
    args = {"signals": np.zeros((5000, 2)), "fs": 500.0, "leads": ("I", "II")} | kwargs
    with pytest.raises(ValueError, match=message):
        render_png(**args)
