"""ECG tracing pages: A4 landscape PDF for printing, compact PNG for phones.

Drawn with matplotlib on a figure whose data units are millimetres of the
page (one axes covering the whole figure, x 0..297, y 0..210), so the
printed scale is exact: ``speed_mm_s`` mm per second, ``gain_mm_mv`` mm per
millivolt, 1 mm / 5 mm paper grid.

Layout: with the 12 standard leads (or the 8 independent ones, I, II, V1-V6,
from which III, aVR, aVL, aVF are derived), the standard 3 rows x 4 columns
(each column a consecutive 2.5 s of the same 10 s) plus a 10 s lead II
rhythm strip; otherwise one full-width strip per lead. Each row starts with a
1 mV x 200 ms calibration pulse. Signals are shown in the AHA display band
(``ecg.filters.display``: 0.05 Hz to 150 Hz, 250 Hz for children, where fs
allows, plus the 50 Hz notch); the band is printed in the footer.
"""

from __future__ import annotations

import io
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PIL import Image

from app.reports import _fonts
from app.reports._layout import (
    A4_LANDSCAPE_MM,
    GRID_MAJOR_MM,
    GRID_MINOR_MM,
    STANDARD_12,
    Layout,
    Rect,
    max_strips,
    strip_layout,
    twelve_lead_layout,
)
from ecg.filters import ADULT_DISPLAY_HIGH_HZ, MAINS_HZ, display, display_band
from ecg.io.leads import normalise_lead, normalise_leads

MM_PER_INCH = 25.4
PT_PER_MM = 72.0 / MM_PER_INCH
#: Extra signal (s) filtered on each side of the window so filter edges fall outside it.
FILTER_PAD_S = 2.0
#: Paper colours (RGB 0..1): minor and major grid lines, trace.
MINOR_COLOUR = (0.97, 0.78, 0.78)
MAJOR_COLOUR = (0.91, 0.47, 0.47)
TRACE_COLOUR = (0.0, 0.0, 0.0)
#: Palette size of the phone PNG (quantised, no dithering).
PNG_COLOURS = 48
#: Printed header: top row (hospital and title) in pt, the patient block in pt, logo height (mm).
HEADER_TITLE_PT = 12.0
HEADER_LINE_PT = 9.0
LOGO_HEIGHT_MM = 5.0
#: Line pitch as a multiple of the font size (9 pt: 3.65 mm, five rows under the top row);
#: continuation pages print at ``CONTINUATION_PT``.
LINE_SPACING = 1.15
CONTINUATION_PT = 10.0


@dataclass(frozen=True)
class TracingHeader:
    """Text above the tracing on the printed page.

    ``organisation`` (the hub hospital, left) and ``title`` (right) at 12 pt on the top row,
    after ``logo_png`` (PNG bytes, drawn ``LOGO_HEIGHT_MM`` high); then the short ``lines`` at
    ``HEADER_LINE_PT`` in two (or three) columns, then the ``notes`` paragraphs full width.
    Notes that do not fit go to continuation pages, announced on page 1 by ``continued``.
    """

    title: str
    lines: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    organisation: str = ""
    logo_png: bytes | None = None
    continued: str = "（续见下页）"


@dataclass(frozen=True)
class Tracing:
    """Filtered window of the leads to draw (mV, keyed by label) and how to lay them out."""

    waves: dict[str, np.ndarray]
    twelve: bool
    note: str


# ---------------------------------------------------------------- inputs


def check_signals(
    signals: np.ndarray, fs: float, leads: Sequence[str], speed: float, gain: float, start_s: float
) -> np.ndarray:
    """Validate arguments; return signals as float64 (samples, leads) in mV."""
    x = np.asarray(signals, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"signals must be (samples, leads) with at least 2 samples, got shape {x.shape}")
    if x.shape[1] != len(leads) or not leads:
        raise ValueError(f"signals have {x.shape[1]} columns but {len(leads)} lead names were given")
    for name, value in (("fs", fs), ("speed_mm_s", speed), ("gain_mm_mv", gain)):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    if not (math.isfinite(start_s) and 0 <= start_s < x.shape[0] / fs):
        raise ValueError(f"start_s={start_s!r} is outside the recording (0..{x.shape[0] / fs:.2f} s)")
    return x


