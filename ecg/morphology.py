"""QRS morphology statements: bundle-branch and fascicular blocks, intraventricular delay,
pre-excitation, chamber hypertrophy, pathological Q waves and low voltage.

``morphology_findings(detail, age_days, sex)`` is the one entry point
``ecg.interpret`` calls. It measures every lead's QRS waves on the median beat
(``ecg.leadwaves``: Q, R, S, R' amplitudes and durations, R-peak time) and
applies the cited criteria of ``ecg/data/morphology_criteria.json``:

* blocks by MORPHOLOGY plus duration (Surawicz 2009): a wide QRS alone is not a
  bundle-branch block, and a bundle-branch pattern is only "complete" at the
  age's wide limit; pediatric duration bands. The duration is the leads' own
  (``lead_qrs_ms``: the second-longest single-lead QRS), not the global span:
  on the 10 PTB-XL records with GE 12SL it reads +6 +- 7 ms against 12SL where
  the global read +23 +- 8 ms, and on PTB-XL's normal ECGs its median is 90 ms;
* fascicular blocks in adults only (the normal axis depends on age in children);
* ventricular hypertrophy and atrial enlargement (``ecg.chambers``), which see
  the blocks found here;
* pathological Q waves (Fourth Universal Definition) in two contiguous leads;
* low voltage.

Pacing is not detected here: the integrator withholds LVH/BBB with PACED.
"""

from __future__ import annotations

from ecg import criteria as C
from ecg.chambers import (
    ADULT_FROM_DAYS,
    MIN_WAVE_MV,
    atrial_findings,
    axis_text,
    crit,
    hypertrophy_findings,
    qr_pattern,
)
from ecg.leadwaves import LeadWaves, lead_waves
from ecg.lexicon import Evidence, evidence, finding
from ecg.measure import MeasureDetail
from ecg.types import Finding, Measurements
from ecg.wording import age_text

LIMB = ("I", "II", "III", "aVR", "aVL", "aVF")
PRECORDIAL = ("V1", "V2", "V3", "V4", "V5", "V6")
MIN_LEADS_FOR_DURATION = 8


def wide_limit(age_days: int | None) -> tuple[float, bool]:
    """The age's wide-QRS limit (ms) and whether it is inclusive (adults: >= 120 ms)."""
    b = C.interval_band("qrs_wide_ms", age_days)
    return (float(b["at_or_above_ms"]), True) if "at_or_above_ms" in b else (float(b["above_ms"]), False)


def duration_class(qrs_ms: float | None, age_days: int | None) -> str:
    """"complete", "incomplete" or "narrow" QRS duration for a bundle-branch pattern at this age."""
    if qrs_ms is None:
        return "narrow"
    lim, inclusive = wide_limit(age_days)
    if qrs_ms > lim or (inclusive and qrs_ms >= lim):
        return "complete"
    lo = C.band_for(crit("bundle_branch")["incomplete_bands"], age_days)["incomplete_from_ms"]
    return "incomplete" if qrs_ms >= lo else "narrow"


def time_scale(age_days: int | None) -> float:
    """Children's QRS time limits relative to the adult's: the age's wide limit / 120 ms."""
    return min(1.0, wide_limit(age_days)[0] / 120.0)


def _rpt(w: LeadWaves | None) -> float:
    return -1.0 if w is None or w.r_peak_time_ms is None else w.r_peak_time_ms


# ------------------------------------------------------------------ bundle branches

def terminal_r(w: LeadWaves | None, rpt_above_ms: float, complete: bool) -> bool:
    """RBBB's V1/V2 pattern: an R' (rsr', rsR', rSR') or a wide dominant R (R, Rs, qR with an S
    under half the R, R at least ``v1_wide_r_ms``) peaking late.
    For the complete block the R' must be at least ``v1_dominant_r_min_mv`` (the late,
    unopposed right-ventricular activation is large); any R' for the incomplete one."""
    if w is None or _rpt(w) <= rpt_above_ms:
        return False
    c = crit("bundle_branch")
    lo = c["v1_dominant_r_min_mv"]
    if w.r2_mv >= (lo if complete else MIN_WAVE_MV):
        return True
    wide = w.r_ms >= c["v1_wide_r_ms"] * rpt_above_ms / c["v1_r_peak_time_above_ms"]  # scaled like the R-peak time
    return w.r_mv >= lo and w.s_mv < 0.5 * w.r_mv and w.r2_mv == 0.0 and wide


def wide_s(w: LeadWaves | None, s_ms: float) -> bool:
    """An S longer than the R, or of at least ``s_ms`` (RBBB's terminal slurred S in I / V6)."""
    if w is None or w.s_mv < MIN_WAVE_MV:
        return False
    return w.s_ms > w.r_ms or w.s_ms >= s_ms


