"""What a reader sees: the worklist, the reading bundle of one study, its waveform and priors."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import signal as sps
from sqlalchemy.orm import Session

from app.analysis.service import age_in_days
from app.auth.principal import Principal
from app.errors import NotFound
from app.errors import InvalidRequest
from app.reading.schemas import ClaimOut, ReportOut, StatementOut, Worklist, WorklistItem
from ecg.filters import MAINS_HZ, VIEWER_HIGHPASS_HZ, VIEWER_LOWPASS_HZ, clean
from ecg.filters import viewer as viewer_filter
from app.studies.recording import load_window
from storage.blobs import BlobStore
from storage.models import Claim, Report, Site, Study, StudyStatus, utcnow_aware
from storage.repositories import AuditRepository, ReadingRepository, StudyRepository
from storage.repositories.reading import ClaimedStudy


def claim_out(c: Claim) -> ClaimOut:
    return ClaimOut(id=c.id, study_id=c.study_id, reader_id=c.reader_id, claimed_at=c.claimed_at,
                    lease_until=c.lease_until, ended_at=c.ended_at, outcome=c.outcome.value if c.outcome else None)


def report_out(r: Report, by_id: dict[int, Report]) -> ReportOut:
    sup = by_id.get(r.supersedes_id) if r.supersedes_id else None
    return ReportOut(
        version=r.version, author_id=r.author_id, signed_at=r.signed_at,
        statements=[StatementOut(**{k: s[k] for k in ("code", "zh", "en", "severity")}) for s in r.statements],
        free_text=r.free_text, measurements=r.measurements.get("values", {}),
        edited_measurements=r.measurements.get("edited", []), supersedes_version=sup.version if sup else None,
        amendment_reason=r.amendment_reason, patient_explanation=r.patient_explanation,
    )


def reports_out(reports: list[Report]) -> list[ReportOut]:
    by_id = {r.id: r for r in reports}
    return [report_out(r, by_id) for r in reports]


def worklist(session: Session, principal: Principal, limit: int) -> Worklist:
    """The reader's queue rows (patient, clinic, indication, waiting time), counts and own open claims."""
    repo = ReadingRepository(session)
    now = utcnow_aware()
    rows = repo.worklist(principal.id, principal.reader_pools, limit)
    items = [WorklistItem(
        study_id=s.id, site_id=s.site_id, site_name=site_name, patient_name=s.patient.name,
        patient_sex=s.patient.sex.value, priority=s.priority.value, due_at=s.due_at,
        overdue=bool(s.due_at and s.due_at < now), received_at=s.received_at,
        waiting_s=max(0, int((now - s.received_at).total_seconds())),
        pool=s.pool.value if s.pool else None, age_days=age_in_days(s.patient.birth_date, s.acquired_at),
        indication=s.indication, clinic_urgency=s.clinic_urgency.value,
    ) for s, site_name in rows]
    items.sort(key=lambda i: not i.overdue)  # overdue first, order otherwise kept
    if items:  # the rows name patients, so who saw which is on record (as for the recent list)
        AuditRepository(session).add(actor=principal.actor, actor_site_id=principal.site_id,
                                     action="study.worklist", object_type="reader", object_id=str(principal.id),
                                     detail={"studies": [str(i.study_id) for i in items]})
    counts = {"stat": 0, "urgent": 0, "routine": 0, "overdue": 0}
    counts.update(repo.counts_by_priority(principal.id, principal.reader_pools, now))
    mine = [claim_out(c) for c in repo.open_claims_of(principal.id)]
    return Worklist(counts=counts, items=items, my_claims=mine)


def queue_depth(session: Session) -> dict[str, int]:
    """Studies waiting for a read, by priority (for metrics)."""
    return ReadingRepository(session).depth_by_priority()


def readable_study(session: Session, principal: Principal, study_id: uuid.UUID, action: str) -> Study:
    """A study within the reader's scope (pool and covered site), audited; else 404."""
    repo = ReadingRepository(session)
    study = StudyRepository(session).get(study_id)
    if study is None or not repo.is_eligible(study_id, principal.id, principal.reader_pools):
        raise NotFound("no such study in your reading scope")
    audit_read(session, principal, study, action)
    return study


