"""Tests of ecg.beats.detect_r_peaks against cardiologists' annotations and synthetic edge cases.

Floors are set a little below what the detector measures (see bench/README-beats.md);
scoring is bench.beats.score (AAMI EC57 practice: 150 ms one-to-one matching).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench.beats import MITDB, Score, add_noise, compress, load_noise, load_record, score
from ecg.beats import detect_r_peaks

FS = 360.0


def _synthetic(bpm: float, fs: float, seconds: float, qrs_ms: float = 50.0, amp_mv: float = 0.5,
               seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Narrow-QRS ECG-like signal (Gaussian Q-R-S, P and T waves, baseline wander, noise) and its R indices."""
    rng = np.random.default_rng(seed)
    n = int(seconds * fs)
    t = np.arange(n) / fs
    rr = 60.0 / bpm * (1 + 0.03 * rng.standard_normal(int(seconds * bpm / 60) + 2))
    r_times = 0.3 + np.cumsum(rr)
    r_times = r_times[r_times < seconds - 0.3]
    sig = 0.1 * np.sin(2 * np.pi * 0.3 * t) + 0.01 * rng.standard_normal(n)
    sd = qrs_ms / 1000.0 / 6.0
    for rt in r_times:
        sig += amp_mv * np.exp(-0.5 * ((t - rt) / sd) ** 2)
        sig -= 0.2 * amp_mv * np.exp(-0.5 * ((t - rt - 2.2 * sd) / sd) ** 2)
        sig -= 0.1 * amp_mv * np.exp(-0.5 * ((t - rt + 2.2 * sd) / sd) ** 2)
        sig += 0.2 * amp_mv * np.exp(-0.5 * ((t - rt - 0.12 * 60 / bpm - 0.08) / 0.03) ** 2)  # T
        sig += 0.1 * amp_mv * np.exp(-0.5 * ((t - rt + 0.09) / 0.012) ** 2)  # P
    return sig, np.round(r_times * fs).astype(np.int64)


# ------------------------------------------------------------------ API and edge cases
@pytest.mark.parametrize("n", [0, 1, 10, 100])
def test_short_or_empty_input_returns_empty(n: int) -> None:
    for shape in [(n,), (n, 3)]:
        out = detect_r_peaks(np.ones(shape), FS)
        assert out.dtype == np.int64 and out.size == 0


@pytest.mark.parametrize("value", [0.0, 1.7])
def test_flat_signal_has_no_beats(value: float) -> None:
    assert detect_r_peaks(np.full(int(20 * FS), value), FS).size == 0
    assert detect_r_peaks(np.full((int(20 * FS), 2), value), FS).size == 0


def test_pure_noise_gives_almost_no_beats() -> None:
    rng = np.random.default_rng(1)
    for fs in (250.0, 500.0):
        out = detect_r_peaks(0.2 * rng.standard_normal(int(60 * fs)), fs)
        assert out.size <= 6, f"{out.size} beats invented in 60 s of Gaussian noise at {fs} Hz"


@pytest.mark.parametrize("fs", [125.0, 250.0, 500.0, 1000.0])
def test_newborn_250_per_min_narrow_qrs_all_found(fs: float) -> None:
    sig, ref = _synthetic(250, fs, 30, qrs_ms=45, amp_mv=0.4)
    det = detect_r_peaks(sig, fs)
    s = score(ref, det, fs)
    assert s.fn == 0 and s.fp == 0, s
    # indices point at the R peak (within 10 ms)
    matched = det[np.abs(det[:, None] - ref[None, :]).min(axis=1) <= 0.15 * fs]
    nearest = ref[np.abs(matched[:, None] - ref[None, :]).argmin(axis=1)]
    assert np.median(np.abs(matched - nearest)) <= 0.01 * fs


@pytest.mark.parametrize("bpm", [30, 300])
def test_rate_extremes(bpm: float) -> None:
    sig, ref = _synthetic(bpm, 500.0, 40, qrs_ms=45 if bpm > 200 else 90, amp_mv=1.0, seed=3)
    s = score(ref, detect_r_peaks(sig, 500.0), 500.0)
    assert s.se >= 99.0 and s.ppv >= 99.0, s


def test_output_sorted_unique_int64_and_1d_equals_single_column(data: Path) -> None:
    sig, fs, _ = load_record("100")
    x = sig[: int(60 * fs)]
    a, b = detect_r_peaks(x, fs), detect_r_peaks(x[:, None], fs)
    assert a.dtype == np.int64 and np.all(np.diff(a) > 0)
    np.testing.assert_array_equal(a, b)


