"""Page geometry of an ECG tracing, all in millimetres on the printed page.

Pure numbers, no drawing: where the grid, the rows (baselines), the
calibration pulses and each lead's time segment go. The origin is the
bottom-left corner of the page, y grows upwards (matplotlib data units = mm).
Times are seconds from the start of the displayed window; x of time ``t`` is
``trace_x0_mm + t * speed_mm_s``.
"""

from __future__ import annotations

from dataclasses import dataclass

A4_LANDSCAPE_MM = (297.0, 210.0)
GRID_MAJOR_MM = 5.0
GRID_MINOR_MM = 1.0
#: Width of the tracing proper: 10 s at 25 mm/s.
TRACE_WIDTH_MM = 250.0
#: Room at the left of each row for the calibration pulse (the wide one at 50 mm/s uses the spare 5 mm).
CAL_AREA_MM = 10.0
WIDE_CAL_AREA_MM = 15.0
GRID_WIDTH_MM = 265.0
GRID_HEIGHT_MM = 170.0
#: Grid origin (bottom-left) on the A4 page and on the compact phone page.
A4_GRID_ORIGIN_MM = (16.0, 10.0)
#: Paper above the printed header (mm; printers leave about 4 mm unprinted).
A4_TOP_MARGIN_MM = 4.0
COMPACT_MARGIN_MM = 2.0
COMPACT_FOOTER_MM = 6.0
#: Row pitch of the standard 3x4 + rhythm layout, and the smallest pitch for strips.
TWELVE_ROW_PITCH_MM = 40.0
MIN_STRIP_PITCH_MM = 25.0
MAX_STRIP_PITCH_MM = 60.0

STANDARD_12 = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
#: Columns of the 3x4 layout: column k shows the k-th quarter of the same 10 s.
TWELVE_COLUMNS = (("I", "II", "III"), ("aVR", "aVL", "aVF"), ("V1", "V2", "V3"), ("V4", "V5", "V6"))
RHYTHM_LEAD = "II"


@dataclass(frozen=True)
class Rect:
    """An axis-aligned rectangle (mm)."""

    x0: float
    y0: float
    width: float
    height: float

    @property
    def x1(self) -> float:
        return self.x0 + self.width

    @property
    def y1(self) -> float:
        return self.y0 + self.height


@dataclass(frozen=True)
class Segment:
    """One lead drawn on one row over the window times ``t0_s``..``t1_s`` (s)."""

    lead: str
    row: int
    t0_s: float
    t1_s: float


@dataclass(frozen=True)
class Layout:
    """Everything needed to place a tracing on a page (mm, s)."""

    page_mm: tuple[float, float]
    grid: Rect
    baselines_mm: tuple[float, ...]
    trace_x0_mm: float
    window_s: float
    segments: tuple[Segment, ...]
    header: Rect | None
    footer_y_mm: float
    column_breaks_s: tuple[float, ...] = ()

    @property
    def cal_area_mm(self) -> float:
        """Width (mm) left of the tracing where the calibration pulses are drawn."""
        return self.trace_x0_mm - self.grid.x0

    def pulse_rect(self, row: int, gain_mm_mv: float, speed_mm_s: float) -> Rect:
        """The calibration pulse of ``row``: 1 mV high, 200 ms wide, centred in the calibration area."""
        width = pulse_width_mm(speed_mm_s)
        x0 = self.grid.x0 + (self.cal_area_mm - width) / 2.0
        return Rect(x0, self.baselines_mm[row], width, gain_mm_mv)


def cal_area_mm(speed_mm_s: float) -> float:
    """Calibration area width (mm): 10 mm, or 15 mm when a 200 ms pulse is wider than 6 mm."""
    return CAL_AREA_MM if 0.2 * speed_mm_s <= 6.0 else WIDE_CAL_AREA_MM


