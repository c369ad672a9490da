"""Machine statements (findings) from measurements, age and sex.

Each finding has a stable lexicon code (``ecg/data/lexicon.json``, shared with
the cardiologists' statements), its text in English and Chinese, a severity
(normal / abnormal / critical) and evidence in both languages: the numbers and
the limit that triggered it. Limits come from the cited criteria tables in
``ecg/data`` (see ``ecg.criteria``); Rijnbeek 2001 percentiles (transcribed,
not yet checked against the paper) are appended to evidence for children,
never used for the call.

The statements come in stages, each its own module, in this order:

1. rhythm (``ecg.rhythm``): sinus and its rate by age, AF, pauses, ectopy;
2. critical rate by age, first-degree AV block, wide QRS (here);
3. QRS morphology (``ecg.morphology``): blocks, hypertrophy, Q waves, voltage;
4. QT, axis (here);
5. repolarisation (``ecg.repolarization``), which sees the codes found so far
   (ST criteria do not hold with bundle-branch block, pacing or LVH).

NORM ("normal ECG for age") is said only when every core value was measured,
the rhythm is sinus, and nothing else was found that is not normal; in adults an
incomplete RBBB, though routine, is a conduction statement and is said instead of
NORM (``NOT_NORMAL_ADULT``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ecg import criteria as C
from ecg.lexicon import Evidence, evidence, finding
from ecg.measure import MeasureDetail
from ecg.morphology import morphology_findings
from ecg.repolarization import repolarization_findings
from ecg.rhythm import rhythm_findings
from ecg.types import Finding, Measurements
from ecg.wording import age_text, percentile_text


def critical_rate(m: Measurements, age_days: int | None) -> list[Finding]:
    """CRIT_RATE: a ventricular rate that needs a cardiologist now (any rhythm)."""
    hr = m.heart_rate_bpm
    if hr is None:
        return []
    b = C.interval_band("critical_rate_bpm", age_days)
    if hr > b["above_bpm"] or hr < b["below_bpm"]:
        return [finding("CRIT_RATE", evidence("rate {hr:.0f}/min outside {lo}-{hi}/min ({label}, ",
                                              "心率 {hr:.0f} 次/分，超出 {lo}-{hi} 次/分（{bz}，",
                                              hr=hr, lo=b["below_bpm"], hi=b["above_bpm"], label=b["label"],
                                              bz=C.band_label_zh(b))
                        + age_text(age_days) + evidence(")", "）"),
                        text=evidence("Critical heart rate {hr:.0f}/min", "危急心率 {hr:.0f} 次/分", hr=hr))]
    return []


def wide_qrs(m: Measurements, age_days: int | None) -> bool:
    """QRS duration above the age's wide-QRS limit (``qrs_wide_ms``); False when not measured."""
    if m.qrs_ms is None:
        return False
    b = C.interval_band("qrs_wide_ms", age_days)
    return bool(m.qrs_ms > b["above_ms"] if "above_ms" in b else m.qrs_ms >= b["at_or_above_ms"])


def conduction_findings(m: Measurements, age_days: int | None) -> list[Finding]:
    """AVB1 (PR above the age limit) and WQRS (QRS above the age limit)."""
    out = []
    if m.pr_ms is not None:
        b = C.interval_band("pr_upper_ms", age_days)
        if m.pr_ms > b["upper_ms"]:
            out.append(finding("AVB1", evidence("PR {pr:.0f} ms > {lim} ms ({label}, ", "PR {pr:.0f} ms > {lim} ms（{bz}，",
                                                pr=m.pr_ms, lim=b["upper_ms"], label=b["label"], bz=C.band_label_zh(b))
                               + age_text(age_days) + evidence(")", "）")
                               + percentile_text(age_days, "pr_ms", "ms")))
    if wide_qrs(m, age_days):
        b = C.interval_band("qrs_wide_ms", age_days)
        lim = f"> {b['above_ms']}" if "above_ms" in b else f">= {b['at_or_above_ms']}"
        out.append(finding("WQRS", evidence("QRS {q:.0f} ms {lim} ms ({label}, ", "QRS {q:.0f} ms {lim} ms（{bz}，",
                                            q=m.qrs_ms, lim=lim, label=b["label"], bz=C.band_label_zh(b))
                           + age_text(age_days) + evidence(")", "）") + percentile_text(age_days, "qrs_ms", "ms")))
    return out


