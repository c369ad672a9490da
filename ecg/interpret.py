"""Machine statements (findings) from measurements, age and sex.

Each finding has a stable code (shared later with the cardiologists' lexicon),
an English text, a severity (normal / abnormal / critical) and evidence: the
numbers and the limit that triggered it. Limits come from the cited criteria
tables in ``ecg/data`` (see ``ecg.criteria``); Rijnbeek 2001 percentiles
(transcribed, not yet checked against the paper) are appended to evidence for children, never used for the call.

Codes: SR, STACH, SBRAD, AFIB, RHYTHM_UNDET, CRIT_RATE, PAUSE, PAC, PVC, AVB1,
WQRS, LQTC, SQTC, LAD, RAD, STE, NORM, POOR_QUALITY. Atrial flutter (AFLT, code
reserved) is NOT detected separately: flutter with variable block is usually
reported as AFIB, with fixed block as sinus or undetermined rhythm. Tried on
LUDB and rejected (``python -m bench.findings`` scores the 2 flutter records):
an F-wave periodicity index (autocorrelation at 170-280 ms between QRST
complexes); after QRST cancellation (each beat minus the per-lead median
beat, QRS blanked) in II, III, aVF and V1, (a) the masked autocorrelation
peak at 176-250 ms (240-340/min): flutter 0.44 and 0.35, exceeded by 50 and
60 of the 90 non-AF records, and (b) the Welch spectrum's organisation index
(dominant 3-10 Hz peak +-0.3 Hz plus its harmonic over 1-15 Hz power):
flutter 0.25 and 0.16, reached by 3 and 38 of the 90.

STE follows the Fourth Universal Definition of MI (``ecg.st``): J-point ST
elevation in two contiguous leads, 0.1 mV except V2-V3 (by sex and age);
under 18 years critical only with reciprocal ST depression.
"""

from __future__ import annotations

import numpy as np

from ecg import criteria as C
from ecg import st
from ecg.measure import AF_IRREGULARITY, MORPH_CORR_MIN, P_CONSISTENT, MeasureDetail
from ecg.types import Finding, Measurements

NORMAL, ABNORMAL, CRITICAL = "normal", "abnormal", "critical"
# Sinus P axis is conventionally 0..+75 deg at all ages (e.g. Surawicz & Knilans, Chou's
# Electrocardiography in Clinical Practice, 6th ed. 2008; page not checked); widened here
# to tolerate measurement error.
SINUS_P_AXIS = (-30.0, 105.0)


def _age_text(age_days: int | None) -> str:
    if age_days is None:
        return "age unknown (adult limits)"
    if age_days < 60:
        return f"age {age_days} d"
    if age_days < 730:
        return f"age {age_days / 30.44:.0f} mo"
    return f"age {age_days / 365.25:.1f} y"


def _pct(age_days: int | None, key: str, unit: str, sex: str | None = None) -> str:
    """Rijnbeek 2001 2nd-98th percentile range as evidence text (children only): the patient's
    sex when known, else the envelope of boys' and girls' limits. Transcribed values not yet
    checked against the paper (see the table's ``verification``), and the evidence says so."""
    g = C.percentiles(age_days)
    if not g or key not in g:
        return ""
    who = {"M": "boys", "F": "girls"}.get(sex or "")
    lo, hi = g[who][key] if who and key in g.get(who, {}) else g[key]
    return (f"; 2-98th pct {who or 'boys and girls'} {g['label']}: {lo}-{hi} {unit} "
            f"(Rijnbeek 2001, transcribed, unverified)")


