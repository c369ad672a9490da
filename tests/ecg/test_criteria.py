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


def test_rijnbeek_table_is_marked_approximate():
    t = C.load_table("pediatric_percentiles_rijnbeek2001")
    assert t["approximate"] is True
    assert "NOT transcribed" in t["verification"]
    assert len(t["groups"]) == 9


def test_cn_table_cites_both_textbooks():
    text = json.dumps(C.load_table("cn_pediatrics"), ensure_ascii=False)
    assert "儿科学" in text and "诸福棠实用儿科学" in text and "2018" in text and "2015" in text


@pytest.mark.parametrize("age_days, brady, tachy", [
    (0, 100, 140), (364, 100, 140),          # under 1 year
    (365, 80, 120), (2555, 80, 120),         # 1 to 6 years (completed years, up to the 7th birthday)
    (2191, 80, 120),                         # exactly 6 years (floor(6*365.25)) is still "1 to 6 years"
    (2556, 60, 100), (6573, 60, 100),        # over 6 years
    (6574, 60, 100), (30000, 60, 100),       # adult
    (None, 60, 100),                         # unknown age: adult limits
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
