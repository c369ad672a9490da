"""Repolarisation statements: ST elevation qualified or withheld (LBBB / pacing by Sgarbossa,
proportionate discordance, early repolarisation, pericarditis, aVR pattern), ST depression,
T-wave inversion with the juvenile pattern, on synthetic median beats of known ST-T shape,
and floors on PTB-XL (Wagner P et al., Sci Data 7:154, 2020; PhysioNet; CC BY 4.0)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from ecg.delineate import Fiducials
from ecg.interpret import interpret
from ecg.measure import (
    AtrialFacts,
    BeatTable,
    MeasureDetail,
    MedianBeat,
    qtc_fridericia,
)
from ecg.repolarization import repolarization_findings
from ecg.st import best_margin as st_pair_margin
from ecg.st import j_point_levels, stt_profile
from ecg.triage import triage
from ecg.types import Measurements

ADULT = 40 * 365
SIX_YEARS = int(6 * 365.25)
OLDER = 50 * 365  # ST limits change at 40 years in men
FS = 500.0


def detail(qrs: float = 90.0, median: MedianBeat | None = None, hr: float = 75.0) -> MeasureDetail:
    """A sinus-rhythm MeasureDetail at ``hr``/min with normal intervals and the given median beat."""
    rr = 60000.0 / hr
    qt = 420.0 * np.sqrt(rr / 1000.0)
    m = Measurements(heart_rate_bpm=hr, rr_ms=rr, p_ms=90.0, pr_ms=150.0, qrs_ms=qrs, qt_ms=qt,
                     qtc_bazett_ms=420.0, qtc_fridericia_ms=qtc_fridericia(qt, rr), p_axis_deg=50.0,
                     qrs_axis_deg=50.0, t_axis_deg=40.0)
    rrs = np.r_[np.nan, np.full(9, rr)]
    r = np.r_[0, np.cumsum(rrs[1:])].astype(int)
    beats = BeatTable(r, rrs, np.zeros(10, bool), np.full(10, 0.99), np.ones(10, bool))
    return MeasureDetail(m, beats, median, {}, 60.0, AtrialFacts(0.01, 0.1, 0.95, "organised"))


def codes(findings) -> dict[str, str]:
    return {f.code: f.severity for f in findings}


STD_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")


def with_st(levels: dict[str, float], qrs: float = 90.0) -> MeasureDetail:
    """A detail whose synthetic 500 Hz median beat has flat PR segments and the given
    J-point ST levels (mV) per lead (QRS onset at sample 100, offset at 150)."""
    d = detail(qrs=qrs)
    beat = np.zeros((400, len(STD_LEADS)))
    for k, v in levels.items():
        beat[140:, STD_LEADS.index(k)] = v
    mb = MedianBeat(beat, 500.0, STD_LEADS, 120, 10, Fiducials(qrs_on=100, qrs_off=150))
    return MeasureDetail(d.measurements, d.beats, mb, {}, 60.0, d.atrial)


def test_j_point_levels_read_the_median_beat():
    got = j_point_levels(with_st({"V2": 0.25, "aVR": -0.1}))
    assert got["V2"] == pytest.approx(0.25) and got["aVR"] == pytest.approx(-0.1) and got["I"] == 0.0
    assert j_point_levels(detail()) == {}  # no median beat: no ST, never a guess


def test_st_elevation_needs_two_contiguous_leads():
    one = {"V2": 0.25, "V4": 0.25, "II": 0.05}
    assert "STE" not in codes(interpret(with_st(one), age_days=OLDER, sex="M"))
    two = {"V2": 0.25, "V3": 0.21}
    f = [f for f in interpret(with_st(two), age_days=OLDER, sex="M") if f.code == "STE"][0]
    assert f.severity == "critical" and f.text == "Suspected acute injury — ST elevation" and f.text_zh == "ST段抬高（疑急性损伤）"
    assert "men 40 and over" in f.evidence and "V2 +0.25/V3 +0.21" in f.evidence
    limb = {"II": 0.12, "aVF": 0.11}
    assert codes(interpret(with_st(limb), age_days=OLDER))["STE"] == "critical"
    via_avr = {"I": 0.12, "aVR": -0.15}  # -aVR is contiguous with I (Cabrera sequence)
    assert "STE" in codes(interpret(with_st(via_avr), age_days=OLDER))
    not_contiguous = {"aVL": 0.3, "III": 0.3}
    assert "STE" not in codes(interpret(with_st(not_contiguous), age_days=OLDER))


@pytest.mark.parametrize("sex, years, v23, ste", [
    ("M", 45, 0.19, False), ("M", 45, 0.20, True),     # men >= 40: 0.2 mV
    ("M", 30, 0.24, False), ("M", 30, 0.25, True),     # men < 40: 0.25 mV
    ("F", 30, 0.14, False), ("F", 30, 0.15, True),     # women: 0.15 mV
    (None, 30, 0.15, True),                            # unknown sex: most sensitive limit
    ("F", 16, 0.20, False), ("F", 16, 0.25, True),     # under 18: 0.25 mV for both sexes
])
def test_v2_v3_limits_by_sex_and_age(sex, years, v23, ste):
    d = with_st({"V2": v23, "V3": v23})
    assert ("STE" in codes(interpret(d, age_days=int(years * 365.25) + 1, sex=sex))) == ste


def test_v1_and_v4_use_the_0_1_mv_limit():
    assert "STE" in codes(interpret(with_st({"V4": 0.1, "V5": 0.1}), age_days=OLDER, sex="M"))
    assert "STE" not in codes(interpret(with_st({"V4": 0.1, "V5": 0.09}), age_days=OLDER, sex="M"))
    v1v2 = {"V1": 0.1, "V2": 0.2}
    assert "STE" in codes(interpret(with_st(v1v2), age_days=OLDER, sex="M"))
    assert st_pair_margin(v1v2, OLDER, "M") == pytest.approx(0.0)
    assert st_pair_margin({"V1": 0.05, "V2": 0.1}, OLDER, "M") == pytest.approx(-0.1)


def test_child_st_elevation_is_critical_only_with_reciprocal_depression():
    teen = int(15 * 365.25) + 1
    er = {"II": 0.15, "aVF": 0.15, "V5": 0.12, "V6": 0.12}  # early-repolarisation-like
    f = [f for f in interpret(with_st(er), age_days=teen, sex="M") if f.code == "STE"][0]
    assert f.severity == "abnormal" and "early repolarisation" in f.evidence
    assert triage([f], age_days=teen) == "urgent"
    injury = {**er, "aVL": -0.1}  # reciprocal depression in aVL
    f = [f for f in interpret(with_st(injury), age_days=teen, sex="M") if f.code == "STE"][0]
    assert f.severity == "critical" and "aVL -0.10" in f.evidence
    only_avr = {**er, "aVR": -0.15}  # aVR depression is not reciprocal evidence
    assert codes(interpret(with_st(only_avr), age_days=teen, sex="M"))["STE"] == "abnormal"
    assert codes(interpret(with_st(er), age_days=ADULT, sex="M"))["STE"] == "critical"


def test_wide_qrs_concordant_st_elevation_stays_and_says_why():
    f = [f for f in interpret(with_st({"V2": 0.3, "V3": 0.3}, qrs=150), age_days=ADULT, sex="M")
         if f.code == "STE"][0]
    assert f.severity == "critical" and "concordant with the QRS" in f.evidence




# ---------------------------------------------------------------- synthetic median beats of known shape
# 500 Hz, 400 samples: TP 0 mV, P 40-80, PR segment 80-100 at ``pr``, QRS 100-150 (R at 115,
# S at 135, J level reached at 145), J at 150, ST linear from ``j`` to ``st80`` at J + 80 ms (190), T from 190 to its end
# at 350 with extreme ``t``; every level after the P wave is relative to the PR segment.
NORMAL = dict(r=1.0, s=-0.2, j=0.0, st80=0.05, t=0.3, pr=0.0)


def lead_wave(r, s, j, st80, t, pr) -> np.ndarray:
    x = np.zeros(400)
    x[40:80] = 0.1 * np.sin(np.linspace(0, np.pi, 40))
    x[80:100] = pr
    x[100:151] = pr + np.interp(np.arange(100, 151), [100, 115, 135, 145, 150], [0.0, r, s, j, j])
    x[150:191] = pr + np.linspace(j, st80, 41)
    hump = np.sin(np.linspace(0, np.pi, 160))
    x[190:350] = pr + st80 * (1 - np.linspace(0, 1, 160)) + (t - st80 * 0.5) * hump
    return x


def beat(spec: dict[str, dict], qrs: float = 90.0, hr: float = 75.0) -> MeasureDetail:
    """A detail whose median beat has, per lead, NORMAL updated with ``spec[lead]``; aVR is the
    mirror of the normal leads unless given."""
    cols = []
    for ld in STD_LEADS:
        base = dict(NORMAL, r=0.1, s=-0.8, j=0.0, st80=-0.05, t=-0.3) if ld == "aVR" else dict(NORMAL)
        cols.append(lead_wave(**(base | spec.get(ld, {}))))
    fid = Fiducials(qrs_on=100, qrs_off=150, t_end=350, p_on=40, p_off=80)
    return detail(qrs, MedianBeat(np.stack(cols, axis=1), FS, STD_LEADS, 115, 10, fid), hr)


def repol(d: MeasureDetail, age_days=ADULT, sex="M", context=frozenset()) -> dict[str, str]:
    return codes(repolarization_findings(d, age_days, sex, frozenset(context)))


def test_profile_reads_the_shape():
    p = stt_profile(beat({"V2": dict(j=0.2, st80=0.4, t=1.0, pr=-0.1)}))
    v2 = p["V2"]
    assert v2.st[0] == pytest.approx(0.2, abs=0.01) and v2.st[80] == pytest.approx(0.4, abs=0.01)
    assert v2.t_mv == pytest.approx(1.0, abs=0.05) and v2.pr_mv == pytest.approx(-0.1, abs=0.01)
    assert v2.r_mv == pytest.approx(1.0, abs=0.01) and v2.s_mv == pytest.approx(-0.2, abs=0.01)
    assert repol(beat({})) == {}  # a normal beat: no repolarisation statement


LBBB_BEAT = {ld: dict(r=0.2, s=-2.0, j=0.35, st80=0.5, t=0.7) for ld in ("V1", "V2", "V3")} | {
    ld: dict(r=1.5, s=0.0, j=-0.15, st80=-0.25, t=-0.4) for ld in ("I", "aVL", "V5", "V6")}


def test_lbbb_proportionate_discordance_is_secondary_not_ste():
    got = repol(beat(LBBB_BEAT, qrs=150), context={"LBBB", "WQRS"})
    assert "STE" not in got and "STD" not in got and "TWI" not in got and got["STT2"] == "abnormal"
    f = [f for f in repolarization_findings(beat(LBBB_BEAT, qrs=150), ADULT, "M", frozenset({"LBBB"}))][0]
    assert "not applicable" in f.evidence and "不适用" in f.evidence_zh
    assert "STE" in repol(beat(LBBB_BEAT, qrs=150), context=set())  # without the context: 4th UDMI applies


@pytest.mark.parametrize("lead, change, criterion", [
    ("V2", dict(j=0.6, st80=0.7), "discordant STE V2"),      # ST/S 0.30 >= 0.25
    ("V5", dict(j=0.15, st80=0.2, t=0.4), "concordant STE V5"),
    ("V1", dict(j=-0.15, st80=-0.15, t=-0.2), "concordant STD V1"),
])
def test_lbbb_smith_modified_sgarbossa_makes_a_stemi_call(lead, change, criterion):
    spec = LBBB_BEAT | {lead: LBBB_BEAT.get(lead, NORMAL) | change}
    f = [f for f in repolarization_findings(beat(spec, qrs=150), ADULT, "M", frozenset({"LBBB"}))
         if f.code == "STE"][0]
    assert f.severity == "critical" and criterion in f.evidence and "Sgarbossa" in f.text
    assert "STT2" not in repol(beat(spec, qrs=150), context={"LBBB"})  # not also "criteria not applicable"


def test_paced_rhythm_uses_sgarbossa_too():
    assert repol(beat(LBBB_BEAT, qrs=160), context={"PACED"}) == {"STT2": "abnormal"}


def test_lvh_strain_is_secondary():
    strain = {ld: dict(r=2.8, s=0.0, j=-0.1, st80=-0.15, t=-0.35) for ld in ("I", "aVL", "V5", "V6")}
    strain |= {ld: dict(r=0.2, s=-2.6, j=0.25, st80=0.35, t=0.5) for ld in ("V1", "V2")}
    assert repol(beat(strain), context={"LVH"}) == {"STT2": "abnormal"}
    got = repol(beat(strain))  # no LVH said: the depression and inversion are stated as such
    assert got.get("STD") == "abnormal" and got.get("TWI") == "abnormal"


ERP = {ld: dict(r=1.6, s=-0.6, j=0.28, st80=0.5, t=1.3) for ld in ("V2", "V3", "V4")}


def test_early_repolarisation_is_normal_not_ste():
    got = repol(beat(ERP), age_days=25 * 365)
    assert got == {"ERP": "normal"}
    assert "NORM" in codes(interpret(beat(ERP), age_days=25 * 365, sex="M"))


def test_reciprocal_depression_turns_the_same_elevation_into_injury():
    recip = {ld: dict(j=-0.1, st80=-0.1, t=0.1) for ld in ("II", "III", "aVF")}
    f = [f for f in repolarization_findings(beat(ERP | recip), 25 * 365, "M", frozenset()) if f.code == "STE"][0]
    assert f.severity == "critical" and "reciprocal ST depression" in f.evidence and "aVF -0.10" in f.evidence


def test_flat_st_elevation_without_tall_t_stays_a_stemi_call():
    flat = {ld: dict(r=0.6, s=-0.6, j=0.3, st80=0.33, t=0.45) for ld in ("V2", "V3", "V4")}
    assert repol(beat(flat), age_days=25 * 365) == {"STE": "critical"}


def test_avr_elevation_with_diffuse_depression_is_critical():
    spec = {ld: dict(j=-0.15, st80=-0.15, t=0.1) for ld in ("I", "II", "aVF", "aVL", "V3", "V4", "V5", "V6")}
    spec["aVR"] = dict(r=0.1, s=-0.8, j=0.15, st80=0.15, t=-0.1)
    f = [f for f in repolarization_findings(beat(spec), OLDER, "M", frozenset()) if f.code == "STE"][0]
    assert f.severity == "critical" and "aVR" in f.text and "8 leads" in f.evidence
    spec["V3"] = spec["V4"] = dict(NORMAL)  # 6 leads: below the guideline's eight
    assert repol(beat(spec), OLDER).get("STE") is None


def test_pericarditis_pattern_is_not_a_stemi_call():
    diffuse = {ld: dict(j=0.2, st80=0.25, t=0.45, pr=-0.12)
               for ld in ("I", "II", "aVF", "V2", "V3", "V4", "V5", "V6")}
    diffuse["aVR"] = dict(r=0.1, s=-0.8, j=-0.15, st80=-0.15, t=-0.3, pr=0.1)
    f = [f for f in repolarization_findings(beat(diffuse), OLDER, "M", frozenset()) if f.code == "STE"][0]
    assert f.severity == "abnormal" and "pericarditis" in f.text and triage([f]) == "urgent"
    no_pr = {ld: v | dict(pr=0.0) for ld, v in diffuse.items()}  # same ST without PR depression
    assert repol(beat(no_pr), OLDER)["STE"] == "critical"


def test_horizontal_st_depression_but_not_upsloping():
    horiz = {ld: dict(j=-0.1, st80=-0.12, t=0.2) for ld in ("V4", "V5", "V6")}
    assert repol(beat(horiz)) == {"STD": "abnormal"}
    up = {ld: dict(j=-0.1, st80=0.1, t=0.3) for ld in ("V4", "V5", "V6")}
    assert "STD" not in repol(beat(up))
    posterior = {ld: dict(r=0.4, s=-1.0, j=-0.15, st80=-0.15, t=0.3) for ld in ("V1", "V2", "V3")}
    f = next(f for f in repolarization_findings(beat(posterior), ADULT, "M", frozenset()) if f.code == "STD")
    assert "V7-V9" in f.evidence and "V7-V9" in f.evidence_zh
    f = next(f for f in repolarization_findings(beat(horiz), ADULT, "M", frozenset()) if f.code == "STD")
    assert "V7-V9" not in f.evidence
    one = {"V5": dict(j=-0.1, st80=-0.12, t=0.2)}
    assert repol(beat(one)) == {}  # a single lead is not two contiguous leads


def test_st_depression_is_read_at_j_plus_40_ms_at_fast_rates():
    # depressed to J+40 ms, back at the baseline by J+60 ms: at 150/min (RR 400 ms) that is the ST
    early = {ld: dict(j=-0.12, st80=0.12, t=0.3) for ld in ("V4", "V5", "V6")}
    fast = stt_profile(beat(early, hr=150))["V5"]
    assert fast.point_ms == 40 and stt_profile(beat(early))["V5"].point_ms == 60
    assert fast.depression_level == pytest.approx(0.0, abs=0.01)  # J+40: -0.12 + 0.24/2
    horiz = {ld: dict(j=-0.12, st80=-0.12, t=0.3) for ld in ("V4", "V5", "V6")}
    assert repol(beat(horiz, hr=150), age_days=SIX_YEARS) == {"STD": "abnormal"}


JUVENILE = {ld: dict(t=-0.3, st80=-0.02) for ld in ("V1", "V2", "V3")}


def test_juvenile_t_pattern_in_a_six_year_old_is_normal():
    got = repol(beat(JUVENILE), age_days=SIX_YEARS)
    assert got == {"JUVT": "normal"}
    assert "NORM" in codes(interpret(beat(JUVENILE, hr=100), age_days=SIX_YEARS, sex="F"))


def test_the_same_inversion_in_an_adult_is_twi():
    assert repol(beat(JUVENILE), age_days=ADULT, sex="F") == {"TWI": "abnormal"}
    v1_v2 = {ld: dict(t=-0.3) for ld in ("V1", "V2")}  # V1-V2 only: normal in adults
    assert repol(beat(v1_v2), age_days=ADULT, sex="F") == {}


def test_child_inversion_beyond_v3_is_twi_not_juvenile():
    wide = {ld: dict(t=-0.3, st80=-0.02) for ld in ("V1", "V2", "V3", "V4", "V5")}
    assert repol(beat(wide), age_days=SIX_YEARS) == {"TWI": "abnormal"}
    to_v4 = {ld: dict(t=-0.3, st80=-0.02) for ld in ("V1", "V2", "V3", "V4")}
    assert "JUVT" not in repol(beat(to_v4), age_days=SIX_YEARS)  # V4 is beyond the pattern at 6 years
    assert repol(beat(to_v4), age_days=2 * 365) == {"JUVT": "normal"}  # V4 still juvenile at 2 years
    all_precordial = {ld: dict(t=-0.3, st80=-0.02) for ld in ("V1", "V2", "V3", "V4", "V5", "V6")}
    assert repol(beat(all_precordial), age_days=2 * 365) == {"TWI": "abnormal"}


def test_inverted_t_in_iii_and_avr_alone_is_normal():
    assert repol(beat({"III": dict(t=-0.3)})) == {}


def test_flat_t_is_nonspecific():
    flat = {ld: dict(t=0.02, st80=0.0) for ld in ("V5", "V6")}
    assert repol(beat(flat)) == {"NSSTT": "abnormal"}


# ---------------------------------------------------------------- floors on PTB-XL
# acute MI by the cardiologists (stadium I-II) with ST elevation at the J point; normal ECGs (NORM=100)
PTBXL_STEMI = ("00189_lr", "00827_lr", "00947_lr")
PTBXL_LBBB = ("00279_lr", "00517_lr", "00711_lr")  # CLBBB=100: discordant ST-T, no acute MI


@pytest.fixture(scope="module")
def ptbxl(data):
    from ecg.analyze import analyze_recording
    from ecg.io import read_recording

    root = data / "ptbxl"
    with open(root / "labels.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    want = {r["record"] for r in rows if "NORM=100" in r["scp_codes"].split()} | set(PTBXL_STEMI + PTBXL_LBBB)
    out = {}
    for r in rows:
        if r["record"] in want:
            age = min(int(r["age_years"]), 90)
            a = analyze_recording(read_recording(root / f"{r['record']}.hea"), age_days=int(age * 365.25),
                                  sex={"Male": "M", "Female": "F"}.get(r["sex"]))
            out[r["record"]] = ("NORM=100" in r["scp_codes"].split(), codes(a.findings))
    return out


def test_ptbxl_normal_ecgs_rarely_get_st_statements(ptbxl):
    normal = [c for is_norm, c in ptbxl.values() if is_norm]
    assert len(normal) >= 200
    assert sum("STE" in c for c in normal) <= 0.01 * len(normal)  # goal <= 1 % (before: 1.7 %)
    assert sum(bool({"STD", "TWI"} & c.keys()) for c in normal) <= 0.02 * len(normal)


def test_ptbxl_acute_inferolateral_mi_is_a_critical_ste(ptbxl):
    assert [r for r in PTBXL_STEMI if ptbxl[r][1].get("STE") != "critical"] == []


@pytest.mark.parametrize("record", [
    "00279_lr", "00711_lr",
    pytest.param("00517_lr", marks=pytest.mark.xfail(strict=True, reason=(
        "known false positive of the Smith-modified Sgarbossa rule as measured now: LBBB with AF at 127/min, "
        "discordant ST elevation in V1 +0.54 mV over an S of -2.09 mV (26 %, the rule's limit is 25 %); "
        "the rule's published specificity is about 90 %, so some LBBB are called; kept visible, not tuned"))),
])
def test_ptbxl_lbbb_is_not_called_stemi(ptbxl, record):
    assert record in PTBXL_LBBB and ptbxl[record][1].get("STE") != "critical"


@pytest.mark.parametrize("spec, context, age", [
    (LBBB_BEAT, {"LBBB"}, ADULT), (LBBB_BEAT | {"V5": dict(r=1.5, s=0.0, j=0.15, st80=0.2, t=0.4)}, {"LBBB"}, ADULT),
    (ERP, set(), 25 * 365), ({ld: dict(t=0.02, st80=0.0) for ld in ("V5", "V6")}, set(), ADULT),
    (JUVENILE, set(), SIX_YEARS), ({ld: dict(r=2.8, s=0.0, j=-0.1, st80=-0.15, t=-0.35)
                                    for ld in ("I", "aVL", "V5", "V6")}, {"LVH"}, ADULT),
])
def test_chinese_evidence_has_no_english_words(spec, context, age):
    import re

    found = repolarization_findings(beat(spec), age, "M", frozenset(context))
    assert found
    for f in found:
        words = set(re.findall(r"[A-Za-z]{4,}", f.evidence_zh + " " + f.text_zh)) - {"Smith", "Sgarbossa"}
        assert words == set(), (f.code, f.evidence_zh)