def rhythm_findings(d: MeasureDetail, m: Measurements, age_days: int | None,
                    rate_table: str) -> list[Finding]:
    """SR / STACH / SBRAD / AFIB / RHYTHM_UNDET from atrial facts and rate by age."""
    a, hr = d.atrial, m.heart_rate_bpm
    if a is None or hr is None:
        return []
    if a.rhythm == "af":
        no_p = (f"no P wave on the median beat (pre-QRS beat-to-beat correlation {a.p_consistency:.2f})"
                if a.p_amp_mv <= 0 else
                f"P-wave beat-to-beat correlation {a.p_consistency:.2f} (< {P_CONSISTENT})")
        return [Finding("AFIB", "Atrial fibrillation", ABNORMAL,
                        f"RR irregularity {a.rr_irregularity:.2f} (>= {AF_IRREGULARITY}), {no_p}, "
                        f"ventricular rate {hr:.0f}/min")]
    if a.rhythm != "organised":  # "unknown"
        return [Finding("RHYTHM_UNDET", "Rhythm not determined: no P wave consistently before each QRS",
                        ABNORMAL, f"P-wave beat-to-beat correlation {a.p_consistency:.2f}, "
                        f"rate {hr:.0f}/min")]
    if m.p_axis_deg is not None and not SINUS_P_AXIS[0] <= m.p_axis_deg <= SINUS_P_AXIS[1]:
        return [Finding("RHYTHM_UNDET", "Non-sinus P-wave axis: ectopic atrial or junctional rhythm, "
                        "or limb electrodes reversed", ABNORMAL,
                        f"P axis {m.p_axis_deg:.0f} deg outside {SINUS_P_AXIS[0]}..{SINUS_P_AXIS[1]} deg, "
                        f"rate {hr:.0f}/min")]
    out = [Finding("SR", "Sinus rhythm", NORMAL,
                   f"P wave before each QRS (beat-to-beat correlation {a.p_consistency:.2f}), "
                   f"PR {m.pr_ms} ms, rate {hr:.0f}/min")]
    lim = C.rate_limits(age_days, rate_table)
    call = lim.classify(hr)
    ev = (f"rate {hr:.0f}/min, {_age_text(age_days)}, limits {lim.brady_below_bpm:.0f}-"
          f"{lim.tachy_above_bpm:.0f}/min ({lim.table}: {lim.band})"
          + _pct(age_days, "heart_rate_bpm", "/min"))
    if call == "tachy":
        out.append(Finding("STACH", "Sinus tachycardia for age", ABNORMAL, ev))
    elif call == "brady":
        out.append(Finding("SBRAD", "Sinus bradycardia for age", ABNORMAL, ev))
    return out


def critical_rate(m: Measurements, age_days: int | None) -> list[Finding]:
    """CRIT_RATE: a ventricular rate that needs a cardiologist now (any rhythm)."""
    hr = m.heart_rate_bpm
    if hr is None:
        return []
    b = C.interval_band("critical_rate_bpm", age_days)
    if hr > b["above_bpm"] or hr < b["below_bpm"]:
        return [Finding("CRIT_RATE", f"Critical heart rate {hr:.0f}/min", CRITICAL,
                        f"rate {hr:.0f}/min outside {b['below_bpm']}-{b['above_bpm']}/min "
                        f"({b['label']}, {_age_text(age_days)})")]
    return []


def pause_findings(d: MeasureDetail) -> list[Finding]:
    """PAUSE: RR > 2 s and > 1.8 x dominant RR; critical beyond 3 s."""
    rr = d.beats.rr_ms[np.isfinite(d.beats.rr_ms)]
    if len(rr) < 2:
        return []
    p = C.interval_section("pause_s")
    dominant = float(np.median(rr))
    long = rr[(rr > p["abnormal_above_s"] * 1000) & (rr > 1.8 * dominant)]
    if len(long) == 0:
        return []
    worst = float(long.max()) / 1000
    sev = CRITICAL if worst > p["critical_above_s"] else ABNORMAL
    return [Finding("PAUSE", f"Pause of {worst:.1f} s", sev,
                    f"{len(long)} RR interval(s) > {p['abnormal_above_s']} s, longest {worst:.2f} s "
                    f"(dominant RR {dominant:.0f} ms; critical > {p['critical_above_s']} s)")]