def filter_text(fs: float, high_hz: float) -> str:
    """The printed filter settings, e.g. "滤波 0.05-150 Hz，50 Hz 陷波" (band edges in Hz)."""
    low, high = display_band(fs, high_hz)
    return f"滤波 {low:g}-{high:g} Hz，{MAINS_HZ:g} Hz 陷波"


def _window(x: np.ndarray, fs: float, start_s: float, window_s: float,
            high_hz: float = ADULT_DISPLAY_HIGH_HZ) -> np.ndarray:
    """Display-filtered samples of ``start_s``..``start_s + window_s`` (s); NaN gaps stay NaN.

    ``FILTER_PAD_S`` of real signal (or, at the recording's ends, its mirror
    image) is filtered on each side so the 0.5 Hz high-pass does not bend the
    first and last beats (LUDB records start in the middle of a QRS).
    """
    n = x.shape[0]
    a = int(round(start_s * fs))
    b = min(n, a + int(round(window_s * fs)) + 1)
    pad = int(round(FILTER_PAD_S * fs))
    lo, hi = max(0, a - pad), min(n, b + pad)
    gaps = ~np.isfinite(x[a:b])
    part = np.nan_to_num(x[lo:hi], nan=0.0, posinf=0.0, neginf=0.0)
    before = min(pad - (a - lo), part.shape[0] - 1)
    after = min(pad - (hi - b), part.shape[0] - 1)
    part = np.pad(part, ((before, after), (0, 0)), mode="reflect")
    start = before + a - lo
    out = display(part, fs, high_hz)[start : start + (b - a)]
    out[gaps] = np.nan
    return out


def _limb_derived(have: dict[str, np.ndarray]) -> list[str]:
    """Add III, aVR, aVL, aVF from I and II (Einthoven/Goldberger) where missing; return the names added."""
    if "I" not in have or "II" not in have:
        return []
    i, ii = have["I"], have["II"]
    formulas = {"III": ii - i, "aVR": -(i + ii) / 2.0, "aVL": i - ii / 2.0, "aVF": ii - i / 2.0}
    derived = [name for name in formulas if name not in have]
    for name in derived:
        have[name] = formulas[name]
    return derived


def prepare(x: np.ndarray, fs: float, leads: Sequence[str], start_s: float, window_s: float,
             high_hz: float = ADULT_DISPLAY_HIGH_HZ) -> Tracing:
    """Filter the window and choose the 12-lead layout or strips; ``note`` lists leads for the footer."""
    win = _window(x, fs, start_s, window_s, high_hz)
    standard: dict[str, np.ndarray] = {}
    for col, raw in enumerate(leads):
        name = normalise_lead(str(raw))
        if name in STANDARD_12 and name not in standard:
            standard[name] = win[:, col]
    derived = _limb_derived(standard)
    if all(name in standard for name in STANDARD_12):
        extra = [str(n) for n in leads if normalise_lead(str(n)) not in STANDARD_12]
        notes = [f"{'、'.join(derived)} 由 I、II 导联计算"] if derived else []
        notes += [f"未显示：{'、'.join(extra)}"] if extra else []
        return Tracing(standard, True, "；".join(notes))
    labels = list(normalise_leads([str(n) for n in leads]))
    shown = labels[: max_strips()]
    note = f"记录中的导联：{'、'.join(labels)}"
    if len(shown) < len(labels):
        note += f"（显示前 {len(shown)} 个）"
    return Tracing({label: win[:, col] for col, label in enumerate(shown)}, False, note)


# ---------------------------------------------------------------- drawing


