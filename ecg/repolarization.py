"""Repolarisation statements: ST elevation (qualified or withheld), ST depression, T-wave
inversion with the juvenile T pattern, early repolarisation, secondary and non-specific ST-T changes.

``repolarization_findings(detail, age_days, sex, context)`` is the one entry
point ``ecg.interpret`` calls; ``context`` holds the codes already found by
the rhythm, conduction and morphology stages (e.g. LBBB, PACED, LVH, WQRS), so
ST criteria that do not hold in their presence can be qualified or withheld.

Everything is read on the median beat's per-lead ST-T profile (``ecg.st.stt_profile``)
against the cited limits of ``ecg/data/repolarization_criteria.json``:

* ST elevation: ``ecg.st_elevation`` (4th Universal Definition; Sgarbossa with LBBB or
  pacing; discordance ratio with LVH or a wide QRS; ERP; pericarditis; aVR pattern).
* STD: horizontal or downsloping ST depression >= 0.05 mV at J + 60 ms in two contiguous
  leads (AHA/ACCF/HRS 2009 part IV, 4th Universal Definition).
* TWI: T <= -0.1 mV in two contiguous leads where T is normally upright for the age; in
  children an inversion confined to V1-V3 is the juvenile pattern (JUVT, normal).
* NSSTT: flat T or upsloping ST depression below those criteria.
* STT2: with LBBB, pacing or pre-excitation (and, when every affected lead is discordant to
  its QRS, with LVH or another wide QRS) the ST-T changes are secondary.
"""

from __future__ import annotations

from collections.abc import Set

from ecg import st
from ecg.lexicon import Evidence, evidence, finding
from ecg.measure import MeasureDetail
from ecg.st import LeadSTT
from ecg.st_elevation import crit, secondary, st_elevation
from ecg.types import Finding

Profile = dict[str, LeadSTT]
SEQUENCE = ("aVL", "I", "-aVR", "II", "aVF", "III", "V1", "V2", "V3", "V4", "V5", "V6")


def _signed(p: Profile) -> Profile:
    """The profile in the contiguity sequence's leads (-aVR inverted)."""
    out = {}
    for ld in SEQUENCE:
        x = st.signed(p, ld)
        if x is not None:
            out[ld] = x
    return out


def _paired(hits: set[str]) -> list[str]:
    """Leads of ``hits`` that take part in a contiguous pair, in sequence order."""
    both = {ld for pair in st.contiguous_runs(hits) for ld in pair}
    return [ld for ld in SEQUENCE if ld in both]


def upright_leads(p: Profile, age_days: int | None) -> set[str]:
    """Leads where T is normally upright for the age (aVL only over a positive QRS)."""
    t = crit()["t_inversion"]
    child = age_days is not None and age_days < t["juvenile_max_days"]
    leads = set(t["child_upright"] if child else t["adult_upright"]) - set(juvenile_leads(age_days))
    if t["avl_when_qrs_positive"] and "aVL" in p and p["aVL"].qrs_net_mv > 0:
        leads.add("aVL")
    return leads


def depressed_leads(s: Profile) -> list[str]:
    """STD leads: horizontal/downsloping depression at J + 60 ms in contiguous pairs."""
    c = crit()["st_depression"]
    return _paired({ld for ld, x in s.items()
                    if x.depression_level <= -c["depression_mv"] and x.slope_mv_s() < c["upslope_max_mv_s"]})


def inverted_leads(s: Profile, upright: set[str]) -> list[str]:
    """TWI leads: T <= -0.1 mV in contiguous pairs of normally upright leads."""
    lim = crit()["t_inversion"]["inversion_mv"]
    return _paired({ld for ld, x in s.items() if ld in upright and x.t_mv <= -lim})


def _levels(s: Profile, leads: list[str], attr: str) -> str:
    return ", ".join(f"{ld} {(s[ld].depression_level if attr == 'st' else s[ld].t_mv):+.2f} mV" for ld in leads)


def _all_discordant(s: Profile, leads: list[str]) -> bool:
    """Every lead's ST-T deviation (negative) opposes a predominantly positive QRS."""
    return all(s[ld].qrs_net_mv > 0 for ld in leads)