def ectopy_findings(d: MeasureDetail) -> list[Finding]:
    """PVC: early beat with a QRS unlike the dominant one; PAC: premature with the
    dominant QRS (not in AF, where every beat is "premature")."""
    b = d.beats
    corr = b.morph_corr
    pvc = b.ventricular if b.ventricular is not None else np.isfinite(corr) & (corr < MORPH_CORR_MIN)
    out = []
    n = len(b.r_peaks)
    if pvc.any():
        out.append(Finding("PVC", "Premature ventricular complexes" if pvc.sum() > 1 else
                           "Premature ventricular complex", ABNORMAL,
                           f"{int(pvc.sum())} of {n} beats early with a QRS unlike the dominant beat "
                           f"(correlation < {MORPH_CORR_MIN})"))
    if d.atrial is not None and d.atrial.rhythm == "organised":
        pac = b.premature & np.isfinite(corr) & (corr >= MORPH_CORR_MIN)
        if pac.any():
            out.append(Finding("PAC", "Premature atrial complexes" if pac.sum() > 1 else
                               "Premature atrial complex", ABNORMAL,
                               f"{int(pac.sum())} of {n} beats premature (RR < 80 % of local median) "
                               f"with normal QRS morphology"))
    return out


def _wide_qrs(m: Measurements, age_days: int | None) -> bool:
    """QRS duration above the age's wide-QRS limit (``qrs_wide_ms``); False when not measured."""
    if m.qrs_ms is None:
        return False
    b = C.interval_band("qrs_wide_ms", age_days)
    return m.qrs_ms > b["above_ms"] if "above_ms" in b else m.qrs_ms >= b["at_or_above_ms"]


def conduction_findings(m: Measurements, age_days: int | None) -> list[Finding]:
    """AVB1 (PR above the age limit) and WQRS (QRS above the age limit)."""
    out = []
    if m.pr_ms is not None:
        b = C.interval_band("pr_upper_ms", age_days)
        if m.pr_ms > b["upper_ms"]:
            out.append(Finding("AVB1", "First-degree AV block", ABNORMAL,
                               f"PR {m.pr_ms:.0f} ms > {b['upper_ms']} ms ({b['label']}, "
                               f"{_age_text(age_days)})" + _pct(age_days, "pr_ms", "ms")))
    if m.qrs_ms is not None:
        b = C.interval_band("qrs_wide_ms", age_days)
        if _wide_qrs(m, age_days):
            lim = f"> {b['above_ms']}" if "above_ms" in b else f">= {b['at_or_above_ms']}"
            out.append(Finding("WQRS", "Wide QRS complex", ABNORMAL,
                               f"QRS {m.qrs_ms:.0f} ms {lim} ms ({b['label']}, {_age_text(age_days)})"
                               + _pct(age_days, "qrs_ms", "ms")))
    return out


def qt_findings(m: Measurements, age_days: int | None, sex: str | None) -> list[Finding]:
    """LQTC (critical above 500 ms) and SQTC from Bazett's QTc."""
    qtc = m.qtc_bazett_ms
    if qtc is None:
        return []
    q = C.interval_section("qtc_ms")
    long_lim = C.qtc_long_limit(age_days, sex)
    ev = (f"QTc Bazett {qtc:.0f} ms, Fridericia {m.qtc_fridericia_ms:.0f} ms, QT {m.qt_ms:.0f} ms, "
          f"RR {m.rr_ms:.0f} ms")
    if qtc > q["critical_above_ms"]:
        return [Finding("LQTC", "Markedly prolonged QTc", CRITICAL,
                        f"{ev}; > {q['critical_above_ms']} ms")]
    if qtc > long_lim:
        return [Finding("LQTC", "Prolonged QTc", ABNORMAL,
                        f"{ev}; > {long_lim:.0f} ms (sex {sex or 'unknown'}, {_age_text(age_days)})"
                        + _pct(age_days, "qtc_ms", "ms", sex))]
    if qtc <= q["short_at_or_below_ms"]:
        return [Finding("SQTC", "Short QTc", ABNORMAL, f"{ev}; <= {q['short_at_or_below_ms']} ms")]
    return []