def qtc_for_call(m: Measurements, age_days: int | None) -> tuple[float, str] | None:
    """The QTc (ms) the long/short-QT statements judge, and its formula's name.

    Adults: the Framingham linear correction, QT + 154 (1 - RR in s) (Sagie A et al., Am J
    Cardiol 1992;70:797-801), as the AHA/ACCF/HRS 2009 recommendations (Rautaharju PM et al.,
    Part IV, Circulation 2009;119:e241-e250) advise a linear regression function over Bazett,
    which over-corrects at faster rates and made 9 % of PTB-XL's normal ECGs "long QTc".
    Children: Bazett, the correction the pediatric norms and the long-QT criteria are built on
    (Schwartz PJ et al., Circulation 2011;124:2181-2184).
    """
    if m.qt_ms is None or m.rr_ms is None:
        return None
    if age_days is not None and age_days < C.ADULT_DAYS:
        return (m.qtc_bazett_ms, "Bazett") if m.qtc_bazett_ms is not None else None
    return round(m.qt_ms + 154.0 * (1.0 - m.rr_ms / 1000.0), 1), "Framingham"


def qt_findings(m: Measurements, age_days: int | None, sex: str | None) -> list[Finding]:
    """LQTC (critical above 500 ms) and SQTC from the QTc of ``qtc_for_call``."""
    call = qtc_for_call(m, age_days)
    if call is None:
        return []
    qtc, formula = call
    q = C.interval_section("qtc_ms")
    long_lim = C.qtc_long_limit(age_days, sex)
    ev = evidence("QTc {fm} {c:.0f} ms (Bazett {b:.0f}, Fridericia {f:.0f}), QT {qt:.0f} ms, RR {rr:.0f} ms",
                  "QTc（{fm}）{c:.0f} ms（Bazett {b:.0f}，Fridericia {f:.0f}），QT {qt:.0f} ms，RR {rr:.0f} ms",
                  fm=formula, c=qtc, b=m.qtc_bazett_ms, f=m.qtc_fridericia_ms, qt=m.qt_ms, rr=m.rr_ms)
    if qtc > q["critical_above_ms"]:
        return [finding("LQTC", ev + evidence("; > {c} ms", "；> {c} ms", c=q["critical_above_ms"]),
                        severity="critical", text=evidence("Markedly prolonged QTc", "QTc间期显著延长"))]
    if qtc > long_lim:
        sex_en = {"M": "male", "F": "female"}.get(sex or "", "unknown")
        sex_zh = {"M": "男", "F": "女"}.get(sex or "", "未知")
        return [finding("LQTC", ev + evidence("; > {lim:.0f} ms (sex {s}, ", "；> {lim:.0f} ms（性别{sz}，",
                                              lim=long_lim, s=sex_en, sz=sex_zh)
                        + age_text(age_days) + evidence(")", "）") + percentile_text(age_days, "qtc_ms", "ms", sex))]
    if qtc <= q["short_at_or_below_ms"]:
        return [finding("SQTC", ev + evidence("; <= {lim} ms", "；≤ {lim} ms", lim=q["short_at_or_below_ms"]))]
    return []


def axis_class(axis_deg: float, age_days: int | None) -> tuple[str, dict[str, Any]]:
    """"normal", "left" or "right" QRS axis for the age; angle mapped to [-90, 270)."""
    b = C.interval_band("qrs_axis_deg", age_days)
    a = axis_deg + 360.0 if axis_deg < -90.0 else axis_deg
    if a < b["lo_deg"]:
        return "left", b
    if a > b["hi_deg"]:
        return "right", b
    return "normal", b


def axis_findings(m: Measurements, age_days: int | None) -> list[Finding]:
    """LAD / RAD against the age-dependent normal QRS axis (newborns: right axis is normal)."""
    if m.qrs_axis_deg is None:
        return []
    cls, b = axis_class(m.qrs_axis_deg, age_days)
    if cls == "normal":
        return []
    ev = (evidence("QRS axis {a:.0f} deg, normal {lo} to {hi} deg ({label}, ",
                   "QRS电轴 {a:.0f}°，正常 {lo}°～{hi}°（{bz}，", a=m.qrs_axis_deg, lo=b["lo_deg"],
                   hi=b["hi_deg"], label=b["label"], bz=C.band_label_zh(b)) + age_text(age_days) + evidence(")", "）"))
    return [finding("LAD" if cls == "left" else "RAD", ev)]


