"""Record-adaptive matched filtering for the second detection pass of :mod:`ecg.beats`.

Why: broadband noise (muscle artefact, electrode motion) shares the QRS band,
so a fixed band-pass envelope cannot separate them at 0-6 dB SNR. The QRS
shape of *this* recording, learned from the confident first-pass beats, is
the matched filter that maximises QRS-to-white-noise ratio (North 1943;
Turin 1960); correlating with the record's own templates also adapts to
neonatal narrow complexes without retuning. Up to TEMPLATES morphologies are
learned (dominant, then beats that correlate < CLUSTER_R with earlier ones:
e.g. ventricular ectopy), each output normalised to 1 at its own beats.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


from ecg._beats_core import moving_mean

#: Template half-width (s): covers a wide (120-160 ms) QRS.
HALF_S = 0.06
#: Most morphologies learned, minimum correlation to belong to a template.
TEMPLATES = 3
CLUSTER_R = 0.7
#: Templates used for the matched-filter envelope (each costs one correlation pass).
MF_TEMPLATES = 1
#: At most this many beats are used to learn templates (speed).
MAX_BEATS = 600
#: Envelope smoothing (s) of the squared matched-filter output.
SMOOTH_S = 0.05
#: np.correlate has a fast inline loop for kernels up to this length (longer ones make one
#: BLAS dot call per output sample, ~5x slower): longer templates are split into such pieces.
CORR_CHUNK = 11
#: Similarity search: +- this many feature samples of misalignment.
SHIFT = 2


class QrsTemplates:
    """QRS morphologies of one band-passed lead ``y`` (at fd Hz), learned from confident beats.

    Clustering: the dominant morphology is the median segment; beats that
    correlate < CLUSTER_R with it seed the next template (e.g. ventricular
    ectopy), up to TEMPLATES. Templates are zero-mean, unit-norm, +-HALF_S.
    """

    def __init__(self, y: np.ndarray, beats: np.ndarray, fd: float) -> None:
        self.fd = fd
        self.half = max(2, int(round(HALF_S * fd)))
        self.items: list[tuple[np.ndarray, np.ndarray]] = []
        b = beats[(beats >= self.half) & (beats < len(y) - self.half)]
        if len(b) > MAX_BEATS:
            b = b[np.linspace(0, len(b) - 1, MAX_BEATS).astype(int)]
        if len(b) < 4:
            return
        unit, seg = self._segments(y, b)
        rest = np.ones(len(b), dtype=bool)
        for _ in range(TEMPLATES):
            if rest.sum() < max(4, 0.03 * len(b)):
                break
            t = _column_median(seg[rest])
            t /= max(float(np.linalg.norm(t)), 1e-12)
            mine = rest & (np.abs(unit @ t) > CLUSTER_R)
            if mine.sum() < 4:
                break
            self.items.append((t.astype(np.float32), b[mine]))
            rest &= ~mine

    def __bool__(self) -> bool:
        return bool(self.items)

    def _segments(self, y: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(unit-norm zero-mean segments, zero-mean segments) of y at ``pos`` (+-half)."""
        idx = np.clip(pos[:, None] + np.arange(-self.half, self.half + 1)[None, :], 0, len(y) - 1)
        seg = y[idx].astype(np.float64)
        seg -= seg.mean(axis=1, keepdims=True)
        return seg / np.maximum(np.linalg.norm(seg, axis=1, keepdims=True), 1e-12), seg

    def similarity(self, y: np.ndarray, pos: np.ndarray) -> np.ndarray:
        """Best |correlation coefficient| (0..1) of y around each position with any template,
        allowing +-SHIFT samples of misalignment."""
        if pos.size == 0 or not self.items:
            return np.zeros(pos.size)
        temps = np.stack([t for t, _ in self.items], axis=1).astype(np.float64)
        w = 2 * self.half + 1
        idx = np.clip(pos[:, None] + np.arange(-self.half - SHIFT, self.half + SHIFT + 1)[None, :], 0, len(y) - 1)
        wide = y[idx].astype(np.float64)  # one gather; each shift is a slice of it
        best = np.zeros(pos.size)
        for d in range(2 * SHIFT + 1):
            seg = wide[:, d: d + w]
            seg = seg - seg.mean(axis=1, keepdims=True)
            unit = seg / np.maximum(np.linalg.norm(seg, axis=1, keepdims=True), 1e-12)
            best = np.maximum(best, np.abs(unit @ temps).max(axis=1))
        return best

    def envelope(self, y: np.ndarray) -> np.ndarray:
        """Matched-filter envelope (dimensionless, ~1 at the template's beats) of y.

        For each of the first MF_TEMPLATES templates: correlate, square, smooth
        over SMOOTH_S, square-root, scale to 1 at its own beats; maximum over
        templates. Computed at fd/2 when fd >= 140 Hz (y is band-limited below
        ~32 Hz) and held back up to fd.
        """
        step = 2 if self.fd >= 140.0 else 1
        yh, fh = y[::step], self.fd / step
        n = max(1, int(round(SMOOTH_S * fh)))
        env = None
        for t, members in self.items[:MF_TEMPLATES]:
            m = _correlate_same(yh, t[::step])
            np.multiply(m, m, out=m)
            e = moving_mean(m, n)
            np.sqrt(np.maximum(e, 0.0, out=e), out=e)
            e *= np.float32(1.0 / max(float(np.median(e[members // step])), 1e-12))
            env = e if env is None else np.maximum(env, e)
        assert env is not None, "envelope() is called only with templates (QrsTemplates is truthy)"
        if step == 1:
            return env
        out = np.repeat(env, step)[: len(y)]
        return out if len(out) == len(y) else np.pad(out, (0, len(y) - len(out)), mode="edge")


def _correlate_same(y: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``np.correlate(y, t, mode="same")`` (1-D float32), summed from kernel pieces of at most
    CORR_CHUNK taps (same values up to float32 rounding; several times faster for long t)."""
    k, n = len(t), len(y)
    ypad = np.zeros(n + k - 1, dtype=np.float32)
    ypad[k // 2: k // 2 + n] = y
    out = None
    for o in range(0, k, CORR_CHUNK):
        piece = np.ascontiguousarray(t[o: o + CORR_CHUNK], dtype=np.float32)
        part = np.correlate(ypad[o: o + n + len(piece) - 1], piece, mode="valid")
        out = part if out is None else np.add(out, part, out=out)
    assert out is not None, "t is a non-empty template"
    return out


def _column_median(a: np.ndarray) -> np.ndarray:
    """``np.median(a, axis=0)`` of a (k, w) float64 array (middle of the sorted column, or the
    mean of the two middle values), via one sort: cheaper for a few hundred short rows."""
    srt = np.sort(a, axis=0)
    k = len(a)
    med: npt.NDArray[np.float64] = srt[k // 2].copy() if k % 2 else (srt[k // 2 - 1] + srt[k // 2]) / 2.0
    return med
