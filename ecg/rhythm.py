"""Rhythm statements: sinus and its rate by age, atrial fibrillation, undetermined rhythm,
pauses and premature complexes.

``rhythm_findings(detail, age_days, rate_table, raw)`` is the one entry point
``ecg.interpret`` calls. ``raw`` is the unfiltered (samples, leads) signal in mV
at ``detail.fs`` for the same leads as ``detail.signals`` (None when not
available), for what the diagnostic band removes (pacing spikes).

Atrial flutter (AFLT) is NOT yet detected separately: flutter with variable
block is usually reported as AFIB, with fixed block as sinus or undetermined
rhythm. Tried on LUDB and rejected (``python -m bench.findings`` scores the 2
flutter records): an F-wave periodicity index (autocorrelation at 170-280 ms
between QRST complexes) after QRST cancellation, and a Welch-spectrum
organisation index; neither separated flutter from sinus.
"""

from __future__ import annotations

import numpy as np

from ecg import criteria as C
from ecg.lexicon import evidence, finding
from ecg.measure import AF_IRREGULARITY, MORPH_CORR_MIN, P_CONSISTENT, MeasureDetail
from ecg.types import Finding
from ecg.wording import age_text, percentile_text

# Sinus P axis is conventionally 0..+75 deg at all ages (e.g. Surawicz & Knilans, Chou's
# Electrocardiography in Clinical Practice, 6th ed. 2008; page not checked); widened here
# to tolerate measurement error.
SINUS_P_AXIS = (-30.0, 105.0)


def sinus_findings(d: MeasureDetail, age_days: int | None, rate_table: str) -> list[Finding]:
    """SR / STACH / SBRAD / AFIB / RHYTHM_UNDET from atrial facts and rate by age."""
    m = d.measurements
    a, hr = d.atrial, m.heart_rate_bpm
    if a is None or hr is None:
        return []
    if a.rhythm == "af":
        no_p = (evidence("no P wave on the median beat (pre-QRS beat-to-beat correlation {c:.2f})",
                         "中位心搏无P波（QRS前段逐搏相关 {c:.2f}）", c=a.p_consistency)
                if a.p_amp_mv <= 0 else
                evidence("P-wave beat-to-beat correlation {c:.2f} (< {lim})",
                         "P波逐搏相关 {c:.2f}（< {lim}）", c=a.p_consistency, lim=P_CONSISTENT))
        return [finding("AFIB", evidence("RR irregularity {irr:.2f} (>= {lim}), ", "RR不规则指数 {irr:.2f}（≥ {lim}），",
                                         irr=a.rr_irregularity, lim=AF_IRREGULARITY) + no_p
                        + evidence(", ventricular rate {hr:.0f}/min", "，心室率 {hr:.0f} 次/分", hr=hr))]
    if a.rhythm != "organised":  # "unknown"
        return [finding("RHYTHM_UNDET", evidence(
            "no P wave consistently before each QRS: P-wave beat-to-beat correlation {c:.2f}, rate {hr:.0f}/min",
            "未见每个QRS前恒定的P波：P波逐搏相关 {c:.2f}，心率 {hr:.0f} 次/分", c=a.p_consistency, hr=hr))]
    if m.p_axis_deg is not None and not SINUS_P_AXIS[0] <= m.p_axis_deg <= SINUS_P_AXIS[1]:
        return [finding("RHYTHM_UNDET", evidence(
            "non-sinus P-wave axis (ectopic atrial or junctional rhythm, or limb electrodes reversed): "
            "P axis {ax:.0f} deg outside {lo:.0f}..{hi:.0f} deg, rate {hr:.0f}/min",
            "P波电轴非窦性（异位房性或交界性心律，或肢体导联接反）：P电轴 {ax:.0f}°，不在 {lo:.0f}～{hi:.0f}° 内，"
            "心率 {hr:.0f} 次/分", ax=m.p_axis_deg, lo=SINUS_P_AXIS[0], hi=SINUS_P_AXIS[1], hr=hr))]
    out = [finding("SR", evidence("P wave before each QRS (beat-to-beat correlation {c:.2f}), PR {pr} ms, "
                                  "rate {hr:.0f}/min",
                                  "每个QRS前有P波（逐搏相关 {c:.2f}），PR {pr} ms，心率 {hr:.0f} 次/分",
                                  c=a.p_consistency, pr=m.pr_ms, hr=hr))]
    lim = C.rate_limits(age_days, rate_table)
    call = lim.classify(hr)
    ev = (evidence("rate {hr:.0f}/min, ", "心率 {hr:.0f} 次/分，", hr=hr) + age_text(age_days)
          + evidence(", limits {lo:.0f}-{hi:.0f}/min ({table}: {band})", "，界值 {lo:.0f}-{hi:.0f} 次/分（{table}：{band}）",
                     lo=lim.brady_below_bpm, hi=lim.tachy_above_bpm, table=lim.table, band=lim.band)
          + percentile_text(age_days, "heart_rate_bpm", "/min"))
    if call == "tachy":
        out.append(finding("STACH", ev))
    elif call == "brady":
        out.append(finding("SBRAD", ev))
    return out


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
    return [finding("PAUSE", evidence(
        "{n} RR interval(s) > {lim} s, longest {w:.2f} s (dominant RR {dom:.0f} ms; critical > {crit} s)",
        "{n} 个RR间期 > {lim} s，最长 {w:.2f} s（主导RR {dom:.0f} ms；> {crit} s 为危急值）",
        n=len(long), lim=p["abnormal_above_s"], w=worst, dom=dominant, crit=p["critical_above_s"]),
        severity="critical" if worst > p["critical_above_s"] else "abnormal",
        text=evidence("Pause of {w:.1f} s", "长间歇 {w:.1f} s", w=worst))]


def ectopy_findings(d: MeasureDetail) -> list[Finding]:
    """PVC: early beat with a QRS unlike the dominant one; PAC: premature with the
    dominant QRS (not in AF, where every beat is "premature")."""
    b = d.beats
    corr = b.morph_corr
    pvc = b.ventricular if b.ventricular is not None else np.isfinite(corr) & (corr < MORPH_CORR_MIN)
    out = []
    n = len(b.r_peaks)
    if pvc.any():
        out.append(finding("PVC", evidence(
            "{k} of {n} beats early with a QRS unlike the dominant beat (correlation < {c})",
            "{n} 个心搏中 {k} 个提前出现且QRS形态与主导心搏不同（相关 < {c}）", k=int(pvc.sum()), n=n,
            c=MORPH_CORR_MIN)))
    if d.atrial is not None and d.atrial.rhythm == "organised":
        pac = b.premature & np.isfinite(corr) & (corr >= MORPH_CORR_MIN)
        if pac.any():
            out.append(finding("PAC", evidence(
                "{k} of {n} beats premature (RR < 80 % of local median) with normal QRS morphology",
                "{n} 个心搏中 {k} 个提前出现（RR < 局部中位数的80%），QRS形态正常", k=int(pac.sum()), n=n)))
    return out


def rhythm_findings(d: MeasureDetail, age_days: int | None, rate_table: str,
                    raw: np.ndarray | None = None) -> list[Finding]:
    """Every rhythm statement for one recording (see module doc); ``raw`` is unused so far."""
    return sinus_findings(d, age_days, rate_table) + pause_findings(d) + ectopy_findings(d)


