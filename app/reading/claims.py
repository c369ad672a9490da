"""Claims: exactly one reader per study, with a lease that lapses back to the queue.

Every function runs inside the caller's transaction and writes its audit
event there; the endpoint commits once.
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.orm import Session

from app.auth.principal import Principal
from app.notify.service import emit
from app.errors import Conflict, Forbidden, InvalidUpload, NotFound
from app.settings import Settings
from storage.models import Claim, ClaimOutcome, Role, Study, StudyStatus, User, utcnow_aware
from storage.repositories import AuditRepository, ReadingRepository, UserRepository


class InvalidRequest(InvalidUpload):
    type, title = "/problems/invalid-request", "Invalid request"


def _audit(session: Session, principal: Principal | None, action: str, claim: Claim, **detail: object) -> None:
    AuditRepository(session).add(
        actor=principal.actor if principal else "system:housekeeping",
        actor_site_id=principal.site_id if principal else None, action=action, object_type="study",
        object_id=str(claim.study_id), detail={"claim": claim.id, **detail},
    )


def expire_lapsed(session: Session, now: dt.datetime | None = None) -> int:
    """End every claim whose lease lapsed and put its study back in the queue."""
    now = now or utcnow_aware()
    repo = ReadingRepository(session)
    lapsed = repo.lapsed_claims(now)
    for claim in lapsed:
        repo.end_claim(claim, ClaimOutcome.expired, now)
        repo.requeue(claim.study_id)
        _audit(session, None, "claim.expired", claim, reader=claim.reader_id)
    return len(lapsed)


def _lease(settings: Settings) -> dt.timedelta:
    return dt.timedelta(minutes=settings.lease_minutes)


def claim_next(session: Session, principal: Principal, settings: Settings) -> Claim | None:
    """Claim the most urgent study this reader may read; None when the queue is empty for them."""
    expire_lapsed(session)
    repo = ReadingRepository(session)
    study = repo.lock_next(principal.id, principal.reader_pools)
    if study is None:
        return None
    claim = repo.open_claim(study, principal.id, utcnow_aware(), _lease(settings))
    _audit(session, principal, "claim.created", claim, via="next")
    return claim


def claim_study(session: Session, principal: Principal, settings: Settings, study_id: uuid.UUID) -> Claim:
    """Claim one named study, only if it is waiting and this reader may read it."""
    expire_lapsed(session)
    repo = ReadingRepository(session)
    study = repo.lock_study(study_id)
    if study is None or not repo.is_eligible(study_id, principal.id, principal.reader_pools):
        raise NotFound("no such study in your reading scope")
    if study.status == StudyStatus.in_read:
        mine = repo.open_claim_for_study(study_id)
        if mine is not None and mine.reader_id == principal.id:
            return mine
        raise Conflict("another reader is reading this study")
    if study.status != StudyStatus.awaiting_read:
        raise Conflict(f"the study is not waiting for a read (status: {study.status.value})")
    claim = repo.open_claim(study, principal.id, utcnow_aware(), _lease(settings))
    _audit(session, principal, "claim.created", claim, via="by_id")
    return claim


def own_open_claim(session: Session, principal: Principal, claim_id: int) -> Claim:
    """The caller's open claim with a live lease, or a 404/409 saying why not."""
    claim = ReadingRepository(session).get_claim(claim_id, lock=True)
    if claim is None or claim.reader_id != principal.id:
        raise NotFound("no such claim of yours")
    if claim.ended_at is not None:
        raise Conflict(f"this claim has ended ({claim.outcome.value if claim.outcome else 'ended'})")
    if claim.lease_until < utcnow_aware():
        raise Conflict("the lease on this study lapsed; claim it again")
    return claim


def renew(session: Session, principal: Principal, settings: Settings, claim_id: int) -> Claim:
    claim = own_open_claim(session, principal, claim_id)
    claim.lease_until = utcnow_aware() + _lease(settings)
    session.flush()
    return claim


def release(session: Session, principal: Principal, claim_id: int) -> Claim:
    claim = own_open_claim(session, principal, claim_id)
    repo = ReadingRepository(session)
    repo.end_claim(claim, ClaimOutcome.released, utcnow_aware())
    repo.requeue(claim.study_id)
    _audit(session, principal, "claim.released", claim)
    return claim


def reassign(session: Session, admin: Principal, settings: Settings, claim_id: int, reader_id: int) -> Claim:
    """Admin moves an open claim to another eligible reader (the study stays in read)."""
    if admin.role != Role.admin:
        raise Forbidden("only an admin can reassign")
    repo = ReadingRepository(session)
    claim = repo.get_claim(claim_id, lock=True)
    if claim is None or claim.ended_at is not None:
        raise NotFound("no such open claim")
    target: User | None = UserRepository(session).get(reader_id)
    if target is None or target.role != Role.reader or not target.active:
        raise InvalidRequest("reader_id is not an active reader")
    if not repo.is_eligible(claim.study_id, target.id, target.reader_pools or []):
        raise Conflict("that reader's pools or covered sites do not include this study")
    now = utcnow_aware()
    repo.end_claim(claim, ClaimOutcome.reassigned, now)
    study = session.get(Study, claim.study_id)
    new = repo.open_claim(study, target.id, now, _lease(settings))
    _audit(session, admin, "claim.reassigned", new, from_reader=claim.reader_id, to_reader=target.id)
    return new


def return_to_clinic(session: Session, principal: Principal, claim_id: int, reason: str) -> Claim:
    """The recording cannot be reported: send it back for re-recording, with the reason."""
    claim = own_open_claim(session, principal, claim_id)
    repo = ReadingRepository(session)
    repo.end_claim(claim, ClaimOutcome.returned, utcnow_aware())
    study = session.get(Study, claim.study_id)
    study.status = StudyStatus.returned
    study.status_reason = reason
    emit(session, study, "study.returned", reason=reason)
    _audit(session, principal, "study.returned", claim)
    session.flush()
    return claim