def rbbb_pattern(waves: dict[str, LeadWaves], age_days: int | None, complete: bool) -> bool:
    """Terminal R in V1 or V2 (R-peak time > 50 ms); for the complete block also a wide S in I or V6."""
    c, k = crit("bundle_branch"), time_scale(age_days)
    rpt = c["v1_r_peak_time_above_ms"] * k
    if not (terminal_r(waves.get("V1"), rpt, complete) or terminal_r(waves.get("V2"), rpt, complete)):
        return False
    return not complete or any(wide_s(waves.get(n), c["s_wide_ms"] * k) for n in ("I", "V6"))


def lbbb_pattern(waves: dict[str, LeadWaves], age_days: int | None) -> bool:
    """V1 negative (QS / rS), no q in I, V5, V6, a broad dominant R in >= 2 of I, aVL, V5, V6,
    R-peak time in V5 or V6 > 60 ms (times scaled for children)."""
    v1 = waves.get("V1") or waves.get("V2")
    if v1 is None or not (v1.qs or (v1.s_max_mv > v1.r_max_mv and v1.r2_mv == 0.0)):
        return False
    if any(w.q_mv > 0.0 or w.qs for n in ("I", "V5", "V6") if (w := waves.get(n)) is not None):
        return False
    c, k = crit("bundle_branch"), time_scale(age_days)
    dominant = sum(1 for n in ("I", "aVL", "V5", "V6")
                   if (w := waves.get(n)) is not None and not w.qs and w.r_max_mv > w.s_max_mv
                   and w.r_ms >= c["lateral_r_broad_ms"] * k)
    rpt = c["v56_r_peak_time_above_ms"] * k
    # The delayed intrinsicoid deflection of the left ventricular free wall, read in V5/V6 by the AHA
    # criterion, shows in the other lateral leads I and aVL too; at 100 Hz one sample is 10 ms of
    # that 60 ms limit, so any lateral lead's delay counts.
    return dominant >= 2 and max(_rpt(waves.get(n)) for n in ("I", "aVL", "V5", "V6")) > rpt


def _lead_text(waves: dict[str, LeadWaves], names: tuple[str, ...]) -> Evidence:
    parts = []
    for n in names:
        w = waves.get(n)
        if w is None:
            continue
        rpt = "" if w.r_peak_time_ms is None else f", R-peak time {w.r_peak_time_ms:.0f} ms"
        rpt_zh = "" if w.r_peak_time_ms is None else f"，R峰时间 {w.r_peak_time_ms:.0f} ms"
        s = f", S {w.s_ms:.0f} ms" if w.s_mv >= MIN_WAVE_MV else ""
        parts.append(Evidence(f"{n} {w.pattern}{rpt}{s}", f"{n} {w.pattern}{rpt_zh}{s.replace(', ', '，')}"))
    return Evidence("; ", "；").join(parts)


def _duration_text(qrs_ms: float, age_days: int | None) -> Evidence:
    lim, inclusive = wide_limit(age_days)
    return (evidence("QRS {q:.0f} ms (wide limit {op} {lim:.0f} ms, ", "QRS {q:.0f} ms（增宽标准 {op} {lim:.0f} ms，",
                     q=qrs_ms, op=">=" if inclusive else ">", lim=lim) + age_text(age_days) + evidence("); ", "）；"))


def lead_qrs_ms(waves: dict[str, LeadWaves]) -> float | None:
    """QRS duration from the leads themselves: the second-longest single-lead QRS (ms), so that
    one noisy lead cannot decide; None with fewer than ``MIN_LEADS_FOR_DURATION`` leads."""
    d = sorted(w.qrs_ms for w in waves.values() if w.qrs_ms > 0)
    return d[-2] if len(d) >= MIN_LEADS_FOR_DURATION else None


def block_qrs_ms(waves: dict[str, LeadWaves], m: Measurements) -> float | None:
    """The QRS duration the block criteria use: the lead-wise duration (``lead_qrs_ms``) when
    measurable, else the global one."""
    q = lead_qrs_ms(waves)
    return m.qrs_ms if q is None else q


def bundle_branch_findings(waves: dict[str, LeadWaves], m: Measurements, age_days: int | None) -> list[Finding]:
    """RBBB / IRBBB / LBBB / ILBBB, or IVCD for a wide QRS meeting neither (Surawicz 2009)."""
    qrs = block_qrs_ms(waves, m)
    cls = duration_class(qrs, age_days)
    if cls == "narrow" or qrs is None:
        return []
    complete = cls == "complete"
    dur = _duration_text(qrs, age_days)
    if lbbb_pattern(waves, age_days):
        return [finding("LBBB" if complete else "ILBBB", dur + _lead_text(waves, ("V1", "I", "V5", "V6")))]
    if rbbb_pattern(waves, age_days, complete):
        return [finding("RBBB" if complete else "IRBBB", dur + _lead_text(waves, ("V1", "V2", "I", "V6")))]
    if complete and rbbb_pattern(waves, age_days, False):  # R' in V1 without RBBB's wide S in I / V6
        return [finding("IRBBB", dur + _lead_text(waves, ("V1", "V2", "I", "V6"))
                        + Evidence("; no wide S in I or V6", "；I、V6导联无宽S波"))]
    if complete:
        return [finding("IVCD", dur + Evidence("neither RBBB nor LBBB morphology", "不符合右或左束支阻滞形态"))]
    return []


