"""Claims: exactly one reader per study, with a lease that lapses back to the queue.

Every function runs inside the caller's transaction and writes its audit
event there; the endpoint commits once. Lapsed leases are ended by the
housekeeper (``expire_lapsed``), not on every claim: a claim costs one statement
on PostgreSQL. Renew, release, return and sign re-check that the reader still
covers the study's site and pool; a claim that fell out of scope ends there
(``ClaimOutOfScope``, whose ending the endpoint commits before answering 403).
"""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy.orm import Session

from app.auth.principal import Principal
from app.notify.service import announce_queued, emit
from app.errors import Conflict, Forbidden, InvalidRequest, NotFound
from app.settings import Settings
from storage.models import Claim, ClaimOutcome, Role, Study, StudyStatus, User, utcnow_aware
from storage.models.lifecycle import move
from storage.repositories import AuditRepository, ReadingRepository, UserRepository
from storage.repositories.reading import ClaimedStudy


class ClaimOutOfScope(Forbidden):
    """The reader no longer covers the study's site or pool: the claim has been ended (revoked).

    Raised after the ending is flushed; the endpoint commits it before answering, so the
    study is back in the queue for readers who do cover it.
    """

    type, title = "/problems/claim-out-of-scope", "Claim ended: study outside your reading scope"


def _audit(session: Session, principal: Principal | None, action: str, claim: Claim, **detail: object) -> None:
    AuditRepository(session).add(
        actor=principal.actor if principal else "system:housekeeping",
        actor_site_id=principal.site_id if principal else None, action=action, object_type="study",
        object_id=str(claim.study_id), detail={"claim": claim.id, **detail},
    )


def expire_lapsed(session: Session, now: dt.datetime | None = None) -> int:
    """End every claim whose lease lapsed and put its study back in the queue (the housekeeper's job).

    Reads open claims through the partial index ``ix_claims_open_lease``.
    """
    now = now or utcnow_aware()
    lapsed = ReadingRepository(session).lapsed_claims(now)
    for claim in lapsed:
        _expire(session, claim, now)
    return len(lapsed)


def _requeue(session: Session, claim: Claim) -> None:
    """Put the claim's study back in the queue and tell the readers' live stream."""
    if ReadingRepository(session).requeue(claim.study_id):
        study = session.get(Study, claim.study_id)
        if study is not None:
            announce_queued(session, study, "requeued")


def _expire(session: Session, claim: Claim, now: dt.datetime) -> None:
    ReadingRepository(session).end_claim(claim, ClaimOutcome.expired, now)
    _requeue(session, claim)
    _audit(session, None, "claim.expired", claim, reader=claim.reader_id)


def revoke(session: Session, claim: Claim, actor: Principal | None, reason: str) -> None:
    """End an open claim the reader may no longer hold and put the study back in the queue."""
    ReadingRepository(session).end_claim(claim, ClaimOutcome.revoked, utcnow_aware())
    _requeue(session, claim)
    _audit(session, actor, "claim.revoked", claim, reader=claim.reader_id, reason=reason)


def end_claims_outside_scope(session: Session, actor: Principal, reader_id: int) -> int:
    """After a coverage change: end the reader's open claims on sites or pools they no longer cover."""
    user = UserRepository(session).get(reader_id)
    pools = (user.reader_pools or []) if user is not None else []
    out = ReadingRepository(session).open_claims_outside_scope(reader_id, pools)
    for claim in out:
        revoke(session, claim, actor, "coverage")
    return len(out)


def end_claims_of(session: Session, actor: Principal, reader_id: int, reason: str) -> int:
    """End every open claim of a reader (the account is being disabled)."""
    held = ReadingRepository(session).open_claims_of(reader_id)
    for claim in held:
        locked = ReadingRepository(session).get_claim(claim.id, lock=True)
        if locked is not None and locked.ended_at is None:
            revoke(session, locked, actor, reason)
    return len(held)


def _lease(settings: Settings) -> dt.timedelta:
    return dt.timedelta(minutes=settings.lease_minutes)


