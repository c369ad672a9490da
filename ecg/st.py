"""ST elevation by the Fourth Universal Definition of Myocardial Infarction (2018).

The ST level is read at the J point (the global QRS offset of the median beat)
against the PR segment (``ecg.measure.st_levels`` with ``point_ms=0``), and
compared per lead with the cited limits in ``ecg/data/interval_criteria.json``
(section ``st_elevation_mv``): 0.1 mV in every lead except V2-V3, where the
limit depends on sex and age (0.2 mV men >= 40 y, 0.25 mV men < 40 y,
0.15 mV women). ST elevation counts only in two anatomically contiguous leads
(V1-V6 in order; limb leads in the Cabrera sequence aVL, I, -aVR, II, aVF, III).

Children: the definition is for adults and no pediatric voltage criteria
exist; ST elevation in adolescents is mostly early repolarisation, so under
18 years the highest adult V2-V3 limit (0.25 mV) applies to both sexes.

Units: mV, ms, age in days.
"""

from __future__ import annotations

from ecg import criteria as C
from ecg.measure import MeasureDetail, st_levels

FORTY_YEARS_DAYS = C.years_to_days(40)


def j_point_levels(d: MeasureDetail) -> dict[str, float]:
    """ST level (mV) per lead at the J point of the median beat; {} without QRS boundaries."""
    mb = d.median
    if mb is None:
        return {}
    return st_levels(mb.beat, mb.fs, mb.leads, mb.fiducials, 0.0)


def v2_v3_limit(age_days: int | None, sex: str | None) -> tuple[float, str]:
    """ST-elevation limit (mV) in V2-V3 for age and sex, with the group name for evidence."""
    lim = C.interval_section("st_elevation_mv")["v2_v3_mv"]
    if age_days is not None and age_days < C.ADULT_DAYS:
        return float(lim["under_18_years"]), "under 18 years"
    if sex == "M":
        if age_days is not None and age_days < FORTY_YEARS_DAYS:
            return float(lim["male_under_40"]), "men under 40"
        known = "" if age_days is not None else " (age unknown)"
        return float(lim["male_40_and_over"]), "men 40 and over" + known
    return float(lim["female"]), "women" if sex == "F" else "women (sex unknown: most sensitive)"


def lead_level(levels: dict[str, float], lead: str) -> float | None:
    """Level of ``lead`` (mV); "-aVR" is the inverted aVR of the Cabrera sequence."""
    if lead.startswith("-"):
        v = levels.get(lead[1:])
        return None if v is None else -v
    return levels.get(lead)


def pair_margins(levels: dict[str, float], age_days: int | None,
                 sex: str | None) -> list[tuple[str, float, str, float, float]]:
    """(lead a, level a, lead b, level b, margin) per contiguous pair with both leads present;
    margin = min over the pair of (level - the lead's limit), mV: >= 0 means both reach it."""
    s = C.interval_section("st_elevation_mv")
    v23, _ = v2_v3_limit(age_days, sex)
    out = []
    for a, b in s["limb_contiguous"] + s["precordial_contiguous"]:
        va, vb = lead_level(levels, a), lead_level(levels, b)
        if va is None or vb is None:
            continue
        la = v23 if a in s["v2_v3_leads"] else s["other_leads_mv"]
        lb = v23 if b in s["v2_v3_leads"] else s["other_leads_mv"]
        out.append((a, va, b, vb, round(min(va - la, vb - lb), 4)))
    return out


def contiguous_elevations(levels: dict[str, float], age_days: int | None,
                          sex: str | None) -> list[str]:
    """Texts of the contiguous lead pairs whose ST levels both reach their limits (empty: no STE)."""
    return [f"{a} {va:+.2f}/{b} {vb:+.2f} mV" for a, va, b, vb, m in pair_margins(levels, age_days, sex)
            if m >= 0]


def elevated_leads(levels: dict[str, float], age_days: int | None, sex: str | None) -> set[str]:
    """Leads (aVR for "-aVR") taking part in a contiguous pair that reaches the limits."""
    return {ld.lstrip("-") for a, _, b, _, m in pair_margins(levels, age_days, sex) if m >= 0
            for ld in (a, b)}


def reciprocal_depressions(levels: dict[str, float], elevated: set[str]) -> list[str]:
    """Leads outside ``elevated`` (and not aVR) with J-point ST depression beyond the cited
    limit (``child_reciprocal_depression_mv``), as evidence texts."""
    lim = C.interval_section("st_elevation_mv")["child_reciprocal_depression_mv"]
    return [f"{ld} {v:+.2f} mV" for ld, v in levels.items()
            if ld not in elevated and ld != "aVR" and v <= -lim]


def best_margin(levels: dict[str, float], age_days: int | None, sex: str | None) -> float:
    """Largest pair margin (mV; -inf without pairs): how far a record is from the criterion."""
    return max((m for *_, m in pair_margins(levels, age_days, sex)), default=float("-inf"))
