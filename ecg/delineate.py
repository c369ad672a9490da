"""Global wave boundaries on a multi-lead median beat.

IEC 60601-2-25 measures global intervals from the earliest onset to the latest
offset over all leads. Taking the literal minimum/maximum of 12 independently
delineated leads is fragile (one noisy lead moves the result), so:

* QRS: the spatial velocity ``sv(t) = sqrt(sum_leads (dx/dt)^2)`` of the 40 Hz
  low-passed median beat (a multi-lead detection function in the tradition of
  the Frank-lead spatial velocity; cf. Xue Q, Reddy S, "Algorithms for
  computerized QT analysis", J Electrocardiol 1998;30 Suppl:181-186). The QRS
  is the run where ``sv`` exceeds 5 % of its peak above baseline (gaps < 20 ms
  closed); each edge is then moved outward to the knee where ``sv`` meets the
  baseline (trapezium-area knee, averaged over three search spans of 20-40 ms,
  twice that after the QRS where terminal forces are slow). Being a
  sum over leads, the run starts with the EARLIEST lead and ends with the LATEST.
* T end: the trapezium-area method (Zhang Q et al., IEEE Trans Biomed Eng
  2006;53:1285-1291) in EACH lead with a clear T wave, then the 2nd-latest
  over leads, capped at 60 ms beyond the median lead: the IEC "latest offset"
  without one noisy lead (or a U wave) deciding.
* P wave: searched from 300 ms before the QRS (never before the previous
  beat's T end) on a 20 Hz RMS envelope; present only if its peak is at least
  ``P_MIN_MV`` and it does not run into the previous T; edges from the spatial
  velocity as for the QRS.

Pediatric time scale. The ms and Hz constants are adult widths. Unscaled, a
narrow, fast complex was read long (LUDB time-compressed x2, i.e. real
morphology at twice the rate: QRS +38 ms, QT +51 ms): the 20 ms gap closing and
the 120/160 ms QRS window joined the P or T wave to the QRS run, and the 40 Hz
low-pass and 20-80 ms knee spans smeared a 45 ms QRS. Each constant is therefore
multiplied by a dimensionless time scale (``SCALE_MIN``..1; divided, for
low-pass cut-offs), always 1 at adult widths and rates:

* ``rate`` = RR / ``RR_REF_S``: windows and gaps that keep a search off the
  neighbouring waves (P-R and S-T segments shorten with the rate);
* ``shape`` = max(QRS core width / ``CORE_REF_MS``, ``rate``): QRS and P knee
  spans and low-passes. A narrow adult QRS at rest, or an adult tachycardia,
  keeps the adult constants; only a narrow AND fast complex is scaled;
* T: QRS onset to T peak / ``T_PEAK_REF_MS``, the T wave's own time base.

The constants below were tuned on LUDB (100 records, cardiologists' global
reference, see ``bench.intervals``; the scales on the same records compressed
x1.5 and x2, ``--compress``). All boundaries are sample offsets inside the
median beat (fs Hz).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecg import filters

# Tuned constants (fractions are of each wave's peak spatial velocity above baseline).
QRS_LP_HZ = 40.0  # Hz
QRS_FRAC = 0.05
QRS_KNEE_MS = 30.0  # knee search span beyond the threshold crossing
QRS_KNEE_SPANS = (0.67, 1.0, 1.33)  # averaged knees: less sensitive to a flat shoulder
QRS_OFF_SPAN_SCALE = 2.0  # offset searched twice as far: terminal QRS forces are slow
T_LP_HZ = 15.0  # Hz
T_TR_MS = 200.0  # trapezium t_r: steepest T descent + this
T_PEAK_QTMAX = 0.75  # T peak searched up to this fraction of the longest plausible QT
T_LEAD_RANK = 2  # global T end = 2nd-latest lead
T_MIN_REL = 0.2  # leads whose T is >= 20 % of the largest T ...
T_MIN_MV = 0.05  # ... and >= 0.05 mV take part
T_SPREAD_CAP_MS = 60.0  # global T end at most this far beyond the median lead's T end
P_LP_HZ = 20.0  # Hz
P_FRAC = 0.2
P_KNEE_MS = 20.0
P_MIN_MV = 0.03  # RMS envelope (mV): weaker P waves count as absent
GAP_MS = 20.0  # gaps closed inside a wave run
# Time scales (dimensionless, SCALE_MIN..1): every ms constant above is an adult width and is
# multiplied by one of them, so a narrow, fast pediatric complex is delineated like an adult one.
SCALE_MIN = 0.4  # a newborn's QRS/QT is ~0.4-0.6 of an adult's
RR_REF_S = 0.8  # s: rate scale = RR / this (75/min and slower: adult constants)
CORE_LP_HZ = 100.0  # Hz: wide band, so the core width follows the QRS and not the filter
CORE_FRAC = 0.1  # QRS core: spatial velocity above 10 % of its peak ...
CORE_GAP_MS = 6.0  # ... with only short dips bridged (never a P-R or S-T segment)
CORE_REF_MS = 70.0  # QRS core width of an adult (LUDB: median 76, 10th percentile 62 ms)
T_PEAK_REF_MS = 320.0  # QRS onset to T peak of an adult (LUDB median)


@dataclass(frozen=True)
class Fiducials:
    """Sample offsets in the median beat; None when not found."""

    qrs_on: int | None = None
    qrs_off: int | None = None
    t_peak: int | None = None
    t_end: int | None = None
    p_on: int | None = None
    p_peak: int | None = None
    p_off: int | None = None
    p_amp_mv: float = 0.0


def spatial_velocity(beat: np.ndarray, fs: float, lp_hz: float) -> np.ndarray:
    """sqrt(sum over leads of (dx/dt)^2) after a zero-phase low-pass (mV/s)."""
    x = filters.lowpass(beat, fs, cutoff_hz=lp_hz, order=2)
    d = np.gradient(x, axis=0) * fs
    return np.sqrt(np.sum(d * d, axis=1))


def _run_around(mask: np.ndarray, center: int, gap: int) -> tuple[int, int] | None:
    """Start/end of the supra-threshold run containing (or nearest to) ``center``.

    Gaps shorter than ``gap`` samples are bridged (morphological closing).
    """
    idx = np.flatnonzero(mask)
    if len(idx) == 0:
        return None
    breaks = np.flatnonzero(np.diff(idx) > gap)
    starts = np.r_[idx[0], idx[breaks + 1]]
    ends = np.r_[idx[breaks], idx[-1]]
    inside = np.flatnonzero((starts <= center) & (ends >= center))
    k = inside[0] if len(inside) else int(np.argmin(np.minimum(abs(starts - center), abs(ends - center))))
    return int(starts[k]), int(ends[k])


def _wave_run(sv: np.ndarray, lo: int, hi: int, center: int, frac: float, gap: int,
              base: float) -> tuple[int, int] | None:
    """Run where sv exceeds ``base + frac*(peak-base)`` within [lo, hi)."""
    lo, hi = max(lo, 0), min(hi, len(sv))
    if hi - lo < 3:
        return None
    seg = sv[lo:hi]
    thr = base + frac * (seg.max() - base)
    run = _run_around(seg >= thr, center - lo, gap)
    return None if run is None else (run[0] + lo, run[1] + lo)


def knee(s: np.ndarray, t_m: int, t_r: int) -> int:
    """Trapezium-area knee (Zhang 2006, see ``trapezium_end``) in either direction:
    ``t_r`` > ``t_m`` finds where a descending curve flattens after ``t_m``;
    ``t_r`` < ``t_m`` finds where an ascending curve starts before ``t_m``."""
    t_r = int(np.clip(t_r, 0, len(s) - 1))
    if abs(t_r - t_m) < 2:
        return t_r
    t = np.arange(t_m, t_r + (1 if t_r > t_m else -1), 1 if t_r > t_m else -1)
    area = (s[t_m] - s[t]) * np.abs(2 * t_r - t_m - t)
    return int(t[np.argmax(area)])


def rate_scale(rr_s: float) -> float:
    """RR (s) over ``RR_REF_S``, clipped to ``SCALE_MIN``..1: scales the windows that keep
    a wave search off its neighbours (P-R and S-T segments shorten with the rate)."""
    return float(np.clip(rr_s / RR_REF_S, SCALE_MIN, 1.0))


def qrs_core_scale(beat: np.ndarray, fs: float, r: int) -> float:
    """Width of the QRS core (wide-band spatial velocity above ``CORE_FRAC`` of its peak)
    over an adult's ``CORE_REF_MS``, clipped to ``SCALE_MIN``..1 (dimensionless).

    Unlike the ms constants it scales, this width shrinks in proportion with the QRS
    (LUDB time-compressed x2: 0.51 of the native width, 10th-90th percentile 0.49-0.57).
    """
    sv = spatial_velocity(beat, fs, CORE_LP_HZ)
    base = float(np.percentile(sv, 10))
    lo, hi = max(r - int(0.12 * fs), 0), r + int(0.16 * fs)
    center = lo + int(np.argmax(sv[lo:r + int(0.08 * fs)]))
    run = _wave_run(sv, lo, hi, center, CORE_FRAC, max(1, int(CORE_GAP_MS * fs / 1000)), base)
    if run is None:
        return 1.0
    width_ms = (run[1] - run[0]) * 1000.0 / fs
    return float(np.clip(width_ms / CORE_REF_MS, SCALE_MIN, 1.0))


def delineate_qrs(beat: np.ndarray, fs: float, r: int, shape: float = 1.0,
                  rate: float = 1.0) -> tuple[int, int] | None:
    """Global QRS onset/offset (samples) around the alignment point ``r``.

    The QRS extent is the spatial-velocity run above ``QRS_FRAC`` of its peak
    (searched from 120 to 160 ms around ``r`` and bridging ``GAP_MS``, both times
    ``rate``: at fast rates a wider window or gap would join the P or T wave);
    onset and offset are then moved outward to the knee where the velocity
    meets the baseline (mean of the knees found within ``QRS_KNEE_SPANS`` x
    ``QRS_KNEE_MS``). Knee spans and the low-pass follow the QRS's own time
    scale ``shape`` (``QRS_KNEE_MS`` x shape, ``QRS_LP_HZ`` / shape).
    """
    sv = spatial_velocity(beat, fs, QRS_LP_HZ / shape)
    base = float(np.percentile(sv, 10))
    lo, hi = r - int(0.12 * rate * fs), r + int(0.16 * rate * fs)
    seg = sv[max(lo, 0):hi]
    center = max(lo, 0) + int(np.argmax(seg[: int(0.2 * rate * fs)]))
    run = _wave_run(sv, lo, hi, center, QRS_FRAC, int(GAP_MS * rate * fs / 1000), base)
    if run is None:
        return None
    spans = [int(f * QRS_KNEE_MS * shape * fs / 1000) for f in QRS_KNEE_SPANS]
    on = np.mean([knee(sv, run[0], run[0] - k) for k in spans])
    off = np.mean([knee(sv, run[1], run[1] + int(k * QRS_OFF_SPAN_SCALE)) for k in spans])
    return int(round(on)), int(round(off))


def _envelope(beat: np.ndarray, fs: float, lp_hz: float, ref: int) -> np.ndarray:
    """RMS over leads of the low-passed beat minus its level at sample ``ref`` (mV)."""
    x = filters.lowpass(beat, fs, cutoff_hz=lp_hz, order=2)
    x = x - x[max(ref, 0)]
    return np.sqrt(np.mean(x * x, axis=1))


def trapezium_end(s: np.ndarray, t_m: int, t_r: int) -> int:
    """Wave end by the trapezium-area method (Zhang Q et al., IEEE Trans Biomed Eng
    2006;53:1285-1291 "An algorithm for robust and efficient location of T-wave
    ends in electrocardiograms"): the t in [t_m, t_r] maximising
    0.5 * (s(t_m) - s(t)) * (2 t_r - t_m - t), with t_m the steepest descent after
    the peak of a positive (descending) curve ``s`` and t_r a point beyond the end."""
    t = np.arange(t_m, t_r + 1)
    area = (s[t_m] - s[t]) * (2 * t_r - t_m - t)
    return int(t[np.argmax(area)])


def qt_max_s(rr_s: float) -> float:
    """Longest QT searched (s): QTc 600 ms by Bazett at this RR, capped at RR - 40 ms."""
    return min(0.60 * np.sqrt(rr_s), rr_s - 0.04)


def delineate_t(beat: np.ndarray, fs: float, qrs_on: int, qrs_off: int,
                rr_s: float, r: int | None = None, rr_short_s: float | None = None,
                rate: float = 1.0) -> tuple[int, int] | None:
    """T peak (of the RMS envelope) and global T end.

    The T peak is searched from QRS offset + 60 ms (15 % of RR when shorter) to 75 % of the longest
    plausible QT (``qt_max_s``) so the next beat's P wave is never taken for T.
    T end: the trapezium-area end (Zhang 2006) found in EACH lead with a clear
    T wave, then a robust "latest" over leads (``T_LEAD_RANK``: the k-th latest),
    which follows the IEC global definition without being ruled by one lead.
    With irregular RR (AF), ``rr_short_s`` (a short RR, s) stops the search
    100 ms before the next beat's R at that RR, so a following QRS is not
    taken for the T wave's tail. The envelope's low-pass is ``T_LP_HZ`` /
    ``rate`` (``rate_scale``); the per-lead ends scale with the T wave's
    own time base, QRS onset to T peak over ``T_PEAK_REF_MS`` (``SCALE_MIN``..1),
    which follows the QT (LUDB: r = 0.84) at any rate or age.
    """
    env = _envelope(beat, fs, T_LP_HZ / rate, qrs_on - int(0.01 * fs))
    lo = qrs_off + int(min(0.06, 0.15 * rr_s) * fs)  # ST start; shorter at infant rates
    hi = min(len(beat) - int(0.01 * fs), qrs_on + int(qt_max_s(rr_s) * fs))
    if r is not None and rr_short_s is not None:
        hi = max(min(hi, r + int((rr_short_s - 0.1) * fs)), lo + int(0.1 * fs))
    hi_peak = min(hi, qrs_on + int(T_PEAK_QTMAX * qt_max_s(rr_s) * fs))
    if hi_peak - lo < int(0.03 * fs):
        return None
    peak = lo + int(np.argmax(env[lo:hi_peak]))
    if hi - peak < 3:
        return None
    scale = float(np.clip((peak - qrs_on) * 1000.0 / fs / T_PEAK_REF_MS, SCALE_MIN, 1.0))
    ends = per_lead_t_ends(beat, fs, qrs_on, lo, hi_peak, hi, scale)
    if len(ends) == 0:
        return None
    k = min(int(T_LEAD_RANK), len(ends))
    latest = int(np.sort(ends)[-k])
    # one lead's long tail (U wave?) is not T
    cap = int(np.median(ends) + T_SPREAD_CAP_MS * scale * fs / 1000)
    return peak, min(latest, cap)


def per_lead_t_ends(beat: np.ndarray, fs: float, qrs_on: int, lo: int, hi_peak: int, hi: int,
                    scale: float = 1.0) -> np.ndarray:
    """Trapezium-area T end in each lead whose T amplitude is at least
    ``T_MIN_REL`` of the largest T (and >= ``T_MIN_MV``); samples. ``scale`` (time
    scale of the T wave) multiplies ``T_TR_MS`` and divides ``T_LP_HZ``."""
    x = filters.lowpass(beat, fs, cutoff_hz=T_LP_HZ / scale, order=2)
    x = x - x[max(qrs_on - int(0.01 * fs), 0)]
    seg = x[lo:hi_peak]
    pk = lo + np.argmax(np.abs(seg), axis=0)
    amp = np.abs(x[pk, np.arange(x.shape[1])])
    keep = (amp >= T_MIN_REL * amp.max()) & (amp >= T_MIN_MV)
    ends = []
    for lead in np.flatnonzero(keep):
        y = x[:, lead] * np.sign(x[pk[lead], lead])
        p = int(pk[lead])
        if hi - p < 3:
            continue
        t_m = p + int(np.argmin(np.gradient(y[p:hi])))
        t_r = min(hi, t_m + int(T_TR_MS * scale * fs / 1000))
        ends.append(t_r if t_r - t_m < 2 else trapezium_end(y, t_m, t_r))
    return np.asarray(ends, dtype=int)


def delineate_p(beat: np.ndarray, fs: float, qrs_on: int,
                prev_t_end: int | None = None, scale: float = 1.0) -> tuple[int, int, int, float] | None:
    """P onset, peak, offset and envelope amplitude (mV) before the QRS; None if no P.

    The search starts 300 ms before the QRS but never before the previous
    beat's T end (``prev_t_end``, from T end - RR), so at fast pediatric rates
    the preceding T wave is not taken for the P wave; a P wave whose run starts
    at that edge (fused with the T) is absent. All ms/Hz constants are scaled by
    ``scale`` (the ``shape`` time scale, see the module docstring).
    """
    env = _envelope(beat, fs, P_LP_HZ / scale, qrs_on - int(0.005 * fs))
    lo = max(qrs_on - int(0.30 * scale * fs), int(0.01 * fs), prev_t_end or 0)
    hi = qrs_on - int(0.02 * scale * fs)
    if hi - lo < int(0.04 * scale * fs):
        return None
    peak = lo + int(np.argmax(env[lo:hi]))
    amp = float(env[peak])
    if amp < P_MIN_MV:
        return None
    sv = spatial_velocity(beat, fs, P_LP_HZ / scale)
    base = float(np.percentile(sv[lo:hi], 5))
    run = _wave_run(sv, lo, qrs_on, peak, P_FRAC, int(GAP_MS * scale * fs / 1000), base)
    if run is None or run[0] <= lo:  # starts at the window's edge: P fused with the previous T
        return None
    k = int(P_KNEE_MS * scale * fs / 1000)
    on = knee(sv, run[0], run[0] - k) if k > 0 else run[0]
    off = run[1]  # the knee overshoots towards the QRS (LUDB: +16 ms); threshold end: +11 ms
    return on, peak, min(off, qrs_on - 1), amp


def delineate(beat: np.ndarray, fs: float, r: int, rr_s: float,
              rr_short_s: float | None = None) -> Fiducials:
    """All global fiducials of a (samples, leads) median beat aligned at sample ``r``.

    ``rr_s`` (s) is the dominant RR interval; it bounds the T-wave search, as
    does ``rr_short_s`` (a short RR of an irregular rhythm) when given, and
    sets the ``rate`` time scale (module docstring).
    """
    rate = rate_scale(rr_s)
    shape = max(qrs_core_scale(beat, fs, r), rate)
    qrs = delineate_qrs(beat, fs, r, shape, rate)
    if qrs is None:
        return Fiducials()
    t = delineate_t(beat, fs, *qrs, rr_s, r, rr_short_s, rate)
    prev_t_end = None if t is None else t[1] - int(round(rr_s * fs))
    p = delineate_p(beat, fs, qrs[0], prev_t_end, shape)
    return Fiducials(
        qrs_on=qrs[0], qrs_off=qrs[1],
        t_peak=t[0] if t else None, t_end=t[1] if t else None,
        p_on=p[0] if p else None, p_peak=p[1] if p else None, p_off=p[2] if p else None,
        p_amp_mv=p[3] if p else 0.0,
    )
