"""Pacemaker stimulus artefacts ("pacing spikes") in the unfiltered signal.

A pacing stimulus is 0.1-1 ms long; on a recorder it shows as a near-vertical
deflection one or two samples wide, in most leads at the same instant, that
the diagnostic band (150 Hz low-pass) smears away. Hence this stage reads the
``raw`` signal and only at ``MIN_FS_HZ`` and above: at 100-250 Hz a spike
cannot be told from a steep QRS upstroke, and nothing is claimed there.

Detection (each rule with its reason):

* a spike sample is a one-sample jump of at least ``JUMP_MV`` with no
  sample-to-sample change above ``ISOLATION`` of it in the ``PRE_QUIET_MS``
  before, nor in the same direction in the ``WIDTH_MS`` after: a QRS upstroke
  (even a newborn's, or a time-compressed one) builds and keeps its slope over
  several milliseconds, a stimulus is over within one sample;
* in at least ``MIN_LEAD_FRACTION`` of the leads within +-1 sample (the
  stimulus is a far-field dipole seen in nearly every lead at once; a single
  lead's electrode pop is not);
* paced rhythm when a spike precedes at least ``MIN_PACED_FRACTION`` of the
  QRS complexes at a FIXED latency (spike to R within +-``LATENCY_TOL_MS`` of
  the latency most beats share, looked for up to ``MAX_LATENCY_MS`` before R;
  a bipolar or AV-sequential pacer gives two spikes a beat): capture
  makes the stimulus-to-QRS (ventricular pacing) or stimulus-to-P-to-QRS
  (atrial pacing) interval constant, whereas artefact and quantisation steps
  fall anywhere. Spikes that are not time-locked (failure to capture or
  sense) are reported in the evidence count but do not make the call.

Physiology and appearance of stimulus artefacts: Kligfield P et al.,
AHA/ACCF/HRS Recommendations for the Standardization and Interpretation of
the ECG, Part I, Circulation 2007;115:1306-1324 (pacemaker spikes need high
sampling rates, >= 500 Hz, or a dedicated detector; they may be distorted by
filtering); the AHA/ACCF/HRS statement list (Mason JW et al., Circulation
2007;115:1325-1332) lists "electronic pacemaker" rhythms. The numeric
thresholds are local, checked on LUDB (500 Hz, 4 paced records among 100;
``python -m bench.findings``); not verified on other recorders, whose
spike rendering (amplitude, width, the device's own spike marker) differs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_FS_HZ = 500.0  # Hz: below this a stimulus is not resolved
JUMP_MV = 0.1  # mV in one sample
ISOLATION = 0.3  # sample changes just before (and after, in the same direction) at most this fraction of the jump
PRE_QUIET_MS = 5.0  # ms before the jump without a comparable slope
WIDTH_MS = 2.0  # ms: a stimulus deflection rises within one sample and does not keep rising
MIN_LEAD_FRACTION = 0.25  # of the leads (at least 2) jump together
MERGE_MS = 10.0  # ms: jumps closer than this are one stimulus
MAX_LATENCY_MS = 350.0  # ms: stimulus before R (AV delay of atrial pacing included)
LATENCY_TOL_MS = 10.0  # ms: capture latency spread
MIN_PACED_FRACTION = 0.4  # of the QRS complexes (paced beats among intrinsic or fusion beats still count)
MIN_PACED_BEATS = 4


@dataclass(frozen=True)
class Pacing:
    """Pacing spikes found (sample indices at fs), how many QRS follow one at a fixed
    latency, and that latency (ms, spike to R)."""

    spikes: np.ndarray
    captured: int
    beats: int
    latency_ms: float

    @property
    def paced(self) -> bool:
        """Paced rhythm: enough QRS complexes captured by a stimulus (module doc)."""
        return self.captured >= max(MIN_PACED_BEATS, MIN_PACED_FRACTION * self.beats)


def spike_samples(raw: np.ndarray, fs: float) -> np.ndarray:
    """Sample indices of pacing-spike candidates in ``raw`` (samples, leads), mV (module doc)."""
    x = np.asarray(raw, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if fs < MIN_FS_HZ or len(x) < 4:
        return np.zeros(0, dtype=np.int64)
    dx = np.diff(x, axis=0)
    a = np.abs(dx)
    k_prev, k_next = max(2, round(PRE_QUIET_MS * fs / 1000)), max(1, round(WIDTH_MS * fs / 1000))
    prev = np.full_like(a, np.inf)
    nxt = np.full_like(a, np.inf)
    prev[k_prev:] = np.max(np.stack([a[k_prev - j:len(a) - j] for j in range(1, k_prev + 1)]), axis=0)
    # same-direction change in the samples after the jump: a stimulus is over within WIDTH_MS
    nxt[:-k_next] = np.max(np.stack([dx[j:len(a) - k_next + j] * np.sign(dx[:len(a) - k_next])
                                     for j in range(1, k_next + 1)]), axis=0)
    jump = (a >= JUMP_MV) & (prev <= ISOLATION * a) & (nxt <= ISOLATION * a)
    per_sample = jump.sum(axis=1)
    near = per_sample + np.r_[0, per_sample[:-1]] + np.r_[per_sample[1:], 0]
    need = max(2, int(np.ceil(MIN_LEAD_FRACTION * x.shape[1])))
    cand = np.flatnonzero((per_sample > 0) & (near >= min(need, x.shape[1])))
    out: list[int] = []
    for c in cand:
        if not out or c - out[-1] > MERGE_MS * fs / 1000:
            out.append(int(c) + 1)  # the sample after the jump
    return np.asarray(out, dtype=np.int64)


def detect_pacing(raw: np.ndarray | None, fs: float, r_peaks: np.ndarray) -> Pacing | None:
    """Pacing spikes and their capture of the QRS complexes at ``r_peaks``; None when
    ``raw`` is missing or ``fs`` < ``MIN_FS_HZ`` (spikes not resolvable)."""
    if raw is None or fs < MIN_FS_HZ:
        return None
    sp = spike_samples(raw, fs)
    r = np.asarray(r_peaks, dtype=np.int64)
    lat = [(k - sp[(sp < k) & (sp >= k - MAX_LATENCY_MS * fs / 1000)]) * 1000.0 / fs for k in r]
    pool = np.concatenate(lat) if lat else np.zeros(0)
    if len(pool) == 0:
        return Pacing(sp, 0, len(r), float("nan"))
    # the latency shared by most beats (a bipolar or AV-sequential pacer gives two spikes per beat)
    hits = [sum(bool(np.any(np.abs(x - c) <= LATENCY_TOL_MS)) for x in lat) for c in pool]
    best = int(np.argmax(hits))
    return Pacing(sp, int(hits[best]), len(r), float(pool[best]))