def _new_page(page_mm: tuple[float, float], dpi: float) -> tuple[Figure, Axes]:
    """A white figure of ``page_mm`` (mm) whose single axes maps data units to mm exactly."""
    width, height = page_mm
    fig = Figure(figsize=(width / MM_PER_INCH, height / MM_PER_INCH), dpi=dpi, facecolor="white")
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0.0, width)
    ax.set_ylim(0.0, height)
    ax.set_axis_off()
    return fig, ax


def _grid_lines(rect: Rect, step_mm: float, skip_every: int = 0) -> np.ndarray:
    """Vertical and horizontal line segments (k, 2, 2) every ``step_mm`` (mm) over ``rect``.

    With ``skip_every`` = n, every n-th line (the major ones) is left out.
    """
    def positions(start: float, length: float) -> np.ndarray:
        idx = np.arange(int(round(length / step_mm)) + 1)
        if skip_every:
            idx = idx[idx % skip_every != 0]
        return start + idx * step_mm

    xs, ys = positions(rect.x0, rect.width), positions(rect.y0, rect.height)
    vertical = [((x, rect.y0), (x, rect.y1)) for x in xs]
    horizontal = [((rect.x0, y), (rect.x1, y)) for y in ys]
    return np.array(vertical + horizontal, dtype=np.float64)


def _draw_grid(ax: Axes, rect: Rect, scale: float) -> None:
    """ECG paper: 1 mm minor and 5 mm major lines (two LineCollections, not one artist per line)."""
    ratio = int(round(GRID_MAJOR_MM / GRID_MINOR_MM))
    minor_lines = _grid_lines(rect, GRID_MINOR_MM, ratio)
    # an (n, 2, 2) array is what LineCollection takes fastest; matplotlib's stub says Sequence only
    minor = LineCollection(minor_lines, colors=[MINOR_COLOUR], linewidths=0.3 * scale)  # type: ignore[arg-type]
    major = LineCollection(_grid_lines(rect, GRID_MAJOR_MM), colors=[MAJOR_COLOUR],  # type: ignore[arg-type]
                           linewidths=0.6 * scale)
    ax.add_collection(minor)
    ax.add_collection(major)


def _lead_polylines(
    layout: Layout, tracing: Tracing, fs: float, speed: float, gain: float
) -> list[np.ndarray]:
    """One (n, 2) polyline (mm) per layout segment; NaN samples break the line."""
    lines = []
    for seg in layout.segments:
        wave = tracing.waves[seg.lead]
        i0 = int(round(seg.t0_s * fs))
        i1 = min(wave.shape[0], int(round(seg.t1_s * fs)) + 1)
        if i1 - i0 < 2:
            continue
        x = layout.trace_x0_mm + np.arange(i0, i1) / fs * speed
        y = layout.baselines_mm[seg.row] + wave[i0:i1] * gain
        lines.append(np.column_stack((x, y)))
    return lines


def _pulse_polylines(layout: Layout, speed: float, gain: float) -> list[np.ndarray]:
    """Calibration pulse of every row: baseline, 1 mV step up, 200 ms, step down, baseline (mm)."""
    lines = []
    for row, base in enumerate(layout.baselines_mm):
        r = layout.pulse_rect(row, gain, speed)
        x_start, x_end = layout.grid.x0 + 0.5, layout.trace_x0_mm - 0.5
        pts = [(x_start, base), (r.x0, base), (r.x0, r.y1), (r.x1, r.y1), (r.x1, base), (x_end, base)]
        lines.append(np.array(pts, dtype=np.float64))
    return lines


def _separator_polylines(layout: Layout, speed: float) -> list[np.ndarray]:
    """Short vertical ticks (4 mm) where the 12-lead columns change lead."""
    lines = []
    for t in layout.column_breaks_s:
        x = layout.trace_x0_mm + t * speed
        for base in layout.baselines_mm[:3]:
            lines.append(np.array([(x, base - 2.0), (x, base + 2.0)]))
    return lines


