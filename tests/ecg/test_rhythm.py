"""Rhythm statements: floors on the shared recordings (flutter, pacing, AF specificity,
infant sinus tachycardia, complete AV block) and synthetic tracings with known
P-QRS timing (AV blocks, pacing spikes).

Synthetic tracings are built from Gaussian P, QRS and T waves projected on the
12 standard leads (frontal axes +60/+60/+40 deg), 500 Hz, 10 s, and measured by
the real ``measure_detail`` with the known R peaks; nothing of ours is mocked.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ecg.analyze import analyze_recording
from ecg.io import read_recording
from ecg.measure import measure_detail
from ecg.pacing import detect_pacing
from ecg.rhythm import rhythm_findings, rr_pattern
from ecg.types import Recording

FS = 500.0
ADULT = 50 * 365
INFANT = 180
LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
LIMB_ANGLE = {"I": 0, "II": 60, "III": 120, "aVR": -150, "aVL": -30, "aVF": 90}
CHEST = {"V1": (0.3, -0.8, 0.2), "V2": (0.5, -0.3, 0.6), "V3": (0.6, 0.4, 0.9),
         "V4": (0.7, 1.0, 1.0), "V5": (0.6, 1.0, 0.8), "V6": (0.5, 0.8, 0.6)}  # P, QRS, T gains
SINUS = {"SR", "STACH", "SBRAD"}


def _gains(axis_p=60.0, axis_qrs=60.0, axis_t=40.0) -> np.ndarray:
    """(leads, 3) amplitude factors of the P, QRS and T waves."""
    g = []
    for name in LEADS:
        if name in LIMB_ANGLE:
            a = LIMB_ANGLE[name]
            g.append([np.cos(np.radians(ax - a)) for ax in (axis_p, axis_qrs, axis_t)])
        else:
            g.append(CHEST[name])
    return np.asarray(g)


def _wave(t: np.ndarray, at_s: float, sd_s: float, amp: float) -> np.ndarray:
    return amp * np.exp(-0.5 * ((t - at_s) / sd_s) ** 2)


def synth(p_times, qrs_times, *, dur=10.0, qrs_sd=0.012, seed=0) -> np.ndarray:
    """(samples, 12) mV: P waves (0.15 mV, SD 18 ms) at ``p_times``, QRS (R 1.2 mV with a
    small S) and T (0.3 mV, 260 ms later) at ``qrs_times`` (s), plus 10 uV noise."""
    t = np.arange(int(dur * FS)) / FS
    p = sum((_wave(t, s, 0.018, 0.15) for s in p_times), np.zeros_like(t))
    q = sum((_wave(t, s, qrs_sd, 1.2) - _wave(t, s + 0.03, 0.01, 0.3) for s in qrs_times), np.zeros_like(t))
    tw = sum((_wave(t, s + 0.26, 0.045, 0.3) for s in qrs_times), np.zeros_like(t))
    x = np.stack([p, q, tw], axis=1) @ _gains().T
    return x + np.random.default_rng(seed).normal(0, 0.01, x.shape)


def rhythm_codes(x: np.ndarray, qrs_times, age=ADULT, raw=None) -> list[str]:
    r = np.round(np.asarray(qrs_times) * FS).astype(int)
    d = measure_detail(x, FS, LEADS, r)
    return [f.code for f in rhythm_findings(d, age, "cn_pediatrics", raw)]


# ------------------------------------------------------------------ synthetic AV conduction

def test_synthetic_sinus_rhythm_has_no_av_block():
    pp = 0.8
    p = np.arange(0.3, 10, pp)
    c = rhythm_codes(synth(p, p + 0.16), p + 0.16)
    assert c[0] == "SR" and not {"AVB2_I", "AVB2_II", "AVB2_21", "AVB_HIGH", "AVB3", "AFLT"} & set(c)


def test_synthetic_2_to_1_av_block():
    p = np.arange(0.3, 9.8, 0.75)  # atrial 80/min
    q = p[::2] + 0.16  # every second P conducted, PR 160 ms: ventricular 40/min
    c = rhythm_codes(synth(p, q), q)
    assert "AVB2_21" in c and "SBRAD" not in c


def test_synthetic_mobitz_i_wenckebach():
    p = np.arange(0.3, 9.8, 0.8)
    prs = [0.16, 0.24, 0.30, None]  # 4:3 Wenckebach: PR lengthens, then a P is blocked
    q = [s + prs[i % 4] for i, s in enumerate(p) if prs[i % 4] is not None]
    assert "AVB2_I" in rhythm_codes(synth(p, q), q)


def test_synthetic_mobitz_ii():
    p = np.arange(0.3, 9.8, 0.8)
    q = [s + 0.18 for i, s in enumerate(p) if i % 4 != 3]  # constant PR, every 4th P blocked
    c = rhythm_codes(synth(p, q), q)
    assert "AVB2_II" in c and "AVB2_I" not in c


def test_synthetic_complete_av_block():
    p = np.arange(0.25, 9.8, 0.667)  # atrial 90/min
    q = np.arange(0.55, 9.8, 1.5)  # independent regular escape 40/min, wide QRS
    c = rhythm_codes(synth(p, q, qrs_sd=0.025), q)
    assert "AVB3" in c and not SINUS & set(c)


def test_blocked_premature_p_is_not_av_block():
    p = list(np.arange(0.3, 9.8, 0.8))
    q = [s + 0.16 for s in p]
    p.append(p[5] + 0.45)  # an early (premature) P on the T wave, not conducted
    c = rhythm_codes(synth(sorted(p), q), q)
    assert not {"AVB2_I", "AVB2_II", "AVB2_21", "AVB_HIGH", "AVB3"} & set(c)


# ------------------------------------------------------------------ no P wave: SVT, WCT, junctional

def test_regular_narrow_tachycardia_without_p_is_svt_above_the_age_rate():
    q = np.arange(0.3, 9.9, 0.3)  # 200/min, no P waves
    x = synth([], q)
    adult = rhythm_codes(x, q, age=ADULT)
    assert "SVT" in adult and not SINUS & set(adult)
    infant = rhythm_codes(x, q, age=INFANT)  # 200/min is within infant sinus rates (SVT > 220)
    assert "SVT" not in infant and "RHYTHM_UNDET" in infant


def test_regular_wide_tachycardia_without_p_is_wct():
    q = np.arange(0.3, 9.9, 0.35)  # 171/min, wide QRS
    assert "WCT" in rhythm_codes(synth([], q, qrs_sd=0.03), q, age=ADULT)


def test_slow_narrow_rhythm_without_p_is_junctional_escape():
    q = np.arange(0.4, 9.9, 1.3)  # 46/min
    c = rhythm_codes(synth([], q), q, age=ADULT)
    assert c[0] == "JR"


# ------------------------------------------------------------------ pacing spikes

def paced_tracing(spikes: bool, every_lead: bool = True):
    q = np.arange(0.4, 9.8, 0.857)  # 70/min, wide paced QRS
    x = synth([], q, qrs_sd=0.03)
    raw = x.copy()
    if spikes:
        for s in q - 0.06:  # stimulus 60 ms before R: a 2 ms (one-sample) pulse
            k = round(s * FS)
            raw[k, :] += 0.6 if every_lead else 0.0
            if not every_lead:
                raw[k, 1] += 0.6
    return x, q, raw


def test_synthetic_pacing_spikes_make_paced_rhythm():
    x, q, raw = paced_tracing(spikes=True)
    c = rhythm_codes(x, q, raw=raw)
    assert c[0] == "PACED" and "AFIB" not in c


def test_no_paced_call_without_spikes_or_below_500_hz_or_in_one_lead():
    x, q, raw = paced_tracing(spikes=False)
    assert "PACED" not in rhythm_codes(x, q, raw=raw)
    x, q, raw = paced_tracing(spikes=True, every_lead=False)
    assert "PACED" not in rhythm_codes(x, q, raw=raw)
    x, q, raw = paced_tracing(spikes=True)
    assert detect_pacing(raw[::2], FS / 2, np.round(q * FS / 2).astype(int)) is None


def test_steep_qrs_upstroke_is_not_a_spike():
    q = np.arange(0.4, 9.8, 0.3)  # 200/min with a 12 ms-wide R: a newborn's steep QRS
    x = synth(q - 0.09, q, qrs_sd=0.004)
    p = detect_pacing(x, FS, np.round(q * FS).astype(int))
    assert p is not None and not p.paced


# ------------------------------------------------------------------ helpers

def test_rr_pattern_separates_group_beating_from_random_irregularity():
    quadrigeminy = np.r_[np.nan, np.tile([850, 850, 680, 960], 4)]
    assert rr_pattern(quadrigeminy) > 0.9
    rng = np.random.default_rng(1)
    assert rr_pattern(np.r_[np.nan, rng.uniform(450, 1100, 16)]) < 0.8


# ------------------------------------------------------------------ shared recordings

def _codes(path, age_days=None, signals=None) -> list[str]:
    rec = read_recording(path)
    if signals is not None:
        rec = dataclasses.replace(rec, signals=signals)
    return [f.code for f in analyze_recording(rec, age_days=age_days).findings]


@pytest.mark.parametrize("record", ["00017_lr", "00023_lr", "00449_lr"])
def test_ptbxl_flutter_called_flutter_not_sinus(data, record):
    """PTB-XL 2:1 flutters (100 Hz): today's code said sinus tachycardia on two of them."""
    c = _codes(data / "ptbxl" / f"{record}.hea")
    assert {"AFLT", "AFIB"} & set(c) and not SINUS & set(c)


