"""Building blocks of :func:`ecg.beats.detect_r_peaks` (see its module docstring).

Private: signatures may change. Arrays are lead-major, (leads, samples), so
per-lead operations run on contiguous memory. Units: envelopes in mV/s,
times in s; ``fd`` is the decimated feature rate in Hz; positions are
samples at fd unless the name says otherwise.
"""

from __future__ import annotations

from functools import lru_cache
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view
from scipy import signal as sps

#: Per-position measure at feature-rate positions: maximal QRS slope (mV/s) or shape similarity (0..1).
PosFn = Callable[[np.ndarray], np.ndarray]

#: Feature rate (Hz, lower bound): the input is decimated by fs // FEATURE_HZ.
FEATURE_HZ = 150.0
#: QRS band (Hz): narrow neonatal QRS has energy up to ~40 Hz, adult 5-25 Hz.
BAND_HZ = (6.0, 32.0)
#: Envelope window (s): about one (narrow) QRS; shorter than the 200 ms RR at 300/min.
ENVELOPE_S = 0.07
#: Block length (s) for local level statistics and blocks per rolling median (~14 s).
BLOCK_S = 2.0
BLOCKS_MEDIAN = 7
#: Minimum QRS envelope (mV/s) for a lead to count as conducting (flat-line guard).
MIN_LEVEL_MV_S = 2.0
#: A lead block is usable when its QRS level exceeds this multiple of its background.
MIN_QUALITY = 4.0
#: Threshold: NPK + ALPHA (SPK - NPK); peaks below NOISE_CUT x SPK count as noise peaks.
ALPHA = 0.2
NOISE_CUT = 0.5
#: Local contrast: a beat exceeds GAMMA x the local SHORT_PCT percentile of the feature
#: (per SHORT_BLOCK_S block, rolling median over SHORT_BLOCKS blocks).
GAMMA = 3.0
SHORT_PCT = 0.25
SHORT_BLOCK_S = 0.25
SHORT_BLOCKS = 5
#: Refractory period (s): two QRS cannot be closer (300/min -> 200 ms RR).
REFRACTORY_S = 0.14
#: RR is estimated from kept peaks above STRONG x SPK that dominate +-RR_NMS_S.
STRONG = 0.3
RR_NMS_S = 0.2
#: P/T rule windows (s, and fraction of RR) and ratios: slope below SLOPE_RATIO and feature
#: below H_RATIO x the beat's for a T wave; P_SLOPE_RATIO and P_H_RATIO for a P wave.
#: T window: Pan & Tompkins (1985) 360 ms. P window 300 ms: PR up to 300 ms covers first-degree
#: AV block (PR > 200 ms) and pacemakers' programmed AV delays (typically 120-250 ms, Barold,
#: Cardiac Pacemakers Step by Step; from memory, not checked here) plus the atrial spike / P
#: peak to R peak offset.
T_WINDOW_S = 0.36
T_RR = 0.7
P_WINDOW_S = 0.30
P_RR = 0.4
SLOPE_RATIO = 0.5
H_RATIO = 1.0
P_SLOPE_RATIO = 0.8
P_H_RATIO = 0.8
#: ... or, when the peak lies in the last P_SPAN of the interval between its neighbours, any
#: slope ratio below 1 (MIT-BIH 108's sharp P waves: 80-95 % of the QRS slope, 170-230 ms early).
P_SPAN = 0.2
#: Where the local noise-peak level NPK exceeds NOISY x SPK, peaks below DOUBT x SPK must
#: resemble a QRS template (similarity >= SHAPE_MIN).
DOUBT = 0.6
SHAPE_MIN = 0.7
NOISY = 0.15
#: Interloper rule (where NPK > INTERLOPER_NOISY x SPK): a peak below DOUBT x SPK whose confident
#: neighbours are one local RR apart (+-INTERLOPER_RR) and similarity < INTERLOPER_SHAPE is dropped.
INTERLOPER_RR = 0.2
INTERLOPER_SHAPE = 0.9
INTERLOPER_NOISY = 0.12
#: Search-back: RR gap longer than this multiple of the local median RR is re-searched at half
#: threshold; a pick must resemble a QRS template (similarity >= SEARCHBACK_SHAPE).
SEARCHBACK_RR = 1.66
SEARCHBACK_SHAPE = 0.7
#: A search-back pick in the first (last) SEARCHBACK_EARLY of its RR gap must pass the T (P) rule: a
#: T peak lies <= ~0.4 RR after its beat (Bazett QT), i.e. within the first 0.4 / 1.66 = 0.24 of a
#: gap the search-back opens; a beat missed in the gap lies near its middle.
SEARCHBACK_EARLY = 0.3
#: R-peak search half-window (s) around the feature peak; half-window for the slope measure.
R_HALF_S = 0.07
SLOPE_HALF_S = 0.05
#: Quick first-pass beats (template learning): above QUICK_LEVEL x SPK, dominant within +-QUICK_NMS_S.
QUICK_LEVEL = 0.3
QUICK_NMS_S = 0.25