def depression_and_inversion(p: Profile, age_days: int | None, context: Set[str]) -> list[Finding]:
    """STD and TWI (or STT2 when secondary), JUVT in children, else NSSTT when minor."""
    sec = crit()["secondary_repolarization"]
    s = _signed(p)
    std, twi = depressed_leads(s), inverted_leads(s, upright_leads(p, age_days))
    out: list[Finding] = []
    if context & set(sec["suppress_std_twi_context"]):
        return [secondary(context & set(sec["suppress_std_twi_context"]))] if std or twi else []
    wide = context & set(sec["discordance_context"])
    if wide and (std or twi) and _all_discordant(s, std + twi):
        return [secondary(wide)]
    pt = next(iter(s.values())).point_ms if s else 60
    if std:
        out.append(finding("STD", evidence("horizontal/downsloping ST depression at J+{pt} ms >= {m} mV: {l}",
                                           "J点后{pt} ms水平/下斜型ST压低 ≥ {m} mV：{l}", pt=pt,
                                           m=crit()["st_depression"]["depression_mv"], l=_levels(s, std, "st"))
                           + posterior_hint(std)))
    if twi:
        out.append(finding("TWI", evidence("T wave <= -{m} mV where T is normally upright: {l}",
                                           "T波倒置（≤ -{m} mV，正常应直立的导联）：{l}",
                                           m=crit()["t_inversion"]["inversion_mv"], l=_levels(s, twi, "t"))))
    out += juvenile_t(p, age_days, twi)
    if not std and not twi:
        out += nonspecific(s, upright_leads(p, age_days))
    return out


def posterior_hint(std: list[str]) -> Evidence:
    """Depression confined to V1-V4 with >= 2 of V1-V3: posterior injury possible (4th Universal
    Definition: record V7-V9, ST elevation >= 0.05 mV there is a STEMI equivalent)."""
    if not set(std) <= {"V1", "V2", "V3", "V4"} or len(set(std) & {"V1", "V2", "V3"}) < 2:
        return Evidence()
    return Evidence("; confined to V1-V4: posterior injury possible, record V7-V9",
                    "；局限于V1-V4：需除外后壁损伤，请加做V7-V9导联")


def juvenile_leads(age_days: int | None) -> list[str]:
    """Leads where a child's T inversion is the juvenile pattern: V1-V3, and V4 under 5 years."""
    t = crit()["t_inversion"]
    if age_days is None or age_days >= t["juvenile_max_days"]:
        return []
    return list(t["juvenile_leads"]) + (["V4"] if age_days < t["juvenile_v4_max_days"] else [])


def juvenile_t(p: Profile, age_days: int | None, twi: list[str]) -> list[Finding]:
    """JUVT: a child's T inversion in V2 and/or V3 (with or without V1, V4 under 5 years), and
    no inversion beyond (no TWI)."""
    t = crit()["t_inversion"]
    beyond = [ld for ld in ("V4", "V5", "V6") if ld not in juvenile_leads(age_days)
              and ld in p and p[ld].t_mv <= -t["inversion_mv"]]
    if age_days is None or not juvenile_leads(age_days) or twi or beyond:
        return []
    inv = [ld for ld in juvenile_leads(age_days) if ld in p and p[ld].t_mv <= -t["inversion_mv"]]
    if not {"V2", "V3"} & set(inv):
        return []
    return [finding("JUVT", evidence("T inverted in {l} at {y:.1f} years (normal under {a:.0f} years)",
                                     "{l}导联T波倒置，{y:.1f}岁（{a:.0f}岁以下属正常）", l=", ".join(inv),
                                     y=age_days / 365.25, a=t["juvenile_max_days"] / 365.25))]


def nonspecific(s: Profile, upright: set[str]) -> list[Finding]:
    """NSSTT: flat T over an R >= 0.5 mV, or upsloping ST depression, in contiguous upright leads."""
    c = crit()["nonspecific"]
    inv = crit()["t_inversion"]["inversion_mv"]
    flat = _paired({ld for ld, x in s.items() if ld in upright and -inv < x.t_mv <= c["flat_t_mv"]
                    and x.r_mv >= c["min_r_mv"]})
    dep = _paired({ld for ld, x in s.items() if ld in upright and x.depression_level <= -c["minor_std_mv"]})
    if not flat and not dep:
        return []
    parts = ([evidence("flat T {l}", "T波低平 {l}", l=_levels(s, flat, "t"))] if flat else []) + (
        [evidence("upsloping ST depression {l}", "上斜型ST压低 {l}", l=_levels(s, dep, "st"))] if dep else [])
    return [finding("NSSTT", Evidence("; ", "；").join(parts))]


def repolarization_findings(d: MeasureDetail, age_days: int | None, sex: str | None,
                            context: Set[str] = frozenset()) -> list[Finding]:
    """Every repolarisation statement for one recording (see module doc)."""
    p = st.stt_profile(d)
    if not p:
        return []
    out = st_elevation(p, age_days, sex, context)
    for f in depression_and_inversion(p, age_days, context):
        # an STE call (Sgarbossa, disproportionate elevation) supersedes "ST criteria not applicable"
        if not any(f.code == g.code or (f.code == "STT2" and g.code == "STE") for g in out):
            out.append(f)
    return out