def audit_read(session: Session, principal: Principal, study: Study, action: str = "study.read") -> None:
    AuditRepository(session).add(actor=principal.actor, actor_site_id=principal.site_id, action=action,
                                 object_type="study", object_id=str(study.id))


def bundle(session: Session, principal: Principal, study: Study, claim: Claim | None) -> dict[str, Any]:
    """Everything needed to read the study, in one response (from a loaded study)."""
    p, rec = study.patient, study.recording
    return _bundle(
        session, study.id, study.patient_id, study.acquired_at,
        claim=claim_out(claim).model_dump(mode="json") if claim else None,
        study_json=_study_json(study.id, study.site_id, study.status.value, study.priority.value, study.due_at,
                               study.received_at, study.acquired_at, study.indication, study.clinic_urgency.value,
                               study.pool.value if study.pool else None),
        patient_json=_patient_json(p.name, p.sex.value, p.birth_date, study.acquired_at, p.external_id),
        recording_json={"format": rec.format, "fs_hz": rec.fs_hz, "leads": rec.leads, "duration_s": rec.duration_s},
        site_json={"id": study.site_id, "name": _site_name(session, study.site_id)},
    )


def claimed_bundle(session: Session, c: ClaimedStudy) -> dict[str, Any]:
    """The reading bundle of a study just claimed, from the claiming statement's result (no reload)."""
    claim = ClaimOut(id=c.claim_id, study_id=c.study_id, reader_id=c.reader_id, claimed_at=c.claimed_at,
                     lease_until=c.lease_until, ended_at=None, outcome=None)
    return _bundle(
        session, c.study_id, c.patient_id, c.acquired_at, preloaded=c if c.preloaded else None,
        claim=claim.model_dump(mode="json"),
        study_json=_study_json(c.study_id, c.site_id, c.status, c.priority, c.due_at, c.received_at, c.acquired_at,
                               c.indication, c.clinic_urgency, c.pool),
        patient_json=_patient_json(c.patient_name, c.patient_sex, c.birth_date, c.acquired_at, c.patient_external_id),
        recording_json={"format": c.rec_format, "fs_hz": c.fs_hz, "leads": c.leads, "duration_s": c.duration_s},
        site_json={"id": c.site_id, "name": c.site_name},
    )


def _study_json(study_id: uuid.UUID, site_id: int, status: str, priority: str, due_at: dt.datetime | None,
                received_at: dt.datetime, acquired_at: dt.datetime, indication: str, clinic_urgency: str,
                pool: str | None) -> dict[str, Any]:
    return {"id": str(study_id), "site_id": site_id, "status": status, "priority": priority,
            "due_at": due_at.isoformat() if due_at else None, "received_at": received_at.isoformat(),
            "acquired_at": acquired_at.isoformat(), "indication": indication, "clinic_urgency": clinic_urgency,
            "pool": pool}


def _patient_json(name: str, sex: str, birth_date: dt.date | None, acquired_at: dt.datetime,
                  external_id: str) -> dict[str, Any]:
    """The patient as the reader sees them; ``id`` is the clinic's own patient id."""
    return {"name": name, "sex": sex, "birth_date": birth_date.isoformat() if birth_date else None,
            "age_days": age_in_days(birth_date, acquired_at), "id": external_id}


def _site_name(session: Session, site_id: int) -> str:
    site = session.get(Site, site_id)
    return site.name if site else ""


