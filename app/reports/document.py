"""What a report shows, assembled once for the phone page, the PDF and the PNG.

Only signed versions are ever shown: a study without one shows its status,
never a draft or the machine's interpretation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from app.analysis.service import age_in_days
from app.i18n import age_text, strings
from app.reports.branding import Branding
from app.reports.phone_svg import SvgTracing, tracing_svg
from app.reports.tracing import FILTER_PAD_S, TracingHeader, render_pdf, render_png
from app.uploads.schemas import LOCAL_TZ
from app.studies.recording import load_window
from ecg.criteria import ADULT_DAYS
from ecg.filters import ADULT_DISPLAY_HIGH_HZ, CHILD_DISPLAY_HIGH_HZ
from storage.blobs import BlobStore
from storage.models import Report, Study, StudyStatus, User
from storage.repositories import ReadingRepository, SiteRepository, UserRepository

_MEASURES = (("heart_rate_bpm", "heart_rate", "bpm"), ("pr_ms", "PR", "ms"), ("qrs_ms", "QRS", "ms"),
             ("qt_ms", "QT", "ms"), ("qtc_bazett_ms", "qtc_bazett", "ms"),
             ("qtc_fridericia_ms", "qtc_fridericia", "ms"), ("p_axis_deg", "p_axis", "°"),
             ("qrs_axis_deg", "qrs_axis", "°"), ("t_axis_deg", "t_axis", "°"))


def local(t: dt.datetime) -> str:
    return t.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class ReportDoc:
    study: Study
    clinic: str
    reader: str
    latest: Report | None
    history: list[Report]

    @property
    def signed(self) -> bool:
        return self.latest is not None and self.study.status != StudyStatus.withdrawn


def load(session: Session, study: Study, version: int | None = None) -> ReportDoc:
    """The study's report as of signed ``version`` (None: the latest), with the versions before it.

    A delivery queued for version 1 (the PACS outbox) prints version 1 even when it is sent after
    an amendment: a signed document never shows words signed later.
    """
    reports = [r for r in ReadingRepository(session).reports(study.id) if version is None or r.version <= version]
    _ = study.recording.files  # loaded now, inside the caller's transaction (rendering comes after commit)
    site = SiteRepository(session).get(study.site_id)
    author = UserRepository(session).get(reports[0].author_id) if reports else None
    return ReportDoc(study, site.name if site else "", signer_name(author) if author else "",
                     reports[0] if reports else None, reports[1:])


def measurements(doc: ReportDoc, lang: str) -> list[tuple[str, str]]:
    s = strings(lang)
    values = doc.latest.measurements.get("values", {}) if doc.latest else {}
    out = []
    for key, label, unit in _MEASURES:
        if values.get(key) is not None:
            unit_text = s["bpm"] if unit == "bpm" else unit
            sep = "" if unit == "°" else " "
            out.append((s.get(label, label), f"{values[key]:.0f}{sep}{unit_text}"))
    return out


def status_text(doc: ReportDoc, lang: str) -> str:
    s = strings(lang)
    return {StudyStatus.withdrawn: s["withdrawn"], StudyStatus.returned: s["returned"],
            StudyStatus.unreadable: s["unreadable"]}.get(doc.study.status, s["not_signed"])


def _version(r: Report) -> dict[str, Any]:
    """One signed version as the page shows it."""
    return {"version": r.version, "statements": r.statements, "free_text": r.free_text,
            "patient_explanation": r.patient_explanation, "amendment_reason": r.amendment_reason,
            "signed_at_local": local(r.signed_at)}


def page_context(doc: ReportDoc, lang: str, base_url: str, branding: Branding,
                 tracing: SvgTracing | None = None, wechat: bool = False) -> dict[str, Any]:
    """Template context of the phone page (``report.html``): the signed version, patient, SVG tracing rows."""
    p, study = doc.study.patient, doc.study
    return {
        "lang": lang, "s": strings(lang), "clinic": doc.clinic, "reader": doc.reader,
        "hub_name": branding.hub_name, "title": branding.title if lang == "zh-CN" else strings(lang)["report_title"],
        "logo": branding.logo_data_uri(), "wechat": wechat,
        "report": _version(doc.latest) if doc.signed and doc.latest is not None else None,
        "history": [_version(r) for r in doc.history],
        "status_text": status_text(doc, lang),
        "patient": {"name": p.name, "sex": p.sex.value, "id": p.external_id,
                    "age": age_text(age_in_days(p.birth_date, study.acquired_at), lang)},
        "acquired": local(study.acquired_at), "measurements": measurements(doc, lang),
        "tracing": tracing,
        "pdf_url": f"{base_url}/report.pdf",
    }


def _header_lines(doc: ReportDoc) -> list[str]:
    """The printed patient block (zh-CN): patient, clinic and time, conclusion, measurements, signature."""
    s, r = strings("zh-CN"), doc.latest
    if r is None:
        raise ValueError("only a signed report is printed")
    p = doc.study.patient
    age = age_text(age_in_days(p.birth_date, doc.study.acquired_at), "zh-CN")
    signed = f"报告医师 {doc.reader}   签发 {local(r.signed_at)}   版本 {r.version}"
    return [f"姓名 {p.name}   性别 {s['sex_' + p.sex.value]}   年龄 {age}   病历号 {p.external_id}",
            f"送检单位 {doc.clinic}   检查时间 {local(doc.study.acquired_at)}",
            "诊断意见：" + "；".join(st["zh"] for st in r.statements),
            printed_measurements(r.measurements.get("values", {})),
            signed + (f"   更正原因：{r.amendment_reason}" if r.amendment_reason else "")]


def printed_measurements(values: dict[str, Any]) -> str:
    """The printed measurement line in the usual ECG-header form: rate (/min), intervals (ms), axes (°).

    E.g. "心率 72 次/分   PR 140 ms   QRS 80 ms   QT/QTc 380/410 ms   P/QRS/T 电轴 60/45/30°"
    (QTc by Bazett; unknown values as "—").
    """
    def v(key: str) -> str:
        return f"{values[key]:.0f}" if values.get(key) is not None else "—"

    return (f"心率 {v('heart_rate_bpm')} 次/分   PR {v('pr_ms')} ms   QRS {v('qrs_ms')} ms   "
            f"QT/QTc {v('qt_ms')}/{v('qtc_bazett_ms')} ms   P/QRS/T 电轴 {v('p_axis_deg')}/{v('qrs_axis_deg')}/"
            f"{v('t_axis_deg')}°")


def _header_notes(doc: ReportDoc) -> list[str]:
    """The reader's own words, full width under the block: the family's explanation, then the comment."""
    s, r = strings("zh-CN"), doc.latest
    if r is None:
        raise ValueError("only a signed report is printed")
    texts = [(s["patient_explanation"], r.patient_explanation), (s["free_text"], r.free_text)]
    return [f"{label}：{line}" for label, text in texts for line in text.splitlines() if line.strip()]


def pdf_header(doc: ReportDoc, branding: Branding) -> TracingHeader:
    """Header of the printed report: logo, hospital and title, the patient block, the reader's notes."""
    return TracingHeader(title=branding.title, lines=tuple(_header_lines(doc)), notes=tuple(_header_notes(doc)),
                         organisation=branding.hub_name, logo_png=branding.logo_png(), continued="（续见下页）")