def test_fast_flutter_is_urgent_and_has_its_rate(data):
    rec = read_recording(data / "ptbxl" / "00449_lr.hea")
    a = analyze_recording(rec, age_days=63 * 365)
    f = next(f for f in a.findings if f.code == "AFLT")
    assert "rapid ventricular response" in f.text and "心室率" in f.evidence_zh
    assert a.priority in ("urgent", "stat")


@pytest.mark.parametrize("record", ["35", "103"])
def test_ludb_flutter_never_called_sinus(data, record):
    """35: 2:1 flutter with a wide QRS; 103: flutter with variable conduction (today: sinus)."""
    assert not SINUS & set(_codes(data / "ludb" / f"{record}.hea"))


@pytest.mark.parametrize("record", ["45", "93", "95", "111"])
def test_ludb_paced_records_called_paced(data, record):
    c = _codes(data / "ludb" / f"{record}.hea")
    assert "PACED" in c and "AFIB" not in c


@pytest.mark.parametrize("record", ["1", "3", "17", "65", "169"])
def test_ludb_unpaced_records_with_steep_deflections_not_paced(data, record):
    assert "PACED" not in _codes(data / "ludb" / f"{record}.hea")


def test_ptbxl_complete_av_block(data):
    c = _codes(data / "ptbxl" / "00959_lr.hea", age_days=88 * 365)
    assert "AVB3" in c and not SINUS & set(c)


