"""UI strings in one place: zh-CN (default, the clinics' language) and en.

The report page's strings are below; each browser surface keeps its strings in
``app/locales/<surface>.json`` (``{"zh-CN": {...}, "en": {...}}``), merged in
here, so every page and the report share one lookup. Pages pick the language
from ``?lang=``, then the ``lang`` cookie, then ``Accept-Language``. Statement
texts come from the lexicon, which carries both languages itself.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from fastapi import Request

LOCALES = Path(__file__).with_name("locales")

LANGS = ("zh-CN", "en")
DEFAULT = "zh-CN"

STRINGS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "report_title": "心电图报告",
        "interpretation": "诊断意见",
        "measurements": "测量值",
        "patient": "患者",
        "name": "姓名",
        "sex": "性别",
        "age": "年龄",
        "patient_id": "病历号",
        "clinic": "送检单位",
        "acquired": "检查时间",
        "signed_by": "报告医师",
        "signed_at": "签发时间",
        "amended": "已更正",
        "amendment_reason": "更正原因",
        "history": "历次报告",
        "version": "版本",
        "tracing": "心电图",
        "download_pdf": "下载 PDF（打印）",
        "heart_rate": "心率",
        "not_signed": "报告尚未签发，请稍后再查看。",
        "withdrawn": "该检查已撤回。",
        "returned": "该检查已退回送检单位，需要重新记录。",
        "unreadable": "心电图质量不合格，需要重新记录。",
        "status": "状态",
        "link_invalid": "此链接无效。",
        "link_expired": "此链接已过期或已被撤销，请向送检单位索取新的链接。",
        "sex_M": "男", "sex_F": "女", "sex_U": "未知",
        "years": "岁", "months": "个月", "days": "天",
        "bpm": "次/分",
        "free_text": "补充说明",
        "language": "English",
        "qtc_bazett": "QTc（Bazett）", "qtc_fridericia": "QTc（Fridericia）",
        "p_axis": "P 电轴", "qrs_axis": "QRS 电轴", "t_axis": "T 电轴",
        "patient_explanation": "给家属的说明",
        "wechat_pdf_hint": "微信内无法直接打开 PDF：请点右上角「···」，选择「在浏览器打开」，再点「下载 PDF」。",
        "tap_to_enlarge": "点按任一导联可放大查看；也可双指缩放。",
        "enlarge_lead": "放大 {lead} 导联",
        "lead_title": "{lead} 导联",
        "close": "关闭",
        "tracing_scale": "走纸速度 25 mm/s，增益 10 mm/mV，滤波 {low}–{high} Hz",
        "tracing_alt": "心电图波形",
    },
    "en": {
        "report_title": "ECG report",
        "interpretation": "Interpretation",
        "measurements": "Measurements",
        "patient": "Patient",
        "name": "Name",
        "sex": "Sex",
        "age": "Age",
        "patient_id": "Patient ID",
        "clinic": "Clinic",
        "acquired": "Recorded",
        "signed_by": "Reported by",
        "signed_at": "Signed",
        "amended": "Amended",
        "amendment_reason": "Reason for amendment",
        "history": "Earlier versions",
        "version": "Version",
        "tracing": "ECG",
        "download_pdf": "Download PDF (print)",
        "heart_rate": "Heart rate",
        "not_signed": "The report has not been signed yet. Please check again later.",
        "withdrawn": "This study was withdrawn.",
        "returned": "This study was returned to the clinic to be recorded again.",
        "unreadable": "The recording's quality was too poor; it must be recorded again.",
        "status": "Status",
        "link_invalid": "This link is not valid.",
        "link_expired": "This link has expired or was revoked. Ask the clinic for a new one.",
        "sex_M": "male", "sex_F": "female", "sex_U": "unknown",
        "years": "y", "months": "mo", "days": "d",
        "bpm": "/min",
        "free_text": "Comment",
        "language": "中文",
        "qtc_bazett": "QTc (Bazett)", "qtc_fridericia": "QTc (Fridericia)",
        "p_axis": "P axis", "qrs_axis": "QRS axis", "t_axis": "T axis",
        "patient_explanation": "For the family",
        "wechat_pdf_hint": "WeChat cannot open the PDF here: tap ··· at the top right, choose \"Open in browser\", "
                           "then tap \"Download PDF\".",
        "tap_to_enlarge": "Tap a lead to enlarge it; pinch to zoom.",
        "enlarge_lead": "Enlarge lead {lead}",
        "lead_title": "Lead {lead}",
        "close": "Close",
        "tracing_scale": "25 mm/s, 10 mm/mV, filters {low}–{high} Hz",
        "tracing_alt": "ECG tracing",
    },
}


def pick_lang(request: Request) -> str:
    """``?lang=en`` wins; else the first supported Accept-Language; else zh-CN."""
    q = request.query_params.get("lang") or request.cookies.get("lang")
    if q in LANGS:
        return q
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("en"):
            return "en"
        if tag.startswith("zh"):
            return "zh-CN"
    return DEFAULT


@lru_cache(maxsize=4)
def strings(lang: str) -> dict[str, str]:
    """All UI strings for ``lang`` (report page plus every surface's locale file)."""
    lang = lang if lang in LANGS else DEFAULT
    merged = dict(STRINGS[lang])
    for path in sorted(LOCALES.glob("*.json")):
        table = json.loads(path.read_text(encoding="utf-8"))
        merged.update(table.get(lang, {}))
    return merged


def age_text(age_days: int | None, lang: str) -> str:
    """Age as clinicians write it: days for newborns, months for infants, years after 2."""
    if age_days is None:
        return "—"
    s = strings(lang)
    if age_days < 31:
        return f"{age_days} {s['days']}"
    if age_days < 730:
        return f"{age_days * 12 // 365} {s['months']}"
    return f"{age_days // 365} {s['years']}"
