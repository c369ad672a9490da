"""ST elevation: the 4th Universal Definition's limits, qualified or withheld where they do not hold.

Order of the decisions (criteria and citations: ``ecg/data/repolarization_criteria.json``;
the lead limits: ``interval_criteria.json`` section ``st_elevation_mv``, via ``ecg.st``):

1. aVR elevation with ST depression in >= 8 leads: left main / multivessel ischaemia (critical).
2. LBBB or ventricular pacing: the 4th UDMI limits do not apply; a STEMI pattern needs a
   Smith-modified Sgarbossa criterion, otherwise "secondary ST-T changes, ST criteria not
   applicable" (STT2).
3. Another wide QRS or LVH: elevation over a predominantly negative QRS counts only when it
   reaches 25 % of the S-wave depth (proportionate discordance is secondary, STT2).
4. Contiguous elevation with no reciprocal ST depression and the early-repolarisation shape
   (tall T, ST/T < 0.25, upsloping ST, nothing in aVR): ERP, normal.
5. Diffuse elevation with PR depression and no reciprocal change: pericarditis pattern
   (STE, abnormal: urgent, not a STEMI call).
6. Otherwise STE: critical in adults (reciprocal depression named as supporting evidence);
   under 18 years critical only with reciprocal depression.

Units: mV, ms, age in days.
"""

from __future__ import annotations

from collections.abc import Set
from functools import lru_cache
from typing import Any

from ecg import criteria as C
from ecg import st
from ecg.lexicon import Evidence, evidence, finding, lexicon
from ecg.st import LeadSTT
from ecg.types import Finding, Severity


Profile = dict[str, LeadSTT]
TERRITORY_ZH = {"inferior": "下壁", "lateral": "侧壁", "anterior": "前壁"}
GROUP_ZH = {"under 18 years": "18岁以下", "men under 40": "40岁以下男性", "men 40 and over": "40岁及以上男性",
            "men 40 and over (age unknown)": "男性（年龄不详，按40岁及以上）", "women": "女性",
            "women (sex unknown: most sensitive)": "性别不详（按女性，最敏感）"}


@lru_cache(maxsize=1)
def crit() -> dict[str, Any]:
    """The repolarisation criteria table (``ecg/data/repolarization_criteria.json``)."""
    return C.load_table("repolarization_criteria")


def _mv(leads: dict[str, float]) -> str:
    return ", ".join(f"{ld} {v:+.2f} mV" for ld, v in leads.items())


def avr_pattern(p: Profile) -> Finding | None:
    """STE in aVR with diffuse ST depression (Wagner 2009 part VI): critical."""
    c = crit()["avr_pattern"]
    avr = p.get("aVR")
    if avr is None or avr.elevation() < c["avr_ste_mv"]:
        return None
    point = avr.point_ms
    dep = {ld: x.depression_level for ld, x in p.items() if ld != "aVR" and x.depression_level <= -c["std_mv"]}
    if len(dep) < c["min_std_leads"]:
        return None
    ev = evidence("ST elevation in aVR {a:+.2f} mV with ST depression >= {d} mV at J+{pt} ms in {n} leads "
                  "({leads}): left main or multivessel ischaemia",
                  "aVR导联ST抬高 {a:+.2f} mV，{n}个导联J点后{pt} ms ST压低 ≥ {d} mV（{leads}）：提示左主干或多支血管缺血",
                  a=avr.elevation(), d=c["std_mv"], pt=point, n=len(dep), leads=_mv(dep))
    return finding("STE", ev, severity="critical",
                   text=Evidence("ST elevation in aVR with diffuse ST depression — suspected left main / "
                                 "multivessel ischaemia", "aVR导联ST抬高伴广泛ST压低（疑左主干/多支病变缺血）"))


def sgarbossa(p: Profile) -> list[Evidence]:
    """Smith-modified Sgarbossa criteria met (evidence per lead; empty: none)."""
    c = crit()["secondary_repolarization"]
    out = []
    for ld, x in p.items():
        e, d = x.elevation(), x.depression()
        if x.qrs_net_mv > 0 and e >= c["concordant_ste_mv"]:
            out.append(evidence("concordant STE {l} {e:+.2f} mV", "{l} 同向性ST抬高 {e:+.2f} mV", l=ld, e=e))
        elif x.qrs_net_mv < 0 and e >= c["concordant_ste_mv"] and e >= c["discordant_ratio"] * -x.s_mv:
            out.append(evidence("discordant STE {l} {e:+.2f} mV >= {r:.0%} of S {s:+.2f} mV",
                                "{l} 异向性ST抬高 {e:+.2f} mV ≥ S波 {s:+.2f} mV 的 {r:.0%}",
                                l=ld, e=e, r=c["discordant_ratio"], s=x.s_mv))
        elif ld in c["concordant_std_leads"] and x.qrs_net_mv < 0 and d <= -c["concordant_std_mv"]:
            out.append(evidence("concordant STD {l} {d:+.2f} mV", "{l} 同向性ST压低 {d:+.2f} mV", l=ld, d=d))
    return out