def prepare(signal: np.ndarray, fs: float) -> tuple[np.ndarray, float] | None:
    """Validate input; return ((leads, n) float32 with NaN -> 0, fs) or None if nothing to detect.

    float32 (7 significant digits: 0.1 uV at 10 mV) halves the memory traffic of every pass."""
    fs = float(fs)
    if not np.isfinite(fs) or fs <= 0:
        raise ValueError(f"sampling rate must be positive, got {fs} Hz")
    x = np.asarray(signal, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"signal must be (n,) or (n, leads), got shape {x.shape}")
    if x.shape[0] < int(0.5 * fs) or x.shape[1] == 0 or x.shape[0] < 16:
        return None
    x = np.ascontiguousarray(x.T, dtype=np.float32)
    if not np.isfinite(x.sum()):  # any NaN/inf: lead-off samples -> 0 mV
        x = np.where(np.isfinite(x), x, np.float32(0.0))
    return x, fs  # flat or constant leads are rejected later by the level floor


#: Pacemaker pulses: 0.1-2 ms wide (the pace-pulse widths of IEC 60601-2-27's pacemaker pulse
#: rejection test, from memory of the standard, not checked here), smeared over a few ms by
#: the recorder's anti-alias filter. Sharpness at lag k: |x[i] - mean(x[i-k], x[i+k])|. A sample
#: is a pulse when its sharpness at k = PACE_HALF_S is >= PACE_MIN_MV, >= PACE_K x the record's
#: 98th percentile and >= PACE_RATIO x its sharpness at 2k (a pulse is as sharp at k as at 2k; a
#: QRS, even a narrow neonatal R with ~5 ms half-width, is < 0.4 as sharp at k as at 2k).
#: Resolvable only from PACE_MIN_FS upwards.
PACE_HALF_S = 0.004
PACE_K = 1.5
PACE_RATIO = 0.75
PACE_MIN_MV = 1.0
PACE_MIN_FS = 250.0


def _largest_step(x: np.ndarray, k: int, chunk: int = 1 << 15) -> float:
    """max |x[:, i + k] - x[:, i]| (mV), in cache-sized chunks through one reused buffer (no
    signal-sized temporary)."""
    n = x.shape[1] - k
    buf = np.empty(min(chunk, max(n, 1)), dtype=x.dtype)
    big = 0.0
    for row in x:
        for a in range(0, n, chunk):
            d = buf[: min(chunk, n - a)]
            np.subtract(row[a + k: a + k + len(d)], row[a: a + len(d)], out=d)
            big = max(big, float(d.max()), -float(d.min()))
    return big


def remove_pace_pulses(x: np.ndarray, fs: float) -> np.ndarray:
    """x (leads, n) with pacemaker pulses blanked (linear interpolation over +-(k+1) samples).

    Why: a pacing spike is broadband, so it passes the QRS band and is counted as a beat of its
    own (before the paced QRS, or alone with atrial pacing); monitors blank it for the same
    reason. Returns x itself when nothing was found or fs < PACE_MIN_FS.
    """
    if fs < PACE_MIN_FS:
        return x
    k = max(1, round(PACE_HALF_S * fs))
    n = x.shape[1]
    if n < 8 * k + 8:
        return x
    if _largest_step(x, k) < PACE_MIN_MV:  # usual case: sharpness >= PACE_MIN_MV needs such a step
        return x
    mid = x[:, 2 * k: n - 2 * k]
    c1 = x[:, k: n - 3 * k] + x[:, 3 * k:n - k]
    c1 *= np.float32(-0.5)
    c1 += mid
    np.abs(c1, out=c1)
    thr = np.maximum(PACE_K * np.quantile(c1[:, ::7], 0.98, axis=1), PACE_MIN_MV)
    cand = np.argwhere(c1 > thr[:, None])
    if cand.size == 0:
        return x
    lead, i = cand[:, 0], cand[:, 1]
    c2 = np.abs(mid[lead, i] - 0.5 * (x[lead, i] + x[lead, i + 4 * k]))
    cand = cand[c1[lead, i] >= PACE_RATIO * c2]
    out = x.copy()
    for j, i in cand:  # few: at most a handful of samples per paced beat
        lo, hi = i + k - 1, min(n - 1, i + 3 * k + 1)  # c1[i] is centred on sample i + 2k
        out[j, lo: hi + 1] = np.linspace(out[j, lo], x[j, hi], hi - lo + 1)
    return out