def axis_class(axis_deg: float, age_days: int | None) -> tuple[str, dict]:
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
    ev = (f"QRS axis {m.qrs_axis_deg:.0f} deg, normal {b['lo_deg']} to {b['hi_deg']} deg "
          f"({b['label']}, {_age_text(age_days)})")
    if cls == "left":
        return [Finding("LAD", "Left axis deviation", ABNORMAL, ev)]
    return [Finding("RAD", "Right axis deviation", ABNORMAL, ev)]


def st_findings(d: MeasureDetail, age_days: int | None = None, sex: str | None = None) -> list[Finding]:
    """STE: J-point ST elevation in two contiguous leads (4th Universal Definition of MI limits,
    ``ecg.st``). Critical in adults; under 18 years critical only with reciprocal ST
    depression, else abnormal (early repolarisation is the usual cause at that age)."""
    levels = st.j_point_levels(d)
    hits = st.contiguous_elevations(levels, age_days, sex)
    if not hits:
        return []
    s = C.interval_section("st_elevation_mv")
    v23, group = st.v2_v3_limit(age_days, sex)
    ev = (f"ST at the J point >= {s['other_leads_mv']} mV (V2-V3: >= {v23} mV, {group}) in contiguous "
          f"leads: " + "; ".join(hits))
    severity = CRITICAL
    if age_days is not None and age_days < C.ADULT_DAYS:
        recip = st.reciprocal_depressions(levels, st.elevated_leads(levels, age_days, sex))
        if recip:
            ev += "; reciprocal ST depression: " + ", ".join(recip)
        else:
            severity = ABNORMAL
            ev += (f"; no reciprocal ST depression (<= -{s['child_reciprocal_depression_mv']} mV): "
                   f"early repolarisation likely under 18 years; pericarditis or myocarditis possible")
    if _wide_qrs(d.measurements, age_days):
        ev += "; QRS wide: ST criteria unreliable in bundle branch block, LVH or pacing"
    text = "suspected acute injury — ST elevation" if severity == CRITICAL else "ST elevation"
    return [Finding("STE", text, severity, ev)]


def inconsistent_beats(detail: MeasureDetail, age_days: int | None) -> tuple[Finding, ...]:
    """No shared QRS shape: usually noise (technical finding), but a fast
    disorganised rhythm (VF, polymorphic VT) must not be silenced, so a critical
    FAST rate is still reported; slow or normal rates are not (missed beats in noise)."""
    m = detail.measurements
    out = [Finding("POOR_QUALITY", "No consistent QRS complexes — rhythm not interpreted; check the recording",
                   ABNORMAL, m.missing.get("qrs_ms", ""))]
    hr = m.heart_rate_bpm
    if hr is not None and hr > C.interval_band("critical_rate_bpm", age_days)["above_bpm"]:
        out += critical_rate(m, age_days)
    return tuple(out)


def interpret(detail: MeasureDetail, *, age_days: int | None = None, sex: str | None = None,
              rate_table: str = C.DEFAULT_RATE_TABLE) -> tuple[Finding, ...]:
    """All findings for one recording; NORM ("normal ECG for age") only if nothing is abnormal."""
    m = detail.measurements
    if not detail.consistent:
        return inconsistent_beats(detail, age_days)
    out: list[Finding] = []
    out += rhythm_findings(detail, m, age_days, rate_table)
    out += critical_rate(m, age_days)
    out += pause_findings(detail)
    out += ectopy_findings(detail)
    out += conduction_findings(m, age_days)
    out += qt_findings(m, age_days, sex)
    out += axis_findings(m, age_days)
    out += st_findings(detail, age_days, sex)
    core = ("heart_rate_bpm", "pr_ms", "qrs_ms", "qtc_bazett_ms", "qrs_axis_deg")
    measured = all(getattr(m, k) is not None for k in core)
    if measured and any(f.code == "SR" for f in out) and all(f.severity == NORMAL for f in out):
        out.append(Finding("NORM", "Normal ECG for age", NORMAL,
                           f"{_age_text(age_days)}; rate, rhythm, PR, QRS, QTc and axis within limits"))
    return tuple(out)
