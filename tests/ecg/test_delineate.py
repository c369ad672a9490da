"""Global and per-lead delineation: the commercial convention (a vote over leads), any fs, P on T.

Synthetic 12-lead beats have exact boundaries (ms): every lead's QRS starts at the same
instant and lasts ``qrs`` ms; the T wave ends ``qt`` ms after the QRS onset; the P wave
starts ``pr`` ms before it. 100 Hz versions are made the way PTB-XL's are (band-limited
decimation of a higher-rate recording), not by sampling the half-sines at 100 Hz.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import resample_poly

from bench.intervals import compress, compress_reference, load_reference, read_ludb
from ecg.delineate import delineate_leads, tangent_end, vote
from ecg.measure import measure_detail

LEADS12 = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
GAINS = np.array([0.8, 1.0, 0.4, -0.9, 0.3, 0.7, -0.5, 0.6, 1.0, 1.2, 1.1, 0.9])


def _half_sine(n: int) -> np.ndarray:
    return np.sin(np.pi * np.arange(n) / max(n - 1, 1))


def twelve_lead(fs: float = 1000.0, hr: float = 75.0, pr: float = 160.0, qrs: float = 100.0,
                qt: float = 380.0, p: float = 100.0, dur: float = 10.0,
                early_lead: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """12 leads (mV) of identical beats with exact boundaries; R peaks (samples).

    ``early_lead``: that one lead also carries a small deflection starting 20 ms before
    the QRS (a single lead's outlier onset, e.g. noise or one lead's early force)."""
    ms = lambda v: int(round(v * fs / 1000))
    x = np.zeros((int(dur * fs), 12))
    q_n, r_n = ms(qrs * 0.2), ms(qrs * 0.45)
    s_n = ms(qrs) - q_n - r_n
    r_peaks, t = [], 0.4
    while t + 60.0 / hr < dur - 0.1:
        on = int(t * fs)
        seg = np.r_[-0.1 * _half_sine(q_n), 1.2 * _half_sine(r_n), -0.3 * _half_sine(s_n)]
        x[on:on + len(seg)] += seg[:, None] * GAINS
        x[on - ms(pr):on - ms(pr) + ms(p)] += 0.12 * _half_sine(ms(p))[:, None] * np.abs(GAINS)
        t_len = ms(qt) - ms(qrs) - ms(40)
        x[on + ms(qrs) + ms(40):on + ms(qt)] += 0.3 * _half_sine(t_len)[:, None] * GAINS
        if early_lead is not None:
            x[on - ms(20):on, early_lead] += 0.25 * _half_sine(ms(20))
        r_peaks.append(on + q_n + r_n // 2)
        t += 60.0 / hr
    return x, np.array(r_peaks)


def at_rate(x: np.ndarray, r: np.ndarray, fs: float, src_fs: float = 1000.0) -> tuple[np.ndarray, np.ndarray]:
    """Band-limited decimation to ``fs`` (how a 100 Hz export is made); R peaks scaled."""
    k = int(round(src_fs / fs))
    return (resample_poly(x, 1, k, axis=0), np.round(r / k).astype(int)) if k > 1 else (x, r)


def test_vote_ignores_one_or_two_outlying_leads():
    onsets = np.array([100.0, 130, 131, 131, 132, 132, 133, 133, 134, 134, 135, np.nan])
    assert vote(onsets) == 131.0  # 3rd earliest of 12 leads: lead 0 alone cannot start the QRS
    assert vote(onsets, latest=True) == 134.0
    assert vote(np.array([5.0, np.nan, 7.0])) == 5.0  # 3 leads: a quarter is one lead
    assert vote(np.full(12, np.nan)) is None


def test_tangent_end_of_a_straight_down_slope():
    y = np.r_[np.linspace(1.0, 0.5, 51), np.zeros(100)]  # slope -0.01/sample: tangent meets 0 at 100
    assert tangent_end(y, 25, 140) == pytest.approx(100.0, abs=0.01)
    assert tangent_end(y, 25, 80) == 80.0  # never beyond t_r


def test_tangent_end_meets_the_tp_level_when_the_t_levels_off_above_the_pr_level():
    """A T wave (height 1) that flattens at 0.5 above the PR level ends where its tangent meets
    that level (t = 50), not the PR level (t = 100); a small offset (0.2) keeps the PR level."""
    y = np.r_[np.linspace(1.0, 0.5, 51), np.full(100, 0.5)]
    assert tangent_end(y, 25, 140, peak_mv=1.0) == pytest.approx(50.0, abs=0.01)
    assert tangent_end(y, 25, 140) == pytest.approx(100.0, abs=0.01)  # no T height: PR level
    low = np.r_[np.linspace(1.0, 0.2, 81), np.full(100, 0.2)]
    assert tangent_end(low, 25, 140, peak_mv=1.0) == pytest.approx(100.0, abs=0.01)


@pytest.mark.parametrize("fs", [100.0, 500.0, 1000.0])
def test_adult_twelve_lead_boundaries_at_any_fs(fs):
    """QRS 100 / QT 380 / PR 160 ms: measured within a few ms, alike at 100, 500 and 1000 Hz.

    The former spatial-velocity knee rule read this QRS 118-120 ms and QT 400-404 ms."""
    x, r = at_rate(*twelve_lead(), fs)
    m = measure_detail(x, fs, LEADS12, r).measurements
    assert 98.0 <= m.qrs_ms <= 112.0, m.qrs_ms
    assert abs(m.qt_ms - 380.0) <= 12.0, m.qt_ms
    assert abs(m.pr_ms - 160.0) <= 16.0, m.pr_ms


def test_same_beat_at_100_and_500_hz_measures_alike():
    x, r = twelve_lead()
    m = {fs: measure_detail(*at_rate(x, r, fs)[:1], fs, LEADS12, at_rate(x, r, fs)[1]).measurements
         for fs in (100.0, 500.0)}
    for k in ("pr_ms", "qrs_ms", "qt_ms"):
        assert abs(getattr(m[100.0], k) - getattr(m[500.0], k)) <= 3.0, (k, m)


def test_one_early_lead_does_not_set_the_global_onset():
    """An onset seen in one lead only (20 ms early) leaves the global QRS onset where the
    other 11 leads agree; the earliest-lead (spatial velocity) rule moved it 20 ms."""
    x, r = twelve_lead(fs=500.0, early_lead=7)
    clean, _ = twelve_lead(fs=500.0)
    m = measure_detail(x, 500.0, LEADS12, r).measurements
    m0 = measure_detail(clean, 500.0, LEADS12, r).measurements
    assert abs(m.qrs_ms - m0.qrs_ms) <= 3.0, (m.qrs_ms, m0.qrs_ms)


def test_per_lead_fiducials_are_exposed():
    x, r = twelve_lead(fs=500.0)
    mb = measure_detail(x, 500.0, LEADS12, r).median
    lf = mb.lead_fiducials
    assert lf.qrs_on.shape == (12,) and np.isfinite(lf.qrs_on).all() and np.isfinite(lf.qrs_off).all()
    assert np.all(lf.qrs_on < mb.r_index) and np.all(lf.qrs_off > mb.r_index)
    assert np.nanmax(lf.t_end) > mb.fiducials.qrs_off
    f = mb.fiducials
    assert f.exact_ms["qrs_on"] == pytest.approx(f.qrs_on * 2.0, abs=1.0)  # ms at 500 Hz


@pytest.mark.parametrize("fs", [500.0, 1000.0])
def test_p_wave_on_the_previous_t_wave_at_200_per_minute(fs):
    """Infant sinus tachycardia, 200/min: the P wave starts where the previous T ends and
    sits on its tail. The former search refused it ("no P wave found before the QRS")."""
    x, r = at_rate(*twelve_lead(hr=200.0, pr=90.0, qrs=50.0, qt=210.0, p=60.0), fs)
    m = measure_detail(x, fs, LEADS12, r).measurements
    assert m.pr_ms is not None, m.missing
    assert abs(m.pr_ms - 90.0) <= 15.0, m.pr_ms


def test_compressed_ludb_record_keeps_p_and_pr(data):
    """LUDB record 1 time-compressed to infant rates: P found, PR as the cardiologists' (scaled)."""
    rec = data / "ludb" / "1"
    ref0 = load_reference(rec)
    x, fs, leads = read_ludb(rec)
    for factor in (2.0, 2.5):
        xc, f = compress(x, factor)
        ref = compress_reference(ref0, f)
        m = measure_detail(xc, fs, leads, ref.r_peaks).measurements
        assert m.pr_ms is not None, (factor, m.missing)
        assert abs(m.pr_ms - ref.pr_ms) <= 12.0, (factor, m.pr_ms, ref.pr_ms)