def _draw_traces(
    ax: Axes, layout: Layout, tracing: Tracing, fs: float, speed: float, gain: float, scale: float
) -> None:
    """Leads, calibration pulses and column ticks as one LineCollection clipped to the grid."""
    lines = _lead_polylines(layout, tracing, fs, speed, gain)
    lines += _pulse_polylines(layout, speed, gain)
    lines += _separator_polylines(layout, speed) if tracing.twelve else []
    coll = LineCollection(lines, colors=[TRACE_COLOUR], linewidths=0.7 * scale, joinstyle="round")
    g = layout.grid
    coll.set_clip_path(Rectangle((g.x0, g.y0), g.width, g.height, transform=ax.transData))
    ax.add_collection(coll)


def _draw_labels(ax: Axes, layout: Layout, speed: float) -> None:
    """Lead names just above the baseline at the start of each segment."""
    for seg in layout.segments:
        prop = _fonts.latin_bold(7.5) if seg.lead.isascii() else _fonts.font(7.5)
        x = layout.trace_x0_mm + seg.t0_s * speed + 1.0
        ax.text(x, layout.baselines_mm[seg.row] + 7.0, seg.lead, fontproperties=prop, ha="left", va="bottom",
                parse_math=False)


def _draw_footer(ax: Axes, layout: Layout, note: str, speed: float, gain: float, start_s: float,
                 filters: str) -> None:
    """Scale and filter settings at the left, the lead note at the right (6.5 pt)."""
    prop = _fonts.font(6.5)
    start = f"   自 {start_s:g} s 起" if start_s else ""
    text = f"{speed:g} mm/s   {gain:g} mm/mV   {filters}{start}"
    y = layout.footer_y_mm
    ax.text(layout.grid.x0, y, text, fontproperties=prop, ha="left", va="center", parse_math=False)
    room_em = layout.grid.width / (6.5 / PT_PER_MM) - _width_em(text) - 4.0
    if note and room_em > 4.0:
        if _width_em(note) > room_em:
            note = _wrap(note, room_em - 1.0)[0] + "…"
        ax.text(layout.grid.x1, y, note, fontproperties=prop, ha="right", va="center", color="0.25",
                parse_math=False)


# ---------------------------------------------------------------- header text


def _width_em(text: str) -> float:
    """Rough printed width of ``text`` in ems: CJK full-width 1 em, others 0.62 em (DejaVu Sans average)."""
    return sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.62 for ch in text)


def _wrap(line: str, max_em: float) -> list[str]:
    """Greedy wrap to ``max_em``; breaks at the last space for Latin text, anywhere between CJK characters."""
    out: list[str] = []
    cur = ""
    for ch in line:
        if cur and _width_em(cur + ch) > max_em:
            cut = cur.rfind(" ")
            if ch != " " and cut > len(cur) // 2:
                out.append(cur[:cut])
                cur = cur[cut + 1 :]
            else:
                out.append(cur)
                cur = ""
            ch = ch.lstrip()
        cur += ch
    out.append(cur)
    return out


def _line_mm(size_pt: float) -> float:
    """Line pitch (mm) of text at ``size_pt``."""
    return size_pt / PT_PER_MM * LINE_SPACING


def _fit_columns(lines: tuple[str, ...], width_mm: float, rows: int) -> tuple[int, list[str]]:
    """Column count (2 or 3) and wrapped ``lines`` at ``HEADER_LINE_PT`` within ``rows``; "…" past them."""
    for ncols in (2, 3):
        col_em = (width_mm / ncols - 4.0) / (HEADER_LINE_PT / PT_PER_MM)
        wrapped = [w for line in lines for w in _wrap(line, col_em)]
        if len(wrapped) <= rows * ncols:
            return ncols, wrapped
    return ncols, wrapped[: rows * ncols - 1] + ["…"]