def inconsistent_beats(detail: MeasureDetail, age_days: int | None) -> tuple[Finding, ...]:
    """No shared QRS shape: usually noise (technical finding), but a fast
    disorganised rhythm (VF, polymorphic VT) must not be silenced, so a critical
    FAST rate is still reported; slow or normal rates are not (missed beats in noise)."""
    m = detail.measurements
    why = m.missing.get("qrs_ms", "")
    out = [finding("POOR_QUALITY", evidence("{w}", "{w}", w=why),
                   text=Evidence("No consistent QRS complexes — rhythm not interpreted; check the recording",
                                 "未见形态一致的QRS波，未作心律判读；请检查记录"))]
    hr = m.heart_rate_bpm
    if hr is not None and hr > C.interval_band("critical_rate_bpm", age_days)["above_bpm"]:
        out += critical_rate(m, age_days)
    return tuple(out)


CORE = ("heart_rate_bpm", "pr_ms", "qrs_ms", "qtc_bazett_ms", "qrs_axis_deg")

# A statement that explains (or invalidates) others withholds them:
# * paced complexes: AF, hypertrophy, blocks, Q waves and ST-T criteria do not apply to them
#   (the wide QRS and secondary ST-T changes are the pacing's own; e.g. Surawicz B et al.,
#   AHA/ACCF/HRS recommendations part III, Circulation 2009;119:e235);
# * a named conduction disorder replaces the generic "wide QRS";
# * AF or flutter has no PR: no first-degree AV block, no PAC.
WITHHELD_BY = {
    "PACED": frozenset({"AFIB", "LVH", "RVH", "BVH", "LBBB", "RBBB", "ILBBB", "IRBBB", "IVCD", "WQRS", "LAFB",
                        "LPFB", "QWAVE", "STE", "STD", "TWI", "NSSTT", "ERP", "LAD", "RAD"}),
    "LBBB": frozenset({"WQRS", "IVCD", "ILBBB"}),
    "RBBB": frozenset({"WQRS", "IVCD", "IRBBB"}),
    "IVCD": frozenset({"WQRS"}),
    "WPW": frozenset({"WQRS", "IVCD", "AVB1"}),
    "WCT": frozenset({"WQRS"}),
    "AFIB": frozenset({"AVB1", "PAC"}),
    "AFLT": frozenset({"AVB1", "PAC"}),
}


def withhold(found: list[Finding]) -> list[Finding]:
    """``found`` without the statements another found statement withholds (``WITHHELD_BY``)."""
    codes = {f.code for f in found}
    gone = frozenset().union(*(WITHHELD_BY.get(c, frozenset()) for c in codes))
    return [f for f in found if f.code not in gone]


# Routine statements that still make an adult ECG not "normal": incomplete RBBB is a conduction
# disturbance in the AHA/ACCF/HRS statement list (Surawicz B et al., Circulation 2009;119:e235-e240),
# and PTB-XL's cardiologists wrote NORM on 2 of its 19 records; an rSr' in V1 is a normal variant in
# children (Dickinson DF, Heart 2005;91:1626-1630), so there it does not withhold NORM.
NOT_NORMAL_ADULT = frozenset({"IRBBB"})


def normal_ecg(m: Measurements, found: list[Finding], age_days: int | None) -> list[Finding]:
    """NORM when every core value was measured, the rhythm is sinus and nothing found is abnormal
    (for an adult, nothing in ``NOT_NORMAL_ADULT`` either)."""
    measured = all(getattr(m, k) is not None for k in CORE)
    child = age_days is not None and age_days < C.ADULT_DAYS
    if not child and any(f.code in NOT_NORMAL_ADULT for f in found):
        return []
    if measured and any(f.code == "SR" for f in found) and all(f.severity == "normal" for f in found):
        return [finding("NORM", age_text(age_days) + Evidence(
            "; rate, rhythm, PR, QRS, QTc and axis within limits, no other abnormality found",
            "；心率、心律、PR、QRS、QTc及电轴均在正常范围，未见其他异常"))]
    return []


def interpret(detail: MeasureDetail, *, age_days: int | None = None, sex: str | None = None,
              rate_table: str = C.DEFAULT_RATE_TABLE, raw: np.ndarray | None = None) -> tuple[Finding, ...]:
    """All findings for one recording, stage by stage (module doc). ``raw``: the unfiltered
    (samples, leads) signal in mV at ``detail.fs`` for the leads of ``detail.signals``."""
    m = detail.measurements
    if not detail.consistent:
        return inconsistent_beats(detail, age_days)
    out: list[Finding] = []
    out += rhythm_findings(detail, age_days, rate_table, raw)
    out += critical_rate(m, age_days)
    out += conduction_findings(m, age_days)
    out += morphology_findings(detail, age_days, sex)
    out += qt_findings(m, age_days, sex)
    out += axis_findings(m, age_days)
    out += repolarization_findings(detail, age_days, sex, frozenset(f.code for f in out))
    out = withhold(out)
    out += normal_ecg(m, out, age_days)
    return tuple(out)
