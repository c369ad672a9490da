"""Mains removal (``ecg.mains``) on synthetic beats with known, exact waveforms.

The measurement consequences (QRS/QT/PR of narrow complexes with and without
mains, LUDB with added mains) are in ``test_measure.py``.
"""

from __future__ import annotations

import numpy as np

from ecg import filters
from ecg.mains import remove_mains
from tests.ecg.test_measure import drifting_mains, synthetic

FS = 500.0


def _qrs_mask(n: int, r: np.ndarray, half: int) -> np.ndarray:
    m = np.zeros(n, dtype=bool)
    for k in r:
        m[max(k - half, 0):k + half] = True
    return m


def test_drifting_mains_removed_and_qrs_kept():
    x, r = synthetic(fs=FS, hr=150.0, qrs=40.0, qt=220.0, pr=90.0)
    err = remove_mains(drifting_mains(x, FS, 0.5, seed=3), FS, r) - x
    assert np.sqrt(np.mean(err ** 2)) < 0.02  # of a 0.25-0.5 mV line
    assert np.abs(err[_qrs_mask(len(x), r, 12)]).max() < 0.05


def test_no_mains_no_change_where_the_notch_rings():
    """On clean narrow beats at 150/min (50 Hz = 20th harmonic) the notch put a 50 Hz
    ripple on every beat; without mains nothing is subtracted at all."""
    x, r = synthetic(fs=FS, hr=150.0, qrs=40.0, qt=220.0, pr=90.0)
    assert np.array_equal(remove_mains(x, FS, r), x)
    assert np.sqrt(np.mean((filters.notch(x, FS) - x) ** 2)) > 0.01


def test_60_hz_mains_and_one_dimensional_input():
    x, r = synthetic(fs=FS, hr=120.0, qrs=50.0, qt=260.0, pr=100.0)
    line = 0.3 * np.sin(2 * np.pi * 60.1 * np.arange(len(x)) / FS)
    out = remove_mains(x[:, 0] + line, FS, r, mains_hz=60.0)
    assert out.shape == (len(x),)
    assert np.sqrt(np.mean((out - x[:, 0])[50:-50] ** 2)) < 0.01


def test_mains_in_part_of_a_long_record_removed_only_there():
    x, r = synthetic(fs=FS, hr=150.0, qrs=40.0, qt=220.0, pr=90.0, dur=30.0)
    y = x.copy()
    y[20 * 500:] = drifting_mains(x[20 * 500:], FS, 0.3, seed=1)
    out = remove_mains(y, FS, r)
    assert np.array_equal(out[:19 * 500], x[:19 * 500])
    assert np.sqrt(np.mean((out - x)[21 * 500:] ** 2)) < 0.015


def test_qrs_at_the_record_end_still_cleaned():
    """Where a QRS gap leaves too few samples to fit (record end), the nearest fit is used."""
    n = 2500
    line = 0.2 * np.sin(2 * np.pi * np.cumsum(np.linspace(49.7, 50.3, n)) / FS)
    out = remove_mains(line, FS, np.r_[np.arange(64, n, 300), n - 5])
    assert np.abs(out[-100:]).max() < 0.1


def test_mains_above_nyquist_unchanged():
    x, r = synthetic(fs=FS, hr=150.0)
    y = drifting_mains(x, FS, 0.2)
    assert np.array_equal(remove_mains(y, 100.0, r), y)
