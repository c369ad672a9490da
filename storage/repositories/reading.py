"""The reading queue's SQL: eligibility, exactly-once claims, leases, reports, notices, escalations."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import and_, case, func, select, update
from sqlalchemy.orm import Session, lazyload

from storage.models import (
    Claim,
    ClaimOutcome,
    CriticalNotice,
    Escalation,
    ReaderCoverage,
    ReaderPool,
    Report,
    Study,
    StudyStatus,
)

QUEUED = StudyStatus.awaiting_read


def _eligible(reader_id: int, pools: Sequence[str]):
    """Studies a reader may read: pool matches and the reader covers the study's site."""
    covered = select(ReaderCoverage.site_id).where(ReaderCoverage.user_id == reader_id)
    return and_(Study.pool.in_([ReaderPool(p) for p in pools if p in ReaderPool._value2member_map_]),
                Study.site_id.in_(covered))


class ReadingRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- coverage -------------------------------------------------------------------
    def set_coverage(self, reader_id: int, site_ids: Sequence[int]) -> None:
        self.session.query(ReaderCoverage).filter_by(user_id=reader_id).delete()
        self.session.add_all(ReaderCoverage(user_id=reader_id, site_id=s) for s in set(site_ids))
        self.session.flush()

    def all_coverage(self) -> dict[int, list[int]]:
        """Reader id -> covered site ids (every reader with any coverage)."""
        out: dict[int, list[int]] = {}
        stmt = select(ReaderCoverage.user_id, ReaderCoverage.site_id).order_by(ReaderCoverage.user_id,
                                                                               ReaderCoverage.site_id)
        for user_id, site_id in self.session.execute(stmt):
            out.setdefault(int(user_id), []).append(int(site_id))
        return out

    def covered_sites(self, reader_id: int) -> list[int]:
        return list(self.session.scalars(select(ReaderCoverage.site_id).where(ReaderCoverage.user_id == reader_id)))

    # -- queue ------------------------------------------------------------------------
    def is_eligible(self, study_id: uuid.UUID, reader_id: int, pools: Sequence[str]) -> bool:
        stmt = select(Study.id).where(Study.id == study_id, _eligible(reader_id, pools))
        return self.session.scalar(stmt) is not None

    def worklist(self, reader_id: int, pools: Sequence[str], limit: int) -> list[Study]:
        stmt = (
            select(Study)
            .where(Study.status == QUEUED, _eligible(reader_id, pools))
            .order_by(Study.priority_rank, Study.due_at, Study.received_at)
            .options(lazyload(Study.recording))
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    def counts_by_priority(self, reader_id: int, pools: Sequence[str], now: dt.datetime) -> dict[str, int]:
        stmt = (
            select(Study.priority, func.count(), func.sum(case((Study.due_at < now, 1), else_=0)))
            .where(Study.status == QUEUED, _eligible(reader_id, pools))
            .group_by(Study.priority)
        )
        out: dict[str, int] = {}
        for priority, count, overdue in self.session.execute(stmt):
            out[priority.value] = int(count)
            out["overdue"] = out.get("overdue", 0) + int(overdue or 0)
        return out

    def depth_by_priority(self) -> dict[str, int]:
        stmt = select(Study.priority, func.count()).where(Study.status == QUEUED).group_by(Study.priority)
        return {p.value: int(n) for p, n in self.session.execute(stmt)}

    def lock_next(self, reader_id: int, pools: Sequence[str]) -> Study | None:
        """The top eligible queued study, row-locked; rows locked by other readers are skipped.

        PostgreSQL: ``FOR UPDATE SKIP LOCKED`` lets 50 readers take 50 different
        studies at once. SQLite ignores the clause; there the transaction holds
        the single write lock from BEGIN IMMEDIATE, which serialises claims.
        """
        stmt = (
            select(Study)
            .where(Study.status == QUEUED, _eligible(reader_id, pools))
            .order_by(Study.priority_rank, Study.due_at, Study.received_at)
            .options(lazyload(Study.recording))  # keep the locking query on the queue index alone
            .limit(1)
            .with_for_update(skip_locked=True, of=Study)
        )
        return self.session.scalar(stmt)

    def lock_study(self, study_id: uuid.UUID) -> Study | None:
        stmt = select(Study).where(Study.id == study_id).with_for_update(of=Study)
        return self.session.scalar(stmt)

    # -- claims -----------------------------------------------------------------------
    def open_claim(self, study: Study, reader_id: int, now: dt.datetime, lease: dt.timedelta) -> Claim:
        claim = Claim(study_id=study.id, reader_id=reader_id, claimed_at=now, lease_until=now + lease,
                      open_study_id=study.id)
        self.session.add(claim)
        study.status = StudyStatus.in_read
        self.session.flush()
        return claim

    def end_claim(self, claim: Claim, outcome: ClaimOutcome, now: dt.datetime) -> None:
        claim.ended_at = now
        claim.outcome = outcome
        claim.open_study_id = None
        self.session.flush()

    def get_claim(self, claim_id: int, *, lock: bool = False) -> Claim | None:
        stmt = select(Claim).where(Claim.id == claim_id)
        if lock:
            stmt = stmt.with_for_update()
        return self.session.scalar(stmt)

    def open_claim_for_study(self, study_id: uuid.UUID) -> Claim | None:
        return self.session.scalar(select(Claim).where(Claim.open_study_id == study_id))

    def open_claims_of(self, reader_id: int) -> list[Claim]:
        stmt = select(Claim).where(Claim.reader_id == reader_id, Claim.ended_at.is_(None)).order_by(Claim.id)
        return list(self.session.scalars(stmt))

    def lapsed_claims(self, now: dt.datetime, limit: int = 200) -> list[Claim]:
        stmt = (
            select(Claim)
            .where(Claim.ended_at.is_(None), Claim.lease_until < now)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(self.session.scalars(stmt))

    def requeue(self, study_id: uuid.UUID) -> bool:
        stmt = (
            update(Study)
            .where(Study.id == study_id, Study.status == StudyStatus.in_read)
            .values(status=QUEUED)
            .execution_options(synchronize_session="fetch")
        )
        return self.session.execute(stmt).rowcount == 1

    # -- reports ------------------------------------------------------------------------
    def reports(self, study_id: uuid.UUID) -> list[Report]:
        """Signed versions, latest first."""
        stmt = select(Report).where(Report.study_id == study_id).order_by(Report.version.desc())
        return list(self.session.scalars(stmt))

    def recently_signed_by(self, reader_id: int, pools: Sequence[str], limit: int) -> list[tuple[Study, Report]]:
        """(study, latest report) of signed studies in the reader's scope whose latest version is theirs, newest first."""
        latest = (
            select(Report.study_id, func.max(Report.version).label("version"))
            .group_by(Report.study_id)
            .subquery()
        )
        stmt = (
            select(Study, Report)
            .join(latest, latest.c.study_id == Study.id)
            .join(Report, and_(Report.study_id == latest.c.study_id, Report.version == latest.c.version))
            .where(Report.author_id == reader_id,
                   Study.status.in_([StudyStatus.reported, StudyStatus.amended]),
                   _eligible(reader_id, pools))
            .order_by(Report.signed_at.desc(), Report.id.desc())
            .options(lazyload(Study.recording))
            .limit(limit)
        )
        return [(study, report) for study, report in self.session.execute(stmt)]

    def add_report(self, report: Report) -> Report:
        self.session.add(report)
        self.session.flush()
        return report

    # -- notices and escalations -------------------------------------------------------------
    def notice(self, notice_id: int) -> CriticalNotice | None:
        return self.session.get(CriticalNotice, notice_id)

    def notices_for_study(self, study_id: uuid.UUID) -> list[CriticalNotice]:
        return list(self.session.scalars(select(CriticalNotice).where(CriticalNotice.study_id == study_id)))

    def notices_for_site(self, site_id: int | None, unacknowledged_only: bool) -> list[CriticalNotice]:
        stmt = select(CriticalNotice).order_by(CriticalNotice.raised_at.desc())
        if site_id is not None:
            stmt = stmt.where(CriticalNotice.site_id == site_id)
        if unacknowledged_only:
            stmt = stmt.where(CriticalNotice.acknowledged_at.is_(None))
        return list(self.session.scalars(stmt.limit(500)))

    def add_notice(self, notice: CriticalNotice) -> bool:
        """Add unless the study already has a notice with this code; True if added."""
        exists = self.session.scalar(select(CriticalNotice.id).where(
            CriticalNotice.study_id == notice.study_id, CriticalNotice.code == notice.code))
        if exists is not None:
            return False
        self.session.add(notice)
        self.session.flush()
        return True

    def unacknowledged_older_than(self, before: dt.datetime) -> list[CriticalNotice]:
        stmt = select(CriticalNotice).where(CriticalNotice.acknowledged_at.is_(None),
                                            CriticalNotice.raised_at < before)
        return list(self.session.scalars(stmt))

    def unclaimed_stat_older_than(self, before: dt.datetime) -> list[Study]:
        stmt = select(Study).where(Study.status == QUEUED, Study.priority_rank == 0, Study.received_at < before)
        return list(self.session.scalars(stmt))

    def overdue(self, now: dt.datetime) -> list[Study]:
        stmt = select(Study).where(Study.status.in_([QUEUED, StudyStatus.in_read]), Study.due_at < now)
        return list(self.session.scalars(stmt))

    def has_escalation(self, kind: str, study_id: uuid.UUID) -> bool:
        stmt = select(Escalation.id).where(Escalation.kind == kind, Escalation.study_id == study_id)
        return self.session.scalar(stmt) is not None

    def add_escalation(self, escalation: Escalation) -> None:
        self.session.add(escalation)
        self.session.flush()

    def escalations(self, site_id: int | None = None, limit: int = 500) -> list[Escalation]:
        stmt = select(Escalation).order_by(Escalation.raised_at.desc()).limit(limit)
        if site_id is not None:
            stmt = stmt.where(Escalation.site_id == site_id)
        return list(self.session.scalars(stmt))

    def prior_studies(self, study: Study, limit: int = 10) -> list[tuple[uuid.UUID, dt.datetime, StudyStatus]]:
        """(id, acquired_at, status) of the patient's earlier studies, newest first."""
        stmt = (
            select(Study.id, Study.acquired_at, Study.status)
            .where(Study.patient_id == study.patient_id, Study.id != study.id,
                   Study.acquired_at <= study.acquired_at)
            .order_by(Study.acquired_at.desc())
            .limit(limit)
        )
        return [tuple(row) for row in self.session.execute(stmt)]