def test_p_on_t_is_sought_only_in_a_regular_rhythm():
    """With RR irregular by the AF rule's criterion (flutter with variable conduction, AF) a
    bump on the median beat's T wave is not taken for a P wave; with a regular RR it is."""
    x, r = twelve_lead(fs=500.0, hr=200.0, pr=90.0, qrs=50.0, qt=210.0, p=60.0)
    mb = measure_detail(x, 500.0, LEADS12, r).median
    regular, _ = delineate_leads(mb.beat, 500.0, mb.r_index, 0.30, 0.30, regular=True)
    irregular, _ = delineate_leads(mb.beat, 500.0, mb.r_index, 0.30, 0.30, regular=False)
    assert regular.p_on is not None and irregular.p_on is None


def test_global_pr_follows_the_commercial_convention_against_ge_12sl(data):
    """The P onset is voted over the leads like the QRS onset: PR within 10 ms of GE 12SL on average
    over the PTB-XL records that carry its measurements (it read +10.6 ms with the earliest-lead onset)."""
    import csv

    from ecg import analyze_recording, read_recording

    diffs = []
    with open(data / "ptbxl" / "ge_12sl_measurements.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            path = data / "ptbxl" / f"{int(row['ecg_id']):05d}_lr.hea"
            if row["in_ids_1_999"] != "1" or not path.exists():
                continue
            pr = analyze_recording(read_recording(path)).measurements.pr_ms
            if pr is not None:
                diffs.append(pr - float(row["PR_Int_Global"]))
    assert len(diffs) >= 8
    assert abs(sum(diffs) / len(diffs)) <= 10.0, diffs


def test_global_qt_against_ge_12sl_meets_the_goal(data):
    """QT minus GE 12SL's over the PTB-XL records that carry its measurements: mean within 12 ms and
    SD within 30 ms (issue 15's goal). Measured to the PR level in every lead it was +13.0/38.2 ms:
    low T waves levelling off above the PR level (00743, 00102) read up to 110 ms late."""
    import csv

    from ecg import analyze_recording, read_recording

    diffs = []
    with open(data / "ptbxl" / "ge_12sl_measurements.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            path = data / "ptbxl" / f"{int(row['ecg_id']):05d}_lr.hea"
            if row["in_ids_1_999"] != "1" or not path.exists():
                continue
            qt = analyze_recording(read_recording(path)).measurements.qt_ms
            if qt is not None:
                diffs.append(qt - float(row["QT_Int_Global"]))
    assert len(diffs) >= 8
    assert abs(float(np.mean(diffs))) <= 12.0 and float(np.std(diffs, ddof=1)) <= 30.0, diffs