def _fit_notes(notes: tuple[str, ...], width_mm: float, rows: int) -> tuple[list[str], list[str]]:
    """Wrapped full-width notes that fit ``rows`` (whole notes only) and the notes left over."""
    col_em = (width_mm - 4.0) / (HEADER_LINE_PT / PT_PER_MM)
    wrapped = [_wrap(note, col_em) for note in notes]
    if sum(len(w) for w in wrapped) <= rows:
        return [line for w in wrapped for line in w], []
    kept: list[str] = []
    for k, w in enumerate(wrapped):
        if len(kept) + len(w) > rows - 1:  # the last row announces the continuation
            return kept, list(notes[k:])
        kept += w
    return kept, []


def _draw_logo(ax: Axes, png: bytes, x_mm: float, top_mm: float) -> float:
    """The logo ``LOGO_HEIGHT_MM`` high with its top-left corner at (``x_mm``, ``top_mm``); its width (mm)."""
    image = Image.open(io.BytesIO(png)).convert("RGBA")
    width = LOGO_HEIGHT_MM * image.width / max(image.height, 1)
    xlim, ylim = ax.get_xlim(), ax.get_ylim()
    ax.imshow(np.asarray(image), extent=(x_mm, x_mm + width, top_mm - LOGO_HEIGHT_MM, top_mm),
              aspect="auto", interpolation="antialiased", zorder=3)
    ax.set_xlim(xlim)  # imshow rescales the axes to the image: keep 1 data unit = 1 mm of the page
    ax.set_ylim(ylim)
    return width


def _draw_top_row(ax: Axes, box: Rect, header: TracingHeader) -> float:
    """Logo and hospital at the left, title at the right (``HEADER_TITLE_PT``); the row height (mm)."""
    x = box.x0
    if header.logo_png:
        x += _draw_logo(ax, header.logo_png, x, box.y1) + 2.0
    middle = box.y1 - LOGO_HEIGHT_MM / 2.0
    title = _fonts.font(HEADER_TITLE_PT)
    if header.organisation:
        ax.text(x, middle, header.organisation, fontproperties=title, ha="left", va="center", parse_math=False)
    ax.text(box.x1, middle, header.title, fontproperties=title, ha="right", va="center", parse_math=False)
    return LOGO_HEIGHT_MM + 0.5