def test_two_leads_one_flat_or_noisy_still_works(data: Path) -> None:
    import wfdb

    rec = wfdb.rdrecord(str(data / "mitdb" / "100"), sampto=int(120 * FS))
    ann = wfdb.rdann(str(data / "mitdb" / "100"), "atr", sampto=int(120 * FS))
    ref = np.array([s for s, y in zip(ann.sample, ann.symbol) if y in "NLRBAaJSVrFejnE/fQ?"])
    x = rec.p_signal.copy()
    both = score(ref, detect_r_peaks(x, FS), FS)
    assert both.se >= 99.5 and both.ppv >= 99.5, both
    flat = x.copy()
    flat[:, 1] = 0.0
    s = score(ref, detect_r_peaks(flat, FS), FS)
    assert s.se >= 99.5 and s.ppv >= 99.5, s
    off = x.copy()
    off[: int(60 * FS), 0] = np.nan  # lead 0 disconnected for the first minute
    s = score(ref, detect_r_peaks(off, FS), FS)
    assert s.se >= 99.0 and s.ppv >= 99.0, s
    noisy = x.copy()
    noisy[:, 1] = 0.5 * np.random.default_rng(2).standard_normal(len(x))
    s = score(ref, detect_r_peaks(noisy, FS), FS)
    assert s.se >= 99.0 and s.ppv >= 99.0, s


def test_score_matching_is_one_to_one() -> None:
    ref = np.array([100, 500, 900])
    assert score(ref, np.array([101, 102, 499, 2000]), 360.0) == Score(tp=2, fn=1, fp=2)
    assert score(ref, np.array([]), 360.0) == Score(tp=0, fn=3, fp=0)
    assert score(ref, np.array([100 + 54, 500 - 55]), 360.0) == Score(tp=1, fn=2, fp=1)


# ------------------------------------------------------------------ real records vs annotations
@pytest.fixture(scope="module")
def mitdb(data: Path) -> dict[str, tuple[np.ndarray, float, np.ndarray]]:
    return {r: load_record(r) for r in MITDB}


def test_mitdb_recorded_all_23(mitdb: dict) -> None:
    from bench.beats import outside, vf_episodes

    total = Score(0, 0, 0)
    for rec, (sig, fs, ref) in mitdb.items():
        vf = vf_episodes(rec)  # AAMI EC57: ventricular flutter episodes (207) are not scored
        s = score(outside(ref, vf), outside(detect_r_peaks(sig, fs), vf), fs)
        assert s.se >= 98.5, f"record {rec}: {s}"
        total = total + s
    # measured 99.84 / 99.75 (bench/README-beats.md); before the P/T-rule changes 99.84 / 99.67
    assert total.se >= 99.8 and total.ppv >= 99.72, total


def test_mitdb_infant_rate_subset(mitdb: dict) -> None:
    total = Score(0, 0, 0)
    for rec in ("100", "106", "119", "201", "208", "215", "223"):
        sig, fs, ref = mitdb[rec]
        sig, ref = sig[: int(600 * fs)], ref[ref < int(600 * fs)]
        csig, cref, factor = compress(sig, fs, ref)
        assert factor > 1.0 or rec == "215"
        total = total + score(cref, detect_r_peaks(csig, fs), fs)
    # measured 99.79 / 99.95
    assert total.se >= 99.5 and total.ppv >= 99.8, total


def test_noise_stress_118e12_and_muscle_6db(data: Path, mitdb: dict) -> None:
    sig, fs, ref = load_record("118e12", "nstdb")
    s = score(ref, detect_r_peaks(sig, fs), fs)
    assert s.se >= 99.5 and s.ppv >= 91.0, s  # measured 100.0 / 92.2 (peers: +P 95-98)
    sig, fs, ref = mitdb["100"]
    noisy = add_noise(sig, fs, ref, load_noise("ma"), 6.0)
    s = score(ref, detect_r_peaks(noisy, fs), fs)
    assert s.se >= 99.5 and s.ppv >= 96.0, s  # measured 99.96 / 97.2


# ------------------------------------------------------------------ fast replacements of library calls
def test_local_maxima_equals_scipy_find_peaks_including_plateaus() -> None:
    from scipy.signal import find_peaks

    from ecg._beats_core import local_maxima

    rng = np.random.default_rng(4)
    for _ in range(500):
        v = rng.integers(0, 4, rng.integers(0, 40)).astype(np.float32)  # many ties and plateaus
        if rng.random() < 0.5:
            v = np.repeat(v, rng.integers(1, 4))  # held samples (feature at half rate)
        np.testing.assert_array_equal(local_maxima(v), find_peaks(v)[0])


def test_window_median_equals_numpy_median_and_moving_mean_equals_uniform_filter() -> None:
    from numpy.lib.stride_tricks import sliding_window_view
    from scipy.ndimage import uniform_filter1d

    from ecg._beats_core import _window_median, moving_mean

    rng = np.random.default_rng(5)
    for w in (1, 3, 5, 7, 9):
        v = rng.integers(0, 6, (2, 40)).astype(np.float64)
        np.testing.assert_array_equal(_window_median(v, w), np.median(sliding_window_view(v, w, axis=-1), axis=-1))
    for n in (1, 4, 13):
        v = (rng.random((2, 500)) ** 4).astype(np.float32)
        ref = uniform_filter1d(v, n, axis=-1, mode="constant")
        np.testing.assert_allclose(moving_mean(v, n), ref, rtol=2e-6, atol=1e-9)


