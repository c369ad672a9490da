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
from app.reports.tracing import FILTER_PAD_S, TracingHeader, render_pdf, render_png
from app.uploads.schemas import LOCAL_TZ
from app.studies.recording import load_window
from ecg.criteria import ADULT_DAYS
from ecg.filters import ADULT_DISPLAY_HIGH_HZ, CHILD_DISPLAY_HIGH_HZ
from storage.blobs import BlobStore
from storage.models import Report, Study, StudyStatus, User
from storage.repositories import ReadingRepository, SiteRepository, UserRepository

_MEASURES = (("heart_rate_bpm", "heart_rate", "bpm"), ("pr_ms", "PR", "ms"), ("qrs_ms", "QRS", "ms"),
             ("qt_ms", "QT", "ms"), ("qtc_bazett_ms", "QTc (Bazett)", "ms"),
             ("qtc_fridericia_ms", "QTc (Fridericia)", "ms"), ("p_axis_deg", "P axis", "°"),
             ("qrs_axis_deg", "QRS axis", "°"), ("t_axis_deg", "T axis", "°"))


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


def load(session: Session, study: Study) -> ReportDoc:
    reports = ReadingRepository(session).reports(study.id)
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


def page_context(doc: ReportDoc, lang: str, base_url: str) -> dict[str, Any]:
    p, study = doc.study.patient, doc.study
    def version(r: Report) -> dict[str, Any]:
        return {"version": r.version, "statements": r.statements, "free_text": r.free_text,
                "amendment_reason": r.amendment_reason, "signed_at_local": local(r.signed_at)}
    return {
        "lang": lang, "s": strings(lang), "clinic": doc.clinic, "reader": doc.reader,
        "report": version(doc.latest) if doc.signed and doc.latest is not None else None,
        "history": [version(r) for r in doc.history],
        "status_text": status_text(doc, lang),
        "patient": {"name": p.name, "sex": p.sex.value, "id": p.external_id,
                    "age": age_text(age_in_days(p.birth_date, study.acquired_at), lang)},
        "acquired": local(study.acquired_at), "measurements": measurements(doc, lang),
        "png_url": f"{base_url}/ecg.png", "pdf_url": f"{base_url}/report.pdf", "png_height": 720,
    }


def pdf_header(doc: ReportDoc) -> TracingHeader:
    """Header lines of the printed report: patient, clinic, interpretation, measurements, signature."""
    ctx = page_context(doc, "zh-CN", "")
    r, pt = doc.latest, ctx["patient"]
    if r is None:
        raise ValueError("only a signed report is printed")
    lines = [
        f"{pt['name']}  {strings('zh-CN')['sex_' + pt['sex']]}  {pt['age']}  ID {pt['id']}   "
        f"{doc.clinic}   检查时间 {ctx['acquired']}",
        "诊断意见: " + "；".join(f"{s['zh']} {s['en']}" for s in r.statements),
    ]
    if r.free_text:
        lines.append(r.free_text)
    lines.append("  ".join(f"{label} {value}" for label, value in ctx["measurements"]))
    signed = f"报告医师 {doc.reader}   签发 {local(r.signed_at)}   版本 {r.version}"
    if r.amendment_reason:
        signed += f"   更正原因: {r.amendment_reason}"
    lines.append(signed)
    return TracingHeader(title="心电图报告 ECG report", lines=tuple(lines))


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


@lru_cache(maxsize=32)
def _png(blob_keys: tuple[tuple[str, str], ...], blobs: BlobStore, high_hz: float) -> bytes:
    rec, _ = load_window(blobs, blob_keys, 0.0, PRINTED_READ_S)
    return render_png(rec.signals, rec.fs, rec.leads, dpi=200, high_hz=high_hz)  # sharp when zoomed, ~60 KB


def tracing_png(blobs: BlobStore, study: Study) -> bytes:
    """The tracing image; cached per process by content (the original files never change)."""
    return _png(tuple((f.name, f.blob_key) for f in study.recording.files), blobs, display_high_hz(study))


def report_pdf(blobs: BlobStore, doc: ReportDoc) -> bytes:
    signals, fs, leads = _signals(blobs, doc.study)
    return render_pdf(signals, fs, leads, pdf_header(doc), high_hz=display_high_hz(doc.study))