@lru_cache(maxsize=32)
def _band_ba(fd: float) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Butterworth band-pass (b, a, steady-state zi) at fd; order 2 per edge (4 poles)."""
    high = min(BAND_HZ[1], 0.45 * fd)
    b, a = sps.butter(2, [BAND_HZ[0], high], btype="bandpass", fs=fd)
    f32 = np.float32
    return b.astype(f32), a.astype(f32), sps.lfilter_zi(b, a).astype(f32)


def _filtfilt(x: npt.NDArray[np.float32], fd: float) -> npt.NDArray[np.float32]:
    """Zero-phase band-pass of float32 x along axis 1, both passes started in steady state."""
    b, a, zi = _band_ba(fd)
    y: npt.NDArray[np.float32] = sps.lfilter(b, a, x, axis=1, zi=zi[None, :] * x[:, :1])[0]
    y = sps.lfilter(b, a, y[:, ::-1], axis=1, zi=zi[None, :] * y[:, -1:])[0]
    return y[:, ::-1]  # a reversed view: no signal-sized copy


def moving_mean(v: np.ndarray, n: int) -> np.ndarray:
    """Centred moving mean over n samples along the last axis (zero padded), float32.

    Window [i - n // 2, i + n - 1 - n // 2] (as ``scipy.ndimage.uniform_filter1d``),
    summed in float32 from power-of-two partial sums (log2 n passes; relative
    error ~1e-7, the float32 resolution).
    """
    v = np.asarray(v, dtype=np.float32)
    cur = _padded(v.shape, n)
    m, lo = v.shape[-1], n // 2
    cur[..., lo: lo + m] = v
    return _moving_mean_padded(cur, m, n)


def _padded(shape: tuple[int, ...], n: int) -> np.ndarray:
    """float32 buffer for a moving mean over n: shape with n - 1 more samples on the last
    axis, the n // 2 leading and n - 1 - n // 2 trailing ones zero, the middle uninitialised."""
    m, lo = shape[-1], n // 2
    cur = np.empty(shape[:-1] + (m + n - 1,), dtype=np.float32)
    cur[..., :lo] = 0.0
    cur[..., lo + m:] = 0.0
    return cur


def _moving_mean_padded(cur: np.ndarray, m: int, n: int, scale: float = 1.0) -> np.ndarray:
    """:func:`moving_mean` (times ``scale``) of the m samples held in ``cur`` (from
    :func:`_padded`); may overwrite ``cur``."""
    parts, w = [cur], 1  # parts[i]: sums of 2**i consecutive samples
    while 2 * w <= n:
        cur = cur[..., :-w] + cur[..., w:]
        parts.append(cur)
        w *= 2
    out, off = None, 0
    for i in range(len(parts) - 1, -1, -1):
        if n - off >= 1 << i:
            seg = parts[i][..., off: off + m]
            if out is None:  # the largest part is not needed again: sum into it, no copy
                out = seg
            else:
                np.add(out, seg, out=out)
            off += 1 << i
    assert out is not None  # parts[0] is cur, so the loop adds at least one part (n >= 1)
    out *= np.float32(scale / n)
    return out


def band_envelope(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Band-passed signal (mV) and QRS envelope (mV/s), (leads, m) at fs/decim; returns (y, env, decim).

    Decimation by ``decim`` = fs // FEATURE_HZ with block means (a boxcar
    anti-alias filter with nulls at multiples of fs/decim), then a zero-phase
    band-pass at the feature rate. The envelope is the RMS of the slope over
    a centred ENVELOPE_S window.
    """
    decim = max(1, int(fs // FEATURE_HZ))
    fd = fs / decim
    m = x.shape[1] // decim
    if decim == 1:
        xd = x[:, :m]
    else:  # block means: the first add allocates, the rest accumulate in place
        xd = np.add(x[:, 0: m * decim: decim], x[:, 1: m * decim: decim], dtype=np.float32)
        for k in range(2, decim):
            xd += x[:, k: m * decim: decim]
        xd *= np.float32(1.0 / decim)
    y = _filtfilt(xd, fd)
    n = max(1, 2 * int(round(ENVELOPE_S * fd / 2)) + 1)
    buf, lo = _padded(y.shape, n), n // 2  # squared slope written straight into the padded buffer
    slope = buf[:, lo: lo + m]
    np.subtract(y[:, 2:], y[:, :-2], out=slope[:, 1:-1])
    slope[:, 0] = slope[:, -1] = 0.0
    np.multiply(slope, slope, out=slope)
    env = _moving_mean_padded(buf, m, n, scale=(fd / 2.0) ** 2)  # slope in mV/s: (dy / 2) * fd
    np.sqrt(np.maximum(env, 0.0, out=env), out=env)
    return y, env, decim


def _window_median(v: np.ndarray, w: int) -> np.ndarray:
    """Median of each length-w (odd) sliding window over the last axis (len - w + 1 values).

    Odd-even transposition sorting network over the w shifted copies (w rounds
    of element-wise min/max): exactly the middle order statistic, as
    ``np.median`` for odd w, without a per-window sort (windows are short, many).
    """
    n = v.shape[-1] - w + 1
    rows = [v[..., i: i + n] for i in range(w)]
    for r in range(w):
        for i in range(r % 2, w - 1, 2):
            rows[i], rows[i + 1] = np.minimum(rows[i], rows[i + 1]), np.maximum(rows[i], rows[i + 1])
    return np.array(rows[w // 2], copy=True)


def _rolling_median(v: np.ndarray) -> np.ndarray:
    """Centred rolling median over BLOCKS_MEDIAN entries of the last axis (edges reuse edge windows)."""
    nb = v.shape[-1]
    if nb <= BLOCKS_MEDIAN:
        return np.repeat(np.median(v, axis=-1, keepdims=True), nb, axis=-1)
    med = _window_median(v, BLOCKS_MEDIAN)
    h = BLOCKS_MEDIAN // 2
    return np.concatenate([np.repeat(med[..., :1], h, axis=-1), med,
                           np.repeat(med[..., -1:], nb - med.shape[-1] - h, axis=-1)], axis=-1)


def block_levels(cols: Sequence[np.ndarray] | np.ndarray, fd: float) -> tuple[np.ndarray, np.ndarray]:
    """Per column and BLOCK_S block (columns, blocks): QRS level (rolling median of block
    maxima) and background (rolling median of block 20th percentiles, from every 4th sample)."""
    m = len(cols[0])
    blen = max(1, min(m, int(round(BLOCK_S * fd))))
    nb = max(1, m // blen)
    blocks = [c[: nb * blen].reshape(nb, blen) for c in cols]  # views, no copy of the columns
    k = int(0.2 * ((blen + 3) // 4 - 1))
    level = _rolling_median(np.stack([b.max(axis=1) for b in blocks]))
    bg = _rolling_median(np.stack([np.sort(b[:, ::4], axis=1)[:, k] for b in blocks]))
    return level, bg


def fuse(cols: Sequence[np.ndarray] | np.ndarray, fd: float
, floors: np.ndarray,
         levels: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray | None, np.ndarray]:
    """Fuse envelopes (columns, m) into one feature whose local QRS level is ~1.

    Per 2-s block, each column's QRS level is the rolling median of its block
    maxima and its background the rolling median of block 20th percentiles;
    a column is divided by its level and weighted by its quality (level /
    background - MIN_QUALITY, clipped to 0..50), or 0 where its level is below
    its ``floors`` entry (flat, disconnected lead). ``levels``: the columns'
    ``block_levels`` if already known. Returns (feature or None when nothing
    conducts, mean weight per column).
    """
    ncol, m = len(cols), len(cols[0])
    blen = max(1, min(m, int(round(BLOCK_S * fd))))
    nb = max(1, m // blen)
    blocks = [c[: nb * blen].reshape(nb, blen) for c in cols]  # views, no copy of the columns
    level, bg = block_levels(cols, fd) if levels is None else levels
    fl = floors[:, None]
    quality = level / np.maximum(bg, 1e-3 * fl)
    weight = np.clip(quality - MIN_QUALITY, 0.0, 50.0) * (level >= fl)
    wsum = weight.sum(axis=0)
    if not np.any(wsum > 0):
        return None, weight.mean(axis=1)
    coef = (weight / (np.maximum(level, fl) * np.maximum(wsum, 1e-12))).astype(np.float32)
    # piecewise-constant per block: levels change slowly (14-s rolling medians), steps are small
    fused = np.empty(m, dtype=np.float32)
    head = fused[: nb * blen].reshape(nb, blen)
    np.multiply(blocks[0], coef[0][:, None], out=head)
    fused[nb * blen:] = cols[0][nb * blen:] * coef[0, -1]
    for j in range(1, ncol):
        head += blocks[j] * coef[j][:, None]
        fused[nb * blen:] += cols[j][nb * blen:] * coef[j, -1]
    return fused, weight.mean(axis=1)


def local_maxima(v: np.ndarray) -> npt.NDArray[np.intp]:
    """Indices of the local maxima of 1-D ``v``, equal to ``scipy.signal.find_peaks(v)[0]``.

    A maximum rises strictly and then falls strictly; across a plateau (run
    of equal samples, e.g. a feature held at half rate) it is placed at the
    plateau's middle (left + right) // 2, as scipy does. Plateaus are rare
    and handled apart from the vectorised strict case.
    """
    n = v.size
    if n < 3:
        return np.zeros(0, dtype=np.intp)
    mid = v[1:-1]
    peaks = np.flatnonzero((mid > v[:-2]) & (mid > v[2:])) + 1
    eq = np.flatnonzero(v[1:] == v[:-1])  # v[i] == v[i + 1]
    if eq.size == 0:
        return peaks
    new_run = np.r_[True, np.diff(eq) > 1]
    left = eq[new_run]
    right = eq[np.r_[new_run[1:], True]] + 1  # each run of equal samples is [left, right]
    ok = (left >= 1) & (right <= n - 2)
    left, right = left[ok], right[ok]
    top = (v[left - 1] < v[left]) & (v[right + 1] < v[right])
    extra = (left[top] + right[top]) // 2  # ascending, like peaks: merge without a full sort
    return np.insert(peaks, np.searchsorted(peaks, extra), extra) if extra.size else peaks


def _peak_levels(cand: np.ndarray, h: np.ndarray, m: int, fd: float) -> tuple[np.ndarray, np.ndarray]:
    """Local QRS level (SPK) from peak heights: rolling median of per-block maxima (BLOCK_S)."""
    blen = max(1, min(m, int(round(BLOCK_S * fd))))
    nb = max(1, m // blen)
    bmax = np.zeros(nb)
    if cand.size:  # cand is sorted: block maxima by reduceat over runs of equal block index
        b = np.minimum(cand // blen, nb - 1)
        starts = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
        bmax[b[starts]] = np.maximum.reduceat(h, starts)
    return (np.arange(nb) + 0.5) * blen, _rolling_median(bmax)


def quick_beats(feat: np.ndarray, fd: float) -> npt.NDArray[np.intp]:
    """Confident beats for template learning: peaks above QUICK_LEVEL x local QRS level that
    dominate +-QUICK_NMS_S (may miss beats; must rarely be noise)."""
    cand = local_maxima(feat)
    if cand.size == 0:
        return cand
    h = feat[cand].astype(np.float64)
    centres, level = _peak_levels(cand, h, len(feat), fd)
    keep: npt.NDArray[np.bool_] = h > QUICK_LEVEL * np.interp(cand, centres, level)
    keep &= _local_max(cand, h, keep, int(round(QUICK_NMS_S * fd)))
    return cand[keep]


def select_beats(feat: np.ndarray, fd: float, slope: PosFn, shape: PosFn | None = None) -> npt.NDArray[np.int64]:
    """Beat positions (samples at fd) from a normalised feature (local QRS level ~1).

    Candidates are the feature's local maxima above an adaptive threshold
    (Pan & Tompkins' NPK + ALPHA (SPK - NPK), with SPK the local QRS level and
    NPK the local noise-peak level, and at least GAMMA x the local median),
    then a refractory non-maximum suppression, the P/T-wave slope rule and a
    search-back at half threshold in long RR gaps. ``slope(pos)`` gives the
    maximal QRS slope (mV/s) at feature positions ``pos``; ``shape(pos)`` the
    similarity (0..1) to the record's QRS templates: in noisy stretches
    (NPK > NOISY x SPK) doubtful peaks (below DOUBT x SPK) must reach
    SHAPE_MIN, search-back picks SEARCHBACK_SHAPE.
    """
    cand = local_maxima(feat)
    if cand.size == 0:
        return cand.astype(np.int64)
    h = feat[cand].astype(np.float64)
    centres, level = _peak_levels(cand, h, len(feat), fd)
    lv = np.interp(cand, centres, level)
    blen = len(feat) // max(1, len(centres))
    noise = _noise_peaks(cand, h, lv, len(centres), blen)
    # thr below is >= ALPHA x lv (npk >= 0): drop the many small ripples first (margin for rounding)
    pre = np.flatnonzero(h > (0.5 * (1.0 - 1e-9) * ALPHA) * lv)
    cand, h, lv = cand[pre], h[pre], lv[pre]
    npk = np.interp(cand, centres, noise)
    thr = npk + ALPHA * np.maximum(lv - npk, 0.0)
    lc, lmed = _short_median(feat, fd)
    thr = np.maximum(np.maximum(thr, GAMMA * np.interp(cand, lc, lmed)), 1e-6)
    sub = h > 0.5 * thr  # nothing below half threshold can become a beat (search-back floor)
    cand, h, thr, lv, npk = cand[sub], h[sub], thr[sub], lv[sub], npk[sub]
    keep = h > thr
    keep &= _local_max(cand, h, keep, int(round(REFRACTORY_S * fd)))
    ok_shape = np.ones(len(cand), dtype=bool)
    if shape is not None:
        doubt = keep & (h < DOUBT * lv) & (npk > NOISY * lv)
        ok_shape[doubt] = shape(cand[doubt]) >= SHAPE_MIN
        keep &= ok_shape
    strong = keep & _local_max(cand, h, keep & (h > STRONG * lv), int(round(RR_NMS_S * fd)))
    rr = _local_rr(cand, cand[strong], fd)
    sl = np.zeros((1, len(cand)))
    if keep.any():
        per_lead = np.atleast_2d(slope(cand[keep]))
        sl = np.zeros((len(per_lead), len(cand)))
        sl[:, keep] = per_lead
    for _ in range(2):
        keep = _drop_p_t_waves(cand, h, sl, keep, rr, fd)
    keep &= ~(_interlopers(cand, h, keep, lv, shape) & (npk > INTERLOPER_NOISY * lv))
    found = _search_back(cand, h, thr, keep, rr, fd, shape)
    beats: npt.NDArray[np.intp] = cand[found & ~_t_or_p_picks(cand, h, sl, keep, found, rr, fd, slope)]
    return beats.astype(np.int64)



def _t_or_p_picks(pos: np.ndarray, h: np.ndarray, sl: np.ndarray, keep: np.ndarray,
                   found: np.ndarray, rr: np.ndarray, fd: float, slope: PosFn) -> npt.NDArray[np.bool_]:
    """Search-back picks that are the T wave of the beat before them or the P wave (or atrial
    pacing artefact) of the beat after them: in the first or last SEARCHBACK_EARLY of their RR
    gap (a beat missed in a gap of ~2 RR lies near its middle; a T wave one QT after the beat,
    e.g. a PVC's T in its compensatory pause; a P wave one PR before the next) and failing the
    P/T-wave slope rule. ``sl`` (leads, candidates) is filled in for the picks."""
    picks = np.flatnonzero(found & ~keep)
    out = np.zeros_like(keep)
    if picks.size == 0:
        return out
    kept = pos[keep]
    k = np.searchsorted(kept, pos[picks])
    inside = (k > 0) & (k < kept.size)
    k = np.clip(k, 1, max(1, kept.size - 1))
    frac = (pos[picks] - kept[k - 1]) / np.maximum(kept[k] - kept[k - 1], 1)
    picks = picks[inside & ((frac < SEARCHBACK_EARLY) | (frac > 1.0 - SEARCHBACK_EARLY))]
    if picks.size == 0:
        return out
    sl[:, picks] = np.atleast_2d(slope(pos[picks]))
    out[picks] = ~_drop_p_t_waves(pos, h, sl, keep | _mark(keep, picks), rr, fd)[picks]
    return out


def _mark(like: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Boolean array shaped like ``like``, True at ``idx``."""
    m = np.zeros_like(like)
    m[idx] = True
    return m


def _interlopers(pos: np.ndarray, h: np.ndarray, keep: np.ndarray, lv: np.ndarray,
                 shape: PosFn | None) -> np.ndarray:
    """Doubtful peaks (below DOUBT x SPK) that sit inside an otherwise regular RR interval
    (the confident neighbours are INTERLOPER_RR of the local confident RR apart) and do not
    closely resemble a QRS template (similarity < INTERLOPER_SHAPE): artefact between beats.
    A premature beat instead shortens one interval and lengthens the next."""
    out = np.zeros_like(keep)
    if INTERLOPER_RR <= 0:
        return out
    conf = np.flatnonzero(keep & (h >= DOUBT * lv))
    weak = np.flatnonzero(keep & (h < DOUBT * lv))
    if conf.size < 4 or weak.size == 0:
        return out
    rr = np.diff(pos[conf]).astype(np.float64)
    win = min(9, rr.size)
    med = _rr_median(rr, win)
    k = np.searchsorted(pos[conf], pos[weak])  # confident neighbours conf[k-1] < weak < conf[k]
    inside = (k > 0) & (k < conf.size)
    k = np.clip(k, 1, conf.size - 1)
    span = pos[conf[k]] - pos[conf[k - 1]]
    regular = inside & (np.abs(span / np.maximum(med[k - 1], 1.0) - 1.0) < INTERLOPER_RR)
    cand = weak[regular]
    if shape is not None and cand.size:
        cand = cand[shape(pos[cand]) < INTERLOPER_SHAPE]
    out[cand] = True
    return out


def _short_median(feat: np.ndarray, fd: float) -> tuple[np.ndarray, np.ndarray]:
    """Local low percentile (SHORT_PCT) of the feature per SHORT_BLOCK_S block, then rolling
    median over SHORT_BLOCKS blocks: the background a QRS must stand out of."""
    blen = max(1, min(len(feat), int(round(SHORT_BLOCK_S * fd))))
    nb = max(1, len(feat) // blen)
    k = int(SHORT_PCT * (blen - 1))
    med = np.sort(feat[: nb * blen].reshape(nb, blen), axis=1)[:, k]
    if nb > SHORT_BLOCKS:
        w = _window_median(med, SHORT_BLOCKS)
        h = SHORT_BLOCKS // 2
        med = np.concatenate([np.full(h, w[0]), w, np.full(nb - len(w) - h, w[-1])])
    return (np.arange(nb) + 0.5) * blen, med


def _noise_peaks(cand: np.ndarray, h: np.ndarray, lv: np.ndarray, nb: int, blen: int) -> np.ndarray:
    """Noise peak level per block (Pan & Tompkins' NPK): rolling median over blocks of the
    mean height of the feature peaks below NOISE_CUT x local QRS level."""
    b = np.minimum(cand // blen, nb - 1)
    low = h < NOISE_CUT * lv
    cnt = np.bincount(b[low], minlength=nb)
    tot = np.bincount(b[low], weights=h[low], minlength=nb)
    return _rolling_median(tot / np.maximum(cnt, 1))


def _rr_median(rr: npt.NDArray[np.float64], win: int) -> npt.NDArray[np.float64]:
    """Centred rolling median of RR intervals over ``win`` entries, edges padded with edge values."""
    padded = np.pad(rr, (win // 2, win - 1 - win // 2), mode="edge")
    if win % 2:
        return _window_median(padded, win)
    med: npt.NDArray[np.float64] = np.median(sliding_window_view(padded, win), axis=1)
    return med


def _local_rr(at: np.ndarray, beats: np.ndarray, fd: float) -> npt.NDArray[np.float64]:
    """Local median RR (samples) at positions ``at`` from strong beats (rolling median of 9 RR)."""
    if beats.size < 3:
        return np.full(at.shape, 1.0 * fd)
    rr = np.diff(beats).astype(np.float64)
    win = min(9, len(rr))
    med = _rr_median(rr, win)
    rr_at: npt.NDArray[np.float64] = np.interp(at, (beats[1:] + beats[:-1]) / 2.0, med)
    return rr_at


def _local_max(pos: np.ndarray, h: np.ndarray, keep: np.ndarray, radius: int) -> np.ndarray:
    """Non-maximum suppression: True where a kept peak is the highest kept one within +-radius."""
    idx = np.flatnonzero(keep)
    p, hh = pos[idx], h[idx]
    ok = np.ones(len(idx), dtype=bool)
    for k in range(1, len(idx)):
        close = (p[k:] - p[:-k]) < radius
        if not close.any():
            break
        a, b = hh[:-k], hh[k:]
        ok[:-k] &= ~(close & (b > a))
        ok[k:] &= ~(close & (b <= a))
    out = np.zeros_like(keep)
    out[idx[ok]] = True
    return out


def _drop_p_t_waves(pos: np.ndarray, h: np.ndarray, sl: np.ndarray, keep: np.ndarray,
                    rr: np.ndarray, fd: float) -> np.ndarray:
    """Pan & Tompkins' slope rule, both sides: drop a kept peak within min(T_WINDOW_S, T_RR x RR)
    after a beat whose slope is below SLOPE_RATIO x and feature below H_RATIO x the beat's
    (T wave); likewise within min(P_WINDOW_S, P_RR x RR) before a beat with P_SLOPE_RATIO and
    P_H_RATIO (tall P waves, e.g. MIT-BIH 108), or with any slope ratio below 1 when the peak
    lies in the last P_SPAN of the interval between its kept neighbours (a P wave sits one PR
    interval before its QRS, late in the cycle; a true premature beat followed within 300 ms by
    another shortens the interval before it too, so it is not that late). Slope ratios are per
    lead, the median over leads decides. RR is the local median RR (samples)."""
    idx = np.flatnonzero(keep)
    if len(idx) < 2:
        return keep
    p, hh, ss, r = pos[idx], h[idx], sl[:, idx], rr[idx]
    gap = np.diff(p)
    # per lead slope of each peak over the slope of the previous kept peak; median over leads
    ratio = np.median(ss[:, 1:] / np.maximum(ss[:, :-1], 1e-9), axis=0)
    inv = np.median(ss[:, :-1] / np.maximum(ss[:, 1:], 1e-9), axis=0)
    weak_after = (ratio < SLOPE_RATIO) & (hh[1:] < H_RATIO * hh[:-1])
    weak_before = (inv < P_SLOPE_RATIO) & (hh[:-1] < P_H_RATIO * hh[1:])
    drop = np.zeros(len(idx), dtype=bool)
    drop[1:] |= (gap < np.minimum(T_WINDOW_S * fd, T_RR * r[1:])) & weak_after
    drop[:-1] |= (gap < np.minimum(P_WINDOW_S * fd, P_RR * r[:-1])) & weak_before
    # a peak in the last P_SPAN of the interval between its neighbours, followed by a complex at
    # least as steep and clearly stronger: atrial activity one PR interval before the QRS
    span = np.r_[np.inf, p[2:] - p[:-2]]  # for each pair (i, i + 1): from peak i - 1 to i + 1
    late = (gap < P_WINDOW_S * fd) & (gap < P_SPAN * span)
    drop[:-1] |= late & (inv < 1.0) & (hh[:-1] < P_H_RATIO * hh[1:])
    out = keep.copy()
    out[idx[drop]] = False
    return out


def _search_back(pos: np.ndarray, h: np.ndarray, thr: np.ndarray, keep: np.ndarray,
                 rr: np.ndarray, fd: float, shape: PosFn | None = None) -> npt.NDArray[np.bool_]:
    """Hamilton-style search-back: in RR gaps > SEARCHBACK_RR x local median RR, accept the
    highest candidate above half threshold that respects the refractory period (and, with
    ``shape``, resembles a QRS template: similarity >= SEARCHBACK_SHAPE)."""
    idx = np.flatnonzero(keep)
    if len(idx) < 2:
        return keep
    p = pos[idx]
    gaps = np.flatnonzero(np.diff(p) > SEARCHBACK_RR * rr[idx[:-1]])
    out = keep.copy()
    refr = REFRACTORY_S * fd
    lo = np.searchsorted(pos, p[gaps] + np.maximum(refr, 0.5 * rr[idx[gaps]]), side="right")
    hi = np.searchsorted(pos, p[gaps + 1] - refr, side="left")
    vals = np.where(h > 0.5 * thr, h, -np.inf)
    valid = hi > lo
    lo, hi = lo[valid], hi[valid]
    picks = np.zeros(0, dtype=np.int64)
    if lo.size:
        seg = np.zeros(len(pos) + 1, dtype=np.int64)  # segment id per candidate (0: outside gaps)
        np.add.at(seg, lo, np.arange(1, lo.size + 1))
        np.add.at(seg, hi, -np.arange(1, lo.size + 1))
        seg = np.cumsum(seg)[:-1]
        inside = np.flatnonzero((seg > 0) & np.isfinite(vals))
        if inside.size:
            order = np.lexsort((-vals[inside], seg[inside]))  # by segment, highest first
            first = np.r_[True, np.diff(seg[inside][order]) != 0]
            picks = inside[order][first]
    if shape is not None and picks.size:
        picks = picks[shape(pos[picks]) >= SEARCHBACK_SHAPE]
    out[picks] = True
    return out


class Smoothed:
    """Mains-smoothed windows of x (leads, n) at fs: a 1/50 s boxcar (nulls 50 Hz and its
    harmonics), computed only on the requested windows (a few thousand beats)."""

    def __init__(self, x: np.ndarray, fs: float) -> None:
        self.x, self.fs = x, fs
        self.box = max(1, int(round(fs / 50.0)))

    def _raw(self, centres: np.ndarray, half: int) -> np.ndarray:
        """Raw x (leads, k, 2 half + box) around ``centres``, indices clipped to the signal."""
        n, box = self.x.shape[1], self.box
        lo, w = -half - box // 2, 2 * half + box
        if centres.min() + lo >= 0 and centres.max() + lo + w <= n:  # usual case: no clipping
            return sliding_window_view(self.x, w, axis=1)[:, centres + lo]
        return np.take(self.x, np.clip(centres[:, None] + np.arange(lo, lo + w)[None, :], 0, n - 1), axis=1)

    def windows(self, centres: np.ndarray, half: int) -> np.ndarray:
        """Smoothed segments (leads, k, 2 half + 1) of +-half samples around ``centres``."""
        box = self.box
        cs = np.cumsum(self._raw(centres, half), axis=2)
        seg = np.empty(cs.shape[:2] + (2 * half + 1,))
        seg[..., 0] = cs[..., box - 1]
        np.subtract(cs[..., box:], cs[..., :-box], out=seg[..., 1:])
        seg /= box
        return seg

    def max_slope(self, centres: np.ndarray) -> np.ndarray:
        """Largest |dx/dt| (mV/s) within +-SLOPE_HALF_S of each centre, per lead: (leads, k)."""
        if centres.size == 0:
            return np.zeros((self.x.shape[0], 0))
        box, half = self.box, max(1, int(round(SLOPE_HALF_S * self.fs)))
        xw = self._raw(centres, half)  # slope of the box-smoothed signal: (x[i + box] - x[i]) / box
        d = np.abs(xw[..., box: box + 2 * half] - xw[..., : 2 * half])
        top: npt.NDArray[np.float64] = d.max(axis=2)
        return top * (self.fs / box)



def locate_r(sm: Smoothed, centres: np.ndarray) -> np.ndarray:
    """R peak per beat: largest |deviation| from the local median baseline within +-R_HALF_S.

    Uses the mains-smoothed signal ``sm`` (mV); the argmax is taken over
    samples and leads, so the index is the largest absolute deflection of the
    QRS over the given leads. Returns sorted unique int64 indices.
    """
    if centres.size == 0:
        return np.zeros(0, dtype=np.int64)
    half = max(1, int(round(R_HALF_S * sm.fs)))
    seg = sm.windows(centres, half)  # odd window: the median is the middle of the sorted window
    dev = np.abs(seg - np.sort(seg, axis=2)[:, :, half: half + 1])
    dev = dev[0] if len(dev) == 1 else dev.max(axis=0)
    r = np.sort(np.clip(centres + np.argmax(dev, axis=1) - half, 0, sm.x.shape[1] - 1)).astype(np.int64)
    return r[np.r_[True, r[1:] != r[:-1]]]  # unique