def signer_name(user: User) -> str:
    """How the signer is printed: display name and title (e.g. "李明 主任医师"), the login name only
    when the admin has set no display name."""
    return " ".join(x for x in (user.display_name or user.username, user.title) if x)


def display_high_hz(study: Study) -> float:
    """Upper edge of the printed band: 250 Hz for children (narrow, sharp QRS), 150 Hz from 18 years
    (AHA 2007, ``ecg.filters``); unknown age at a children's hospital counts as a child."""
    age = age_in_days(study.patient.birth_date, study.acquired_at)
    return ADULT_DISPLAY_HIGH_HZ if age is not None and age >= ADULT_DAYS else CHILD_DISPLAY_HIGH_HZ


#: Seconds read from the start for the printed page: its 10 s (250 mm at 25 mm/s) and the filter's
#: padding after them; the page is then the same as from the whole recording, which is never decoded.
PRINTED_READ_S = 10.0 + FILTER_PAD_S + 1.0


def _signals(blobs: BlobStore, study: Study) -> tuple[np.ndarray, float, tuple[str, ...]]:
    rec, _ = load_window(blobs, study.recording, 0.0, PRINTED_READ_S)
    return rec.signals, rec.fs, rec.leads


def _blob_keys(study: Study) -> tuple[tuple[str, str], ...]:
    return tuple((f.name, f.blob_key) for f in study.recording.files)


@lru_cache(maxsize=32)
def _png(blob_keys: tuple[tuple[str, str], ...], blobs: BlobStore, high_hz: float) -> bytes:
    rec, _ = load_window(blobs, blob_keys, 0.0, PRINTED_READ_S)
    return render_png(rec.signals, rec.fs, rec.leads, dpi=200, high_hz=high_hz)  # sharp when zoomed, ~60 KB


def tracing_png(blobs: BlobStore, study: Study) -> bytes:
    """The tracing image; cached per process by content (the original files never change)."""
    return _png(_blob_keys(study), blobs, display_high_hz(study))


@lru_cache(maxsize=32)
def _svg(blob_keys: tuple[tuple[str, str], ...], blobs: BlobStore, high_hz: float) -> SvgTracing:
    rec, _ = load_window(blobs, blob_keys, 0.0, PRINTED_READ_S)  # its first 10 s, as printed
    return tracing_svg(rec.signals, rec.fs, rec.leads, high_hz)


def tracing_svg_rows(blobs: BlobStore, study: Study) -> SvgTracing:
    """The phone page's vector tracing (25 mm/s, 10 mm/mV, the printed band); cached by content like the PNG."""
    return _svg(_blob_keys(study), blobs, display_high_hz(study))


def report_pdf(blobs: BlobStore, doc: ReportDoc, branding: Branding) -> bytes:
    signals, fs, leads = _signals(blobs, doc.study)
    return render_pdf(signals, fs, leads, pdf_header(doc, branding), high_hz=display_high_hz(doc.study))
