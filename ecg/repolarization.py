"""Repolarisation statements: ST elevation (and, to come, ST depression, T-wave inversion,
the juvenile T pattern and early repolarisation).

``repolarization_findings(detail, age_days, sex, context)`` is the one entry
point ``ecg.interpret`` calls; ``context`` holds the codes already found by
the rhythm, conduction and morphology stages (e.g. LBBB, PACED, LVH, WQRS), so
ST criteria that do not hold in their presence can be qualified or withheld.

STE follows the Fourth Universal Definition of MI (``ecg.st``): J-point ST
elevation in two contiguous leads, 0.1 mV except V2-V3 (by sex and age);
under 18 years critical only with reciprocal ST depression.
"""

from __future__ import annotations

from collections.abc import Set

from ecg import criteria as C
from ecg import st
from ecg.lexicon import Evidence, evidence, finding
from ecg.measure import MeasureDetail
from ecg.types import Finding

SECONDARY_ST = frozenset({"WQRS", "LBBB", "RBBB", "IVCD", "PACED", "LVH", "WPW"})


def st_elevation(d: MeasureDetail, age_days: int | None, sex: str | None,
                 context: Set[str] = frozenset()) -> list[Finding]:
    """STE: J-point ST elevation in two contiguous leads (4th Universal Definition of MI limits,
    ``ecg.st``). Critical in adults; under 18 years critical only with reciprocal ST
    depression, else abnormal (early repolarisation is the usual cause at that age)."""
    levels = st.j_point_levels(d)
    hits = st.contiguous_elevations(levels, age_days, sex)
    if not hits:
        return []
    s = C.interval_section("st_elevation_mv")
    v23, group = st.v2_v3_limit(age_days, sex)
    ev = evidence("ST at the J point >= {o} mV (V2-V3: >= {v23} mV, {g}) in contiguous leads: {hits}",
                  "J点ST抬高 ≥ {o} mV（V2-V3：≥ {v23} mV，{g}），相邻导联：{hits}",
                  o=s["other_leads_mv"], v23=v23, g=group, hits="; ".join(hits))
    severity = "critical"
    if age_days is not None and age_days < C.ADULT_DAYS:
        recip = st.reciprocal_depressions(levels, st.elevated_leads(levels, age_days, sex))
        if recip:
            ev += evidence("; reciprocal ST depression: {r}", "；对应导联ST压低：{r}", r=", ".join(recip))
        else:
            severity = "abnormal"
            ev += evidence("; no reciprocal ST depression (<= -{m} mV): early repolarisation likely under 18 "
                           "years; pericarditis or myocarditis possible",
                           "；无对应导联ST压低（≤ -{m} mV）：18岁以下多为早期复极，需除外心包炎或心肌炎",
                           m=s["child_reciprocal_depression_mv"])
    if context & SECONDARY_ST:
        ev += Evidence("; QRS wide: ST criteria unreliable in bundle branch block, LVH or pacing",
                       "；QRS增宽：束支阻滞、左室肥厚或起搏时ST标准不可靠")
    text = (Evidence("Suspected acute injury — ST elevation", "ST段抬高（疑急性损伤）") if severity == "critical"
            else Evidence("ST elevation", "ST段抬高"))
    return [finding("STE", ev, severity=severity, text=text)]


def repolarization_findings(d: MeasureDetail, age_days: int | None, sex: str | None,
                            context: Set[str] = frozenset()) -> list[Finding]:
    """Every repolarisation statement for one recording (see module doc)."""
    return st_elevation(d, age_days, sex, context)
