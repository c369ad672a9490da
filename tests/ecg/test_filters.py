"""The printed/displayed band (AHA: 0.05-150 Hz, 250 Hz for children) keeps a child's narrow QRS."""

from __future__ import annotations

import numpy as np

from ecg.filters import clean, display, display_band


def _narrow_qrs(fs: float, width_ms: float = 40.0) -> np.ndarray:
    """10 s of 1 mV triangular complexes of ``width_ms`` at 180/min (an infant's QRS)."""
    x = np.zeros(int(10 * fs))
    half = int(width_ms / 2000 * fs)
    tri = 1.0 - np.abs(np.arange(-half, half + 1)) / half
    for r in range(int(0.5 * fs), len(x) - half, int(fs / 3)):
        x[r - half:r + half + 1] = tri
    return x


def test_display_band_caps_at_the_sampling_rate():
    assert display_band(500.0) == (0.05, 150.0)
    assert display_band(500.0, 250.0) == (0.05, 225.0)
    assert display_band(1000.0, 250.0) == (0.05, 250.0)
    assert display_band(100.0) == (0.05, 45.0)


def test_display_keeps_a_narrow_qrs_amplitude_that_40_hz_lowers():
    fs = 1000.0
    x = _narrow_qrs(fs)
    mid = slice(int(2 * fs), int(8 * fs))
    shown = display(x, fs, 250.0)[mid].max()
    old = clean(x, fs)[mid].max()
    assert shown > 0.95 and old < 0.85, (shown, old)
