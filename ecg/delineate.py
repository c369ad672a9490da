"""Global and per-lead wave boundaries on a multi-lead median beat.

Convention: the commercial one (GE 12SL, Glasgow, IEC 60601-2-25 "global"
intervals): all 12 leads measured together on the median beats, from the onset
that starts the wave to the offset that ends it, but not decided by the single
earliest or latest lead. The literal earliest onset / latest offset over 12
separately marked leads runs long (LUDB's cardiologists: lead II QRS median 92 ms,
min/max over 12 leads 120 ms; 12SL on normal adults ~95 ms). The Glasgow program
"forms a single combined function from the 12 average beats" for a provisional
overall QRS onset and termination by thresholding, then searches each lead for its
own onset and termination from there, leaving a lead's isoelectric start or end
outside its QRS as the CSE group recommended (Macfarlane PW et al., Methods Inf Med
1990;29:354-361; Glasgow 12-lead analysis appendix of device manuals; CSE Working
Party, Willems JL et al., J Am Coll Cardiol 1985;5:1261-1275). Here:

* Every median beat is delineated at ``FS_INTERNAL`` (500 Hz; ``to_internal``), so
  the same rules hold at 100, 500 and 1000 Hz and boundaries are sub-sample at 100 Hz.
* Provisional overall QRS: the spatial velocity ``sv(t) = sqrt(sum_leads (dx/dt)^2)``
  of the 40 Hz low-passed median beat (cf. Xue Q, Reddy S, J Electrocardiol
  1998;30 Suppl:181-186), its run above 5 % of its peak (gaps < 20 ms closed), each
  edge moved out to the knee where ``sv`` meets the baseline. Being a sum over leads
  it starts with the EARLIEST lead and ends with the LATEST (``delineate_qrs``).
* Per lead (``per_lead_qrs``): from those provisional edges inward to where the
  lead's own slope reaches ``QRS_LEAD_FRAC`` of its peak slope (sub-sample).
* Global QRS onset/offset: a vote over leads (``vote``): the time by which
  ``VOTE_SHARE`` of the leads (3 of 12) have begun, and the last time 3 leads still show it.
  One or two leads (a noisy lead, or a pair of neighbours such as V1-V2 seeing the
  same early force) cannot set the global edge alone; everything that 3 of 12 leads
  agree on is inside. Rule chosen from the convention, not fitted; what it gives on
  PTB-XL against 12SL is in ``ecg.measure``.
* T end: the tangent method (``tangent_end``, the clinical teaching method) in each
  lead whose T is at least ``T_MIN_REL`` of the largest and 0.1 mV, then the same
  vote: the 3rd-latest lead's T end (of 12 leads), capped at 60 ms beyond the median
  lead's: the global "latest offset" without one or two leads (a U wave, a flat T) deciding.
  A lead's tangent meets the TP level instead of the PR level when its T levels off above the
  PR level by more than ``T_LEVEL_REL`` of its height (``tangent_end``).
* P wave: searched from 300 ms before the QRS on a 20 Hz RMS envelope; present only
  if its peak is at least ``P_MIN_MV``; edges from the spatial velocity as for the
  QRS; each lead's own edges inside it (``per_lead_p``). At fast rates the P wave
  sits on the preceding T wave (``delineate_p``).

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

The spatial-velocity constants were tuned on LUDB against the cardiologists' global
(min/max) reference, which is right for the provisional overall edges; the per-lead
fractions (``QRS_LEAD_FRAC``, ``P_LEAD_FRAC``) on LUDB's per-lead annotations
(``bench.intervals``, each lead against the same lead's marks; the scales on the same
records compressed x1.5 and x2, ``--compress``). All boundaries are sample offsets
inside the median beat (fs Hz); ``Fiducials.exact_ms`` and ``LeadFiducials`` keep
the sub-sample positions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import numpy.typing as npt

from scipy.signal import find_peaks, resample_poly

from ecg import filters

# Tuned constants (fractions are of each wave's peak spatial velocity above baseline).
QRS_LP_HZ = 40.0  # Hz
QRS_FRAC = 0.05
QRS_KNEE_MS = 30.0  # knee search span beyond the threshold crossing
QRS_KNEE_SPANS = (0.67, 1.0, 1.33)  # averaged knees: less sensitive to a flat shoulder
QRS_OFF_SPAN_SCALE = 2.0  # offset searched twice as far: terminal QRS forces are slow
T_LP_HZ = 15.0  # Hz
T_TR_MS = 200.0  # T end searched up to the steepest T descent + this
T_PEAK_QTMAX = 0.75  # T peak searched up to this fraction of the longest plausible QT
T_MIN_REL = 0.2  # leads whose T is >= 20 % of the largest T ...
T_MIN_MV = 0.1  # ... and >= 0.1 mV (a lower T is "flat", Minnesota Code 5-3) take part
T_LOW_MV = 0.05  # ... or, when no lead reaches that, >= 0.05 mV
T_SPREAD_CAP_MS = 60.0  # global T end at most this far beyond the median lead's T end
T_LEVEL_REL = 0.35  # a T levelling off above the PR level by this fraction of its height ends at that level
P_LP_HZ = 20.0  # Hz
P_FRAC = 0.2
P_KNEE_MS = 20.0
P_MIN_MV = 0.03  # RMS envelope (mV): weaker P waves count as absent
P_ON_T_PROMINENCE_MV = 0.02  # a P wave on the T's down-slope stands out from it by this much (mV)
P_ON_T_REGULARITY = 0.9  # ... sought only when the short RR (20th percentile) is >= 0.9 x the median RR
GAP_MS = 20.0  # gaps closed inside a wave run
FS_INTERNAL = 500.0  # Hz: every median beat is delineated at this rate (``to_internal``)
VOTE_SHARE = 0.25  # global edges: a quarter of the leads (3 of 12, 2 of 8, 1 of 3) must agree (``vote``)
QRS_LEAD_FRAC = 0.05  # a lead's QRS starts/ends where its slope reaches this fraction of its peak slope
QRS_LEAD_MIN_MV = 0.1  # leads with a QRS under this (peak to peak) give no per-lead boundary
QRS_LEAD_PAD_MS = 4.0  # per-lead search reaches this far beyond the provisional overall QRS
P_LEAD_FRAC = 0.3
P_LEAD_MIN_MV = 0.04
P_LEAD_PAD_MS = 10.0
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
    # Sub-sample positions (ms from the beat's start) of the fiducials above; intervals are
    # measured on these (at 100 Hz one sample is 10 ms). Keys as the field names.
    exact_ms: dict[str, float] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, eq=False)
class LeadFiducials:
    """Per-lead boundaries on the median beat: arrays (leads,) of sub-sample positions in
    samples at the median beat's fs (float; NaN where the lead has no measurable wave).

    QRS onset/offset and T end are each lead's own; P onset/offset are each lead's
    own where the P wave is visible in it (``per_lead_p``). The global ``Fiducials`` are a
    vote over these (module docstring)."""

    qrs_on: np.ndarray
    qrs_off: np.ndarray
    t_end: np.ndarray
    p_on: np.ndarray
    p_off: np.ndarray


def spatial_velocity(beat: np.ndarray, fs: float, lp_hz: float) -> npt.NDArray[np.float64]:
    """sqrt(sum over leads of (dx/dt)^2) after a zero-phase low-pass (mV/s)."""
    x = filters.lowpass(beat, fs, cutoff_hz=lp_hz, order=2)
    d = np.gradient(x, axis=0) * fs
    sq: npt.NDArray[np.float64] = np.sum(d * d, axis=1)
    return np.sqrt(sq)


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
    """Trapezium-area knee in either direction: the t between ``t_m`` and ``t_r`` maximising
    (s(t_m) - s(t)) * |2 t_r - t_m - t| (Zhang Q et al., IEEE Trans Biomed Eng
    2006;53:1285-1291, there for the T end; here for QRS and P edges of the spatial velocity):
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