# ------------------------------------------------------------------ paced, PTB-XL 100 Hz, LUDB
def _dual_chamber_paced(fs: float, seconds: float = 60.0, bpm: float = 70.0,
                        spike_mv: float = 2.0) -> tuple[np.ndarray, np.ndarray]:
    """Dual-chamber paced ECG: atrial pulse, small P, 200 ms AV delay, ventricular pulse, then a
    wide (~150 ms) paced QRS and its T wave; pulses one sample (>= 1 ms) wide, unfiltered.
    Returns (signal mV, index of each paced QRS's R peak)."""
    rng = np.random.default_rng(7)
    n = int(seconds * fs)
    t = np.arange(n) / fs
    v_times = np.arange(0.6, seconds - 0.5, 60.0 / bpm)
    sig = 0.02 * rng.standard_normal(n) + 0.1 * np.sin(2 * np.pi * 0.3 * t)
    for v in v_times:
        sig += (-0.3 * np.exp(-0.5 * ((t - v - 0.03) / 0.02) ** 2) + np.exp(-0.5 * ((t - v - 0.08) / 0.03) ** 2)
                - 0.5 * np.exp(-0.5 * ((t - v - 0.33) / 0.06) ** 2) + 0.1 * np.exp(-0.5 * ((t - v + 0.15) / 0.02) ** 2))
        sig[round(v * fs)] += spike_mv  # ventricular pulse
        sig[round((v - 0.2) * fs)] += 0.7 * spike_mv  # atrial pulse
    return sig, np.round((v_times + 0.08) * fs).astype(np.int64)


@pytest.mark.parametrize("fs", [250.0, 360.0, 500.0, 1000.0])
def test_paced_one_beat_per_complex_pulse_not_a_beat(fs: float) -> None:
    # before the pacing-pulse blanking every atrial pulse was a beat of its own (+P 50 %)
    for spike in (2.0, 5.0):
        sig, ref = _dual_chamber_paced(fs, spike_mv=spike)
        s = score(ref, detect_r_peaks(sig, fs), fs)
        assert s.fn == 0 and s.fp == 0, (fs, spike, s)


def test_narrow_neonatal_qrs_is_not_blanked_as_a_pacing_pulse() -> None:
    from ecg._beats_core import remove_pace_pulses

    for fs in (250.0, 500.0, 1000.0):
        sig, _ = _synthetic(250, fs, 20, qrs_ms=40, amp_mv=2.0)
        assert np.array_equal(remove_pace_pulses(sig[None, :], fs), sig[None, :]), fs


def _ptbxl(name: str, data: Path) -> tuple[np.ndarray, float]:
    import wfdb

    rec = wfdb.rdrecord(str(data / "ptbxl" / name))
    return rec.p_signal, float(rec.fs)


@pytest.mark.parametrize("name", ["00475_lr", "00547_lr", "00651_lr", "00739_lr"])
def test_ptbxl_100hz_no_t_wave_or_artefact_beats(name: str, data: Path) -> None:
    # T waves (00651, 00739), a saturated lead (00475) and PVC T waves in compensatory pauses
    # (00547) were beats: the 12-lead count now agrees with the lead-by-lead vote and no RR is
    # shorter than 250 ms (all four are sinus rhythm at 55-75/min, PTB-XL labels).
    x, fs = _ptbxl(name, data)
    det = detect_r_peaks(x, fs)
    vote = np.median([detect_r_peaks(x[:, j], fs).size for j in range(x.shape[1])])
    assert abs(det.size - vote) <= 1, (det.size, vote)
    assert np.diff(det).min() * 1000 / fs >= 250


def test_ptbxl_100hz_mean_rr_matches_ge_12sl(data: Path) -> None:
    import csv

    with open(data / "ptbxl" / "ge_12sl_measurements.csv") as f:
        rows = [r for r in csv.DictReader(f) if r["in_ids_1_999"] == "1"]
    assert len(rows) == 10
    for r in rows:
        x, fs = _ptbxl(f"{int(r['ecg_id']):05d}_lr", data)
        rr = np.diff(detect_r_peaks(x, fs)) * 1000 / fs
        assert abs(rr.mean() - float(r["RR_Mean_Global"])) <= 10, r["ecg_id"]  # measured <= 3 ms


def test_ludb_all_100_records_and_paced_ones(data: Path) -> None:
    import wfdb

    total = Score(0, 0, 0)
    for hea in sorted((data / "ludb").glob("*.hea")):
        rec = wfdb.rdrecord(str(hea.with_suffix("")))
        ann = wfdb.rdann(str(hea.with_suffix("")), "ii")
        ref = ann.sample[np.asarray(ann.symbol) == "N"]
        det = detect_r_peaks(rec.p_signal, rec.fs)
        det = det[(det >= ref.min() - 0.3 * rec.fs) & (det <= ref.max() + 0.3 * rec.fs)]  # annotated span
        s = score(ref, det, rec.fs)
        if hea.stem in ("45", "93", "95", "111"):  # paced (header diagnoses)
            assert s.fn == 0 and s.fp <= 1, (hea.stem, s)  # 45: 2 atrial pacing artefacts were beats, now 1
        total = total + s
    assert total.fn == 0 and total.fp <= 3, total  # measured 0 / 2