def code_names(codes: Set[str]) -> Evidence:
    """The context codes by their lexicon names in both languages (e.g. LBBB: 完全性左束支阻滞)."""
    lex = lexicon()
    names = [lex[c] for c in sorted(codes) if c in lex]
    return Evidence(", ".join(n.en for n in names), "、".join(n.zh for n in names))


def secondary(context: Set[str]) -> Finding:
    """STT2: the ST-T changes follow the abnormal depolarisation; ischaemia criteria not applicable."""
    return finding("STT2", Evidence("ST-T changes secondary to abnormal depolarisation (", "ST-T改变继发于除极异常（")
                   + code_names(context)
                   + Evidence("); ST criteria for ischaemia (4th Universal Definition) not applicable",
                              "）；缺血ST标准（第四版心梗通用定义）不适用"))


def proportionate(x: LeadSTT) -> bool:
    """Elevation over a predominantly negative QRS below 25 % of the S depth (Armstrong 2012,
    Smith 2012): discordant, secondary to the depolarisation."""
    ratio = crit()["secondary_repolarization"]["discordant_ratio"]
    return x.qrs_net_mv < 0 and x.elevation() < ratio * -x.s_mv


def reciprocal(p: Profile, elevated: set[str]) -> dict[str, float]:
    """Reciprocal ST depressions (lead -> mV) opposite the involved territories."""
    r = crit()["reciprocal"]
    out = {}
    for t in r["territories"].values():
        if len(elevated & set(t["leads"])) < 2:
            continue
        for ld in t["reciprocal"]:
            x = p.get(ld)
            if x is not None and ld not in elevated and x.depression() <= -r["depression_mv"]:
                out[ld] = x.depression()
    return out


def territories(elevated: set[str]) -> list[str]:
    """Territories with >= 2 elevated leads."""
    return [n for n, t in crit()["reciprocal"]["territories"].items() if len(elevated & set(t["leads"])) >= 2]


def st_t_ratio(p: Profile, leads: set[str]) -> float:
    """Pooled ST/T ratio over ``leads`` (sum of elevations / sum of T amplitudes); inf if T <= 0."""
    t = sum(p[ld].t_mv for ld in leads)
    return sum(p[ld].elevation() for ld in leads) / t if t > 0 else float("inf")


def early_repolarization(p: Profile, elevated: set[str]) -> bool:
    """The normal-variant shape: tall T (pooled ST/T < 0.25), upsloping ST in every elevated
    lead, largest elevation < 0.5 mV, aVR not elevated (reciprocal change checked by the caller)."""
    c = crit()["early_repolarization"]
    leads = {ld for ld in elevated if ld != "aVR" and ld in p}
    avr = p.get("aVR")
    if not leads or (avr is not None and avr.elevation() >= crit()["reciprocal"]["depression_mv"]):
        return False
    return (st_t_ratio(p, leads) < c["st_t_ratio_max"]
            and all(p[ld].st[80] - p[ld].st[0] >= c["upslope_mv"] for ld in leads)
            and max(p[ld].elevation() for ld in leads) < c["max_ste_mv"])


def pericarditis(p: Profile, elevated: set[str]) -> dict[str, float]:
    """PR depressions (lead -> mV) when the pericarditis pattern holds, else {} (see table)."""
    c = crit()["pericarditis"]
    leads = {ld for ld in elevated if ld != "aVR" and ld in p}
    if len(territories(leads)) < c["min_territories"]:
        return {}
    pr = {ld: v for ld in leads if (v := p[ld].pr_mv) is not None and v <= -c["pr_depression_mv"]}
    lateral = leads & {"I", "V5", "V6"} or leads
    if len(pr) < c["min_pr_leads"] or st_t_ratio(p, lateral) < crit()["early_repolarization"]["st_t_ratio_max"]:
        return {}
    return pr


def _ste_evidence(levels: dict[str, float], age_days: int | None, sex: str | None) -> Evidence:
    s = C.interval_section("st_elevation_mv")
    v23, group = st.v2_v3_limit(age_days, sex)
    return evidence("ST at J >= {o} mV (V2-V3: >= {v23} mV, {g}) in contiguous leads: {hits}",
                    "J点ST抬高 ≥ {o} mV（V2-V3：≥ {v23} mV，{gz}），相邻导联：{hits}",
                    o=s["other_leads_mv"], v23=v23, g=group, gz=GROUP_ZH.get(group, group),
                    hits="; ".join(st.contiguous_elevations(levels, age_days, sex)))