def _envelope(beat: np.ndarray, fs: float, lp_hz: float, ref: int) -> npt.NDArray[np.float64]:
    """RMS over leads of the low-passed beat minus its level at sample ``ref`` (mV)."""
    x = filters.lowpass(beat, fs, cutoff_hz=lp_hz, order=2)
    x = x - x[max(ref, 0)]
    sq: npt.NDArray[np.float64] = np.mean(x * x, axis=1)
    return np.sqrt(sq)


def tangent_end(y: np.ndarray, t_m: int, t_r: int, peak_mv: float | None = None) -> float:
    """T end by the tangent method: where the tangent at the steepest descent ``t_m`` of a
    positive (descending) T wave ``y`` meets the isoelectric baseline; samples, sub-sample,
    at most ``t_r``.

    The baseline is the PR level, y = 0, unless the T wave levels off above it by more than
    ``T_LEVEL_REL`` of its height ``peak_mv`` (the lowest point between ``t_m`` and ``t_r``):
    then the TP segment is the isoelectric line (baseline wander, or a low T running into a U
    wave) and the tangent meets that level. Measured to the PR level instead, such a T read
    up to 110 ms late against GE 12SL (PTB-XL 00743, 00102) and QTc > 500 ms went out stat.

    This is how cardiologists are taught to measure QT by hand (Postema PG et al., "Accurate
    electrocardiographic assessment of the QT interval: teach the tangent", Heart Rhythm
    2008;5:1015-1018; Postema PG, Wilde AAM, Curr Cardiol Rev 2014;10:287-294) and it is
    insensitive to a slow tail or a U wave, which carry threshold and area methods late.
    On LUDB it agrees with each lead's annotated T end without bias (``bench.intervals``).
    """
    slope = -float(np.gradient(y)[t_m])
    if slope <= 0:
        return float(t_r)
    level = float(np.min(y[t_m:t_r + 1]))
    level = level if peak_mv is not None and level > T_LEVEL_REL * peak_mv else 0.0
    return float(min(t_r, t_m + max(float(y[t_m]) - level, 0.0) / slope))


