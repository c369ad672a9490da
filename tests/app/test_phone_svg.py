"""The phone page's SVG tracing: paper scale (25 mm/s, 10 mm/mV) measured from the path data itself."""

from __future__ import annotations

import re

import numpy as np
import pytest

from app.reports.phone_svg import tracing_svg
from bench.common import data_dir
from ecg.io import read_recording

TWELVE = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")


def _trace_points(svg: str) -> list[np.ndarray]:
    """Absolute (x, y) mm points of each run of the trace path (``M x,y l dx,dy ...``)."""
    d = re.search(r'class="trace" d="([^"]*)"', svg).group(1)
    runs = []
    for move, steps in re.findall(r"M([-\d.]+,[-\d.]+)l([^M]*)", d):
        start = np.array([float(v) for v in move.split(",")])
        deltas = np.array([[float(v) for v in p.split(",")] for p in steps.split()]).reshape(-1, 2)
        runs.append(np.vstack([start, start + np.cumsum(deltas, axis=0)]))
    return runs


def _sine(fs: float = 500.0, seconds: float = 10.0, hz: float = 10.0) -> np.ndarray:
    t = np.arange(int(fs * seconds)) / fs
    return np.repeat(np.sin(2 * np.pi * hz * t)[:, None], len(TWELVE), axis=1)  # 1 mV amplitude


def test_twelve_leads_on_paper_scale():
    tracing = tracing_svg(_sine(), 500.0, TWELVE, 150.0)
    assert [[c.lead for c in row] for row in tracing.rows] == [
        ["I", "aVR", "V1", "V4"], ["II", "aVL", "V2", "V5"], ["III", "aVF", "V3", "V6"], ["II"]]
    for row in tracing.rows:
        assert sum(c.width_mm for c in row) == pytest.approx(tracing.row_width_mm)  # one scale for all cells
    cell = tracing.rows[1][1]  # aVL, the second column: 2.5-5 s
    (points,) = _trace_points(tracing.rows[0][2].svg)  # V1: the 1 mV sine
    assert points[:, 0].max() - points[:, 0].min() == pytest.approx(62.5, abs=0.3)  # 2.5 s at 25 mm/s
    assert np.ptp(points[:, 1]) == pytest.approx(20.0, abs=0.6)  # 2 mV peak to peak at 10 mm/mV
    assert 'viewBox="72.5 0 62.5 40"' in cell.svg  # the paper x continues across the row (grid aligned)
    assert tracing.band_hz == (0.05, 150.0)


def test_gaps_break_the_line_and_strips_for_two_leads():
    x = _sine()
    x[1000:1200, :] = np.nan  # 0.4 s lost in the middle of the first column (2.0-2.4 s)
    (first, second) = _trace_points(tracing_svg(x, 500.0, TWELVE, 150.0).rows[0][0].svg)
    assert first[-1, 0] < 10 + 2.0 * 25 + 0.3 and second[0, 0] > 10 + 2.4 * 25 - 0.3
    rec = read_recording(data_dir() / "mitdb" / "100")
    strips = tracing_svg(rec.signals[: int(12 * rec.fs)], rec.fs, rec.leads, 150.0)
    assert [[c.lead for c in row] for row in strips.rows] == [["MLII"], ["V5"]]
    assert strips.rows[0][0].width_mm == pytest.approx(260.0) and "MLII" in strips.note
    assert strips.band_hz == (0.05, 150.0)