@pytest.mark.parametrize("record", ["00191_lr", "00895_lr"])
def test_ptbxl_no_af_on_four_rr_or_atrial_quadrigeminy(data, record):
    assert "AFIB" not in _codes(data / "ptbxl" / f"{record}.hea")


def test_ptbxl_af_sensitivity_floor(data):
    import csv

    with open(data / "ptbxl" / "labels.csv", newline="") as fh:
        rows = [r for r in csv.DictReader(fh) if "AFIB" in r["scp_codes"] and "AFLT" not in r["scp_codes"]]
    called = sum("AFIB" in _codes(data / "ptbxl" / f"{r['record']}.hea") for r in rows)
    assert len(rows) >= 20 and called >= len(rows) - 2


@pytest.mark.parametrize("record, start_s", [("100", 60), ("112", 600), ("122", 1200)])
def test_infant_rate_sinus_tachycardia_is_called_stach(data, record, start_s):
    """MIT-BIH sinus rhythm time-compressed to ~200/min, read as a 6-month-old: STACH
    with the infant limit, not "rhythm not determined" (P on the preceding T)."""
    import wfdb

    from bench.intervals import compress

    path = data / "mitdb" / record
    r = wfdb.rdrecord(str(path), sampfrom=int(start_s * 360), sampto=int((start_s + 27) * 360))
    leads = tuple("II" if s == "MLII" else s for s in r.sig_name)
    x = np.asarray(r.p_signal, float)
    base = analyze_recording(Recording(x, 360.0, leads, "wfdb")).measurements.heart_rate_bpm
    y, _ = compress(x, 200.0 / base)
    a = analyze_recording(Recording(y, 360.0, leads, "wfdb"), age_days=INFANT)
    f = {f.code: f for f in a.findings}
    assert "STACH" in f and "AFLT" not in f and "140" in f["STACH"].evidence


@pytest.mark.parametrize("record", [
    pytest.param("00849_lr", marks=pytest.mark.xfail(strict=True, reason=(
        "known gap since the commercial-convention delineation: at 102/min (QT now 356 ms, the T end read "
        "to the TP level; it was 421) a 28 ms 'P' is delineated on the T's tail with its onset after its peak, giving a "
        "non-sinus P axis; rejecting such a P here cost two false AF calls on PTB-XL, so it stays open"))),
    "00943_lr"])
def test_ptbxl_sinus_tachycardia_with_p_missed_by_the_median_delineator(data, record):
    """Clear 0.1-0.3 mV P waves the global delineator dropped (T end read late): sinus
    tachycardia, not "rhythm not determined"."""
    c = _codes(data / "ptbxl" / f"{record}.hea")
    assert "SR" in c and "STACH" in c and "RHYTHM_UNDET" not in c