def qt_max_s(rr_s: float) -> float:
    """Longest QT searched (s): QTc 600 ms by Bazett at this RR, capped at RR - 40 ms."""
    return min(0.60 * float(np.sqrt(rr_s)), rr_s - 0.04)


def delineate_t(beat: np.ndarray, fs: float, qrs_on: int, qrs_off: int,
                rr_s: float, r: int | None = None, rr_short_s: float | None = None,
                rate: float = 1.0) -> tuple[int, float, np.ndarray, float] | None:
    """T peak (of the RMS envelope), global T end, the per-lead T ends (samples), and the global
    T end read to the PR level in every lead (``tangent_end`` without its TP level): the later,
    conservative reading that bounds the next P search, so that a T tail levelling off above
    the PR level is never searched for a P wave.

    The T peak is searched from QRS offset + 60 ms (15 % of RR when shorter) to 75 % of the longest
    plausible QT (``qt_max_s``) so the next beat's P wave is never taken for T.
    T end: the tangent end (``tangent_end``) found in EACH lead with a clear
    T wave, then a robust "latest" over leads (the k-th latest, ``vote``),
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
    ends, ends_pr = per_lead_t_ends(beat, fs, qrs_on, lo, hi_peak, hi, scale)
    late, late_pr = vote(ends, latest=True), vote(ends_pr, latest=True)
    if late is None or late_pr is None:
        return None
    # one lead's long tail (U wave?) is not T
    cap = float(np.nanmedian(ends) + T_SPREAD_CAP_MS * scale * fs / 1000)
    cap_pr = float(np.nanmedian(ends_pr) + T_SPREAD_CAP_MS * scale * fs / 1000)
    return peak, min(late, cap), ends, min(late_pr, cap_pr)


def per_lead_t_ends(beat: np.ndarray, fs: float, qrs_on: int, lo: int, hi_peak: int, hi: int,
                    scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Tangent T end (``tangent_end``; samples, float; NaN for the other leads) in each lead whose
    T amplitude is at least ``T_MIN_REL`` of the largest T (and >= ``T_MIN_MV``), and the same
    tangent to the PR level alone. ``scale`` (time scale of the T wave) multiplies ``T_TR_MS``
    and divides ``T_LP_HZ``."""
    x = filters.lowpass(beat, fs, cutoff_hz=T_LP_HZ / scale, order=2)
    x = x - x[max(qrs_on - int(0.01 * fs), 0)]
    seg = x[lo:hi_peak]
    pk = lo + np.argmax(np.abs(seg), axis=0)
    amp = np.abs(x[pk, np.arange(x.shape[1])])
    keep = (amp >= T_MIN_REL * amp.max()) & (amp >= T_MIN_MV)
    if not keep.any():  # low T waves everywhere: the clearest of them still end the QT
        keep = (amp >= T_MIN_REL * amp.max()) & (amp >= T_LOW_MV)
    ends = np.full(x.shape[1], np.nan)
    ends_pr = ends.copy()
    for lead in np.flatnonzero(keep):
        y = x[:, lead] * np.sign(x[pk[lead], lead])
        p = int(pk[lead])
        if hi - p < 3:
            continue
        t_m = p + int(np.argmin(np.gradient(y[p:hi])))
        t_r = min(hi, t_m + int(T_TR_MS * scale * fs / 1000))
        ends[lead] = tangent_end(y, t_m, t_r, float(y[p]))
        ends_pr[lead] = tangent_end(y, t_m, t_r)
    return ends, ends_pr