# ------------------------------------------------------------------ pre-excitation

def delta_wave_leads(waves: dict[str, LeadWaves], detail: MeasureDetail) -> int:
    """Leads whose R upstroke starts slurred: little of the R reached in the first 30 ms."""
    c, med = crit("wpw"), detail.median
    if med is None or med.fiducials.qrs_on is None:
        return 0
    on, fs = med.fiducials.qrs_on, med.fs
    j = on + max(1, int(round(c["delta_window_ms"] * fs / 1000.0)))
    base = med.beat[max(0, on - 1):on + 1].mean(axis=0)
    n = 0
    for i, name in enumerate(med.leads):
        w = waves.get(name)
        if w is None or w.q_mv > 0 or w.qs or w.r_mv < c["delta_r_min_mv"] or _rpt(w) < c["delta_r_peak_time_ms"]:
            continue
        n += (med.beat[j, i] - base[i]) < c["delta_rise_fraction"] * w.r_mv
    return n


def short_pr_limit(age_days: int | None) -> float:
    """Adults 120 ms; children below Rijnbeek 2001's 2nd percentile PR (envelope) when known."""
    g = C.percentiles(age_days)
    if g is not None and "pr_ms" in g:
        return float(g["pr_ms"][0])
    return float(crit("wpw")["pr_short_ms"])


def wpw_findings(waves: dict[str, LeadWaves], d: MeasureDetail, age_days: int | None) -> list[Finding]:
    """Pre-excitation: short PR, wide QRS and a delta wave in several leads."""
    m, c = d.measurements, crit("wpw")
    qrs = block_qrs_ms(waves, m)
    if m.pr_ms is None or qrs is None or duration_class(qrs, age_days) != "complete":
        return []
    lim = short_pr_limit(age_days)
    if m.pr_ms >= lim:
        return []
    n = delta_wave_leads(waves, d)
    if n < c["delta_min_leads"]:
        return []
    return [finding("WPW", evidence("PR {pr:.0f} ms < {lim:.0f} ms; ", "PR {pr:.0f} ms < {lim:.0f} ms；",
                                    pr=m.pr_ms, lim=lim)
                    + _duration_text(qrs, age_days)
                    + evidence("slurred initial QRS (delta wave) in {n} leads", "{n} 个导联QRS起始顿挫（delta波）", n=n))]


# ------------------------------------------------------------------ fascicular blocks

def _rs(w: LeadWaves | None) -> bool:
    """rS: a small r followed by a deeper S."""
    return w is not None and not w.qs and w.r_mv >= MIN_WAVE_MV and w.s_mv > w.r_mv


def fascicular_findings(waves: dict[str, LeadWaves], m: Measurements, age_days: int | None,
                        codes: set[str]) -> list[Finding]:
    """LAFB / LPFB in adults (Surawicz 2009); with a narrow QRS or beside RBBB (bifascicular)."""
    if (age_days is not None and age_days < ADULT_FROM_DAYS) or m.qrs_axis_deg is None:
        return []
    if codes & {"LBBB", "ILBBB", "WPW"}:
        return []
    c, ax = crit("fascicular"), m.qrs_axis_deg
    lo, hi = c["lafb_axis_deg"]
    avl = waves.get("aVL")
    inferior = [waves.get(n) for n in ("II", "III", "aVF")]
    if lo <= ax <= hi and sum(_rs(w) for w in inferior) >= 2 and not any(qr_pattern(w) for w in inferior) \
            and avl is not None and avl.r_mv > avl.s_mv and _rpt(avl) >= c["lafb_avl_r_peak_time_ms"]:
        return [finding("LAFB", axis_text(ax) + _lead_text(waves, ("aVL", "II", "III", "aVF")))]
    lo, hi = c["lpfb_axis_deg"]
    if lo < ax <= hi and _rs(waves.get("I")) and _rs(waves.get("aVL")) \
            and qr_pattern(waves.get("III")) and qr_pattern(waves.get("aVF")):
        return [finding("LPFB", axis_text(ax) + _lead_text(waves, ("I", "aVL", "III", "aVF")))]
    return []


# ------------------------------------------------------------------ Q waves, voltage

