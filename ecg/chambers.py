"""Chamber statements: ventricular hypertrophy by voltage and atrial enlargement.

Called by ``ecg.morphology`` with the per-lead waves (``ecg.leadwaves``) and the
block codes already found, with the cited criteria of
``ecg/data/morphology_criteria.json``:

* adults: Sokolow-Lyon and Cornell (sex-specific) voltage; LVH (abnormal) only
  with the strain pattern or both criteria from 35 years, else LVH_VOLT
  ("voltage criteria for LVH, may be a normal variant"); RVH with right axis
  and a tall or dominant R in V1;
* children: age-specific 98th percentiles of R and S in V1 and V6 (Davignon,
  values NOT verified, used conservatively); right-ventricular dominance of
  infancy is RVD_AGE, normal for age;
* withheld with LBBB or pre-excitation (they change the voltages); RVH also
  with RBBB; R aVL and Cornell not used with LAFB (Hancock 2009);
* atria: RAE by P amplitude in II / III / aVF, LAE (adults) by a terminal
  negative P in V1.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt


from ecg import criteria as C
from ecg import leadwaves
from ecg.leadwaves import LeadWaves
from ecg.lexicon import Evidence, evidence, finding
from ecg.measure import MeasureDetail
from ecg.types import Finding, Measurements
from ecg.wording import age_text

ADULT_FROM_DAYS = 5844  # 16 years: the adult band of qrs_wide_ms, of the block and voltage criteria
MIN_WAVE_MV = leadwaves.MIN_WAVE_MV  # the smallest wave counted


def crit(section: str) -> dict[str, Any]:
    """One section of ``morphology_criteria.json``."""
    table: dict[str, Any] = C.load_table("morphology_criteria")[section]
    return table


def qr_pattern(w: LeadWaves | None) -> bool:
    """qR: a q followed by a dominant R."""
    return w is not None and not w.qs and w.q_mv > 0.0 and w.r_mv > w.s_mv


def axis_text(axis: float) -> Evidence:
    """The QRS axis as evidence in both languages."""
    return evidence("QRS axis {a:.0f} deg; ", "QRS电轴 {a:.0f}°；", a=axis)


# ------------------------------------------------------------------ hypertrophy

def _depth(w: LeadWaves | None) -> float:
    """Deepest negative wave after the R (S, S'), or a QS depth, mV."""
    if w is None:
        return 0.0
    return w.q_mv if w.qs else w.s_max_mv


def _height(w: LeadWaves | None) -> float:
    return 0.0 if w is None else w.r_max_mv


def strain_leads(d: MeasureDetail, waves: dict[str, LeadWaves]) -> list[str]:
    """Lateral leads (I, aVL, V5, V6) with a dominant R, ST depressed by at least
    ``strain_st_mv`` and a negative T: the LV "strain" pattern (Hancock 2009)."""
    med, lim = d.median, crit("lvh_adult")["strain_st_mv"]
    fid = med.fiducials if med is not None else None
    if med is None or fid is None or fid.qrs_on is None or fid.qrs_off is None or fid.t_end is None:
        return []
    on, off, end = fid.qrs_on, fid.qrs_off, fid.t_end
    out = []
    for i, n in enumerate(med.leads):
        w = waves.get(n)
        if n not in ("I", "aVL", "V5", "V6") or w is None or w.r_max_mv <= _depth(w):
            continue
        t = med.beat[off:end + 1, i] - med.beat[max(0, on - 1), i]

        if d.st_mv.get(n, 0.0) <= -lim and t[len(t) // 2:].mean() < 0 and t.min() < -lim:
            out.append(n)
    return out


def lvh_adult(waves: dict[str, LeadWaves], age_days: int | None, sex: str | None, limb: bool = True,
              strain: list[str] | None = None) -> list[Finding]:
    """LVH (abnormal) when a voltage criterion comes with the strain pattern, or Sokolow-Lyon
    AND Cornell are both met from 35 years; voltage alone otherwise is LVH_VOLT ("may be a
    normal variant", as GE 12SL's "voltage criteria for LVH" and PTB-XL's VCLVH). Limb-lead
    criteria (R aVL, Cornell) only when ``limb`` (not with LAFB)."""
    c, strain = crit("lvh_adult"), strain or []
    sok = _depth(waves.get("V1")) + max(_height(waves.get("V5")), _height(waves.get("V6")))
    ravl = _height(waves.get("aVL"))
    corn = ravl + _depth(waves.get("V3"))
    corn_lim = c["cornell_female_mv"] if sex == "F" else c["cornell_male_mv"]
    sok_met = "V1" in waves and ("V5" in waves or "V6" in waves) and sok >= c["sokolow_mv"]
    corn_met = limb and "aVL" in waves and "V3" in waves and corn > corn_lim
    ravl_met = limb and ravl >= c["ravl_mv"]
    met = []
    if sok_met:
        met.append(evidence("Sokolow-Lyon {v:.2f} mV >= {l} mV", "Sokolow-Lyon {v:.2f} mV ≥ {l} mV", v=sok,
                            l=c["sokolow_mv"]))
    if corn_met:
        met.append(evidence("Cornell {v:.2f} mV > {l} mV ({s})", "Cornell {v:.2f} mV > {l} mV（{sz}）", v=corn,
                            l=corn_lim, s="women" if sex == "F" else "men", sz="女性" if sex == "F" else "男性"))
    if ravl_met:
        met.append(evidence("R aVL {v:.2f} mV >= {l} mV", "aVL R波 {v:.2f} mV ≥ {l} mV", v=ravl, l=c["ravl_mv"]))
    if not met:
        return []
    young = age_days is not None and age_days < C.years_to_days(c["young_adult_below_years"])
    ev = Evidence("; ", "；").join(met)
    if strain:
        return [finding("LVH", ev + evidence("; with ST-T strain pattern in {l}", "；伴 {l} 导联ST-T劳损样改变",
                                             l=", ".join(strain)))]
    if sok_met and corn_met and not young:
        return [finding("LVH", ev + Evidence("; Sokolow-Lyon and Cornell both met", "；Sokolow-Lyon与Cornell标准均符合"))]
    note = (Evidence("; voltage only, often normal under 35 years", "；仅电压增高，35岁以下常为正常变异") if young
            else Evidence("; voltage only, no repolarisation change", "；仅电压增高，无复极改变"))
    return [finding("LVH_VOLT", ev + note)]


def rvh_adult(waves: dict[str, LeadWaves], m: Measurements) -> list[Finding]:
    """Right axis with a tall R or dominant R in V1 (Hancock 2009)."""
    c, v1 = crit("rvh_adult"), waves.get("V1")
    if v1 is None or m.qrs_axis_deg is None or not (90.0 < m.qrs_axis_deg <= 270.0):
        return []
    ratio = v1.r_max_mv / max(_depth(v1), 1e-3)
    if v1.r_max_mv >= c["rv1_mv"] or (ratio >= 1.0 and v1.r_max_mv >= c["rv1_ratio_min_mv"]):
        return [finding("RVH", axis_text(m.qrs_axis_deg)
                        + evidence("R V1 {r:.2f} mV, R/S V1 {q:.1f}", "V1 R波 {r:.2f} mV，V1 R/S {q:.1f}",
                                   r=v1.r_max_mv, q=ratio))]
    return []


def _above(value: float, limit: float, margin: float) -> tuple[bool, bool]:
    """(above the limit, above it by the single-criterion margin)."""
    return value > limit, value > limit * margin


def voltage_children(waves: dict[str, LeadWaves], age_days: int) -> list[Finding]:
    """Age-specific LVH / RVH / BVH by the 98th percentiles; RVD_AGE in infancy."""
    c = crit("ventricular_voltage_children")
    b, k = C.band_for(c["bands"], age_days), c["single_margin"]
    v1, v6 = waves.get("V1"), waves.get("V6")
    if v1 is None or v6 is None:
        return []
    rv6, sv1 = _above(_height(v6), b["r_v6_mv"], k), _above(_depth(v1), b["s_v1_mv"], k)
    rv1, sv6 = _above(_height(v1), b["r_v1_mv"], k), _above(_depth(v6), b["s_v6_mv"], k)
    lvh = (rv6[0] and sv1[0]) or rv6[1] or sv1[1]
    rvh = (rv1[0] and sv6[0]) or rv1[1] or (rv1[0] and qr_pattern(v1))
    ev = (evidence("R V6 {a:.2f} (98th pct {la}), S V1 {b:.2f} ({lb}), R V1 {c:.2f} ({lc}), S V6 {d:.2f} ({ld}) mV; ",
                   "V6 R波 {a:.2f}（第98百分位 {la}），V1 S波 {b:.2f}（{lb}），V1 R波 {c:.2f}（{lc}），V6 S波 {d:.2f}（{ld}）mV；",
                   a=_height(v6), la=b["r_v6_mv"], b=_depth(v1), lb=b["s_v1_mv"], c=_height(v1), lc=b["r_v1_mv"],
                   d=_depth(v6), ld=b["s_v6_mv"])
          + age_text(age_days) + Evidence(" (Davignon limits, not yet verified)", "（Davignon 标准，待核对）"))
    if lvh and rvh:
        return [finding("BVH", ev)]
    if lvh or rvh:
        return [finding("LVH" if lvh else "RVH", ev)]
    if age_days < c["rvd_normal_below_days"] and _height(v1) > _depth(v1):
        return [finding("RVD_AGE", evidence("R/S V1 > 1 (R {r:.2f} mV, S {s:.2f} mV), ",
                                            "V1 R/S > 1（R {r:.2f} mV，S {s:.2f} mV），",
                                            r=_height(v1), s=_depth(v1)) + age_text(age_days))]
    return []


def hypertrophy_findings(waves: dict[str, LeadWaves], d: MeasureDetail, age_days: int | None, sex: str | None,
                         codes: set[str]) -> list[Finding]:
    """Ventricular hypertrophy by voltage. Withheld with LBBB or pre-excitation (they change the
    voltages themselves); RVH also with RBBB (its R' in V1 is not RV mass); with LAFB the
    limb-lead criteria (R aVL, Cornell) are not used (Hancock 2009)."""
    if codes & {"LBBB", "ILBBB", "WPW"}:
        return []
    no_rvh = bool(codes & {"RBBB", "IRBBB"})
    if age_days is not None and age_days < ADULT_FROM_DAYS:
        return [f for f in voltage_children(waves, age_days) if not (no_rvh and f.code in ("RVH", "BVH"))]
    lvh = lvh_adult(waves, age_days, sex, limb="LAFB" not in codes, strain=strain_leads(d, waves))
    rvh = [] if no_rvh else rvh_adult(waves, d.measurements)
    if lvh and rvh:
        return [finding("BVH", Evidence("; ", "；").join([f_ev(lvh[0]), f_ev(rvh[0])]))]
    return lvh + rvh


def f_ev(f: Finding) -> Evidence:
    """A finding's evidence in both languages."""
    return Evidence(f.evidence, f.evidence_zh)


# ------------------------------------------------------------------ atria

def _p_wave(d: MeasureDetail, lead: str) -> npt.NDArray[np.float64] | None:
    """The lead's P wave on the median beat minus its pre-P baseline (mV), or None."""
    med = d.median
    if med is None or lead not in med.leads or med.fiducials.p_on is None or med.fiducials.p_off is None:
        return None
    i, on, off = med.leads.index(lead), med.fiducials.p_on, med.fiducials.p_off
    if on < 2 or off <= on:
        return None
    return med.beat[on:off + 1, i] - float(med.beat[on - 2:on + 1, i].mean())


def p_terminal_negative(d: MeasureDetail) -> tuple[float, float]:
    """Depth (mV) and duration (ms) of the terminal negative phase of a biphasic V1 P wave
    (initial positive part of at least ``MIN_WAVE_MV``); (0, 0) if none. The phase is the
    last run below baseline in the P wave's second half."""
    p = _p_wave(d, "V1")
    if p is None or len(p) < 4 or d.median is None:
        return 0.0, 0.0
    half = len(p) // 2
    if p[:half + 1].max() < MIN_WAVE_MV:  # not biphasic: a wholly negative P in V1 (often a high V1)
        return 0.0, 0.0
    neg = p[half:] < 0
    if not neg[-1] and not neg[-2:].any():
        return 0.0, 0.0
    end = half + int(np.flatnonzero(neg)[-1])
    start = end
    while start > half and p[start - 1] < 0:
        start -= 1
    return float(-p[start:end + 1].min()), (end - start + 1) * 1000.0 / d.median.fs


def atrial_findings(d: MeasureDetail, age_days: int | None) -> list[Finding]:
    """RAE by P amplitude in II / III / aVF; LAE by the V1 P terminal force (adults) (Hancock 2009)."""
    c = crit("atrial")
    if d.measurements.pr_ms is None:  # no P wave time-locked to the QRS (AF, flutter, dissociation)
        return []
    out = []
    lim = c["rae_p_infant_mv"] if age_days is not None and age_days < c["rae_infant_below_days"] else c["rae_p_mv"]
    amps = {n: float(p.max()) for n in ("II", "III", "aVF") if (p := _p_wave(d, n)) is not None}
    if amps and max(amps.values()) >= lim:
        n = max(amps, key=lambda ld: amps[ld])

        out.append(finding("RAE", evidence("P {n} {a:.2f} mV >= {l} mV", "{n} 导联P波 {a:.2f} mV ≥ {l} mV",
                                           n=n, a=amps[n], l=lim)))
    depth, width = p_terminal_negative(d)
    if (age_days is None or age_days >= ADULT_FROM_DAYS) and depth >= c["lae_ptf_depth_mv"] \
            and width >= c["lae_ptf_ms"]:
        out.append(finding("LAE", evidence("V1 terminal negative P {a:.2f} mV x {w:.0f} ms (>= {la} mV x {lw} ms)",
                                           "V1 导联P波终末负向部分 {a:.2f} mV × {w:.0f} ms（≥ {la} mV × {lw} ms）",
                                           a=depth, w=width, la=c["lae_ptf_depth_mv"], lw=c["lae_ptf_ms"])))
    return out
