"""Signal-quality assessment: can a cardiologist (and the analysis) trust each lead?

``assess_quality(signals, fs, leads)`` looks at each lead in 10 s windows
(the whole record when shorter) and 1 s blocks, so that a lead lost for the
last minutes of a long Holter record is reported with its time span. Checks,
per lead, with thresholds calibrated on MIT-BIH (23 records) and LUDB (100
records), all of which must pass as good or acceptable:

* flat line / lead off: 1 s blocks whose peak-to-peak is below
  ``FLAT_PTP_MV`` or whose samples barely ever change (stuck value);
* clipping: runs of >= ``CLIP_RUN_S`` at the lead's own extreme value;
* mains interference: narrow-band excess at 50 Hz and 60 Hz (Hann-windowed
  spectra of 2 s segments), as an amplitude in mV;
* muscle / high-frequency noise: the noise floor between beats in a ~15-45 Hz
  band (mains nulled), relative to the lead's QRS peak-to-peak (fs >= 100 Hz);
* baseline wander: excursion of the 1 s block means within a window, in mV;
* implausible amplitude: 1 s blocks wider than ``IMPLAUSIBLE_PTP_MV``
  peak-to-peak, sustained (wrong gain or units).

Lead verdicts: ``unreadable`` when the lead is flat, clipped or implausible
for most of the record, or buried in muscle noise; ``acceptable`` when a
problem is present but the lead can still be read (mains and wander are
removable by filtering; partial loss); ``good`` otherwise.

Overall rule (documented for the service): ``unreadable`` when no lead is
usable, or when a record of 6+ leads has at least max(3, n/4) leads
unreadable (a cardiologist still reads a 12-lead with one or two leads lost,
which is then ``acceptable``); ``unreadable`` also for records shorter than
``MIN_DURATION_S``. Otherwise ``good`` when every lead is good, else
``acceptable``. Reasons are short English sentences naming the lead and the
fix; each also comes as a ``QualityIssue`` with a stable code (``lead_off``,
``clipping``, ``mains``, ...) and the values in it, so that pages translate
from the code rather than from the sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt


from ecg.types import LeadQuality, Quality, QualityCode, QualityIssue, Verdict

# --- time grid ---------------------------------------------------------------------------
#: Amplitude checks use 1 s blocks; noise checks and reporting use 10 s windows.
BLOCK_S = 1.0
WINDOW_S = 10.0
#: Spectral segment (s): 2 s gives 0.5 Hz resolution, enough to separate 50 and 60 Hz lines.
SEGMENT_S = 2.0
#: Records shorter than this (s) are unreadable: too few beats for a rhythm reading.
MIN_DURATION_S = 4.0
#: A problem in at least MOST of a lead's blocks/windows makes the lead unreadable
#: (where the problem can make it so); in at least SOME it is reported. Fewer are
#: transients and ignored, except flat stretches, which are always reported.
MOST = 0.5
SOME = 0.2

# --- lead off / flat ----------------------------------------------------------------------
#: A 1 s block is flat below this peak-to-peak (mV), or when at least
#: STUCK_FRACTION of consecutive samples are identical (a stuck converter).
FLAT_PTP_MV = 0.02
STUCK_FRACTION = 0.9
#: Shortest flat stretch reported with its time span (1 s blocks).
FLAT_MIN_BLOCKS = 2

# --- amplitude ----------------------------------------------------------------------------
#: Clipping: a run of at least CLIP_RUN_S (s) at the lead's own max or min;
#: reported from CLIP_MIN_RUNS runs on (one flat-topped R wave is not clipping).
CLIP_RUN_S = 0.012
CLIP_MIN_RUNS = 3
#: No ECG is this wide peak-to-peak (mV) in a 1 s block (wrong gain or units).
IMPLAUSIBLE_PTP_MV = 10.0
#: Movement artefact: a 1 s block wider than ARTEFACT_FACTOR x the lead's median
#: block and wider than ARTEFACT_MIN_MV (mV).
ARTEFACT_FACTOR = 3.0
ARTEFACT_MIN_MV = 3.0

# --- noise --------------------------------------------------------------------------------
#: Mains lines (Hz) and the sinusoid amplitude (mV) reported. MIT-BIH's worst
#: 60 Hz line is 0.045 mV.
MAINS_HZ = (50.0, 60.0)
MAINS_MV = 0.08
#: Muscle noise: median RMS of the ~15-45 Hz band in 50 ms pieces as a fraction of
#: the lead's median 1 s peak-to-peak. Clean LUDB leads: 99.5th percentile 0.005
#: (5 of 1200 leads above 0.006); nstdb ``ma`` added at 0 dB SNR to 10 s LUDB
#: leads: 94% above 0.006. MIT-BIH: only two low-amplitude V1 leads exceed it.
MUSCLE_PIECE_S = 0.05
MUSCLE_RATIO = 0.006
MUSCLE_UNREADABLE_RATIO = 0.04
#: Mains and muscle checks on records longer than NOISE_SAMPLE_FROM_S (s) look
#: at the first NOISE_SAMPLE_S (s) of each 10 s window only (speed).
NOISE_SAMPLE_S = 4.0
NOISE_SAMPLE_FROM_S = 60.0
#: Baseline wander: excursion (mV) of the 1 s block means within a 10 s window.
WANDER_MV = 1.0

# --- overall ------------------------------------------------------------------------------
#: Records of at least MULTI_LEAD_MIN leads are unreadable when
#: max(MAX_LOST_LEADS, ceil(n / 4)) leads or more are unreadable.
MULTI_LEAD_MIN = 6
MAX_LOST_LEADS = 3


@dataclass(frozen=True)
class _Features:
    """Per-lead measurements: block arrays (leads, n_blocks), window arrays (leads, n_windows)."""

    block_s: float
    flat: np.ndarray
    block_ptp: np.ndarray
    clip_runs: np.ndarray
    mains_mv: dict[float, np.ndarray]
    muscle_ratio: np.ndarray | None
    wander_mv: np.ndarray


def _blocks(xt: np.ndarray, b: int) -> np.ndarray:
    """(leads, n_blocks, b) view of leads-first ``xt`` in b-sample blocks; the incomplete tail is dropped."""
    b = min(b, xt.shape[1])
    nb = xt.shape[1] // b
    return xt[:, : nb * b].reshape(xt.shape[0], nb, b)


def _per_window(values: np.ndarray, k: int, ufunc: np.ufunc) -> np.ndarray:
    """Reduce (leads, n) per-block values to (leads, ceil(n / k)) with ``ufunc``, k blocks per window."""
    return ufunc.reduceat(values, np.arange(0, values.shape[1], k), axis=1)


def _clip_runs(xt: np.ndarray, b: int, run_min: int, nb: int) -> np.ndarray:
    """(leads, n_blocks): number of runs of >= run_min samples stuck at the lead's own max or min."""
    out = np.zeros((xt.shape[0], nb))
    for j, col in enumerate(xt):
        for extreme in (col.max(), col.min()):
            at_extreme = col == extreme
            if np.count_nonzero(at_extreme) < run_min:  # the usual case: a single peak sample
                continue
            edges = np.diff(at_extreme.view(np.int8), prepend=0, append=0)
            starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
            long_runs = starts[(stops - starts) >= run_min]
            np.add.at(out[j], np.minimum(long_runs // b, nb - 1), 1)
    return out


def _noise_stretches(xt: np.ndarray, fs: float) -> np.ndarray:
    """(leads, n, samples) stretches on which the noise checks run.

    Records up to NOISE_SAMPLE_FROM_S are one stretch. Longer ones give one
    stretch per 10 s window: its first NOISE_SAMPLE_S seconds (mains and muscle
    noise last seconds, and only sustained noise is reported), which keeps a
    30 min Holter well under 100 ms.
    """
    if xt.shape[1] <= NOISE_SAMPLE_FROM_S * fs:
        return xt[:, None, :]
    win = int(round(WINDOW_S * fs))
    n_win = xt.shape[1] // win
    return xt[:, : n_win * win].reshape(xt.shape[0], n_win, win)[..., : int(round(NOISE_SAMPLE_S * fs))]


def _spectra(stretches: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray] | None:
    """Mean one-sided PSD (mV^2/Hz) per stretch, (leads, n, n_freqs), and the frequencies (Hz).

    Hann-windowed, mean-removed, non-overlapping SEGMENT_S segments. None when
    a stretch is shorter than one segment.
    """
    seg = int(round(SEGMENT_S * fs))
    nseg = stretches.shape[-1] // seg
    if nseg == 0:
        return None
    segs = stretches[..., : nseg * seg].reshape(stretches.shape[:2] + (nseg, seg))
    w = np.hanning(seg)
    spec = np.fft.rfft((segs - segs.mean(axis=-1, keepdims=True)) * w, axis=-1)
    psd = (spec.real**2 + spec.imag**2).mean(axis=2) * (2.0 / (fs * float(w @ w)))
    return psd, np.fft.rfftfreq(seg, 1.0 / fs)


def _mains_mv(psd: np.ndarray, f: np.ndarray, f0: float) -> npt.NDArray[np.float64] | None:
    """Amplitude (mV) of a sinusoid at ``f0`` Hz above the local spectral floor; None near/above Nyquist."""
    if f0 + 6.0 >= f[-1]:
        return None
    peak = np.abs(f - f0) <= 1.0
    floor_bins = (np.abs(f - f0) > 2.0) & (np.abs(f - f0) <= 6.0)
    floor = np.median(psd[..., floor_bins], axis=-1, keepdims=True)
    excess: npt.NDArray[np.float64] = np.clip((psd[..., peak] - floor).sum(axis=-1) * (f[1] - f[0]), 0.0, None)
    return np.sqrt(2.0 * excess)


def _moving_mean(x: np.ndarray, k: int) -> np.ndarray:
    """Centred k-sample moving average along the last axis (edges held), via a cumulative sum."""
    k = max(1, min(k, x.shape[-1]))
    c = np.cumsum(x, axis=-1)
    m: npt.NDArray[np.float64] = np.empty(x.shape[:-1] + (x.shape[-1] - k + 1,))
    m[..., 0] = c[..., k - 1]
    np.subtract(c[..., k:], c[..., :-k], out=m[..., 1:])
    m /= k
    h = (k - 1) // 2
    out = np.empty_like(x)
    out[..., h: h + m.shape[-1]] = m
    out[..., :h] = m[..., :1]
    out[..., h + m.shape[-1]:] = m[..., -1:]
    return out


def _muscle_floor(stretches: np.ndarray, fs: float) -> np.ndarray | None:
    """Median RMS (mV) of the ~15-45 Hz band in 50 ms pieces of each stretch: (leads, n).

    The band is cut with moving averages one mains period long, so 50 and 60 Hz
    fall in their nulls: x - mean_20ms(x) keeps > ~20 Hz, two further means of
    1/50 s and 1/60 s remove mains and what is above ~45 Hz. QRS complexes
    occupy well under half of the 50 ms pieces, so the median is the noise
    floor between beats. None when fs < 100 Hz (no band left below Nyquist).
    """
    if fs < 100.0:
        return None
    k50, k60 = int(round(fs / 50.0)), int(round(fs / 60.0))
    band = stretches - _moving_mean(stretches, k50)
    band = _moving_mean(_moving_mean(band, k50), k60)
    piece = max(2, int(round(MUSCLE_PIECE_S * fs)))
    n = band.shape[-1] // piece
    pieces = band[..., : n * piece].reshape(band.shape[:-1] + (n, piece))
    return np.median(np.sqrt(np.mean(pieces**2, axis=-1)), axis=-1)


def _features(x: np.ndarray, fs: float) -> _Features:
    """All per-block and per-window measurements for (samples, leads) ``x`` in mV."""
    xt = np.ascontiguousarray(np.asarray(x, dtype=np.float64).T)
    b = max(2, int(round(BLOCK_S * fs)))
    blocks = _blocks(xt, b)
    hi, lo = blocks.max(axis=2), blocks.min(axis=2)
    ptp = hi - lo
    stuck = np.count_nonzero(blocks[..., 1:] == blocks[..., :-1], axis=2) / (blocks.shape[2] - 1)
    means = blocks.mean(axis=2)
    per_window = int(round(WINDOW_S / BLOCK_S))
    wander = _per_window(means, per_window, np.maximum) - _per_window(means, per_window, np.minimum)
    clips = _clip_runs(xt, blocks.shape[2], max(3, int(np.ceil(CLIP_RUN_S * fs))), blocks.shape[1])
    stretches = _noise_stretches(xt, fs)
    spectra = _spectra(stretches, fs)
    mains: dict[float, np.ndarray] = {}
    if spectra is not None:
        psd, f = spectra
        for f0 in MAINS_HZ:
            amp = _mains_mv(psd, f, f0)
            if amp is not None:
                mains[f0] = amp
    floor = _muscle_floor(stretches, fs)
    typical = np.maximum(np.median(ptp, axis=1, keepdims=True), FLAT_PTP_MV)
    muscle = None if floor is None else floor / typical
    return _Features(
        block_s=blocks.shape[2] / fs, flat=(ptp < FLAT_PTP_MV) | (stuck >= STUCK_FRACTION),
        block_ptp=ptp, clip_runs=clips, mains_mv=mains, muscle_ratio=muscle, wander_mv=wander)


def _clock(seconds: float) -> str:
    """``mm:ss`` (or ``h:mm:ss``) time within the record."""
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


def _spans(mask: np.ndarray, block_s: float, min_blocks: int) -> list[tuple[float, float]]:
    """Start/end times (s) of runs of True in a per-block mask at least ``min_blocks`` long."""
    edges = np.diff(mask.astype(np.int8), prepend=0, append=0)
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(a * block_s, b * block_s) for a, b in zip(starts, stops) if b - a >= min_blocks]


def _where(spans: list[tuple[float, float]]) -> str:
    """`` (25:00-30:05, ...)``: up to three time spans."""
    text = ", ".join(f"{_clock(a)}-{_clock(b)}" for a, b in spans[:3])
    return f" ({text}{f' and {len(spans) - 3} more' if len(spans) > 3 else ''})"


def _span_params(spans: list[tuple[float, float]]) -> dict[str, Any]:
    """``spans`` (up to three {start_s, end_s}, s) and ``more_spans`` for a QualityIssue."""
    shown = [{"start_s": round(float(a), 1), "end_s": round(float(b), 1)} for a, b in spans[:3]]
    return {"spans": shown, "more_spans": len(spans) - 3 if len(spans) > 3 else None}


def _extent_pct(fraction: float) -> int | None:
    """Percentage of the record (int) for problems that are not everywhere; None otherwise."""
    return int(round(float(fraction) * 100)) if fraction < 0.9 else None


def _extent(pct: int | None) -> str:
    """`` in 35% of the record`` for a percentage from ``_extent_pct``; empty for None."""
    return "" if pct is None else f" in {pct}% of the record"


def _issue(code: QualityCode, lead: str | None, text: str, **params: Any) -> QualityIssue:
    """A QualityIssue; ``params`` are plain JSON values, None values are dropped."""
    return QualityIssue(code, lead, {k: v for k, v in params.items() if v is not None}, text)


def _lead_quality(lead: str, verdict: Verdict, issues: list[QualityIssue]) -> LeadQuality:
    """LeadQuality whose ``reasons`` are the issues' texts."""
    return LeadQuality(lead, verdict, tuple(i.text for i in issues), tuple(issues))


def _flat_issues(lead: str, flat: np.ndarray, block_s: float) -> tuple[bool, list[QualityIssue]]:
    """Lead off: unreadable when flat most of the time; otherwise report the flat stretches."""
    fix = f"flat signal, electrode off — check the {lead} electrode and re-record"
    if flat.all():
        return True, [_issue("lead_off", lead, f"{lead}: {fix}")]
    spans = _spans(flat, block_s, FLAT_MIN_BLOCKS)
    issues = [_issue("lead_off", lead, f"{lead}: {fix}{_where(spans)}", **_span_params(spans))] if spans else []
    return bool(flat.mean() >= MOST), issues


def _amplitude_issues(lead: str, ptp: np.ndarray, clip_runs: np.ndarray) -> tuple[bool, list[QualityIssue]]:
    """Implausible amplitude, movement artefacts and clipping from 1 s block peak-to-peaks (mV)."""
    huge = ptp > IMPLAUSIBLE_PTP_MV
    if huge.mean() >= MOST:
        mv = float(np.median(ptp))
        return True, [_issue("implausible_amplitude", lead, f"{lead}: amplitude {mv:.0f} mV is implausible for an "
                             "ECG — check the recorder's gain and units setting", mv=round(mv, 2))]
    issues, unreadable = [], False
    artefact = huge | (ptp > ARTEFACT_FACTOR * max(np.median(ptp), ARTEFACT_MIN_MV / ARTEFACT_FACTOR))
    if artefact.mean() >= SOME:
        pct = _extent_pct(artefact.mean())
        issues.append(_issue("artefact", lead, f"{lead}: large movement artefacts{_extent(pct) or ' throughout'} — "
                             "ask the patient to lie still and check the electrode contact", extent_pct=pct))
    clipped = clip_runs > 0
    if clip_runs.sum() >= CLIP_MIN_RUNS:
        unreadable = clipped.mean() >= MOST
        issues.append(_issue("clipping", lead,
                             f"{lead}: signal clipped — reduce the recorder gain or check the {lead} electrode"))
    return unreadable, issues


def _noise_issues(lead: str, j: int, feats: _Features) -> tuple[bool, list[QualityIssue]]:
    """Mains, muscle noise and baseline wander in at least SOME of the windows."""
    issues, unreadable = [], False
    for f0, amp in feats.mains_mv.items():
        hit = amp[j] > MAINS_MV
        if hit.mean() >= SOME:
            mv, pct = round(float(np.median(amp[j][hit])), 2), _extent_pct(hit.mean())
            issues.append(_issue("mains", lead, f"{lead}: strong {f0:.0f} Hz mains interference ({mv:.2f} mV)"
                                 f"{_extent(pct)} — check grounding, keep cables away from power lines",
                                 hz=int(f0), mv=mv, extent_pct=pct))
    if feats.muscle_ratio is not None:
        hit = feats.muscle_ratio[j] > MUSCLE_RATIO
        if hit.mean() >= SOME:
            unreadable = bool(np.median(feats.muscle_ratio[j]) > MUSCLE_UNREADABLE_RATIO)
            pct = _extent_pct(hit.mean())
            issues.append(_issue("muscle", lead, f"{lead}: muscle noise{_extent(pct)} — "
                                 "ask the patient to relax and keep warm", extent_pct=pct))
    hit = feats.wander_mv[j] > WANDER_MV
    if hit.mean() >= SOME:
        pct = _extent_pct(hit.mean())
        issues.append(_issue("baseline_wander", lead, f"{lead}: baseline wander{_extent(pct)} — "
                             "ask the patient to lie still and breathe calmly", extent_pct=pct))
    return unreadable, issues


def _assess_lead(lead: str, j: int, feats: _Features) -> LeadQuality:
    """One lead's verdict: the worst of its checks; amplitude checks skip flat blocks."""
    flat_off, flat_why = _flat_issues(lead, feats.flat[j], feats.block_s)
    if flat_off:
        return _lead_quality(lead, "unreadable", flat_why)
    live = ~feats.flat[j] if (~feats.flat[j]).any() else np.ones_like(feats.flat[j])
    amp_bad, amp_why = _amplitude_issues(lead, feats.block_ptp[j][live], feats.clip_runs[j])
    noise_bad, noise_why = _noise_issues(lead, j, feats)
    issues = flat_why + amp_why + noise_why
    verdict: Verdict = "unreadable" if amp_bad or noise_bad else "acceptable" if issues else "good"
    return _lead_quality(lead, verdict, issues)


def _overall(per_lead: list[LeadQuality]) -> tuple[Verdict, list[QualityIssue]]:
    """Combine lead verdicts by the documented rule (see module docstring)."""
    bad = [q.lead for q in per_lead if q.verdict == "unreadable"]
    n = len(per_lead)
    if len(bad) == n:
        return "unreadable", [_issue("no_usable_lead", None,
                                     "no lead is readable — check all electrodes and re-record")]
    if n >= MULTI_LEAD_MIN and len(bad) >= max(MAX_LOST_LEADS, -(-n // 4)):
        return "unreadable", [_issue("too_many_leads_unreadable", None,
                                     f"{len(bad)} of {n} leads are unreadable ({', '.join(bad)}) — re-record",
                                     n_bad=len(bad), n_leads=n, leads=bad)]
    if all(q.verdict == "good" for q in per_lead):
        return "good", []
    return "acceptable", []


def _as_leads_last(signals: np.ndarray, leads: tuple[str, ...] | list[str]) -> np.ndarray:
    """(samples, leads) float64 with non-finite samples set to 0 mV; checks the shape against ``leads``."""
    x = np.asarray(signals, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] != len(leads):
        raise ValueError(f"signals of shape {x.shape} do not match {len(leads)} lead names")
    return x if np.isfinite(x).all() else np.where(np.isfinite(x), x, 0.0)


def assess_quality(signals: np.ndarray, fs: float, leads: tuple[str, ...] | list[str]) -> Quality:
    """Per-lead and overall quality of ``signals`` (samples, leads) in mV sampled at ``fs`` Hz.

    Non-finite samples count as 0 mV (flat). Raises ``ValueError`` when the
    shape does not match ``leads`` or ``fs`` is not positive.
    """
    if not fs or fs <= 0:
        raise ValueError(f"fs must be positive, got {fs!r}")
    x = _as_leads_last(signals, leads)
    duration = x.shape[0] / fs
    if duration < MIN_DURATION_S:
        verdicts = tuple(_lead_quality(str(name), "unreadable", [_issue(
            "too_short", str(name), f"{name}: recording too short")]) for name in leads)
        short = _issue("too_short", None, f"recording too short ({duration:.1f} s): at least {MIN_DURATION_S:g} s "
                       "are needed — re-record", duration_s=round(float(duration), 1), min_s=MIN_DURATION_S)
        return Quality("unreadable", verdicts, (short.text,), (short,))
    feats = _features(x, float(fs))
    per_lead = [_assess_lead(str(name), j, feats) for j, name in enumerate(leads)]
    verdict, summary = _overall(per_lead)
    issues = summary + [i for q in per_lead for i in q.issues]
    return Quality(verdict, tuple(per_lead), tuple(i.text for i in issues), tuple(issues))
