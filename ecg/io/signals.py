"""Shared checks and clean-up for decoded signals: limits, units, missing samples.

Missing-sample policy (WFDB format 212 stores a sentinel that wfdb returns as
NaN; CSV may hold ``nan``/empty cells): a lead with no finite sample at all is
refused. Gaps up to ``MAX_INTERPOLATED_GAP_S`` are filled by linear
interpolation; longer gaps are held at the last valid value, i.e. made flat,
so the quality stage reports them as signal loss rather than inventing ECG.
Each fill adds a warning naming the lead.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from ecg.io import limits
from ecg.types import Demographics, Recording, UnreadableRecording

#: Factor converting a voltage unit to mV (keys are lower-case; ``µ``/``μ`` -> ``u``).
_TO_MV = {"mv": 1.0, "uv": 1e-3, "v": 1e3, "nv": 1e-6, "millivolt": 1.0, "microvolt": 1e-3, "volt": 1e3}


def unit_to_mv(unit: str | None) -> float | None:
    """Factor to mV for a voltage unit string; None when it is not a voltage unit.

    A missing/empty unit means mV (the WFDB default).
    """
    if unit is None or not unit.strip():
        return 1.0
    key = unit.strip().lower().replace("µ", "u").replace("μ", "u")
    return _TO_MV.get(key)


def check_fs(fs: float) -> float:
    """Refuse implausible sampling rates (Hz)."""
    try:
        fs = float(fs)
    except (TypeError, ValueError):
        raise UnreadableRecording(f"sampling rate {fs!r} is not a number") from None
    if not np.isfinite(fs) or not limits.MIN_FS_HZ <= fs <= limits.MAX_FS_HZ:
        raise UnreadableRecording(
            f"sampling rate {fs:g} Hz is not plausible "
            f"(expected {limits.MIN_FS_HZ:g}-{limits.MAX_FS_HZ:g} Hz)")
    return fs


def check_declared_shape(n_samples: int, n_leads: int, fs: float) -> None:
    """Refuse declared sizes beyond the limits before anything is allocated."""
    if n_leads <= 0:
        raise UnreadableRecording("the recording declares no signals")
    if n_leads > limits.MAX_LEADS:
        raise UnreadableRecording(f"{n_leads} signals declared; at most {limits.MAX_LEADS} are accepted")
    if n_samples <= 0:
        raise UnreadableRecording("the recording holds no samples (zero-length signal)")
    duration_s = n_samples / fs
    if duration_s > limits.MAX_DURATION_S:
        raise UnreadableRecording(
            f"the recording declares {describe_duration(duration_s)}; at most "
            f"{describe_duration(limits.MAX_DURATION_S)} are accepted: split it into shorter files")
    if n_samples * n_leads > limits.MAX_SAMPLE_VALUES:
        raise UnreadableRecording(
            f"the recording declares {n_samples} samples x {n_leads} signals; at most "
            f"{limits.MAX_SAMPLE_VALUES} sample values are accepted")


def describe_duration(seconds: float) -> str:
    """Human duration: ``8.2 s``, ``12 min``, ``2.5 h``."""
    if seconds < 120:
        return f"{seconds:.3g} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.3g} min"
    if seconds < 100 * 3600:
        return f"{seconds / 3600:.3g} h"
    return f"{seconds / 3600:,.0f} h"


def _fill_lead(x: np.ndarray, max_gap: int) -> tuple[int, int]:
    """Fill non-finite runs in ``x`` in place; returns (short gaps interpolated, long gaps held)."""
    bad = ~np.isfinite(x)
    edges = np.diff(np.concatenate(([0], bad.view(np.int8), [0])))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    good_idx = np.flatnonzero(~bad)
    x[bad] = np.interp(np.flatnonzero(bad), good_idx, x[good_idx])
    long_gaps = 0
    for a, b in zip(starts, stops):
        if b - a > max_gap:
            long_gaps += 1
            x[a:b] = x[a - 1] if a > 0 else x[b] if b < len(x) else 0.0
    return len(starts) - long_gaps, long_gaps


def fill_missing(signals: np.ndarray, fs: float, leads: tuple[str, ...]) -> list[str]:
    """Apply the missing-sample policy in place; returns warnings. Refuses all-missing leads."""
    warnings: list[str] = []
    finite = np.isfinite(signals)
    if finite.all():
        return warnings
    max_gap = max(1, int(round(limits.MAX_INTERPOLATED_GAP_S * fs)))
    for j, lead in enumerate(leads):
        missing = int(signals.shape[0] - finite[:, j].sum())
        if missing == 0:
            continue
        if missing == signals.shape[0]:
            raise UnreadableRecording(f"lead {lead} holds no valid samples (all values missing or not finite)")
        short, long_ = _fill_lead(signals[:, j], max_gap)
        text = f"{lead}: {missing} missing samples ({missing / fs:.3g} s)"
        if short:
            text += f"; {short} short gap(s) filled by linear interpolation"
        if long_:
            text += f"; {long_} gap(s) longer than {limits.MAX_INTERPOLATED_GAP_S:g} s held flat (signal lost there)"
        warnings.append(text)
    return warnings


def make_recording(
    signals: np.ndarray,
    fs: float,
    leads: tuple[str, ...],
    fmt: str,
    *,
    start_time: dt.datetime | None = None,
    demographics: Demographics | None = None,
    warnings: list[str] | tuple[str, ...] = (),
) -> Recording:
    """Validate a decoded (samples, leads) mV array and wrap it in a Recording."""
    signals = np.asarray(signals, dtype=np.float64)
    if signals.ndim != 2 or signals.shape[1] != len(leads):
        raise UnreadableRecording("decoded signal shape does not match the number of leads")
    if signals.shape[0] == 0:
        raise UnreadableRecording("the recording holds no samples (zero-length signal)")
    signals = np.ascontiguousarray(signals)
    notes = list(warnings) + fill_missing(signals, fs, leads)
    return Recording(
        signals=signals, fs=float(fs), leads=leads, format=fmt, start_time=start_time,
        demographics=demographics or Demographics(), warnings=tuple(notes))
