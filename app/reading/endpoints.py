"""/api/v1/reader/...: the reading queue for cardiologists; /api/v1/admin/claims/... reassignment."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from app.params import RowId
from app.observability import CLAIM_SECONDS
from app.deps import AdminOnly, CtxDep, ReaderOnly, SessionDep
from app.reading import claims, reports, views
from app.reading.lexicon import lexicon
from app.reading.schemas import AmendIn, ClaimOut, ReassignIn, ReportOut, ReturnIn, SignIn, Worklist
from storage.repositories import ReadingRepository

router = APIRouter(prefix="/api/v1", tags=["reading queue"])


@contextmanager
def _keeping_revocation(session: Session) -> Iterator[None]:
    """A claim found outside the reader's scope is ended: commit that ending, then answer 403."""
    try:
        yield
    except claims.ClaimOutOfScope:
        session.commit()  # order: the ending must persist although the answer is an error
        raise


@router.get("/reader/worklist", response_model=Worklist)
def get_worklist(session: SessionDep, reader: ReaderOnly,
                 limit: Annotated[int, Query(ge=1, le=500)] = 100) -> Worklist:
    """Studies this reader may read, stat > urgent > routine then earliest due; overdue first."""
    return views.worklist(session, reader, limit)


@router.post("/reader/next", response_model=dict[str, Any],
             responses={200: {"description": "claimed"}, 204: {"description": "queue empty"}})
def next_study(ctx: CtxDep, session: SessionDep, reader: ReaderOnly) -> Any:
    """Claim the most urgent eligible study, with a lease; returns the reading bundle.

    The claim (with its claim.created and study.read audit events) is one statement; the
    bundle is built from what it returned (on PostgreSQL the analysis and priors too).
    With a response model pydantic serialises the bundle: without one the bundle goes
    through ``jsonable_encoder``, ~40 ms for a bundle with median beats (15x slower)."""
    started = time.perf_counter()
    claimed = claims.claim_next(session, reader, ctx.settings)
    CLAIM_SECONDS.observe(time.perf_counter() - started)
    if claimed is None:
        session.rollback()  # nothing was written
        return Response(status_code=204)
    return views.claimed_bundle(session, claimed)


@router.post("/reader/studies/{study_id}/claim")
def claim_study(study_id: uuid.UUID, ctx: CtxDep, session: SessionDep, reader: ReaderOnly) -> dict[str, Any]:
    """Claim this study (only if it is waiting and in your scope)."""
    claim = claims.claim_study(session, reader, ctx.settings, study_id)
    study = views.readable_study(session, reader, study_id, "study.read")
    return views.bundle(session, reader, study, claim)


@router.get("/reader/studies/{study_id}")
def get_study(study_id: uuid.UUID, session: SessionDep, reader: ReaderOnly) -> dict[str, Any]:
    """The reading bundle: patient age and sex, indication, urgency, analysis, reports, priors."""
    study = views.readable_study(session, reader, study_id, "study.read")
    open_claim = ReadingRepository(session).open_claim_for_study(study_id)
    return views.bundle(session, reader, study, open_claim if open_claim and open_claim.reader_id == reader.id else None)


@router.get("/reader/studies/{study_id}/waveform")
def get_waveform(
    study_id: uuid.UUID, ctx: CtxDep, session: SessionDep, reader: ReaderOnly,
    start_s: Annotated[float, Query(ge=0)] = 0.0,
    duration_s: Annotated[float, Query(gt=0, le=60)] = 10.0,
    fs: Annotated[float, Query(ge=50, le=1000)] = 250.0,
    filtered: bool = True,
    hp: Annotated[float | None, Query(description="high-pass Hz: 0.05 or 0.5; 0 for none")] = None,
    lp: Annotated[float | None, Query(description="low-pass Hz: 40, 100 or 150; 0 for none")] = None,
    notch: Annotated[bool | None, Query(description="mains notch (ECGHUB_MAINS_HZ) on or off")] = None,
) -> dict[str, Any]:
    """Leads in integer microvolts, downsampled to ``fs`` Hz, for a viewer (window of at most 60 s).

    Filters: ``hp``/``lp``/``notch`` as the reader chose (any one given: the others default to
    off); otherwise ``filtered`` (0.5-40 Hz and the notch) or raw."""
    band = views.viewer_band(hp, lp, notch, ctx.settings.mains_hz)
    study = views.readable_study(session, reader, study_id, "study.waveform_read")
    _ = study.recording.files  # loaded inside this transaction, not lazily after the commit
    session.commit()  # order: end the transaction before the samples are read and filtered
    return views.waveform(ctx.blobs, study, start_s, duration_s, fs, filtered, band)


@router.post("/reader/claims/{claim_id}/renew", response_model=ClaimOut)
def renew(claim_id: RowId, ctx: CtxDep, session: SessionDep, reader: ReaderOnly) -> ClaimOut:
    with _keeping_revocation(session):
        out = views.claim_out(claims.renew(session, reader, ctx.settings, claim_id))
    return out


@router.post("/reader/claims/{claim_id}/release", response_model=ClaimOut)
def release(claim_id: RowId, session: SessionDep, reader: ReaderOnly) -> ClaimOut:
    with _keeping_revocation(session):
        out = views.claim_out(claims.release(session, reader, claim_id))
    return out


@router.post("/reader/claims/{claim_id}/return", response_model=ClaimOut)
def return_to_clinic(claim_id: RowId, body: ReturnIn, session: SessionDep, reader: ReaderOnly) -> ClaimOut:
    """Send the study back to the clinic for re-recording, with the reason they will see."""
    with _keeping_revocation(session):
        out = views.claim_out(claims.return_to_clinic(session, reader, claim_id, body.reason))
    return out


@router.post("/reader/claims/{claim_id}/sign", response_model=ReportOut, status_code=201)
def sign(claim_id: RowId, body: SignIn, session: SessionDep, reader: ReaderOnly) -> ReportOut:
    """Sign: statements from the lexicon, free text, confirmed measurements. Signed versions never change."""
    with _keeping_revocation(session):
        report = reports.sign(session, reader, claim_id, body)
    return views.reports_out(ReadingRepository(session).reports(report.study_id))[0]


@router.post("/reader/studies/{study_id}/amend", response_model=ReportOut, status_code=201)
def amend(study_id: uuid.UUID, body: AmendIn, session: SessionDep, reader: ReaderOnly) -> ReportOut:
    """A new signed version with a reason; earlier versions stay readable."""
    report = reports.amend(session, reader, study_id, body)
    return views.reports_out(ReadingRepository(session).reports(report.study_id))[0]


@router.get("/reader/lexicon")
def get_lexicon(_: ReaderOnly) -> list[dict[str, str]]:
    return [s.__dict__ for s in lexicon().values()]


@router.post("/admin/claims/{claim_id}/reassign", response_model=ClaimOut)
def reassign(claim_id: RowId, body: ReassignIn, ctx: CtxDep, session: SessionDep, admin: AdminOnly) -> ClaimOut:
    return views.claim_out(claims.reassign(session, admin, ctx.settings, claim_id, body.reader_id))