def pulse_width_mm(speed_mm_s: float) -> float:
    """Width (mm) of the 200 ms calibration pulse; capped at 12 mm (true up to 60 mm/s)."""
    return min(0.2 * speed_mm_s, WIDE_CAL_AREA_MM - 3.0)


def _round5(value_mm: float) -> float:
    return GRID_MAJOR_MM * round(value_mm / GRID_MAJOR_MM)


def _grid(page: str) -> tuple[tuple[float, float], Rect, Rect | None, float]:
    """Page size, grid rect, header rect and footer baseline y for ``page`` ("a4" or "compact")."""
    if page == "a4":
        x0, y0 = A4_GRID_ORIGIN_MM
        grid = Rect(x0, y0, GRID_WIDTH_MM, GRID_HEIGHT_MM)
        width, height = A4_LANDSCAPE_MM
        header = Rect(x0, grid.y1 + 2.0, GRID_WIDTH_MM, height - A4_TOP_MARGIN_MM - (grid.y1 + 2.0))
        return (width, height), grid, header, y0 - 5.0
    if page == "compact":
        m = COMPACT_MARGIN_MM
        grid = Rect(m, m + COMPACT_FOOTER_MM, GRID_WIDTH_MM, GRID_HEIGHT_MM)
        return (GRID_WIDTH_MM + 2 * m, grid.y1 + m), grid, None, m + COMPACT_FOOTER_MM / 2.0
    raise ValueError(f"unknown page kind {page!r}")


def _baselines(grid: Rect, n_rows: int, pitch_mm: float) -> tuple[float, ...]:
    """Row baselines (mm) from the top, on major grid lines relative to the grid origin."""
    return tuple(grid.y0 + _round5(grid.y1 - pitch_mm * (i + 0.625) - grid.y0) for i in range(n_rows))


def twelve_lead_layout(speed_mm_s: float, page: str) -> Layout:
    """3 rows x 4 columns (each a consecutive quarter of the window) plus a lead II rhythm strip."""
    size, grid, header, footer_y = _grid(page)
    window_s = TRACE_WIDTH_MM / speed_mm_s
    col_s = window_s / len(TWELVE_COLUMNS)
    segments = [
        Segment(lead, row, k * col_s, (k + 1) * col_s)
        for k, column in enumerate(TWELVE_COLUMNS)
        for row, lead in enumerate(column)
    ]
    segments.append(Segment(RHYTHM_LEAD, 3, 0.0, window_s))
    return Layout(
        page_mm=size,
        grid=grid,
        baselines_mm=_baselines(grid, 4, TWELVE_ROW_PITCH_MM),
        trace_x0_mm=grid.x0 + cal_area_mm(speed_mm_s),
        window_s=window_s,
        segments=tuple(segments),
        header=header,
        footer_y_mm=footer_y,
        column_breaks_s=tuple(k * col_s for k in range(1, len(TWELVE_COLUMNS))),
    )


def max_strips() -> int:
    """How many full-width strips fit on the grid at the smallest pitch."""
    return int(GRID_HEIGHT_MM // MIN_STRIP_PITCH_MM)


def strip_layout(leads: tuple[str, ...], speed_mm_s: float, page: str) -> Layout:
    """One full-width strip per lead (at most :func:`max_strips`), spread over the grid height."""
    size, grid, header, footer_y = _grid(page)
    shown = leads[: max_strips()]
    even = _round5(GRID_HEIGHT_MM / max(len(shown), 1) - 2.5)
    pitch = min(MAX_STRIP_PITCH_MM, max(MIN_STRIP_PITCH_MM, even))
    window_s = TRACE_WIDTH_MM / speed_mm_s
    return Layout(
        page_mm=size,
        grid=grid,
        baselines_mm=_baselines(grid, len(shown), pitch),
        trace_x0_mm=grid.x0 + cal_area_mm(speed_mm_s),
        window_s=window_s,
        segments=tuple(Segment(lead, row, 0.0, window_s) for row, lead in enumerate(shown)),
        header=header,
        footer_y_mm=footer_y,
    )
