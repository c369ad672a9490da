"""Second- and third-degree AV block from atrial waves found beat by beat.

Input: the QRS onsets (samples) and the atrial waves of ``ecg.atrial.atrial_waves``
(peaks of the QRST-cancelled residual, conducted or not). Each QRS is paired
with the last atrial wave ``PR_MIN_S``..``PR_MAX_S`` before its onset (the
"P-to-QRS" interval here is P PEAK to QRS onset: constant where the PR is);
an atrial wave with no QRS onset in that window after it is NOT conducted.

Criteria (Barold SS, Hayes DL, Second-degree atrioventricular block: a
reappraisal, Mayo Clin Proc 2001;76:44-57; the AHA/ACCF/HRS statement list,
Mason JW et al., Circulation 2007;115:1325-1332; Kusumoto FM et al., 2018
ACC/AHA/HRS bradycardia guideline, Circulation 2019;140:e382-e482):

* the atrial rhythm must itself be regular (median absolute PP deviation
  <= ``PP_REGULAR``) and slower than ``MAX_ATRIAL_BPM`` (faster regular atrial
  waves are flutter, ``ecg.rhythm``), with at least ``MIN_P`` waves;
* **complete (third-degree)**: atrial rate > ventricular rate x
  ``AV3_RATE_RATIO``, a regular ventricular (escape) rhythm, and no fixed
  P-QRS relation (SD of the last-P-to-QRS interval > ``AV3_PR_SD_MS``);
* **2:1**: every second P wave not conducted (atrial rate 2 x ventricular
  within ``RATIO_TOL``), the conducted ones at a constant PR
  (SD <= ``PR_CONSTANT_SD_MS``);
* **high-grade**: two or more consecutive non-conducted P waves while other
  P waves conduct at a constant PR;
* **Mobitz I (Wenckebach)**: a single non-conducted P wave after which the
  PR is shorter than before it by >= ``WENCKEBACH_SHORTENING_MS`` (the
  progressive lengthening shows as the longest PR before the drop and the
  shortest after);
* **Mobitz II**: a single non-conducted P wave with the PR before and after
  it equal within ``MOBITZ2_PR_TOL_MS`` and all conducted PR constant;
* Mobitz I and II need the non-conducted P inside a pause (RR >= ``PAUSE_RR``
  x the median): a dropped beat lengthens the RR, a residual peak that is
  not an atrial wave does not;
* every non-conducted P wave must come on time (PP within ``PP_REGULAR`` of
  the median): a blocked premature atrial complex, the commonest cause of an
  unexpected pause, comes early and is not AV block.

The numeric tolerances are local choices (not from the cited texts), checked
on synthetic tracings (``tests/ecg/test_rhythm.py``) and on the two complete
blocks among the shared records (PTB-XL 00959, LUDB 111, paced).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PR_MIN_S = 0.06
PR_MAX_S = 0.45
PR_MAX_RR = 0.6
PAUSE_RR = 1.3  # a dropped beat lengthens its RR to >= 1.3 x the median RR
PP_REGULAR = 0.10
MAX_ATRIAL_BPM = 200.0
MIN_P = 5
AV3_RATE_RATIO = 1.25
AV3_PR_SD_MS = 60.0
RATIO_TOL = 0.15
PR_CONSTANT_SD_MS = 25.0
WENCKEBACH_SHORTENING_MS = 30.0
MOBITZ2_PR_TOL_MS = 20.0
RR_REGULAR = 0.08  # median |successive RR difference| / mean RR of an escape rhythm


@dataclass(frozen=True)
class AVConduction:
    """Atrio-ventricular relation: ``code`` (AVB2_I, AVB2_II, AVB2_21, AVB_HIGH, AVB3 or
    None), atrial and ventricular rates (/min), conducted PR values (ms, P peak to
    QRS onset), the number of non-conducted P waves and which waves conducted."""

    code: str | None
    atrial_bpm: float
    ventricular_bpm: float
    pr_ms: np.ndarray
    blocked: int
    conducted: np.ndarray  # bool per atrial wave (sorted): followed by a QRS within the PR window


def _pair(p: np.ndarray, q: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """PR (ms, NaN if none) per QRS onset, and conducted flag per atrial wave. The PR
    window ends at ``PR_MAX_S`` or ``PR_MAX_RR`` of the median RR, whichever is shorter
    (at fast rates a wave further back belongs to the previous beat's T)."""
    rr = float(np.median(np.diff(q))) if len(q) > 1 else np.inf
    lo, hi = PR_MIN_S * fs, min(PR_MAX_S * fs, PR_MAX_RR * rr)
    pr = np.full(len(q), np.nan)
    conducted = np.zeros(len(p), dtype=bool)
    for i, k in enumerate(q):
        cand = np.flatnonzero((k - p >= lo) & (k - p <= hi))
        if len(cand):
            j = cand[-1]
            pr[i] = (k - p[j]) * 1000.0 / fs
            conducted[j] = True
    return pr, conducted


def _dropped_runs(p: np.ndarray, conducted: np.ndarray, q: np.ndarray) -> list[tuple[int, int]]:
    """(first, length) of each run of non-conducted P waves lying between two QRS onsets."""
    runs, i = [], 0
    while i < len(p):
        if conducted[i] or p[i] < q[0] or p[i] > q[-1]:
            i += 1
            continue
        j = i
        while j < len(p) and not conducted[j]:
            j += 1
        runs.append((i, j - i))
        i = j
    return runs


def classify_av(p: np.ndarray, q: np.ndarray, fs: float) -> AVConduction | None:
    """AV conduction from atrial wave peaks ``p`` and QRS onsets ``q`` (samples); None
    when the atrial rhythm is not regular enough to judge (module doc)."""
    p, q = np.sort(np.asarray(p)), np.sort(np.asarray(q))
    if len(p) < MIN_P or len(q) < 3:
        return None
    pp = np.diff(p)
    pp_med = float(np.median(pp))
    if np.median(np.abs(pp - pp_med)) > PP_REGULAR * pp_med:
        return None
    atrial = 60.0 * fs / pp_med
    rr = np.diff(q)
    vent = 60.0 * fs / float(np.mean(rr))
    if atrial > MAX_ATRIAL_BPM:
        return None
    pr, conducted = _pair(p, q, fs)
    runs = _dropped_runs(p, conducted, q)
    blocked = sum(n for _, n in runs)
    found = pr[np.isfinite(pr)]
    code = None
    rr_irr = float(np.median(np.abs(np.diff(rr))) / np.mean(rr)) if len(rr) >= 3 else np.inf
    last_p = np.array([(k - p[p < k][-1]) * 1000.0 / fs for k in q if np.any(p < k)])
    if (atrial > AV3_RATE_RATIO * vent and rr_irr <= RR_REGULAR and len(last_p) >= 3
            and np.std(last_p) > AV3_PR_SD_MS):
        code = "AVB3"
    elif blocked and all(_on_time(p, i, pp_med) for j, n in runs for i in range(j, j + n)):
        constant = len(found) >= 2 and np.std(found) <= PR_CONSTANT_SD_MS
        if constant and abs(atrial / vent - 2.0) <= 2.0 * RATIO_TOL and all(n == 1 for _, n in runs):
            code = "AVB2_21"
        elif constant and _high_grade(p, q, runs, atrial / vent):
            code = "AVB_HIGH"
        elif all(n == 1 for _, n in runs) and all(_in_pause(p[j], q) for j, _ in runs):
            code = _mobitz(p, q, pr, runs, constant)
    return AVConduction(code, atrial, vent, found, blocked, conducted)


def _high_grade(p: np.ndarray, q: np.ndarray, runs: list[tuple[int, int]], ratio: float) -> bool:
    """Two or more consecutive P waves blocked: inside pauses, or at a fixed 3:1 / 4:1 ratio."""
    high = [j for j, n in runs if n >= 2]
    if not high:
        return False
    fixed = round(ratio) >= 3 and abs(ratio - round(ratio)) <= 2 * RATIO_TOL
    return fixed or all(_in_pause(p[j], q) for j in high)


def _in_pause(t: int, q: np.ndarray) -> bool:
    """The RR interval around sample ``t`` is a pause (>= ``PAUSE_RR`` x the median RR)."""
    k = int(np.searchsorted(q, t))
    if k == 0 or k >= len(q):
        return False
    return bool(q[k] - q[k - 1] >= PAUSE_RR * float(np.median(np.diff(q))))


def _on_time(p: np.ndarray, i: int, pp_med: float) -> bool:
    """The i-th atrial wave comes when the atrial rhythm predicts (a blocked PAC comes early)."""
    return i > 0 and abs(p[i] - p[i - 1] - pp_med) <= PP_REGULAR * pp_med


def _mobitz(p: np.ndarray, q: np.ndarray, pr: np.ndarray, runs: list[tuple[int, int]],
            pr_constant: bool) -> str | None:
    """AVB2_I or AVB2_II from the PR just before and just after each dropped P wave."""
    shortening = []
    for i, _ in runs:
        before = np.flatnonzero(q < p[i])
        after = np.flatnonzero(q > p[i])
        if len(before) == 0 or len(after) == 0:
            continue
        a, b = pr[before[-1]], pr[after[0]]
        if np.isfinite(a) and np.isfinite(b):
            shortening.append(a - b)
    if not shortening:
        return None
    s = np.asarray(shortening)
    if np.all(s >= WENCKEBACH_SHORTENING_MS):
        return "AVB2_I"
    if pr_constant and np.all(np.abs(s) <= MOBITZ2_PR_TOL_MS):
        return "AVB2_II"
    return None
