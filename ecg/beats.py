"""R-peak (beat) detection for single- and multi-lead ECG, adult to newborn.

Method (own design, building on Pan & Tompkins 1985, Hamilton & Tompkins
1986 "Quantitative investigation of QRS detection rules", and matched
filtering, North 1943 / Turin 1960):

0. Pacemaker pulses (0.1-2 ms, IEC 60601-2-27) are blanked where the sampling
   rate resolves them (>= 250 Hz): a pulse is broadband and would otherwise be a
   beat of its own (``ecg._beats_core.remove_pace_pulses``).
1. Decimate to a feature rate of >= 150 Hz (block means), band-pass 6-32 Hz
   (Butterworth, zero-phase): keeps the energy of adult and narrow neonatal
   QRS complexes (40-60 ms), rejects baseline wander, most P/T energy and
   mains. Per lead, a QRS envelope: RMS of the band-passed slope over a
   centred 70 ms window (mV/s).
2. Leads are fused as a weighted mean of envelopes normalised by their
   local QRS level (2-s blocks, 14-s rolling median); the weight is the
   local QRS-to-background ratio, so a flat, disconnected or noise-only lead
   contributes nothing (``ecg._beats_core.fuse``).
3. Confident beats of this first feature teach up to 3 QRS templates per
   lead (``ecg._beats_template``); the dominant one is used as a matched
   filter whose envelope is fused with the band-pass envelopes by the same
   quality weighting: in muscle/motion noise the matched filter dominates,
   in clean stretches unusual morphologies stay detectable.
4. Beats are peaks of the fused feature above Pan-Tompkins' adaptive
   threshold NPK + 0.2 (SPK - NPK) and 3x the local 25th percentile, then a
   140 ms refractory non-maximum suppression, Pan-Tompkins' slope rule for
   T waves (and tall P waves, atrial pacing artefacts; with several leads the
   median over leads of the per-lead slope ratio decides, so one noisy lead
   cannot make a T wave look steep), rejection of small template-unlike peaks
   inside a regular RR interval in noisy stretches, and a Hamilton-style
   search-back at half threshold in RR gaps > 1.66 x the local median RR (picks
   early or late in their gap must pass the T/P rule too).
5. Each beat is placed on the R peak: the largest absolute deflection from
   the local (median) baseline within +-70 ms on the 50 Hz-smoothed signal,
   over the well-conducting leads.

Vectorised numpy/scipy, float32; a 30-min 360 Hz lead takes ~16 ms CPU (bench/README-beats.md).
"""

from __future__ import annotations

import numpy as np

from ecg._beats_core import (
    MIN_LEVEL_MV_S,
    Smoothed,
    band_envelope,
    block_levels,
    fuse,
    locate_r,
    prepare,
    quick_beats,
    remove_pace_pulses,
    select_beats,
)
from ecg._beats_template import QrsTemplates

__all__ = ["detect_r_peaks"]

_EMPTY = np.zeros(0, dtype=np.int64)
#: Lowest matched-filter level (fraction of the template's own beats) for a conducting lead.
_MF_MIN_LEVEL = 0.05


def detect_r_peaks(signal: np.ndarray, fs: float) -> np.ndarray:
    """Sample indices (int64, sorted, unique, at ``fs``) of the R peaks.

    ``signal``: (n,) or (n, leads) in mV; NaN samples are treated as lead-off
    (0 mV). ``fs``: sampling rate in Hz (about 125-1000). Handles 30-300
    beats/min and pediatric QRS complexes; several leads are fused so one bad
    lead neither loses nor invents beats. Flat, constant, empty or very short
    (< 0.5 s) input gives an empty array; it never raises for such input.
    """
    prepared = prepare(signal, fs)
    if prepared is None:
        return _EMPTY.copy()
    x, fs = prepared
    x = remove_pace_pulses(x, fs)
    y, env, decim = band_envelope(x, fs)
    fd = fs / decim
    level, bg = block_levels(env, fd)
    first, weight = fuse(env, fd, np.full(len(env), MIN_LEVEL_MV_S), (level, bg))
    if first is None:
        return _EMPTY.copy()
    ok = weight >= 0.25 * weight.max()
    best = int(np.argmax(weight))
    mf, floors, templates = _matched_envelopes(y, quick_beats(first, fd), fd, np.flatnonzero(ok), best)
    mf_level, mf_bg = block_levels(mf, fd) if mf else (level[:0], bg[:0])  # env levels are reused
    feat, _ = fuse([env[j] for j in np.flatnonzero(ok)] + mf, fd,
                   np.concatenate([np.full(int(ok.sum()), MIN_LEVEL_MV_S)] + floors),
                   (np.concatenate([level[ok], mf_level]), np.concatenate([bg[ok], mf_bg])))
    if feat is None:
        return _EMPTY.copy()
    sm = Smoothed(x if ok.all() else x[ok], fs)
    shape = None if templates is None else (lambda pos: templates.similarity(y[best], pos))
    beats = select_beats(feat, fd, lambda pos: sm.max_slope(pos * decim + decim // 2), shape)
    return locate_r(sm, beats * decim + decim // 2)


def _matched_envelopes(y: np.ndarray, quick: np.ndarray, fd: float, leads: np.ndarray, best: int
                       ) -> tuple[list[np.ndarray], list[np.ndarray], QrsTemplates | None]:
    """Matched-filter envelopes (m,) of the given leads from templates learned at ``quick``
    beats; returns (envelopes, their level floors, templates of lead ``best`` or None)."""
    envs, floors, best_templates = [], [], None
    for j in leads:
        templates = QrsTemplates(y[j], quick, fd)
        if templates:
            envs.append(templates.envelope(y[j]))
            floors.append(np.array([_MF_MIN_LEVEL]))
            if j == best:
                best_templates = templates
    return envs, floors, best_templates