def delineate_p(beat: np.ndarray, fs: float, qrs_on: int, prev_t_end: int | None = None,
                scale: float = 1.0, prev_t_peak: int | None = None) -> tuple[int, int, int, float] | None:
    """P onset, peak, offset and envelope amplitude (mV) before the QRS; None if no P.

    The search starts 300 ms before the QRS but never before the previous beat's
    T end (``prev_t_end``, from T end - RR), so the preceding T wave is not taken for
    the P wave. When the P run starts at that edge, the P wave sits on the previous
    T wave (sinus tachycardia of an infant at 150-230/min): it is then looked for on
    the T wave's descending limb (``p_on_t_wave``, from ``prev_t_peak``). All ms/Hz
    constants are scaled by ``scale`` (the ``shape`` time scale, module docstring).
    """
    env = _envelope(beat, fs, P_LP_HZ / scale, qrs_on - int(0.005 * fs))
    lo = max(qrs_on - int(0.30 * scale * fs), int(0.01 * fs), prev_t_end or 0)
    hi = qrs_on - int(0.02 * scale * fs)
    fused = prev_t_peak is not None and prev_t_end is not None and prev_t_end == lo
    if hi - lo < int(0.04 * scale * fs):
        return p_on_t_wave(beat, fs, qrs_on, prev_t_peak, scale) if fused else None
    peak = lo + int(np.argmax(env[lo:hi]))
    amp = float(env[peak])
    if amp < P_MIN_MV:
        return p_on_t_wave(beat, fs, qrs_on, prev_t_peak, scale) if fused else None
    sv = spatial_velocity(beat, fs, P_LP_HZ / scale)
    base = float(np.percentile(sv[lo:hi], 5))
    run = _wave_run(sv, lo, qrs_on, peak, P_FRAC, int(GAP_MS * scale * fs / 1000), base)
    if run is None or run[0] <= lo:  # starts at the window's edge: P fused with the previous T
        return p_on_t_wave(beat, fs, qrs_on, prev_t_peak, scale) if fused else None
    k = int(P_KNEE_MS * scale * fs / 1000)
    on = knee(sv, run[0], run[0] - k) if k > 0 else run[0]
    off = run[1]  # the knee overshoots towards the QRS (LUDB: +16 ms); threshold end: +11 ms
    return on, peak, min(off, qrs_on - 1), amp