def claim_next(session: Session, principal: Principal, settings: Settings) -> ClaimedStudy | None:
    """Claim the most urgent study this reader may read; None when the queue is empty for them.

    The claim, the study's status and the audit events (claim.created, study.read) are
    written by one statement that also returns what the reading bundle shows. A study this
    reader put back (released) within ``putback_skip_minutes`` comes last: it is handed out
    again only when no other eligible study is waiting.
    """
    now = utcnow_aware()
    return ReadingRepository(session).claim_next(
        principal.id, principal.reader_pools, now, _lease(settings), principal.actor, principal.site_id,
        put_back_since=now - dt.timedelta(minutes=settings.putback_skip_minutes))


def claim_study(session: Session, principal: Principal, settings: Settings, study_id: uuid.UUID) -> Claim:
    """Claim one named study, only if it is waiting and this reader may read it.

    A lapsed lease on this one study is ended here (the housekeeper may not have
    run yet); other lapsed leases are left to the housekeeper.
    """
    repo = ReadingRepository(session)
    study = repo.lock_study(study_id)
    if study is None or not repo.is_eligible(study_id, principal.id, principal.reader_pools):
        raise NotFound("no such study in your reading scope")
    if study.status == StudyStatus.in_read:
        held = repo.open_claim_for_study(study_id)
        if held is not None and held.reader_id == principal.id:
            return held
        now = utcnow_aware()
        if held is None or held.lease_until >= now:
            raise Conflict("another reader is reading this study")
        _expire(session, held, now)
        session.refresh(study)
    if study.status != StudyStatus.awaiting_read:
        raise Conflict(f"the study is not waiting for a read (status: {study.status.value})")
    claim = repo.open_claim(study, principal.id, utcnow_aware(), _lease(settings))
    _audit(session, principal, "claim.created", claim, via="by_id")
    return claim


def own_open_claim(session: Session, principal: Principal, claim_id: int) -> Claim:
    """The caller's open claim with a live lease, still within their scope; else 404/409/403 saying why.

    Scope (pool and covered site) is checked live on every use, so removing a reader's
    coverage ends the claim at their next renew, release, return or sign.
    """
    repo = ReadingRepository(session)
    claim = repo.get_claim(claim_id, lock=True)
    if claim is None or claim.reader_id != principal.id:
        raise NotFound("no such claim of yours")
    if claim.ended_at is not None:
        raise Conflict(f"this claim has ended ({claim.outcome.value if claim.outcome else 'ended'})")
    if claim.lease_until < utcnow_aware():
        raise Conflict("the lease on this study lapsed; claim it again")
    if not repo.claim_in_scope(claim, principal.reader_pools):
        revoke(session, claim, principal, "scope")
        session.flush()
        raise ClaimOutOfScope("you no longer cover this study's site or pool; the claim has ended")
    return claim


def renew(session: Session, principal: Principal, settings: Settings, claim_id: int) -> Claim:
    claim = own_open_claim(session, principal, claim_id)
    claim.lease_until = utcnow_aware() + _lease(settings)
    session.flush()
    return claim


def release(session: Session, principal: Principal, claim_id: int) -> Claim:
    claim = own_open_claim(session, principal, claim_id)
    ReadingRepository(session).end_claim(claim, ClaimOutcome.released, utcnow_aware())
    _requeue(session, claim)
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
    study = session.get_one(Study, claim.study_id)
    new = repo.open_claim(study, target.id, now, _lease(settings))
    _audit(session, admin, "claim.reassigned", new, from_reader=claim.reader_id, to_reader=target.id)
    return new


def return_to_clinic(session: Session, principal: Principal, claim_id: int, reason: str) -> Claim:
    """The recording cannot be reported: send it back for re-recording, with the reason."""
    claim = own_open_claim(session, principal, claim_id)
    repo = ReadingRepository(session)
    repo.end_claim(claim, ClaimOutcome.returned, utcnow_aware())
    study = session.get_one(Study, claim.study_id)
    move(study, StudyStatus.returned)
    study.status_reason = reason
    emit(session, study, "study.returned", reason=reason)
    _audit(session, principal, "study.returned", claim)
    session.flush()
    return claim