def _bundle(session: Session, study_id: uuid.UUID, patient_id: int, acquired_at: dt.datetime, *,
            claim: dict[str, Any] | None, study_json: dict[str, Any], patient_json: dict[str, Any],
            recording_json: dict[str, Any], site_json: dict[str, Any],
            preloaded: ClaimedStudy | None = None) -> dict[str, Any]:
    """The bundle's common part: analysis (R peaks as a count), signed reports, priors, links.

    ``preloaded``: what the PostgreSQL claim statement already returned, so no query here
    unless the study has signed reports (rare for a study waiting in the queue).
    """
    repo = ReadingRepository(session)
    if preloaded is not None:
        result = dict(preloaded.analysis) if preloaded.analysis is not None else None
        if result is not None:
            result["beats"] = preloaded.beats
        priors = [(i, at, StudyStatus(st)) for i, at, st in preloaded.priors or []]
        reports = repo.reports(study_id) if preloaded.has_reports else []
    else:
        result = repo.analysis_result(study_id)
        if result is not None:
            result = dict(result)
            result["beats"] = len(result.pop("r_peaks", []))
        priors = repo.prior_studies_of(patient_id, study_id, acquired_at)
        reports = repo.reports(study_id)
    base = f"/api/v1/reader/studies/{study_id}"
    return {
        "claim": claim,
        "study": study_json,
        "patient": patient_json,
        "site": site_json,
        "recording": recording_json,
        "analysis": result,
        "reports": [r.model_dump(mode="json") for r in reports_out(reports)],
        "priors": [{"id": str(pid), "acquired_at": at.isoformat(), "status": status.value,
                    "link": f"/api/v1/reader/studies/{pid}"} for pid, at, status in priors],
        "links": {"self": base, "waveform": f"{base}/waveform", "beats": f"{base}/beats",  # median beats, R/S/ST table
                  "claim": f"{base}/claim"},
    }


@dataclass(frozen=True)
class ViewerBand:
    """The reader's filter choice (Hz; None: that stage off)."""

    highpass_hz: float | None
    lowpass_hz: float | None
    notch_hz: float | None


def _choice(name: str, value: float | None, allowed: tuple[float, ...]) -> float | None:
    if value is None or value == 0:
        return None
    if value not in allowed:
        raise InvalidRequest(f"{name} must be one of {', '.join(f'{v:g}' for v in allowed)} (Hz) or 0 for none")
    return float(value)


def viewer_band(hp: float | None, lp: float | None, notch: bool | None, mains_hz: float) -> ViewerBand | None:
    """The filter choice from the waveform query (None when none of hp, lp, notch was given); 422 on others."""
    if hp is None and lp is None and notch is None:
        return None
    return ViewerBand(_choice("hp", hp, VIEWER_HIGHPASS_HZ), _choice("lp", lp, VIEWER_LOWPASS_HZ),
                      mains_hz if notch else None)


def waveform(blobs: BlobStore, study: Study, start_s: float, duration_s: float, fs_out: float,
             filtered: bool, band: ViewerBand | None = None) -> dict[str, Any]:
    """Leads as integer microvolts at ``fs_out`` Hz over [start_s, start_s + duration_s) s.

    ``band`` (the reader's choice) wins over ``filtered`` (0.5-40 Hz with the notch, or raw)."""
    if start_s >= study.recording.duration_s:
        raise InvalidRequest(f"start_s is past the end of the recording ({study.recording.duration_s:.1f} s)")
    rec, _ = load_window(blobs, study.recording, start_s, duration_s)  # only the window is decoded
    a = int(start_s * rec.fs)
    x = rec.signals
    if band is not None:
        x = viewer_filter(x, rec.fs, band.highpass_hz, band.lowpass_hz, band.notch_hz)
    elif filtered:
        x = clean(x, rec.fs)
    fs_out = min(fs_out, rec.fs)
    if fs_out < rec.fs:
        up, down = _ratio(fs_out, rec.fs)
        x = sps.resample_poly(x, up, down, axis=0)
        fs_out = rec.fs * up / down
    uv = np.round(np.nan_to_num(x) * 1000.0).astype(np.int32)
    shown = band if band is not None else ViewerBand(0.5, 40.0, MAINS_HZ) if filtered else ViewerBand(None, None, None)
    lowpass = None if shown.lowpass_hz is None else min(shown.lowpass_hz, 0.45 * rec.fs)
    return {"fs": fs_out, "start_s": a / rec.fs, "duration_s": uv.shape[0] / fs_out, "units": "uV",
            "filtered": band is not None or filtered,
            "filter": {"highpass_hz": shown.highpass_hz, "lowpass_hz": lowpass, "notch_hz": shown.notch_hz},
            "leads": {name: uv[:, i].tolist() for i, name in enumerate(rec.leads)}}


def _ratio(fs_out: float, fs_in: float) -> tuple[int, int]:
    from fractions import Fraction

    f = Fraction(fs_out / fs_in).limit_denominator(100)
    return f.numerator, f.denominator
