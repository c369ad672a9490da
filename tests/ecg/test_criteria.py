"""Criteria tables: citations present, age-band edges in days, table choice."""

from __future__ import annotations

import json

import pytest

from ecg import criteria as C


@pytest.mark.parametrize("name", ["cn_pediatrics", "adult", "aha_pals", "pediatric_percentiles_rijnbeek2001"])
def test_every_table_carries_citation_and_verification(name):
    t = C.load_table(name)
    assert t["citation"], name
    assert t["verification"], name


def test_every_interval_section_carries_citation_and_verification():
    t = C.load_table("interval_criteria")
    sections = [k for k, v in t.items() if isinstance(v, dict)]
    assert len(sections) == 7
    for k in sections:
        assert t[k]["citation"] and t[k]["verification"], k


def test_rijnbeek_table_states_its_provenance():
    """Transcribed by sex from two public sources that agree; not yet checked against the paper."""
    t = C.load_table("pediatric_percentiles_rijnbeek2001")
    assert t["approximate"] is False and t["verified_against_primary"] is False
    assert "NOT compared with the printed paper" in t["verification"]
    assert len(t["transcribed_from"]) == 2 and all("github.com/" in s for s in t["transcribed_from"])
    assert len(t["groups"]) == 9


_PARAMS = ("heart_rate_bpm", "pr_ms", "qrs_ms", "qtc_ms", "qrs_axis_deg")


def test_rijnbeek_groups_are_contiguous_and_sex_envelope_is_consistent():
    groups = C.load_table("pediatric_percentiles_rijnbeek2001")["groups"]
    assert groups[0]["min_days"] == 11 and groups[-1]["max_days"] == C.years_to_days(16)
    assert all(a["max_days"] == b["min_days"] for a, b in zip(groups, groups[1:]))
    for g in groups:
        for k in _PARAMS:
            (b2, b98), (g2, g98) = g["boys"][k], g["girls"][k]
            assert b2 < b98 and g2 < g98, (g["label"], k)
            assert g[k] == [min(b2, g2), max(b98, g98)], (g["label"], k)


def test_rijnbeek_spot_values_by_sex():
    """Values as both transcriptions give them (neonatal girls' heart rate reaches 216/min)."""
    first = C.percentiles(20)
    assert first["girls"]["heart_rate_bpm"] == [136, 216] and first["boys"]["heart_rate_bpm"] == [129, 192]
    assert first["heart_rate_bpm"] == [129, 216]
    assert C.percentiles(5000)["boys"]["qrs_ms"] == [78, 111]


def test_no_percentiles_outside_the_study_ages():
    assert C.percentiles(10) is None and C.percentiles(0) is None   # no child under 11 days in the cohort
    assert C.percentiles(11)["label"] == "11 days-1 month"
    assert C.percentiles(C.years_to_days(16)) is None


def test_cn_table_cites_both_textbooks():
    text = json.dumps(C.load_table("cn_pediatrics"), ensure_ascii=False)
    assert "儿科学" in text and "诸福棠实用儿科学" in text and "2018" in text and "2015" in text


@pytest.mark.parametrize("age_days, brady, tachy", [
    (0, 100, 140), (364, 100, 140),          # under 1 year
    (365, 80, 120), (2555, 80, 120),         # 1 to 6 years (completed years, up to the 7th birthday)
    (2191, 80, 120),                         # exactly 6 years (floor(6*365.25)) is still "1 to 6 years"
    (2556, 60, 100), (6573, 60, 100),        # over 6 years
    (6574, 50, 100), (30000, 50, 100),       # adult: 2018 ACC/AHA/HRS (< 50)
    (None, 50, 100),                         # unknown age: adult limits
])
def test_cn_rate_bands_at_edges(age_days, brady, tachy):
    lim = C.rate_limits(age_days)
    assert (lim.brady_below_bpm, lim.tachy_above_bpm) == (brady, tachy)


def test_band_labels_change_exactly_at_edges():
    assert C.rate_limits(364).band == "under 1 year"
    assert C.rate_limits(365).band == "1 to 6 years"
    assert C.rate_limits(2555).band == "1 to 6 years"
    assert C.rate_limits(2556).band == "over 6 years"
    assert C.rate_limits(6574).band.startswith("adult")


def test_rate_classification_is_strict():
    infant = C.rate_limits(100)
    assert infant.classify(140) == "normal" and infant.classify(141) == "tachy"
    assert infant.classify(100) == "normal" and infant.classify(99) == "brady"


def test_other_rate_tables_selectable():
    assert C.rate_limits(100, "adult").tachy_above_bpm == 100
    pals = C.rate_limits(30, "aha_pals")
    assert (pals.brady_below_bpm, pals.tachy_above_bpm) == (85, 205)
    assert C.rate_limits(91, "aha_pals").band == "3 months to 2 years"


def test_table_by_path(tmp_path):
    src = C.load_table("adult")
    p = tmp_path / "mine.json"
    p.write_text(json.dumps({**src, "name": "mine"}))
    assert C.rate_limits(10, str(p)).table == "mine"


def test_unknown_table_and_negative_age_rejected():
    with pytest.raises(KeyError):
        C.load_table("nope")
    with pytest.raises(ValueError):
        C.rate_limits(-1)


@pytest.mark.parametrize("kind, age, key, value", [
    ("pr_upper_ms", 181, "upper_ms", 150), ("pr_upper_ms", 182, "upper_ms", 160),
    ("pr_upper_ms", 5843, "upper_ms", 180), ("pr_upper_ms", 5844, "upper_ms", 200),
    ("qrs_wide_ms", 1460, "above_ms", 90), ("qrs_wide_ms", 1461, "above_ms", 100),
    ("qrs_axis_deg", 6, "lo_deg", 60), ("qrs_axis_deg", 7, "lo_deg", 45),
    ("qrs_axis_deg", 6573, "lo_deg", -15), ("qrs_axis_deg", 6574, "lo_deg", -30),
    ("critical_rate_bpm", 364, "above_bpm", 220), ("critical_rate_bpm", 365, "above_bpm", 180),
])
def test_interval_band_edges(kind, age, key, value):
    assert C.interval_band(kind, age)[key] == value


def test_qtc_long_limit_by_age_and_sex():
    assert C.qtc_long_limit(3000, "M") == 460  # children: 460 whatever the sex
    assert C.qtc_long_limit(6574, "M") == 450
    assert C.qtc_long_limit(6574, "F") == 460
    assert C.qtc_long_limit(None, None) == 450


def test_percentiles_are_evidence_for_children_only():
    assert C.percentiles(400)["label"] == "1-3 years"
    assert C.percentiles(6000) is None and C.percentiles(None) is None


def test_critical_value_codes_are_lexicon_codes_with_a_critical_meaning():
    from ecg.lexicon import lexicon
    from ecg.triage import critical_values, stat_codes, urgent_codes

    table = critical_values()
    assert table["citation"] and table["verification"]
    assert stat_codes() | urgent_codes() <= set(lexicon())
    assert "NORM" not in stat_codes() | urgent_codes() and "PVC" not in stat_codes()
