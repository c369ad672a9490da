"""Atrial activity beyond the median P wave: waves at twice the ventricular rate,
and P waves beat by beat (for flutter with 2:1 conduction and AV block).

Two views of the same (samples, leads) diagnostic-band signal of ``MeasureDetail``:

1. **The median cardiac cycle** (``half_cycle``). With FIXED conduction the
   atrial waves are time-locked to the QRS, so subtracting the median beat
   (QRST cancellation) removes them with the QRST: the reason why earlier
   residual-based flutter indices (see ``ecg.rhythm``) failed on 2:1 flutter.
   Instead the median of whole RR cycles (one RR centred on R) is compared
   with itself shifted by half a cycle, outside the QRS: flutter waves
   conducted 2:1 (and P waves in 2:1 AV block) repeat exactly every RR/2, so
   the shifted cycle matches (normalised correlation near 1), whereas in
   sinus rhythm half a cycle maps the P wave onto the ST segment and the T
   wave onto the P-QRS region. Done in the leads where flutter waves are
   largest (II, III, aVF, V1: Cosio FG, Atrial flutter, typical and atypical:
   a review, Arrhythm Electrophysiol Rev 2017;6:55-62; the "sawtooth" in the
   inferior leads and discrete waves in V1), 1-30 Hz.
2. **Per-beat atrial waves** (``atrial_waves``): QRST cancellation (each beat
   minus the median QRS-T, aligned on R, the template tapered to zero at its
   ends; the average beat subtraction of Slocum J et al., Computer detection
   of atrioventricular dissociation from surface electrocardiograms during
   wide QRS complex tachycardias, Circulation 1985;72:1028-1036, and of AF
   f-wave extraction) keeps every P wave, conducted or not, because the
   template starts at the QRS onset. P waves are then the peaks of the
   residual's multi-lead envelope (1-15 Hz), at least ``P_MIN_GAP_S`` apart
   (an atrial rate up to 300/min), above a fraction of the largest ones.

Units: samples at ``fs`` Hz, mV, ms, /min. Thresholds are physiological
(flutter cycle 170-300 ms, i.e. 200-350/min atrial rate, Cosio 2017) or
local and marked as such.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecg import filters
from ecg.measure import MORPH_CORR_MIN, MeasureDetail

FLUTTER_LEADS = ("II", "III", "aVF", "V1")
CYCLE_FS_HZ = 125.0  # Hz: the half-cycle comparison runs at about this rate
QRS_GUARD_S = 0.01  # s masked beyond the median QRS on each side
HALF_LAG_TOL = 0.06  # search the half-cycle lag within +-6 % of RR/2
RR_STABLE = 0.10  # beats whose RR is within 10 % of the median build the cycle
P_MIN_GAP_S = 0.2  # s: atrial waves at most 300/min
P_PEAK_FRACTION = 0.4  # of the 90th-percentile peak envelope (local choice)
P_SEARCH_S = 0.30  # s before the QRS onset searched for a median-beat P wave
P_WIDTH_S = (0.03, 0.15)  # s: P-wave hump width range at half prominence
P_PROMINENCE_MV = 0.05  # mV: a P hump this clear is not noise (local choice)
P_NOT_T_S = 0.06  # s: a hump this close to the previous beat's T peak is that T
WAVE_HALF_S = 0.05  # s each side of an atrial wave's peak for shape comparison
P_MIN_MV = 0.03  # mV: weaker residual peaks are noise (same floor as ecg.delineate's P)


@dataclass(frozen=True)
class HalfCycle:
    """Similarity of the median RR cycle with itself half a cycle later.

    ``corr``: normalised correlation (-1..1) outside the QRS; ``atrial_rate_bpm``:
    twice the ventricular rate of the cycle (the rate of waves repeating every RR/2).
    """

    corr: float
    atrial_rate_bpm: float
    rr_ms: float


def _lead_index(d: MeasureDetail, names: tuple[str, ...]) -> list[int]:
    idx = [d.leads.index(n) for n in names if n in d.leads]
    return idx or list(range(len(d.leads)))


def _qrs_span(d: MeasureDetail) -> tuple[int, int]:
    """QRS onset/offset relative to R (samples) from the median beat; +-50 ms otherwise."""
    fs = d.fs
    f = d.median.fiducials if d.median is not None else None
    if d.median is not None and f is not None and f.qrs_on is not None and f.qrs_off is not None:
        ri = d.median.r_index
        return f.qrs_on - ri, f.qrs_off - ri
    return -int(0.05 * fs), int(0.05 * fs)


def half_cycle(d: MeasureDetail) -> HalfCycle | None:
    """Correlation of the median RR cycle with itself shifted by RR/2 (module doc, view 1).

    None with fewer than 3 stable, dominant cycles or no signal.
    """
    if d.signals is None or len(d.beats.r_peaks) < 4:
        return None
    step = max(1, int(d.fs // CYCLE_FS_HZ))  # after the 30 Hz low-pass nothing aliases at ~125 Hz
    fs, r = d.fs / step, np.round(d.beats.r_peaks / step).astype(np.int64)
    rr = np.diff(r)
    rrm = int(np.median(rr))
    half = rrm // 2
    y = filters.bandpass(d.signals[:, _lead_index(d, FLUTTER_LEADS)], d.fs, 1.0, min(30.0, 0.45 * d.fs),
                         order=2)[::step]
    ok = (r - half >= 0) & (r - half + rrm <= len(y)) & (np.nan_to_num(d.beats.morph_corr) >= MORPH_CORR_MIN)
    ok[1:] &= np.abs(rr - rrm) <= RR_STABLE * rrm
    ok[0] = False
    if ok.sum() < 3:
        return None
    cyc = np.median(np.stack([y[k - half:k - half + rrm] for k in r[ok]]), axis=0)
    on, off = (v // step for v in _qrs_span(d))
    g = int(QRS_GUARD_S * fs)
    keep = np.ones(rrm, dtype=bool)
    keep[max(0, half + on - g):min(rrm, half + off + g)] = False
    best = -1.0
    tol = max(1, int(HALF_LAG_TOL * half))
    for lag in range(half - tol, half + tol + 1):
        m = keep & np.roll(keep, -lag)
        if m.sum() < 4:
            continue
        a = cyc[m] - cyc[m].mean(axis=0)
        b = np.roll(cyc, -lag, axis=0)[m]
        b = b - b.mean(axis=0)
        den = np.sqrt(np.sum(a * a) * np.sum(b * b))
        if den > 0:
            best = max(best, float(np.sum(a * b) / den))
    rr_ms = rrm * 1000.0 / fs
    return HalfCycle(best, 2 * 60000.0 / rr_ms, rr_ms)


def qrst_residual(d: MeasureDetail) -> np.ndarray | None:
    """Signal minus each dominant beat's median QRS-T (module doc, view 2); None if < 3 beats.

    The template runs from the median QRS onset (minus ``QRS_GUARD_S``) to 45 %
    of the median RR after R, at most 450 ms (T wave), and is tapered linearly
    to zero at both ends so the residual has no steps. Each beat is re-aligned
    by up to +-2 samples on the template's derivative.
    """
    if d.signals is None:
        return None
    x, fs, r = d.signals, d.fs, d.beats.r_peaks
    if len(r) < 3:
        return None
    on, _ = _qrs_span(d)
    pre = -on + int(QRS_GUARD_S * fs)
    rrm = float(np.median(np.diff(r)))
    post = int(min(0.45 * fs, 0.45 * rrm + 0.15 * fs))
    n = pre + post
    dom = (np.nan_to_num(d.beats.morph_corr) >= MORPH_CORR_MIN) & (r - pre - 2 >= 0) & (r + post + 2 <= len(x))
    if dom.sum() < 3:
        return None
    tmpl = np.median(np.stack([x[k - pre:k + post] for k in r[dom]]), axis=0)
    ramp = np.linspace(0.0, 1.0, n)[:, None]
    tmpl = tmpl - (tmpl[:1] * (1 - ramp) + tmpl[-1:] * ramp)
    dt = np.diff(tmpl, axis=0)
    res = x.copy()
    for k in r[dom]:
        errs = [np.sum((np.diff(x[k + s - pre:k + s + post], axis=0) - dt) ** 2) for s in range(-2, 3)]
        a = k + int(np.argmin(errs)) - 2 - pre
        res[a:a + n] -= tmpl
    return res


def atrial_waves(d: MeasureDetail, res: np.ndarray | None = None) -> np.ndarray:
    """Sample indices of atrial waves (P or flutter waves, conducted or not) in the residual.

    Peaks of the RMS-over-leads envelope of the 1-15 Hz residual at least
    ``P_MIN_GAP_S`` apart and above ``P_PEAK_FRACTION`` of the 90th percentile of
    peaks and ``P_MIN_MV``. Peaks within the QRS of a non-dominant beat (not
    cancelled) are dropped.
    """
    from scipy.signal import find_peaks

    res = qrst_residual(d) if res is None else res
    if res is None:
        return np.zeros(0, dtype=np.int64)
    fs = d.fs
    y = filters.bandpass(res, fs, 1.0, min(15.0, 0.45 * fs), order=2)
    env = np.sqrt(np.mean(y ** 2, axis=1))
    pk, _ = find_peaks(env, distance=max(1, int(P_MIN_GAP_S * fs)))
    if len(pk) == 0:
        return pk
    ref = float(np.percentile(env[pk], 90))
    pk = pk[env[pk] >= max(P_PEAK_FRACTION * ref, P_MIN_MV)]
    other = d.beats.r_peaks[~(np.nan_to_num(d.beats.morph_corr) >= MORPH_CORR_MIN)]
    w = int(0.06 * fs)
    return np.asarray([p for p in pk if not np.any(np.abs(other - p) <= w)], dtype=np.int64)


def wave_similarity(res: np.ndarray, fs: float, peaks: np.ndarray, reference: np.ndarray) -> float:
    """Median correlation (-1..1) of the residual around each of ``peaks`` with the median
    residual around ``reference`` peaks (multi-lead, +-``WAVE_HALF_S``, 1-15 Hz).

    Used to check that atrial waves counted as blocked look like the conducted P
    waves: a T-wave remnant of the QRST cancellation does not. NaN when fewer than
    2 reference or 1 test segments fit.
    """
    y = filters.bandpass(res, fs, 1.0, min(15.0, 0.45 * fs), order=2)
    h = int(WAVE_HALF_S * fs)

    def segs(idx: np.ndarray) -> np.ndarray:
        idx = np.asarray([k for k in idx if k - h >= 0 and k + h < len(y)], dtype=np.int64)
        return np.stack([y[k - h:k + h + 1] for k in idx]) if len(idx) else np.zeros((0, 2 * h + 1, y.shape[1]))

    ref, test = segs(reference), segs(peaks)
    if len(ref) < 2 or len(test) == 0:
        return float("nan")
    t = np.median(ref, axis=0).ravel()
    t = t - t.mean()
    out = []
    for s in test.reshape(len(test), -1):
        s = s - s.mean()
        den = np.linalg.norm(s) * np.linalg.norm(t)
        out.append(float(s @ t / den) if den > 0 else 0.0)
    return float(np.median(out))


@dataclass(frozen=True)
class MedianP:
    """A P wave found on the median beat by ``median_p_wave``: peak offset before the QRS
    onset (ms), amplitude above its local baseline in the reference lead (mV) and the
    frontal axis of that local deflection (deg, None without limb leads)."""

    before_qrs_ms: float
    amp_mv: float
    axis_deg: float | None


def median_p_wave(d: MeasureDetail) -> MedianP | None:
    """The P wave before the QRS on the median beat, also where it rides on the previous T.

    The global delineator rejects a P wave whose run starts at the previous
    beat's estimated T end (P fused with T), which at 100-150/min also drops
    clear P waves when the T end is read late. Here the P wave is the most
    prominent positive hump (prominence >= ``P_PROMINENCE_MV``, width
    ``P_WIDTH_S``) in lead II (else aVF, else I) between ``P_SEARCH_S`` (at
    most 60 % of the RR) and 30 ms before the QRS onset, not within
    ``P_NOT_T_S`` of the previous beat's T peak. Its axis is that of the hump
    (peak minus the mean of its two bases) in I and aVF.
    """
    from scipy.signal import find_peaks

    mb = d.median
    if mb is None or mb.fiducials.qrs_on is None:
        return None
    ref = next((n for n in ("II", "aVF", "I") if n in d.leads), None)
    if ref is None:
        return None
    fs, f, on = mb.fs, mb.fiducials, mb.fiducials.qrs_on
    rr = float(np.nanmedian(d.beats.rr_ms)) / 1000.0
    lo = max(0, on - int(min(P_SEARCH_S, 0.6 * rr) * fs))
    hi = on - int(0.03 * fs)
    if hi - lo < int(0.04 * fs):
        return None
    y = filters.lowpass(mb.beat, fs, cutoff_hz=min(20.0, 0.45 * fs), order=2)
    x = y[lo:hi, d.leads.index(ref)]
    w = (max(1, int(P_WIDTH_S[0] * fs)), int(P_WIDTH_S[1] * fs))
    pk, props = find_peaks(x, prominence=P_PROMINENCE_MV, width=w)
    if f.t_peak is not None:
        prev_t = f.t_peak - round(rr * fs) - lo
        keep = np.abs(pk - prev_t) > int(P_NOT_T_S * fs)
        pk, prom = pk[keep], props["prominences"][keep]
    else:
        prom = props["prominences"]
    if len(pk) == 0:
        return None
    j = int(np.argmax(prom))
    peak, half = lo + int(pk[j]), max(1, int(0.04 * fs))
    return MedianP((on - peak) * 1000.0 / fs, float(prom[j]), _hump_axis(y, d.leads, peak, half))


def _hump_axis(y: np.ndarray, leads: tuple[str, ...], peak: int, half: int) -> float | None:
    """Frontal axis (deg) of the deflection at ``peak`` (peak minus mean of peak +- half) in I and aVF."""
    from ecg.measure import frontal_pair

    pair = frontal_pair(y, leads)
    if pair is None or peak - half < 0 or peak + half >= len(y):
        return None
    i, avf = (s[peak] - 0.5 * (s[peak - half] + s[peak + half]) for s in pair)
    return float(np.degrees(np.arctan2(avf, i)))


@dataclass(frozen=True)
class AtrialSpectrum:
    """Dominant atrial frequency of the QRST-cancelled residual: ``rate_bpm``,
    ``organisation`` (share of 2-12 Hz power within +-0.3 Hz of the peak and its 2nd
    harmonic, 0..1) and ``rms_mv`` (residual RMS outside the QRS, mV)."""

    rate_bpm: float
    organisation: float
    rms_mv: float


def atrial_spectrum(d: MeasureDetail, res: np.ndarray) -> AtrialSpectrum | None:
    """Spectral organisation of atrial activity in the residual of II, III, aVF, V1.

    Flutter waves repeat at one cycle length, so their spectrum is a narrow peak
    (and harmonic) at 3.3-6 Hz (200-360/min); fibrillatory waves spread over
    4-9 Hz (the organisation index of Everett TH et al., Assessment of global
    atrial fibrillation organization to optimize timing of atrial
    defibrillation, Circulation 2001;103:2857-2861). Only meaningful with an
    IRREGULAR ventricular rhythm: with regular RR the residual's QRST remnants
    have harmonics of the ventricular rate in the same band. The QRS (+-40 ms)
    is blanked; Hann window, 8192-point FFT.
    """
    fs = d.fs
    y = filters.bandpass(res[:, _lead_index(d, FLUTTER_LEADS)], fs, 2.0, min(15.0, 0.45 * fs), order=2)
    w = int(0.04 * fs)
    for k in d.beats.r_peaks:
        y[max(0, k - w):k + w] = 0.0
    if len(y) < int(2 * fs):
        return None
    p = (np.abs(np.fft.rfft(y * np.hanning(len(y))[:, None], 8192, axis=0)) ** 2).sum(axis=1)
    f = np.fft.rfftfreq(8192, 1.0 / fs)
    band, fl = (f >= 2.0) & (f <= 12.0), (f >= 3.3) & (f <= 6.0)
    if p[band].sum() <= 0:
        return None
    pk = float(f[fl][np.argmax(p[fl])])
    near = (np.abs(f - pk) <= 0.3) | (np.abs(f - 2 * pk) <= 0.3)
    return AtrialSpectrum(pk * 60.0, float(p[near & band].sum() / p[band].sum()),
                          float(np.sqrt(np.mean(y[np.any(y != 0, axis=1)] ** 2))))