def p_on_t_wave(beat: np.ndarray, fs: float, qrs_on: int, prev_t_peak: int | None,
                scale: float = 1.0) -> tuple[int, int, int, float] | None:
    """A P wave riding on the previous beat's T wave: onset, peak, offset (samples), amplitude (mV).

    Between the previous T peak and the QRS, the RMS envelope of the beat (20 Hz
    low-pass, referred to the PR segment 5 ms before the QRS) falls along the T
    wave's down-slope; a P wave on it is the last envelope peak standing out from
    that slope by at least ``P_ON_T_PROMINENCE_MV`` (and at least ``P_MIN_MV``) in the
    later part of the window. Its onset is the trough before it (where the T wave
    hands over to the P wave: the notch a reader sees on the T's down-slope), its
    offset where the envelope falls to ``P_FRAC`` of the P peak. None when no such
    peak is there (a P wave fused without any notch stays unmeasured).

    At 150-230/min the P wave of an infant regularly sits on the T wave (Schwartz PJ
    et al., Guidelines for the interpretation of the neonatal electrocardiogram, Eur
    Heart J 2002;23:1329-1344), so a search that stops at the T end reports no P there.
    """
    if prev_t_peak is None:
        return None
    a = max(int(prev_t_peak), int(0.01 * fs))
    hi = qrs_on - int(0.02 * scale * fs)
    if hi - a < int(0.08 * scale * fs):
        return None
    env = _envelope(beat, fs, P_LP_HZ / scale, qrs_on - int(0.005 * fs))[a:hi]
    start = int(0.3 * len(env))  # the P wave is in the later part; the T peak's own shoulder early
    peaks, props = find_peaks(env, prominence=P_ON_T_PROMINENCE_MV)
    ok = (peaks >= start) & (env[peaks] >= P_MIN_MV)
    if not ok.any():
        return None
    peak = int(peaks[ok][-1])
    on = int(props["left_bases"][ok][-1])
    on = on + int(np.argmin(env[on:peak + 1]))  # the trough just before the P peak
    after = np.flatnonzero(env[peak:] < P_FRAC * env[peak])
    off = peak + int(after[0]) if len(after) else len(env) - 1
    return a + on, a + peak, min(a + off, qrs_on - 1), float(env[peak])


def to_internal(beat: np.ndarray, fs: float) -> tuple[np.ndarray, float, float]:
    """The beat resampled to about ``FS_INTERNAL`` Hz (polyphase, band-limited interpolation);
    returns (beat, its fs in Hz, ratio internal/original fs).

    Delineating every input at one rate keeps the sample-based searches and the
    derivative thresholds the same at 100, 500 and 1000 Hz, and gives sub-sample
    positions at 100 Hz, where one sample (10 ms) is most of the CSE tolerance for
    QRS onset (6.5 ms). Band-limited interpolation adds no content: a 100 Hz record
    stays band-limited below 50 Hz, which the ``QRS_LP_HZ`` low-pass already implies.
    """
    frac = Fraction(FS_INTERNAL / fs).limit_denominator(64)
    if frac == 1:
        return beat, float(fs), 1.0
    out = resample_poly(beat, frac.numerator, frac.denominator, axis=0, padtype="line")
    return out, float(fs * frac), float(frac)


