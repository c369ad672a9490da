"""/api/v1/reader/studies/{id}/beats: what the reading workstation's viewer needs beyond the waveform.

The per-lead median beat (integer µV at ``MEDIAN_FS`` Hz), its global fiducials
in ms from the start of the median beat, every detected beat with a label, and the
per-lead amplitude table (R, S, ST at J and J + 60 ms, mV; ``lead_table``).
Computed on request from the analysed part of the original recording (``analysed_seconds``: the
pipeline's window, so a long recording costs the same as 10 min) and the stored R peaks with
``ecg.measure.measure_detail`` (the same function the pipeline uses, so the
fiducials are the ones behind the machine's PR/QRS/QT).

Beat labels say what the library can tell, no more:

* ``N``: on time (RR >= 80 % of the local median) and a QRS like the dominant one
  (correlation >= 0.85): the beats the median beat is built from;
* ``P``: premature (RR < 80 % of the local median) with the dominant QRS shape:
  usually a supraventricular premature beat, not proven to be one;
* ``V``: another QRS shape AND early (RR < 92 % of the local median): probably
  ventricular (on MIT-BIH 79 % of these are annotated V);
* ``X``: another QRS shape, not early (aberrant, artefact, escape; not classified);
* ``?``: too close to the recording's edge to be compared.
"""

from __future__ import annotations

import uuid
from fractions import Fraction
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Query
from scipy import signal as sps

from app.analysis.service import age_in_days, analysed_seconds
from app.deps import CtxDep, ReaderOnly, SessionDep
from app.errors import NotFound
from app.reading import views
from app.studies.recording import load_window
from ecg.beats import detect_r_peaks
from ecg.leadwaves import LeadWaves, lead_waves
from ecg.measure import (
    MORPH_CORR_MIN,
    BeatTable,
    MeasureDetail,
    MedianBeat,
    measure_detail,
)
from ecg.st import stt_profile
from ecg.version import PIPELINE_VERSION
from storage.blobs import BlobStore
from storage.models import Study
from storage.repositories import AuditRepository, ReadingRepository, StudyRepository

router = APIRouter(prefix="/api/v1", tags=["reading queue"])

#: Sampling rate (Hz) of the median beats sent to the viewer.
MEDIAN_FS = 500.0
LABELS = {
    "N": "on time, dominant QRS shape",
    "P": "premature (RR < 80 % of local median), dominant QRS shape",
    "V": "different QRS shape and early (RR < 92 % of local median): probably ventricular",
    "X": "different QRS shape, not early: not classified",
    "?": "too near the recording's edge to classify",
}
_FIDUCIALS = ("p_on", "p_off", "qrs_on", "qrs_off", "t_end")


@router.get("/reader/studies/{study_id}/beats")
def get_beats(study_id: uuid.UUID, ctx: CtxDep, session: SessionDep, reader: ReaderOnly) -> dict[str, Any]:
    """Median beat per lead (µV at 500 Hz), fiducials (ms from the median beat's start), labelled beats."""
    study = views.readable_study(session, reader, study_id, "study.beats_read")
    analysis = StudyRepository(session).latest_analysis(study.id)
    session.commit()  # order: end the transaction before the beat view is computed (tens of ms to seconds)
    if analysis is None:
        raise NotFound("this study has no analysis yet")
    return beat_view(ctx.blobs, study, analysis.result, ctx.settings.mains_hz)


@router.get("/reader/recent")
def get_recent(session: SessionDep, reader: ReaderOnly,
               limit: Annotated[int, Query(ge=1, le=100)] = 20) -> list[dict[str, Any]]:
    """Signed studies in your reading scope whose latest report version is yours, most recent first.

    The entry point for amending from the workstation; the list shows patients' names, so it is audited.
    """
    rows = ReadingRepository(session).recently_signed_by(reader.id, reader.reader_pools, limit)
    AuditRepository(session).add(actor=reader.actor, actor_site_id=reader.site_id, action="study.recent_list",
                                 object_type="reader", object_id=str(reader.id),
                                 detail={"studies": [str(study.id) for study, _ in rows]})
    out = [{"study_id": str(study.id), "status": study.status.value, "priority": study.priority.value,
            "acquired_at": study.acquired_at.isoformat(), "patient_name": study.patient.name,
            "age_days": age_in_days(study.patient.birth_date, study.acquired_at),
            "version": report.version, "signed_at": report.signed_at.isoformat(),
            "link": f"/api/v1/reader/studies/{study.id}"} for study, report in rows]
    return out


def beat_view(blobs: BlobStore, study: Study, result: dict[str, Any], mains_hz: float) -> dict[str, Any]:
    """The viewer's beat data for one study (see the module doc for labels and units)."""
    # The part the pipeline analysed (its stored R peaks are there): a 4 h record's first 10 min, not 4 h.
    rec, _ = load_window(blobs, study.recording, 0.0, analysed_seconds(study.recording))
    fs = float(rec.fs)
    usable = usable_leads(result, rec.leads)
    x = np.nan_to_num(rec.signals[:, usable], copy=False)  # one copy (the column pick), cleaned in place
    leads = tuple(rec.leads[i] for i in usable)
    del rec  # the analysed window is 29 MB for 12 leads: not held twice while measuring
    r_peaks = np.asarray(result.get("r_peaks") or [], dtype=np.int64)
    if len(r_peaks) == 0 and usable and result.get("quality", {}).get("verdict") != "unreadable":
        r_peaks = detect_r_peaks(x, fs)
    detail = measure_detail(x, fs, leads, r_peaks, mains_hz=mains_hz) if usable else None
    return {
        "fs": fs,
        "pipeline_version": PIPELINE_VERSION,
        "analysis_pipeline_version": result.get("pipeline_version"),
        "label_meaning": LABELS,
        "beats": beat_list(detail.beats, fs) if detail else [],
        "rr_mean_ms": mean_rr_ms(r_peaks, fs),
        "median": median_out(detail.median) if detail and detail.median else None,
        "median_missing": None if detail and detail.median else _why_no_median(detail),
        "lead_table": lead_table(detail) if detail and detail.median else [],
    }