def _sgarbossa_call(p: Profile, context: Set[str]) -> list[Finding]:
    """LBBB / pacing: STE only by Smith-modified Sgarbossa, else STT2."""
    met = sgarbossa(p)
    if not met:
        return [secondary(context & set(crit()["secondary_repolarization"]["sgarbossa_context"]))]
    ev = (Evidence("Smith-modified Sgarbossa criteria with ", "") + code_names(context & {"LBBB", "PACED"})
          + Evidence(": ", "时符合Smith改良Sgarbossa标准：") + Evidence("; ", "；").join(met))
    return [finding("STE", ev, severity="critical",
                    text=Evidence("Suspected acute injury — ST elevation (modified Sgarbossa criteria)",
                                  "ST段抬高（疑急性损伤，符合改良Sgarbossa标准）"))]


def st_elevation(p: Profile, age_days: int | None, sex: str | None, context: Set[str]) -> list[Finding]:
    """ST-elevation statements for one median-beat profile (module doc); [] when none."""
    if not p:
        return []
    if (avr := avr_pattern(p)) is not None:
        return [avr]
    sec = crit()["secondary_repolarization"]
    if context & set(sec["sgarbossa_context"]):
        return _sgarbossa_call(p, context)
    levels = {ld: x.elevation() for ld, x in p.items()}
    if not st.elevated_leads(levels, age_days, sex):
        return []
    wide = context & set(sec["discordance_context"])
    if wide:
        levels = {ld: (0.0 if proportionate(x) else levels[ld]) for ld, x in p.items()}
        if not st.elevated_leads(levels, age_days, sex):
            return []  # proportionate discordance only: secondary, said by the ST-T stage if strain
    elevated = st.elevated_leads(levels, age_days, sex)
    recip = reciprocal(p, elevated)
    ev = _ste_evidence(levels, age_days, sex)
    if not recip and early_repolarization(p, elevated):
        return [finding("ERP", ev + evidence("; no reciprocal ST depression, upsloping ST with tall T waves "
                                             "(ST/T {r:.2f} < {m})", "；无对应导联ST压低，ST段上斜型抬高伴T波高耸"
                                             "（ST/T {r:.2f} < {m}）", r=st_t_ratio(p, elevated - {"aVR"}),
                                             m=crit()["early_repolarization"]["st_t_ratio_max"]))]
    if not recip and (pr := pericarditis(p, elevated)):
        terr = territories(elevated)
        return [finding("STE", ev + evidence("; diffuse ({t}), no reciprocal ST depression, PR depression {pr}",
                                             "；广泛导联（{tz}），无对应导联ST压低，PR段压低 {pr}",
                                             t=", ".join(terr), tz="、".join(TERRITORY_ZH[t] for t in terr),
                                             pr=_mv(pr)),
                        severity="abnormal", text=Evidence("Diffuse ST elevation with PR depression — pericarditis "
                                                           "pattern, not a STEMI pattern",
                                                           "广泛ST段抬高伴PR段压低（心包炎图形，非STEMI图形）"))]
    return [_ste_finding(ev, recip, age_days, wide)]


def _ste_finding(ev: Evidence, recip: dict[str, float], age_days: int | None, wide: Set[str]) -> Finding:
    """STE, critical in adults; under 18 years critical only with reciprocal depression."""
    s = C.interval_section("st_elevation_mv")
    if recip:
        ev += evidence("; reciprocal ST depression: {r}", "；对应导联ST压低：{r}", r=_mv(recip))
    severity: Severity = "critical"
    if not recip and age_days is not None and age_days < C.ADULT_DAYS:
        severity = "abnormal"
        ev += evidence("; no reciprocal ST depression (<= -{m} mV): early repolarisation likely under 18 "
                       "years; pericarditis or myocarditis possible",
                       "；无对应导联ST压低（≤ -{m} mV）：18岁以下多为早期复极，需除外心包炎或心肌炎",
                       m=s["child_reciprocal_depression_mv"])
    if wide:
        ev += (Evidence("; with ", "；") + code_names(wide)
               + Evidence(": elevation concordant with the QRS or beyond 25 % of the S wave (not the "
                          "proportionate discordance of a wide QRS or LVH)",
                          "：ST抬高与QRS主波同向或超过S波深度的25%（非宽QRS/左室肥厚的成比例继发改变）"))
    text = (Evidence("Suspected acute injury — ST elevation", "ST段抬高（疑急性损伤）") if severity == "critical"
            else Evidence("ST elevation", "ST段抬高"))
    return finding("STE", ev, severity=severity, text=text)
