"""Signal quality, calibrated on real recordings: every MIT-BIH and LUDB record was read by
cardiologists, so none may come out unreadable; damaged copies must be flagged with the right reason.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest
from scipy.signal import resample_poly

from ecg.io import read_recording
from ecg.quality import assess_quality
from ecg.types import Quality, QualityIssue, Recording

MITDB = "100 101 106 108 109 112 114 115 116 118 119 122 124 201 203 205 207 208 209 215 220 223 230".split()
LUDB = [str(i) for i in range(1, 200, 2)]


@cache
def _read(root: Path, record: str) -> Recording:
    return read_recording(root / record)


def _assess(rec: Recording, signals: np.ndarray | None = None) -> Quality:
    return _checked(assess_quality(rec.signals if signals is None else signals, rec.fs, rec.leads))


def _checked(q: Quality) -> Quality:
    """Every reason comes with its coded issue, in the same order and with the same text."""
    assert [i.text for i in q.issues] == list(q.reasons)
    for lq in q.leads:
        assert [i.text for i in lq.issues] == list(lq.reasons)
        assert all(i.lead == lq.lead for i in lq.issues)
    assert all(i.lead is None for i in q.issues[: len(q.issues) - sum(len(lq.issues) for lq in q.leads)])
    return q


def _issue(q: Quality, lead: str | None, code: str) -> QualityIssue:
    """The one issue of ``code`` for ``lead`` (None: the whole record)."""
    found = [i for i in q.issues if i.lead == lead and i.code == code]
    assert len(found) == 1, [(i.code, i.lead) for i in q.issues]
    return found[0]


def _codes(q: Quality, lead: str) -> set[str]:
    return {i.code for i in q.issues if i.lead == lead}


def _reasons(q: Quality, lead: str) -> str:
    return " | ".join(next(lq for lq in q.leads if lq.lead == lead).reasons)


def _verdict(q: Quality, lead: str) -> str:
    return next(lq for lq in q.leads if lq.lead == lead).verdict


def _add_ma(rec: Recording, data: Path, lead: str, start_s: float = 0.0, channel: int = 1) -> np.ndarray:
    """Add nstdb muscle noise to one lead at 0 dB SNR: noise variance = (QRS peak-to-peak)^2 / 8."""
    ma = _read(data, "nstdb/ma").signals[:, channel]
    n_360 = int(np.ceil(rec.n_samples * 360 / rec.fs)) + 8
    noise = ma[int(start_s * 360): int(start_s * 360) + n_360]
    noise = resample_poly(noise, int(rec.fs), 360)[: rec.n_samples] if rec.fs != 360 else noise[: rec.n_samples]
    j = rec.leads.index(lead)
    b = int(rec.fs)
    qrs_ptp = np.median(np.ptp(rec.signals[: rec.n_samples // b * b, j].reshape(-1, b), axis=1))
    out = rec.signals.copy()
    out[:, j] += (noise - noise.mean()) / noise.std() * qrs_ptp / np.sqrt(8)
    return out


# --- calibration: real records are never unreadable ------------------------------------------


@pytest.mark.parametrize("record", MITDB)
def test_mitdb_records_are_readable(data: Path, record: str) -> None:
    q = _assess(_read(data, f"mitdb/{record}"))
    assert q.verdict in ("good", "acceptable"), q.reasons
    assert all(lq.verdict != "unreadable" for lq in q.leads), q.reasons


def test_ludb_records_are_readable(data: Path) -> None:
    verdicts = {r: _assess(_read(data, f"ludb/{r}")) for r in LUDB}
    bad = {r: q.reasons for r, q in verdicts.items() if q.verdict == "unreadable"}
    assert not bad
    # Nearly all are clean 12-lead resting ECGs: at most a handful may carry a remark.
    assert sum(q.verdict == "good" for q in verdicts.values()) >= 95


def test_ptb_and_wfdb_sample_are_good(data: Path) -> None:
    assert _assess(_read(data, "ptbdb/s0010_re")).verdict == "good"
    assert _assess(_read(data, "misc/test01_00s")).verdict == "good"


def test_nstdb_minus_6_db_is_flagged(data: Path) -> None:
    # Electrode-motion noise at -6 dB SNR in alternate 2 min stretches: readable in parts, never "good".
    q = _assess(_read(data, "nstdb/118e_6"))
    assert q.verdict != "good"
    assert "movement artefacts" in _reasons(q, "MLII")
    assert 20 <= _issue(q, "MLII", "artefact").params["extent_pct"] < 90  # in parts, not throughout


# --- damaged copies of real records ---------------------------------------------------------


@pytest.mark.parametrize("value", [0.0, 0.37])
def test_flattened_v2_is_lead_off(data: Path, value: float) -> None:
    rec = _read(data, "ludb/1")
    x = rec.signals.copy()
    x[:, rec.leads.index("V2")] = value
    q = _assess(rec, x)
    assert _verdict(q, "V2") == "unreadable"
    assert "V2: flat signal, electrode off — check the V2 electrode" in _reasons(q, "V2")
    assert _issue(q, "V2", "lead_off").params == {}  # off for the whole record: no time spans
    assert _codes(q, "V2") == {"lead_off"}
    assert q.verdict == "acceptable"  # a cardiologist still reads 11 leads
    assert all(_verdict(q, lead) == "good" for lead in rec.leads if lead != "V2")


def test_three_leads_off_make_a_12_lead_unreadable(data: Path) -> None:
    rec = _read(data, "ludb/3")
    x = rec.signals.copy()
    for lead in ("V1", "V2", "V3"):
        x[:, rec.leads.index(lead)] = 0.0
    q = _assess(rec, x)
    assert q.verdict == "unreadable"
    assert "3 of 12 leads" in q.reasons[0]
    assert q.issues[0].params == {"n_bad": 3, "n_leads": 12, "leads": ["V1", "V2", "V3"]}
    assert q.issues[0].code == "too_many_leads_unreadable" and q.issues[0].lead is None


@pytest.mark.parametrize("mains_hz", [50, 60])
def test_mains_interference(data: Path, mains_hz: int) -> None:
    rec = _read(data, "ludb/5")
    x = rec.signals.copy()
    x[:, rec.leads.index("II")] += 0.5 * np.sin(2 * np.pi * mains_hz * np.arange(rec.n_samples) / rec.fs)
    q = _assess(rec, x)
    assert f"II: strong {mains_hz} Hz mains interference" in _reasons(q, "II")
    assert "check grounding" in _reasons(q, "II")
    assert "muscle" not in _reasons(q, "II")
    assert _verdict(q, "I") == "good"
    mains = _issue(q, "II", "mains")
    assert mains.params["hz"] == mains_hz and mains.params["mv"] == pytest.approx(0.5, abs=0.05)
    assert "extent_pct" not in mains.params  # all through the record
    assert _codes(q, "II") == {"mains"}


def test_muscle_noise_in_a_12_lead(data: Path) -> None:
    rec = _read(data, "ludb/7")
    q = _assess(rec, _add_ma(rec, data, "I", start_s=60.0))
    assert "I: muscle noise — ask the patient to relax" in _reasons(q, "I")
    assert "muscle" in _codes(q, "I")
    assert _verdict(q, "V4") == "good"


def test_muscle_noise_in_a_holter(data: Path) -> None:
    rec = _read(data, "mitdb/100")
    q = _assess(rec, _add_ma(rec, data, "MLII", channel=0))
    assert "MLII: muscle noise" in _reasons(q, "MLII")
    assert "muscle" not in _reasons(q, "V5")
    assert "muscle" in _codes(q, "MLII") and "muscle" not in _codes(q, "V5")


@pytest.mark.parametrize("record, lead", [("ludb/9", "aVR"), ("mitdb/100", "MLII")])
def test_clipping(data: Path, record: str, lead: str) -> None:
    rec = _read(data, record)
    x = rec.signals.copy()
    j = rec.leads.index(lead)
    assert x[:, j].min() < -0.6 or x[:, j].max() > 0.6  # QRS reaches beyond the clip level
    x[:, j] = np.clip(x[:, j], -0.5, 0.5)
    q = _assess(rec, x)
    assert f"{lead}: signal clipped" in _reasons(q, lead)
    assert _issue(q, lead, "clipping").params == {}


def test_lead_lost_for_the_last_five_minutes_of_a_holter(data: Path) -> None:
    rec = _read(data, "mitdb/119")
    x = rec.signals.copy()
    x[int(25 * 60 * rec.fs):, rec.leads.index("V1")] = 0.0
    q = _assess(rec, x)
    assert q.verdict == "acceptable"
    assert "V1: flat signal, electrode off" in _reasons(q, "V1")
    assert "25:00-30:0" in _reasons(q, "V1")
    (span,) = _issue(q, "V1", "lead_off").params["spans"]
    assert span["start_s"] == 1500.0 and 1800.0 <= span["end_s"] <= 1806.0  # 30:05 is the record's end


def test_holter_with_one_lead_off_is_acceptable_and_both_off_unreadable(data: Path) -> None:
    rec = _read(data, "mitdb/201")
    x = rec.signals.copy()
    x[:, 1] = 1024 / 200.0  # stuck at the rail
    assert _assess(rec, x).verdict == "acceptable"
    x[:, 0] = 0.0
    both_off = _assess(rec, x)
    assert both_off.verdict == "unreadable"
    assert both_off.issues[0].code == "no_usable_lead" and both_off.issues[0].lead is None


def test_baseline_wander(data: Path) -> None:
    rec = _read(data, "mitdb/100")
    bw = _read(data, "nstdb/bw").signals[:, 0]
    x = rec.signals.copy()
    x[:, 0] += 4 * (bw - bw.mean())
    q = _assess(rec, x)
    assert "MLII: baseline wander — ask the patient to lie still" in _reasons(q, "MLII")
    assert "baseline_wander" in _codes(q, "MLII") and "baseline_wander" not in _codes(q, "V5")
    assert q.verdict == "acceptable"


def test_implausible_amplitude(data: Path) -> None:
    rec = _read(data, "ludb/11")
    x = rec.signals.copy()
    x[:, rec.leads.index("V3")] *= 40  # e.g. uV read as 25 uV units
    q = _assess(rec, x)
    assert _verdict(q, "V3") == "unreadable"
    assert "implausible" in _reasons(q, "V3")
    assert _issue(q, "V3", "implausible_amplitude").params["mv"] > 10.0


def test_too_short_is_unreadable(data: Path) -> None:
    rec = _read(data, "ludb/13")
    q = _checked(assess_quality(rec.signals[:1000], rec.fs, rec.leads))
    assert q.verdict == "unreadable" and "too short" in q.reasons[0]
    assert _issue(q, None, "too_short").params == {"duration_s": 2.0, "min_s": 4.0}
    assert all(lq.issues[0].code == "too_short" for lq in q.leads)


def test_shape_mismatch_is_a_value_error(data: Path) -> None:
    rec = _read(data, "ludb/13")
    with pytest.raises(ValueError):
        assess_quality(rec.signals, rec.fs, rec.leads[:3])


# --- speed ------------------------------------------------------------------------------------