def _crossings(d: np.ndarray, thr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last sub-sample position (linear interpolation) where each column of ``d``
    reaches its threshold ``thr`` (NaN where it never does)."""
    above = d >= thr[None, :]
    n = len(d)
    any_ = above.any(axis=0)
    first = np.argmax(above, axis=0)
    last = n - 1 - np.argmax(above[::-1], axis=0)
    cols = np.arange(d.shape[1])

    def interp(i_in: npt.NDArray[np.intp], i_out: npt.NDArray[np.intp]) -> npt.NDArray[np.float64]:
        a, b = d[i_out, cols], d[i_in, cols]
        frac: npt.NDArray[np.float64] = np.where(
b > a, (thr - a) / np.where(b > a, b - a, 1.0), 0.0)
        return np.clip(frac, 0.0, 1.0) * (i_in - i_out) + i_out


    on = np.where(first > 0, interp(first, np.maximum(first - 1, 0)), first.astype(float))
    off = np.where(last < n - 1, interp(last, np.minimum(last + 1, n - 1)), last.astype(float))
    return np.where(any_, on, np.nan), np.where(any_, off, np.nan)


def lead_edges(x: np.ndarray, fs: float, lo: int, hi: int, frac: float,
               min_mv: float) -> tuple[np.ndarray, np.ndarray]:
    """Onset/offset of a wave in EACH lead inside [lo, hi] (samples; sub-sample, NaN if none).

    The search starts at the provisional overall edges ``lo``/``hi`` and moves inward
    to where the lead's own slope first (last) reaches ``frac`` of its peak slope in
    the window: the Glasgow program's per-lead search from the provisional overall
    onset/termination, which leaves a lead's isoelectric start or end outside its wave
    (CSE recommendation). Leads whose wave is under ``min_mv`` peak to peak are NaN.
    """
    lo, hi = max(int(lo), 1), min(int(hi), len(x) - 2)
    if hi - lo < 3:
        nan = np.full(x.shape[1], np.nan)
        return nan, nan
    d = np.abs(np.gradient(x, axis=0))[lo:hi + 1] * fs
    on, off = _crossings(d, frac * d.max(axis=0))
    flat = np.ptp(x[lo:hi + 1], axis=0) < min_mv
    on[flat] = np.nan
    off[flat] = np.nan
    return on + lo, off + lo


P_VOTE_MIN_LEADS = 3  # per-lead P onsets needed before they vote on the global one


def vote(values: np.ndarray, latest: bool = False) -> float | None:
    """The k-th earliest (or k-th latest) of the finite per-lead ``values``, k = ``VOTE_SHARE``
    of all leads (3 of 12): the time by which k leads agree that the wave has begun (or the
    last time k leads still show it). Fewer finite values than k: the latest (earliest) of them."""
    v = np.sort(values[np.isfinite(values)])
    if len(v) == 0:
        return None
    k = min(max(1, int(round(VOTE_SHARE * len(values)))), len(v))
    return float(v[-k] if latest else v[k - 1])


def per_lead_qrs(beat: np.ndarray, fs: float, prov_on: int, prov_off: int,
                 shape: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Each lead's QRS onset/offset (sub-sample positions, NaN for a flat lead) inside the
    provisional overall QRS [``prov_on``, ``prov_off``] (``delineate_qrs``), on the
    ``QRS_LP_HZ`` / ``shape`` low-passed beat (``lead_edges``)."""
    x = filters.lowpass(beat, fs, cutoff_hz=QRS_LP_HZ / shape, order=2)
    pad = int(QRS_LEAD_PAD_MS * shape * fs / 1000)
    return lead_edges(x, fs, prov_on - pad, prov_off + pad, QRS_LEAD_FRAC, QRS_LEAD_MIN_MV)


def per_lead_p(beat: np.ndarray, fs: float, p_on: int, p_off: int, qrs_on: int,
               scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Each lead's P onset/offset inside the overall P wave [``p_on``, ``p_off``] widened by
    ``P_LEAD_PAD_MS`` but ending 10 ms before the (provisional) QRS onset ``qrs_on``
    (``lead_edges`` on the ``P_LP_HZ`` low-passed beat); NaN where the
    P wave is under ``P_LEAD_MIN_MV`` in that lead."""
    x = filters.lowpass(beat, fs, cutoff_hz=P_LP_HZ / scale, order=2)
    pad = int(P_LEAD_PAD_MS * scale * fs / 1000)
    hi = min(p_off, qrs_on - int(0.02 * fs))  # never the QRS's own slope
    on, off = lead_edges(x, fs, p_on - pad, hi, P_LEAD_FRAC, P_LEAD_MIN_MV)
    # a lead already sloping at the window's start shows no isoelectric lead-in there: its
    # "onset" is the window edge (baseline drift or the previous T), not its P wave's start
    on[on <= max(p_on - pad, 1) + 0.5] = np.nan
    return on, off


def _empty_leads(n: int) -> LeadFiducials:
    nan = np.full(n, np.nan)
    return LeadFiducials(nan, nan, nan, nan, nan)


def delineate_leads(beat: np.ndarray, fs: float, r: int, rr_s: float, rr_short_s: float | None = None,
                    regular: bool | None = None) -> tuple[Fiducials, LeadFiducials]:
    """Global and per-lead fiducials of a (samples, leads) median beat aligned at sample ``r``.

    ``rr_s`` (s) is the dominant RR interval; it bounds the T-wave search, as
    does ``rr_short_s`` (a short RR of an irregular rhythm) when given, and
    sets the ``rate`` time scale (module docstring). ``regular``: whether the caller
    found the RR regular (a P wave on the T wave is only sought then); None: judged from
    ``rr_short_s`` >= ``P_ON_T_REGULARITY`` x ``rr_s``. The beat is delineated at
    ``FS_INTERNAL`` (``to_internal``); positions come back at ``fs``.
    """
    b, fs_i, ratio = to_internal(np.asarray(beat, dtype=float), fs)
    ri = int(round(r * ratio))
    rate = rate_scale(rr_s)
    shape = max(qrs_core_scale(b, fs_i, ri), rate)
    prov = delineate_qrs(b, fs_i, ri, shape, rate)
    if prov is None:
        return Fiducials(), _empty_leads(beat.shape[1])
    q_on_l, q_off_l = per_lead_qrs(b, fs_i, *prov, shape)
    on = vote(q_on_l)
    off = vote(q_off_l, latest=True)
    on, off = (float(prov[0]) if on is None else on), (float(prov[1]) if off is None else off)
    # baselines and the P search stay before the provisional (earliest) onset: the voted onset
    # can be a few ms inside the QRS of the earliest leads
    t = delineate_t(b, fs_i, prov[0], int(round(off)), rr_s, ri, rr_short_s, rate)
    t_l = np.full(b.shape[1], np.nan) if t is None else t[2]
    prev_t_end = None if t is None else int(t[3]) - int(round(rr_s * fs_i))
    # a P wave hidden in the T wave is only sought in a regular rhythm (sinus tachycardia): in an
    # irregular one (AF) a bump on the median beat's T is no evidence of time-locked atrial activity
    if regular is None:
        regular = rr_short_s is None or rr_short_s >= P_ON_T_REGULARITY * rr_s
    t_peak_prev = None if t is None or not regular else int(t[0]) - int(round(rr_s * fs_i))
    p = delineate_p(b, fs_i, prov[0], prev_t_end, shape, t_peak_prev)
    p_l = per_lead_p(b, fs_i, p[0], p[2], prov[0], shape) if p else (np.full(b.shape[1], np.nan),) * 2
    exact = {"qrs_on": on, "qrs_off": off}
    if t is not None:
        exact |= {"t_peak": float(t[0]), "t_end": float(t[1])}
    if p is not None:
        # the P onset on the same convention as the QRS: where a quarter of the leads showing a P
        # wave have begun it (the spatial-velocity knee marks the earliest lead)
        p_on = vote(p_l[0]) if np.isfinite(p_l[0]).sum() >= P_VOTE_MIN_LEADS else None
        exact |= {"p_on": float(p[0]) if p_on is None else max(float(p[0]), min(p_on, float(p[1]))),
                  "p_peak": float(p[1]), "p_off": float(p[2])}
    at = {k: v / ratio for k, v in exact.items()}  # samples at fs
    idx = {k: int(round(v)) for k, v in at.items()}
    fid = Fiducials(**idx, p_amp_mv=p[3] if p else 0.0,
                    exact_ms={k: round(v * 1000.0 / fs, 2) for k, v in at.items()})
    leads = LeadFiducials(q_on_l / ratio, q_off_l / ratio, t_l / ratio, p_l[0] / ratio, p_l[1] / ratio)
    return fid, leads


def delineate(beat: np.ndarray, fs: float, r: int, rr_s: float,
              rr_short_s: float | None = None) -> Fiducials:
    """All global fiducials of a (samples, leads) median beat aligned at sample ``r``
    (``delineate_leads`` without the per-lead positions)."""
    return delineate_leads(beat, fs, r, rr_s, rr_short_s)[0]