def _draw_lines(ax: Axes, box: Rect, lines: list[str], ncols: int, size_pt: float) -> None:
    """``lines`` top-down in ``ncols`` columns of ``box`` (mm) at ``size_pt``."""
    if not lines:
        return
    rows = -(-len(lines) // ncols)
    prop = _fonts.font(size_pt)
    for i, text in enumerate(lines):
        col, row = divmod(i, rows)
        x = box.x0 + col * box.width / ncols
        ax.text(x, box.y1 - row * _line_mm(size_pt), text, fontproperties=prop, ha="left", va="top",
                parse_math=False)


def _draw_header(ax: Axes, box: Rect, header: TracingHeader) -> list[str]:
    """Top row, the lines in columns, the notes full width; returns the notes left for continuation pages."""
    body = Rect(box.x0, box.y0, box.width, box.height - _draw_top_row(ax, box, header))
    line_mm = _line_mm(HEADER_LINE_PT)
    rows = max(1, int(body.height // line_mm))
    ncols, block = _fit_columns(header.lines, body.width, rows)
    used = -(-len(block) // ncols)
    _draw_lines(ax, body, block, ncols, HEADER_LINE_PT)
    kept, overflow = _fit_notes(header.notes, body.width, rows - used)
    below = Rect(body.x0, body.y0, body.width, body.height - used * line_mm)
    _draw_lines(ax, below, kept + ([header.continued] if overflow else []), 1, HEADER_LINE_PT)
    return overflow


def _continuation_pages(header: TracingHeader, lines: list[str]) -> list[Figure]:
    """A4 landscape text pages for header lines that did not fit page 1 (``CONTINUATION_PT``)."""
    width, height = A4_LANDSCAPE_MM
    box = Rect(16.0, 10.0, width - 32.0, height - 15.0)
    col_em = box.width / (CONTINUATION_PT / PT_PER_MM)
    wrapped = [w for line in lines for w in _wrap(line, col_em)]
    pages = []
    while wrapped:
        fig, ax = _new_page(A4_LANDSCAPE_MM, 72.0)
        top = _draw_top_row(ax, box, header)
        body = Rect(box.x0, box.y0, box.width, box.height - top - 2.0)
        per_page = max(1, int(body.height // _line_mm(CONTINUATION_PT)))
        _draw_lines(ax, body, wrapped[:per_page], 1, CONTINUATION_PT)
        wrapped = wrapped[per_page:]
        pages.append(fig)
    return pages


# ---------------------------------------------------------------- public API


def _page(
    signals: np.ndarray, fs: float, leads: Sequence[str], page: str, dpi: float,
    speed: float, gain: float, start_s: float, line_scale: float, high_hz: float = ADULT_DISPLAY_HIGH_HZ,
) -> tuple[Figure, Axes, Layout]:
    """Figure with grid, traces, labels and footer drawn; the caller adds the header and saves."""
    x = check_signals(signals, fs, leads, speed, gain, start_s)
    window_s = twelve_lead_layout(speed, page).window_s
    tracing = prepare(x, fs, leads, start_s, window_s, high_hz)
    shown = tuple(tracing.waves)
    layout = twelve_lead_layout(speed, page) if tracing.twelve else strip_layout(shown, speed, page)
    fig, ax = _new_page(layout.page_mm, dpi)
    _draw_grid(ax, layout.grid, line_scale)
    _draw_traces(ax, layout, tracing, fs, speed, gain, line_scale)
    _draw_labels(ax, layout, speed)
    _draw_footer(ax, layout, tracing.note, speed, gain, start_s, filter_text(fs, high_hz))
    return fig, ax, layout


def render_pdf(
    signals: np.ndarray, fs: float, leads: Sequence[str], header: TracingHeader, *,
    speed_mm_s: float = 25.0, gain_mm_mv: float = 10.0, start_s: float = 0.0,
    high_hz: float = ADULT_DISPLAY_HIGH_HZ,
) -> bytes:
    """An A4 landscape page (297 x 210 mm) as PDF bytes, to scale when printed at 100 %, plus
    continuation pages when the header text is longer than page 1 holds.

    ``signals`` (samples, leads) in mV at ``fs`` Hz; the window shown is
    250 mm / ``speed_mm_s`` (10 s at 25 mm/s) from ``start_s`` seconds; ``high_hz`` the
    display band's upper edge (``ecg.filters.CHILD_DISPLAY_HIGH_HZ`` for children).
    """
    fig, ax, layout = _page(signals, fs, leads, "a4", 72.0, speed_mm_s, gain_mm_mv, start_s, 1.0, high_hz)
    assert layout.header is not None
    overflow = _draw_header(ax, layout.header, header)
    buf = io.BytesIO()
    metadata = {"Title": header.title, "Creator": "ecghub", "CreationDate": None}
    with PdfPages(buf, metadata=metadata) as pdf:
        for page in [fig, *_continuation_pages(header, overflow)]:
            pdf.savefig(page)
    return buf.getvalue()


def render_png(
    signals: np.ndarray, fs: float, leads: Sequence[str], *,
    dpi: int = 100, speed_mm_s: float = 25.0, gain_mm_mv: float = 10.0, start_s: float = 0.0,
    high_hz: float = ADULT_DISPLAY_HIGH_HZ,
) -> bytes:
    """The tracing alone (269 x 178 mm, no header) as a palette PNG for phones, at ``dpi`` dots per inch."""
    if not 20 <= dpi <= 600:
        raise ValueError(f"dpi must be between 20 and 600, got {dpi!r}")
    scale = max(1.0, 100.0 / dpi * 1.2)
    fig, _, _ = _page(signals, fs, leads, "compact", float(dpi), speed_mm_s, gain_mm_mv, start_s, scale, high_hz)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    rgb = Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3])
    palette = rgb.quantize(colors=PNG_COLOURS, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    buf = io.BytesIO()
    palette.save(buf, format="PNG", optimize=True)
    return buf.getvalue()
