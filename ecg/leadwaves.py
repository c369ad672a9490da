"""Per-lead QRS waves on the median beat: Q, R, S, R', S' amplitudes and durations.

What a reader measures with calipers on each lead of a 12-lead: the depth of
the Q, the height of the R, the depth of the S (and an R' / S' after them),
their widths, the R-peak time (the "intrinsicoid deflection") and whether the
R or S is notched. The morphology statements (``ecg.morphology``: bundle-branch
blocks, hypertrophy, Q waves, low voltage) are built on these numbers, and the
reader's per-lead R/S table shows them (issue 19).

Method (the usual one of measurement programs, e.g. the MEANS and Glasgow
programs' "wave recognition" step, simplified):

1. The lead's median beat is band-limited; below ``UPSAMPLE_BELOW_HZ`` it is
   resampled (polyphase, ``UPSAMPLE_TO_HZ``) so that 100 Hz records give peak
   amplitudes and zero crossings between samples instead of 10 ms steps.
2. Baseline: the mean of the ``BASELINE_MS`` before the global QRS onset (the
   PR segment, or TP in AF).
3. Between the global QRS onset and offset the lead is cut into lobes at its
   zero crossings (crossings of the baseline). A lobe smaller than
   ``MIN_WAVE_MV`` (50 uV, the smallest wave the Minnesota Code counts: Prineas
   RJ, Crow RS, Zhang ZM, The Minnesota Code Manual of Electrocardiographic
   Findings, 2nd ed., Springer 2010) is not a wave: it is merged into its
   neighbours.
   The first wave starts where the lead leaves baseline by ``ONSET_MV``; a last
   wave cut by the QRS offset ends where it is back near baseline.
4. Names: negative lobes before the first positive lobe are the Q (QS when
   there is no positive lobe); then R, S, R', S' in order. Durations are from
   crossing to crossing (ms); Q and S amplitudes are DEPTHS (positive mV).
5. R-peak time: global QRS onset to the peak of the last R-type wave (R' when
   present), as the AHA/ACCF/HRS recommendation defines it (Surawicz B et al.,
   Circulation 2009;119:e235-e240).
6. Notch: a second local extreme inside one R or S lobe, separated by a dip of
   at least ``NOTCH_MIN_MV`` and ``NOTCH_FRACTION`` of the lobe.

Units: mV, ms, mV*ms. Only the dominant (median) beat is measured.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal as sps

from ecg.measure import MedianBeat

MIN_WAVE_MV = 0.05  # smallest deflection counted as a wave
BASELINE_MS = 10.0  # baseline = mean of this span ending at the global QRS onset
UPSAMPLE_BELOW_HZ = 400.0
UPSAMPLE_TO_HZ = 500.0
NOTCH_MIN_MV = 0.05
NOTCH_FRACTION = 0.10
OPEN_END_FRACTION = 0.25  # an open last wave ends where it is back to a quarter of its amplitude
ONSET_MV = 0.02  # a lead has left its baseline when it is this far from it (20 uV)
PLATEAU_FRACTION = 0.6  # a last "wave" that stays above this after its peak is ST deviation


@dataclass(frozen=True)
class LeadWaves:
    """QRS waves of one lead on the median beat (the reader's per-lead R/S table).

    Amplitudes in mV: ``r_mv``/``r2_mv`` heights above baseline, ``q_mv``/``s_mv``/
    ``s2_mv`` DEPTHS below baseline (positive numbers); 0.0 when the wave is absent.
    Durations in ms, crossing to crossing (0.0 when absent). ``r2`` is R' (a second
    positive wave after an S), ``s2`` S'. ``qs`` is True for a wholly negative QRS
    (its depth and width are in ``q_mv``/``q_ms``). ``r_peak_time_ms`` is onset to the
    peak of the last R-type wave (None without an R). ``area_mv_ms`` is the net QRS
    area; ``pp_mv`` the QRS peak-to-peak amplitude; ``qrs_ms`` this lead's own QRS duration
    (start of its first wave to end of its last, within the global QRS). ``pattern`` spells the complex
    the way a reader does ("qRs", "rSR'", "QS"; capitals for waves of at least half
    the largest one).
    """

    lead: str
    q_mv: float = 0.0
    q_ms: float = 0.0
    r_mv: float = 0.0
    r_ms: float = 0.0
    s_mv: float = 0.0
    s_ms: float = 0.0
    r2_mv: float = 0.0
    r2_ms: float = 0.0
    s2_mv: float = 0.0
    s2_ms: float = 0.0
    qs: bool = False
    r_peak_time_ms: float | None = None
    area_mv_ms: float = 0.0
    pp_mv: float = 0.0
    qrs_ms: float = 0.0
    notched_r: bool = False
    notched_s: bool = False
    pattern: str = ""

    @property
    def r_max_mv(self) -> float:
        """The tallest R-type wave (R or R'), mV."""
        return max(self.r_mv, self.r2_mv)

    @property
    def s_max_mv(self) -> float:
        """The deepest S-type wave (S or S'), mV (depth)."""
        return max(self.s_mv, self.s2_mv)


@dataclass(frozen=True)
class _Lobe:
    sign: int  # +1 / -1
    start: float  # fractional sample (zero crossing)
    end: float
    peak: int  # sample index of the extreme
    amp: float  # |extreme| mV


def _crossing(y: np.ndarray, i: int) -> float:
    """Fractional index where y crosses zero between samples i and i+1."""
    a, b = y[i], y[i + 1]
    return float(i) if a == b else i + float(a / (a - b))


def _raw_lobes(y: np.ndarray) -> list[_Lobe]:
    """Runs of one sign between zero crossings (``y`` is baseline-corrected)."""
    s = np.sign(y)
    s[s == 0] = 1
    edges = np.flatnonzero(s[1:] != s[:-1])
    bounds = [0.0] + [_crossing(y, int(i)) for i in edges] + [float(len(y) - 1)]
    starts = [0] + [int(i) + 1 for i in edges]
    stops = [int(i) + 1 for i in edges] + [len(y)]
    out = []
    for k, (a, b) in enumerate(zip(starts, stops)):
        seg = np.abs(y[a:b])
        j = a + int(np.argmax(seg))
        out.append(_Lobe(int(s[a]), bounds[k], bounds[k + 1], j, float(seg.max())))
    return out


def _merge(lobes: list[_Lobe], min_mv: float) -> list[_Lobe]:
    """Drop lobes below ``min_mv`` and join neighbours of the same sign across them."""
    big = [lb for lb in lobes if lb.amp >= min_mv]
    out: list[_Lobe] = []
    for lb in big:
        if out and out[-1].sign == lb.sign:
            prev = out[-1]
            keep = prev if prev.amp >= lb.amp else lb
            out[-1] = _Lobe(lb.sign, prev.start, lb.end, keep.peak, keep.amp)
        else:
            out.append(lb)
    return out


def _notched(y: np.ndarray, lb: _Lobe) -> bool:
    """Two extremes of the lobe's sign inside it, split by a dip of NOTCH_MIN_MV / NOTCH_FRACTION."""
    a, b = int(np.ceil(lb.start)), int(np.floor(lb.end)) + 1
    seg = lb.sign * y[a:b]
    if len(seg) < 5:
        return False
    prom = max(NOTCH_MIN_MV, NOTCH_FRACTION * lb.amp)
    peaks, _ = sps.find_peaks(np.concatenate(([0.0], seg, [0.0])), prominence=prom)
    return len(peaks) >= 2


def _tighten_first(y: np.ndarray, lobes: list[_Lobe]) -> list[_Lobe]:
    """The first wave starts where the lead leaves its baseline (``ONSET_MV``), not at the
    last zero crossing before it: a slightly sloping PR segment must not lengthen a Q."""
    if not lobes:
        return lobes
    first = lobes[0]
    quiet = np.flatnonzero(np.abs(y[:first.peak + 1]) <= ONSET_MV)
    start = max(first.start, float(quiet[-1])) if len(quiet) else first.start
    return [_Lobe(first.sign, start, first.end, first.peak, first.amp)] + lobes[1:]


def _close_last(y: np.ndarray, lobes: list[_Lobe]) -> list[_Lobe]:
    """The last lobe when the QRS window ends before it returns to baseline.

    A wave ends where it has come back near baseline (``OPEN_END_FRACTION`` of its
    amplitude); a last "lobe" that never falls below ``PLATEAU_FRACTION`` after a peak
    near the window's end is ST deviation, not a wave (an ST elevation after the S in
    V1 must not read as R'), and is dropped.
    """
    if not lobes:
        return lobes
    last = lobes[-1]
    tail = last.sign * y[last.peak:]
    if tail[-1] <= 0:  # it did return to (or beyond) baseline: a closed lobe
        return lobes
    late = last.peak >= last.start + 0.5 * (len(y) - 1 - last.start) and last is not lobes[0]
    if late and tail.min() >= PLATEAU_FRACTION * last.amp:
        return lobes[:-1]
    below = np.flatnonzero(tail <= OPEN_END_FRACTION * last.amp)
    end = float(last.peak + below[0]) if len(below) else last.end
    return lobes[:-1] + [_Lobe(last.sign, last.start, end, last.peak, last.amp)]


def _name(lobes: list[_Lobe]) -> list[tuple[str, _Lobe]]:
    """Q / R / S / R' / S' names in order (QS when no positive lobe; a third R or S is named
    R' or S' again)."""
    if not any(lb.sign > 0 for lb in lobes):
        return [("QS", lb) for lb in lobes]
    names, seen_r = [], 0
    for lb in lobes:
        if lb.sign < 0 and seen_r == 0:
            names.append(("Q", lb))
        elif lb.sign > 0:
            seen_r += 1
            names.append(("R" if seen_r == 1 else "R'", lb))
        else:
            names.append(("S" if seen_r == 1 else "S'", lb))
    return names


def _upsampled(beat: np.ndarray, fs: float) -> tuple[np.ndarray, float]:
    if fs >= UPSAMPLE_BELOW_HZ:
        return beat, fs
    up = int(round(UPSAMPLE_TO_HZ / fs))
    return sps.resample_poly(beat, up, 1, axis=0), fs * up


def lead_waves(median: MedianBeat) -> dict[str, LeadWaves]:
    """Per-lead QRS waves of the median beat, by lead name; {} without global QRS boundaries."""
    fid = median.fiducials
    if fid.qrs_on is None or fid.qrs_off is None or fid.qrs_off <= fid.qrs_on:
        return {}
    beat, fs = _upsampled(np.asarray(median.beat, dtype=float), median.fs)
    k = fs / median.fs
    on, off = int(round(fid.qrs_on * k)), int(round(fid.qrs_off * k))
    nb = max(1, int(round(BASELINE_MS * fs / 1000.0)))
    if on - nb < 0 or off >= len(beat):
        return {}
    return {name: measure_lead(name, beat[:, i], fs, on, off, nb) for i, name in enumerate(median.leads)}


def measure_lead(name: str, x: np.ndarray, fs: float, on: int, off: int, nb: int) -> LeadWaves:
    """``LeadWaves`` of one lead ``x`` (mV at ``fs`` Hz) between QRS onset/offset samples."""
    y = x[on:off + 1] - float(np.mean(x[on - nb:on + 1]))
    ms = 1000.0 / fs
    lobes = _tighten_first(y, _close_last(y, _merge(_raw_lobes(y), MIN_WAVE_MV)))
    v: dict[str, float | bool | str | None] = {
        "area_mv_ms": round(float(np.sum(y)) * ms, 1), "pp_mv": round(float(y.max() - y.min()), 3)}
    if lobes:
        v["qrs_ms"] = round((lobes[-1].end - lobes[0].start) * ms, 1)
    named = _name(lobes)
    biggest = max((lb.amp for lb in lobes), default=0.0)
    pattern = []
    for wave, lb in named:
        key = {"QS": "q", "Q": "q", "R": "r", "S": "s", "R'": "r2", "S'": "s2"}[wave]
        if lb.amp > float(v.get(f"{key}_mv") or 0.0):  # an R'' or S'' keeps the larger of the two
            v[f"{key}_mv"] = round(lb.amp, 3)
            v[f"{key}_ms"] = round((lb.end - lb.start) * ms, 1)
        letter = wave if lb.amp >= 0.5 * biggest else wave.lower()
        pattern.append(letter)
    if named and named[0][0] == "QS":
        big = max((lb for _, lb in named), key=lambda lb: lb.amp)
        v.update(qs=True, q_mv=round(big.amp, 3), q_ms=round((named[-1][1].end - named[0][1].start) * ms, 1))
        pattern = ["QS"]
    rs = [lb for wave, lb in named if wave in ("R", "R'")]
    if rs:
        v["r_peak_time_ms"] = round(rs[-1].peak * ms, 1)
        v["notched_r"] = any(_notched(y, lb) for lb in rs)
    ss = [lb for wave, lb in named if wave in ("S", "S'")]
    v["notched_s"] = any(_notched(y, lb) for lb in ss)
    v["pattern"] = "".join(pattern)
    return LeadWaves(name, **v)  # type: ignore[arg-type]  # v: each field by name (float, bool or str)
