"""Zero-phase filters for ECG signals.

All functions take ``signal`` as (n,) or (n, leads) in mV and ``fs`` in Hz and
return a float64 array of the same shape. Filtering is forward-backward
(``scipy.signal.sosfiltfilt`` / ``filtfilt``) so that wave onsets and offsets
are not shifted in time, which interval measurement depends on.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import signal as sps

#: Default mains frequency in China (Hz); 60 is configurable per deployment.
MAINS_HZ = 50.0


@lru_cache(maxsize=64)
def _butter_sos(order: int, cutoff: tuple[float, ...], btype: Literal["lowpass", "highpass", "bandpass"],
                fs: float) -> npt.NDArray[np.float64]:
    wn = cutoff[0] if len(cutoff) == 1 else list(cutoff)
    sos: npt.NDArray[np.float64] = sps.butter(order, wn, btype=btype, fs=fs, output="sos")
    return sos


def _apply(sos: npt.NDArray[np.float64], x: np.ndarray) -> npt.NDArray[np.float64]:
    x = np.asarray(x, dtype=np.float64)
    padlen = min(3 * (2 * len(sos) + 1), x.shape[0] - 1)
    if padlen < 1:
        return x.copy()
    return sps.sosfiltfilt(sos, x, axis=0, padlen=padlen)


def highpass(signal: np.ndarray, fs: float, cutoff_hz: float = 0.5, order: int = 2) -> npt.NDArray[np.float64]:
    """Remove baseline wander below ``cutoff_hz`` (Hz)."""
    return _apply(_butter_sos(order, (cutoff_hz,), "highpass", float(fs)), signal)


def lowpass(signal: np.ndarray, fs: float, cutoff_hz: float = 40.0, order: int = 4) -> npt.NDArray[np.float64]:

    """Attenuate content above ``cutoff_hz`` (Hz); capped below Nyquist."""
    cutoff_hz = min(cutoff_hz, 0.45 * fs)
    return _apply(_butter_sos(order, (cutoff_hz,), "lowpass", float(fs)), signal)


def bandpass(signal: np.ndarray, fs: float, low_hz: float, high_hz: float, order: int = 2) -> np.ndarray:
    """Band-pass ``low_hz``..``high_hz`` (Hz); the upper edge is capped below Nyquist."""
    high_hz = min(high_hz, 0.45 * fs)
    return _apply(_butter_sos(order, (low_hz, high_hz), "bandpass", float(fs)), signal)


def notch(signal: np.ndarray, fs: float, mains_hz: float = MAINS_HZ, quality: float = 30.0) -> np.ndarray:
    """Remove mains interference at ``mains_hz`` (Hz). No-op when mains is above Nyquist."""
    x = np.asarray(signal, dtype=np.float64)
    if mains_hz >= fs / 2:
        return x.copy()
    b, a = sps.iirnotch(mains_hz, quality, fs=fs)
    if x.shape[0] <= 3 * max(len(a), len(b)):
        return x.copy()
    return sps.filtfilt(b, a, x, axis=0)


#: Printed/displayed ECG band (Kligfield P et al., AHA/ACCF/HRS Recommendations for the
#: Standardization and Interpretation of the ECG, Part I, Circulation 2007;115:1306-1324:
#: 0.05 Hz low-frequency cut-off; high-frequency response >= 150 Hz in adults and
#: adolescents, >= 250 Hz in children, whose QRS is narrow and sharp).
DISPLAY_LOW_HZ = 0.05
ADULT_DISPLAY_HIGH_HZ = 150.0
CHILD_DISPLAY_HIGH_HZ = 250.0


def display_band(fs: float, high_hz: float = ADULT_DISPLAY_HIGH_HZ) -> tuple[float, float]:
    """The band (Hz) ``display`` shows at ``fs``: the upper edge is capped at 0.45 fs."""
    return DISPLAY_LOW_HZ, min(high_hz, 0.45 * fs)


def display(signal: np.ndarray, fs: float, high_hz: float = ADULT_DISPLAY_HIGH_HZ,
            mains_hz: float = MAINS_HZ) -> np.ndarray:
    """The printed tracing: ``display_band`` (0.05 Hz to ``high_hz`` where fs allows) plus the mains
    notch. A 40 Hz low-pass would lower a child's QRS amplitudes on paper."""
    low, high = display_band(fs, high_hz)
    x = np.asarray(signal, dtype=np.float64)
    if x.shape[0] > 8:
        # Gustafsson's initial conditions: the 0.05 Hz pole's time constant (3 s) is as long as the
        # window, and padded edges would leave a slow transient that bends the first seconds.
        b, a = sps.butter(1, low, btype="highpass", fs=float(fs))
        x = sps.filtfilt(b, a, x, axis=0, method="gust")
    x = notch(x, fs, mains_hz)
    return lowpass(x, fs, cutoff_hz=high, order=2) if high < 0.45 * fs else x


def clean(signal: np.ndarray, fs: float, mains_hz: float = MAINS_HZ) -> np.ndarray:
    """Display/measurement cleaning: 0.5 Hz baseline removal, mains notch, 40 Hz low-pass.

    Used for delineation where a stable baseline matters more than the
    diagnostic band's low-frequency fidelity.
    """
    x = highpass(signal, fs, cutoff_hz=0.5)
    x = notch(x, fs, mains_hz)
    return lowpass(x, fs, cutoff_hz=40.0)


#: The reader's filter choices (Hz): high-pass 0.05 (the diagnostic band's low edge, AHA 2007)
#: or 0.5 (steadier baseline, flattens ST a little); low-pass 40 (monitoring), 100 or 150 (diagnostic).
VIEWER_HIGHPASS_HZ = (0.05, 0.5)
VIEWER_LOWPASS_HZ = (40.0, 100.0, 150.0)


def viewer(signal: np.ndarray, fs: float, highpass_hz: float | None, lowpass_hz: float | None,
           notch_hz: float | None) -> np.ndarray:
    """The tracing as the reader chose to see it: optional high-pass, mains notch and low-pass (Hz).

    0.05 Hz uses the first-order zero-phase filter of ``display`` (Gustafsson's initial
    conditions: its 3 s time constant is as long as the window); 0.5 Hz the 2nd-order
    Butterworth of ``clean``; the low-pass is 4th-order at 40 Hz (as ``clean``), 2nd-order at
    100/150 Hz (as ``display``), capped at 0.45 ``fs``; ``None`` leaves that stage out.
    """
    x = np.asarray(signal, dtype=np.float64)
    if highpass_hz is not None and x.shape[0] > 8:
        if highpass_hz < 0.1:
            b, a = sps.butter(1, highpass_hz, btype="highpass", fs=float(fs))
            x = sps.filtfilt(b, a, x, axis=0, method="gust")
        else:
            x = highpass(x, fs, cutoff_hz=highpass_hz)
    if notch_hz is not None:
        x = notch(x, fs, notch_hz)
    if lowpass_hz is not None and lowpass_hz < 0.45 * fs:
        x = lowpass(x, fs, cutoff_hz=lowpass_hz, order=4 if lowpass_hz <= 40.0 else 2)
    return x
