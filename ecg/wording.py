"""Evidence phrases shared by the interpretation modules, in English and Chinese.

Small, reusable pieces of evidence text (the patient's age, the Rijnbeek
percentile range for children) built once so every statement words them the
same way in both languages (``ecg.lexicon.Evidence``).
"""

from __future__ import annotations

from ecg import criteria as C
from ecg.lexicon import Evidence, evidence
from ecg.types import QualityIssue


def age_text(age_days: int | None) -> Evidence:
    """The age as evidence: days under 60 d, months under 2 y, else years (one decimal)."""
    if age_days is None:
        return Evidence("age unknown (adult limits)", "年龄未知（按成人标准）")
    if age_days < 60:
        return evidence("age {d} d", "年龄 {d} 天", d=age_days)
    if age_days < 730:
        return evidence("age {m:.0f} mo", "年龄 {m:.0f} 个月", m=age_days / 30.44)
    return evidence("age {y:.1f} y", "年龄 {y:.1f} 岁", y=age_days / 365.25)


def percentile_text(age_days: int | None, key: str, unit: str, sex: str | None = None) -> Evidence:
    """Rijnbeek 2001 2nd-98th percentile range (children only; empty otherwise).

    The patient's sex when known, else the envelope of boys' and girls' limits. The values
    are transcribed and not yet checked against the paper (the table's ``verification``); the
    evidence says "not yet verified" so a reader weighs them accordingly.
    """
    g = C.percentiles(age_days)
    if not g or key not in g:
        return Evidence()
    who = {"M": "boys", "F": "girls"}.get(sex or "")
    lo, hi = g[who][key] if who and key in g.get(who, {}) else g[key]
    who_zh = {"boys": "男孩", "girls": "女孩"}.get(who or "", "男孩和女孩")
    return evidence("; 2-98th pct {who} {label}: {lo}-{hi} {unit} (Rijnbeek 2001, transcription not yet verified)",
                    "；{who_zh} {bz} 第2-98百分位：{lo}-{hi} {unit_zh}（Rijnbeek 2001，转录值待核对）",
                    who=who or "boys and girls", who_zh=who_zh, label=g["label"], bz=C.band_label_zh(g), lo=lo, hi=hi,
                    unit=unit, unit_zh="次/分" if unit == "/min" else unit)


QUALITY_ZH = {"lead_off": "导联脱落", "clipping": "信号削顶", "mains": "工频干扰", "muscle": "肌电干扰",
              "baseline_wander": "基线漂移", "artefact": "伪差", "implausible_amplitude": "幅度异常",
              "too_short": "记录过短", "no_usable_lead": "无可用导联",
              "too_many_leads_unreadable": "过多导联无法判读", "long_recording": "记录过长，仅自动分析前5分钟"}


def quality_text(issues: tuple[QualityIssue, ...], reasons: tuple[str, ...]) -> Evidence:
    """Why a recording is unreadable: the quality reasons, in Chinese by issue code and lead."""
    en = "; ".join(reasons) or "no usable lead"
    zh = "；".join(f"{i.lead + ' ' if i.lead else ''}{QUALITY_ZH.get(i.code, i.code)}" for i in issues)
    return Evidence(en, zh or "无可用导联")