Q_PAIRS = (("I", "aVL"), ("II", "aVF"), ("aVF", "III"), ("V2", "V3"), ("V3", "V4"), ("V4", "V5"), ("V5", "V6"))
REGION = {"I": "lateral", "aVL": "lateral", "V5": "lateral", "V6": "lateral", "II": "inferior",
          "III": "inferior", "aVF": "inferior", "V2": "anteroseptal", "V3": "anterior", "V4": "anterior"}
REGION_ZH = {"lateral": "侧壁", "inferior": "下壁", "anteroseptal": "前间壁", "anterior": "前壁"}


def pathological_q(w: LeadWaves | None, adult: bool) -> bool:
    """One lead's Q by the Fourth Universal Definition (adults) or a wide Q (children)."""
    c = crit("q_waves")
    if w is None:
        return False
    if not adult:
        return w.q_ms >= c["child_q_ms"] and not (w.qs and w.pp_mv < c["qs_min_pp_mv"])
    if w.qs:
        return bool(w.pp_mv >= c["qs_min_pp_mv"])
    if w.lead in ("V2", "V3"):
        return w.q_mv >= MIN_WAVE_MV and w.q_ms > c["v2v3_q_ms"]
    return bool(w.q_ms >= c["q_ms"] and w.q_mv >= c["q_mv"])


def q_wave_findings(waves: dict[str, LeadWaves], age_days: int | None, codes: set[str]) -> list[Finding]:
    """QWAVE: pathological Q in two contiguous leads; not with LBBB or WPW."""
    if codes & {"LBBB", "ILBBB", "WPW"}:
        return []
    adult = age_days is None or age_days >= ADULT_FROM_DAYS
    leads = sorted({n for pair in Q_PAIRS if all(pathological_q(waves.get(n), adult) for n in pair) for n in pair},
                   key=lambda n: (LIMB + PRECORDIAL).index(n))
    if not leads:
        return []
    regions = list(dict.fromkeys(REGION[n] for n in leads))
    parts = [evidence("{n} {p} (Q {d:.2f} mV, {t:.0f} ms)", "{n} {p}（Q {d:.2f} mV，{t:.0f} ms）", n=n,
                      p=waves[n].pattern, d=waves[n].q_mv, t=waves[n].q_ms) for n in leads]
    return [finding("QWAVE", Evidence("; ", "；").join(parts)
                    + Evidence(f"; region: {', '.join(regions)}", "；部位：" + "、".join(REGION_ZH[r] for r in regions)))]


def low_voltage_findings(waves: dict[str, LeadWaves]) -> list[Finding]:
    """LOWV: QRS peak to peak below 0.5 mV in every limb lead and/or 1.0 mV in every precordial lead."""
    c = crit("low_voltage")
    limb = [round(waves[n].pp_mv, 2) for n in LIMB if n in waves]  # amplitudes read to 0.01 mV
    prec = [round(waves[n].pp_mv, 2) for n in PRECORDIAL if n in waves]
    parts = []
    if len(limb) >= 3 and max(limb) < c["limb_mv"]:
        parts.append(evidence("limb leads max {v:.2f} mV < {l} mV", "肢体导联最大 {v:.2f} mV < {l} mV",
                              v=max(limb), l=c["limb_mv"]))
    if len(prec) >= 4 and max(prec) < c["precordial_mv"]:
        parts.append(evidence("precordial leads max {v:.2f} mV < {l} mV", "胸导联最大 {v:.2f} mV < {l} mV",
                              v=max(prec), l=c["precordial_mv"]))
    return [finding("LOWV", Evidence("; ", "；").join(parts))] if parts else []


# ------------------------------------------------------------------ entry point

def morphology_findings(d: MeasureDetail, age_days: int | None, sex: str | None) -> list[Finding]:
    """Every QRS-morphology statement for one recording (see module doc); [] without a median beat."""
    if d.median is None:
        return []
    waves = lead_waves(d.median)
    if not waves:
        return []
    m = d.measurements
    out = wpw_findings(waves, d, age_days)
    if not out:
        out = bundle_branch_findings(waves, m, age_days)
    fasc = fascicular_findings(waves, m, age_days, {f.code for f in out})
    widening = crit("fascicular")["fascicular_widening_ms"]
    qrs = block_qrs_ms(waves, m)
    if fasc and qrs is not None and qrs < wide_limit(age_days)[0] + widening:
        out = [f for f in out if f.code != "IVCD"]  # the fascicular block explains a slightly wide QRS
    out += fasc
    codes = {f.code for f in out}
    hyp = hypertrophy_findings(waves, d, age_days, sex, codes)
    if any(f.code in ("RVH", "BVH") for f in hyp):  # LPFB is diagnosed only without RVH (Surawicz 2009)
        out = [f for f in out if f.code != "LPFB"]
    out += hyp
    out += q_wave_findings(waves, age_days, codes)
    out += low_voltage_findings(waves)
    out += atrial_findings(d, age_days)
    return out