def lead_table(detail: MeasureDetail) -> list[dict[str, Any]]:
    """Per lead of the median beat: R and S amplitudes and the ST level, mV, against the PR baseline.

    ``r_mv``: the tallest R-type wave (R or R') above the baseline; ``s_mv``: the deepest S-type
    wave (S or S') as a depth below it (>= 0; for a wholly negative QS complex its depth), both
    from ``ecg.leadwaves`` (the waves a reader names, ``pattern`` e.g. "qRs", "QS"); ``st_j_mv`` / ``st_j60_mv``: the ST level at the lead's own J
    point and 60 ms after it (``ecg.st.stt_profile``; None where the beat window is too short).
    """
    mb = detail.median
    waves = lead_waves(mb) if mb is not None else {}
    profile = stt_profile(detail)
    rows = []
    for name in (mb.leads if mb is not None else ()):
        w, p = waves.get(name), profile.get(name)
        rows.append({
            "lead": name, "pattern": w.pattern if w else "",
            "r_mv": round(w.r_max_mv, 3) if w else None, "s_mv": round(_negative_depth(w), 3) if w else None,
            "st_j_mv": p.st[0] if p else None, "st_j60_mv": p.st[60] if p else None,
        })
    return rows


def usable_leads(result: dict[str, Any], leads: tuple[str, ...]) -> list[int]:
    """Indices of the leads the pipeline measured on (verdict not "unreadable")."""
    bad = {q["lead"] for q in result.get("quality", {}).get("leads", []) if q.get("verdict") == "unreadable"}
    return [i for i, name in enumerate(leads) if name not in bad]


def mean_rr_ms(r_peaks: np.ndarray, fs: float) -> float | None:
    """Mean RR (ms) of all beats: the RR the machine's heart rate and QTc use."""
    if len(r_peaks) < 2:
        return None
    return round(float(np.mean(np.diff(np.sort(r_peaks)))) * 1000.0 / fs, 1)


def beat_label(premature: bool, corr: float, ventricular: bool) -> str:
    """One beat's label from the library's facts (see module doc)."""
    if not np.isfinite(corr):
        return "?"
    if ventricular:
        return "V"
    if corr < MORPH_CORR_MIN:
        return "X"
    return "P" if premature else "N"


def beat_list(tab: BeatTable, fs: float) -> list[dict[str, Any]]:
    """Every detected beat: R time (ms from the recording's start), RR ending there (ms), label."""
    vent = tab.ventricular if tab.ventricular is not None else np.zeros(len(tab.r_peaks), dtype=bool)
    out = []
    for i, r in enumerate(tab.r_peaks):
        corr = float(tab.morph_corr[i])
        rr = float(tab.rr_ms[i])
        out.append({"t_ms": round(float(r) * 1000.0 / fs, 1), "rr_ms": round(rr, 1) if np.isfinite(rr) else None,
                    "label": beat_label(bool(tab.premature[i]), corr, bool(vent[i])),
                    "qrs_corr": round(corr, 3) if np.isfinite(corr) else None})
    return out


def resample_to(beat: np.ndarray, fs: float, fs_out: float) -> np.ndarray:
    """(samples, leads) resampled from ``fs`` to ``fs_out`` Hz (polyphase, zero-phase)."""
    if abs(fs - fs_out) < 1e-9:
        return beat
    f = Fraction(fs_out / fs).limit_denominator(200)
    return sps.resample_poly(beat, f.numerator, f.denominator, axis=0, padtype="line")


def median_out(mb: MedianBeat) -> dict[str, Any]:
    """Median beats as integer µV at ``MEDIAN_FS``; fiducials and R in ms from the beat's start."""
    beat = resample_to(mb.beat, mb.fs, MEDIAN_FS)
    uv = np.round(beat * 1000.0).astype(np.int32)
    to_ms = 1000.0 / mb.fs
    fid = {k: (None if getattr(mb.fiducials, k) is None else round(getattr(mb.fiducials, k) * to_ms, 1))
           for k in _FIDUCIALS}
    return {"fs": MEDIAN_FS, "units": "uV", "duration_ms": round(len(mb.beat) * to_ms, 1),
            "r_ms": round(mb.r_index * to_ms, 1), "n_beats": mb.n_beats, "fiducials_ms": fid,
            "leads": {name: uv[:, i].tolist() for i, name in enumerate(mb.leads)}}


def _negative_depth(w: LeadWaves) -> float:
    """The S column: the deepest S or S' (mV, depth); a QS complex's depth (``ecg.leadwaves`` keeps it as Q)."""
    return w.q_mv if w.qs else w.s_max_mv


def _why_no_median(detail: MeasureDetail | None) -> str:
    if detail is None:
        return "no readable lead"
    return detail.measurements.missing.get("qrs_ms") or "no median beat"
