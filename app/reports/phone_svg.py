"""The phone page's tracing as vector SVG: one small image per lead segment, in millimetres of paper.

Same content and scale as the printed page (``tracing.prepare``: the display
band, 25 mm/s, 10 mm/mV, 1 mm / 5 mm grid, a 1 mV x 200 ms calibration pulse at
the start of every row), but each lead segment is its own ``<svg>`` whose
viewBox is in paper mm, so the page lays the rows out at the phone's width and
enlarges one lead on tap without losing sharpness. Samples are reduced to the
minimum and maximum of each 0.2 mm column (8 ms at 25 mm/s; peaks kept) and
written as integer path steps of 0.1 mm, so a 12-lead page stays near 100 KB.
Lead labels are left to the HTML (their size in CSS px must not shrink with
the drawing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from app.reports._layout import (
    CAL_AREA_MM,
    GRID_MAJOR_MM,
    TWELVE_ROW_PITCH_MM,
    Segment,
    strip_layout,
    twelve_lead_layout,
)
from app.reports.tracing import check_signals, prepare
from ecg.filters import display_band

SPEED_MM_S = 25.0
GAIN_MM_MV = 10.0
#: Width (mm) of one min/max column of the decimated trace.
COLUMN_MM = 0.2
#: Path coordinates are integers in this unit (mm): 0.1 mm.
UNIT_MM = 0.1
#: Baseline position from the top of a row, as a fraction of the row height (as on paper).
BASELINE_FROM_TOP = 0.625
#: Row height (mm) of one lead when the recording has no 12-lead set (one full-width strip per lead).
STRIP_HEIGHT_MM = 30.0


@dataclass(frozen=True)
class LeadSvg:
    """One lead segment: its label, paper size (mm) and the ``<svg>`` markup (no label inside)."""

    lead: str
    width_mm: float
    height_mm: float
    svg: str


@dataclass(frozen=True)
class SvgTracing:
    """Rows of lead segments, top to bottom; every row is ``row_width_mm`` of paper wide."""

    rows: tuple[tuple[LeadSvg, ...], ...]
    row_width_mm: float
    note: str
    band_hz: tuple[float, float]


def tracing_svg(signals: np.ndarray, fs: float, leads: Sequence[str], high_hz: float) -> SvgTracing:
    """The first 10 s of ``signals`` (samples, leads; mV at ``fs`` Hz) as SVG rows, display band to ``high_hz``."""
    x = check_signals(signals, fs, leads, SPEED_MM_S, GAIN_MM_MV, 0.0)
    layout = twelve_lead_layout(SPEED_MM_S, "compact")
    tracing = prepare(x, fs, leads, 0.0, layout.window_s, high_hz)
    if not tracing.twelve:
        layout = strip_layout(tuple(tracing.waves), SPEED_MM_S, "compact")
    pitch = TWELVE_ROW_PITCH_MM if tracing.twelve else STRIP_HEIGHT_MM
    by_row: dict[int, list[Segment]] = {}
    for seg in layout.segments:
        by_row.setdefault(seg.row, []).append(seg)
    rows = tuple(tuple(_segment_svg(tracing.waves[s.lead], fs, s, pitch) for s in sorted(segs, key=lambda s: s.t0_s))
                 for _, segs in sorted(by_row.items()))
    return SvgTracing(rows, CAL_AREA_MM + layout.window_s * SPEED_MM_S, tracing.note, display_band(fs, high_hz))


def _baseline_mm(height_mm: float) -> float:
    """Baseline (mm from the row top) on a 5 mm line, ``BASELINE_FROM_TOP`` down the row."""
    return GRID_MAJOR_MM * round(height_mm * BASELINE_FROM_TOP / GRID_MAJOR_MM)


def _segment_svg(wave: np.ndarray, fs: float, seg: Segment, height_mm: float) -> LeadSvg:
    """The SVG of one segment: grid, calibration pulse when it starts the row, the trace (mm units)."""
    x0 = 0.0 if seg.t0_s == 0 else CAL_AREA_MM + seg.t0_s * SPEED_MM_S
    x1 = CAL_AREA_MM + seg.t1_s * SPEED_MM_S
    base = _baseline_mm(height_mm)
    parts = [_grid_paths(x0, x1, height_mm)]
    if seg.t0_s == 0:
        parts.append(f'<path class="cal" d="{_pulse_path(base)}"/>')
    parts.append(f'<path class="trace" d="{_trace_path(wave, fs, seg, base)}"/>')
    width = x1 - x0
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{x0:g} 0 {width:g} {height_mm:g}" '
           f'aria-hidden="true" focusable="false" data-mm="{width:g}">' + "".join(parts) + "</svg>")
    return LeadSvg(seg.lead, width, height_mm, svg)


def _grid_paths(x0: float, x1: float, height_mm: float) -> str:
    """1 mm and 5 mm paper lines over ``x0``..``x1`` (mm from the row start) and the row height (mm).

    Vertical lines at whole mm from the row start, horizontal ones at whole mm from the top
    (the baseline is on a 5 mm line), as on the printed page.
    """
    minor: list[str] = []
    major: list[str] = []
    for k in range(int(np.ceil(x0)), int(np.floor(x1)) + 1):
        (major if k % GRID_MAJOR_MM == 0 else minor).append(f"M{k},0V{height_mm:g}")
    for k in range(0, int(height_mm) + 1):
        (major if k % GRID_MAJOR_MM == 0 else minor).append(f"M{x0:g},{k}H{x1:g}")
    return f'<path class="minor" d="{"".join(minor)}"/><path class="major" d="{"".join(major)}"/>'


def _pulse_path(base_mm: float) -> str:
    """1 mV x 200 ms calibration pulse centred in the calibration area (mm, y down)."""
    width = 0.2 * SPEED_MM_S
    a = (CAL_AREA_MM - width) / 2.0
    top = base_mm - GAIN_MM_MV
    return f"M0.5,{base_mm:g}H{a:g}V{top:g}H{a + width:g}V{base_mm:g}H{CAL_AREA_MM - 0.5:g}"


def _trace_path(wave: np.ndarray, fs: float, seg: Segment, base_mm: float) -> str:
    """Path data of ``wave`` over the segment: min/max per ``COLUMN_MM`` column, NaN gaps break the line."""
    i0 = int(round(seg.t0_s * fs))
    i1 = min(wave.shape[0], int(round(seg.t1_s * fs)) + 1)
    t = np.arange(i0, i1) / fs
    x_units = np.round((CAL_AREA_MM + t * SPEED_MM_S) / UNIT_MM).astype(np.int64)
    y = wave[i0:i1]
    column = ((t - seg.t0_s) * SPEED_MM_S // COLUMN_MM).astype(np.int64)
    points = _min_max_points(x_units, y, column)
    return _path_data(points, base_mm)


def _min_max_points(x_units: np.ndarray, y_mv: np.ndarray, column: np.ndarray) -> list[tuple[int, float]]:
    """Per column the samples holding its minimum and maximum, in time order; NaN kept as a gap marker."""
    out: list[tuple[int, float]] = []
    starts = np.flatnonzero(np.r_[True, column[1:] != column[:-1]])
    for a, b in zip(starts, np.r_[starts[1:], len(column)], strict=True):
        chunk = y_mv[a:b]
        if not np.isfinite(chunk).all():
            out.append((int(x_units[a]), float("nan")))
            continue
        lo, hi = a + int(np.argmin(chunk)), a + int(np.argmax(chunk))
        for i in sorted({lo, hi}):
            out.append((int(x_units[i]), float(y_mv[i])))
    return out


def _path_data(points: list[tuple[int, float]], base_mm: float) -> str:
    """``M x,y l dx,dy ...`` per unbroken run (mm, y down), steps computed on the 0.1 mm integer grid."""
    runs: list[list[tuple[int, int]]] = [[]]
    for x, mv in points:
        if np.isfinite(mv):
            runs[-1].append((x, int(round((base_mm - mv * GAIN_MM_MV) / UNIT_MM))))
        elif runs[-1]:
            runs.append([])
    return "".join(_run_data(run) for run in runs if len(run) > 1)


def _run_data(run: list[tuple[int, int]]) -> str:
    """One unbroken polyline as a move and relative line steps (the integer steps keep it exact)."""
    (x, y), steps = run[0], np.diff(np.asarray(run), axis=0)
    moves = " ".join(f"{_mm(dx)},{_mm(dy)}" for dx, dy in steps if dx or dy)
    return f"M{_mm(x)},{_mm(y)}l{moves}"


def _mm(units: int) -> str:
    """An integer count of 0.1 mm as the shortest decimal text (15 -> "1.5", -3 -> "-.3", 20 -> "2")."""
    text = f"{units / 10:g}"
    return text.replace("0.", ".", 1) if text.startswith(("0.", "-0.")) else text
