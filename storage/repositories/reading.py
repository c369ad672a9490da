"""The reading queue's SQL: eligibility, exactly-once claims, leases, reports, notices, escalations."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import psycopg
from psycopg.rows import dict_row
from sqlalchemy import ColumnElement, Connection, CursorResult, and_, case, func, insert, select, update
from sqlalchemy.orm import Session, lazyload
from sqlalchemy.sql.expression import Exists

from storage.models import (
    Analysis,
    AuditEvent,
    Claim,
    ClaimOutcome,
    CriticalNotice,
    Escalation,
    Event,
    Patient,
    ReaderCoverage,
    ReaderPool,
    Recording,
    Report,
    Site,
    Study,
    StudyStatus,
)
from storage.models.lifecycle import check, move

QUEUED = StudyStatus.awaiting_read


def _eligible(reader_id: int, pools: Sequence[str]) -> ColumnElement[bool]:
    """Studies a reader may read: pool matches and the reader covers the study's site."""
    covered = select(ReaderCoverage.site_id).where(ReaderCoverage.user_id == reader_id)
    return and_(Study.pool.in_([ReaderPool(p) for p in pools if p in ReaderPool._value2member_map_]),
                Study.site_id.in_(covered))


def _put_back_by(reader_id: int, since: dt.datetime) -> Exists:
    """The study was put back (released) by this reader after ``since``."""
    return (select(Claim.id).where(Claim.study_id == Study.id, Claim.reader_id == reader_id,
                                   Claim.outcome == ClaimOutcome.released, Claim.ended_at > since).exists())


def _pool_values(pools: Sequence[str]) -> list[str]:
    return [p for p in pools if p in ReaderPool._value2member_map_]


def _psycopg(connection: Connection) -> psycopg.Connection[Any]:
    """The psycopg connection under SQLAlchemy's, for the claim's one raw PostgreSQL statement."""
    raw = connection.connection.driver_connection
    if not isinstance(raw, psycopg.Connection):
        raise TypeError(f"the claim statement runs on psycopg, not on {type(raw).__name__}")
    return raw


@dataclass(frozen=True)
class ClaimedStudy:
    """What one claim returns: the new claim and the columns the reading bundle shows.

    Built from the claiming statement's own result, so the just-locked study is
    never loaded a second time.
    """

    claim_id: int
    reader_id: int
    claimed_at: dt.datetime
    lease_until: dt.datetime
    study_id: uuid.UUID
    site_id: int
    patient_id: int
    status: str
    priority: str
    due_at: dt.datetime | None
    received_at: dt.datetime
    acquired_at: dt.datetime
    indication: str
    clinic_urgency: str
    pool: str | None
    patient_name: str
    patient_sex: str
    birth_date: dt.date | None
    patient_external_id: str
    site_name: str
    rec_format: str | None
    fs_hz: float | None
    leads: list[str] | None
    duration_s: float | None
    #: Filled by the PostgreSQL statement (``preloaded``): the latest analysis without its R peaks,
    #: their count, whether signed reports exist, and the priors as (id, acquired_at, status).
    preloaded: bool = False
    analysis: dict[str, Any] | None = None
    beats: int = 0
    has_reports: bool = True
    priors: list[tuple[uuid.UUID, dt.datetime, str]] | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "ClaimedStudy":
        return cls(**{name: row[name] for name in cls.__dataclass_fields__ if name in row})

    @classmethod
    def from_statement(cls, row: Mapping[str, Any]) -> "ClaimedStudy":
        """From ``CLAIM_NEXT_PG``'s row, whose prior columns are three parallel arrays."""
        values = dict(row)
        for key in ("claimed_at", "lease_until", "due_at", "received_at", "acquired_at"):
            values[key] = values[key].astimezone(dt.UTC) if values[key] is not None else None
        ids, ats, statuses = (values.pop(k) or [] for k in ("prior_ids", "prior_at", "prior_status"))
        values["priors"] = [(i, a.astimezone(dt.UTC), st) for i, a, st in zip(ids, ats, statuses)]
        values["preloaded"] = True
        values["beats"] = int(values["beats"] or 0)
        return cls.from_row(values)


#: PostgreSQL: the whole claim in one statement. ``fresh`` takes the top eligible study this
#: reader did not put back since ``put_back_since`` (their released claims, read through the
#: claims' study index) and skips rows other readers hold (SKIP LOCKED: 50 readers take 50
#: different studies at once); ``put_back`` runs only when ``fresh`` found none (a one-time
#: filter), so a study put back returns to its reader only when nothing else is waiting;
#: ``marked`` puts it in read, ``opened`` inserts the claim (``open_study_id`` unique: one open
#: claim per study), ``audited`` writes claim.created and study.read; the final SELECT returns
#: what the reading bundle shows, with the latest analysis (R peaks counted in SQL, not sent),
#: whether reports exist and the priors. Data-modifying CTEs run exactly once, referenced or not.
#: Run with psycopg on the transaction's DBAPI connection: the driver already returns uuid,
#: aware datetimes, JSON and arrays, and SQLAlchemy's per-execution result set-up for a
#: textual statement (~0.25 ms) is skipped.
CLAIM_NEXT_PG = """
WITH fresh AS (
    SELECT s.id FROM studies s
    WHERE s.status = 'awaiting_read' AND s.pool = ANY(%(pools)s)
      AND s.site_id IN (SELECT c.site_id FROM reader_coverage c WHERE c.user_id = %(reader_id)s)
      AND NOT EXISTS (SELECT 1 FROM claims k WHERE k.study_id = s.id AND k.reader_id = %(reader_id)s
                      AND k.outcome = 'released' AND k.ended_at > %(put_back_since)s)
    ORDER BY s.priority_rank, s.due_at, s.received_at
    LIMIT 1
    FOR UPDATE OF s SKIP LOCKED
), put_back AS (
    SELECT s.id FROM studies s
    WHERE NOT EXISTS (SELECT 1 FROM fresh)
      AND s.status = 'awaiting_read' AND s.pool = ANY(%(pools)s)
      AND s.site_id IN (SELECT c.site_id FROM reader_coverage c WHERE c.user_id = %(reader_id)s)
    ORDER BY s.priority_rank, s.due_at, s.received_at
    LIMIT 1
    FOR UPDATE OF s SKIP LOCKED
), picked AS (
    SELECT id FROM fresh UNION ALL SELECT id FROM put_back
), marked AS (
    UPDATE studies s SET status = 'in_read' FROM picked WHERE s.id = picked.id
    RETURNING s.id, s.site_id, s.patient_id, s.status, s.priority, s.due_at, s.received_at, s.acquired_at,
              s.indication, s.clinic_urgency, s.pool
), opened AS (
    INSERT INTO claims (study_id, reader_id, claimed_at, lease_until, open_study_id)
    SELECT id, %(reader_id)s, %(now)s, %(lease_until)s, id FROM marked
    RETURNING id, study_id, reader_id, claimed_at, lease_until
), audited AS (
    INSERT INTO audit_events (at, actor, actor_site_id, action, object_type, object_id, detail)
    SELECT %(now)s, %(actor)s, %(actor_site_id)s, a.action, 'study', o.study_id::text, a.detail
    FROM opened o CROSS JOIN LATERAL (VALUES
        ('claim.created', jsonb_build_object('claim', o.id, 'via', 'next')),
        ('study.read', '{}'::jsonb)) AS a(action, detail)
)
SELECT o.id AS claim_id, o.reader_id, o.claimed_at, o.lease_until, m.id AS study_id, m.site_id, m.patient_id,
       m.status, m.priority, m.due_at, m.received_at, m.acquired_at, m.indication, m.clinic_urgency, m.pool,
       p.name AS patient_name, p.sex AS patient_sex, p.birth_date,
       p.external_id AS patient_external_id, si.name AS site_name,
       r.format AS rec_format, r.fs_hz, r.leads, r.duration_s,
       an.analysis, an.beats,
       EXISTS (SELECT 1 FROM reports rp WHERE rp.study_id = m.id) AS has_reports,
       pr.prior_ids, pr.prior_at, pr.prior_status
FROM opened o
JOIN marked m ON m.id = o.study_id
JOIN patients p ON p.id = m.patient_id
JOIN sites si ON si.id = m.site_id
LEFT JOIN recordings r ON r.study_id = m.id
LEFT JOIN LATERAL (
    SELECT a.result - 'r_peaks' AS analysis,
           CASE WHEN jsonb_typeof(a.result -> 'r_peaks') = 'array'
                THEN jsonb_array_length(a.result -> 'r_peaks') ELSE 0 END AS beats
    FROM analyses a WHERE a.study_id = m.id ORDER BY a.created_at DESC, a.id DESC LIMIT 1
) an ON true
LEFT JOIN LATERAL (
    SELECT array_agg(x.id ORDER BY x.acquired_at DESC, x.id) AS prior_ids,
           array_agg(x.acquired_at ORDER BY x.acquired_at DESC, x.id) AS prior_at,
           array_agg(x.status ORDER BY x.acquired_at DESC, x.id) AS prior_status
    FROM (SELECT ps.id, ps.acquired_at, ps.status FROM studies ps
          WHERE ps.patient_id = m.patient_id AND ps.id <> m.id AND ps.acquired_at <= m.acquired_at
          ORDER BY ps.acquired_at DESC, ps.id LIMIT 10) x
) pr ON true
"""


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

    def worklist(self, reader_id: int, pools: Sequence[str], limit: int) -> list[tuple[Study, str]]:
        """(study with its patient, site name) of the queued studies this reader may read, most urgent first."""
        stmt = (
            select(Study, Site.name)
            .join(Site, Site.id == Study.site_id)
            .where(Study.status == QUEUED, _eligible(reader_id, pools))
            .order_by(Study.priority_rank, Study.due_at, Study.received_at)
            .options(lazyload(Study.recording))
            .limit(limit)
        )
        return [(study, site_name) for study, site_name in self.session.execute(stmt)]

    def queue_events_after(self, reader_id: int, pools: Sequence[str], after_id: int,
                           limit: int = 100) -> list[Event]:
        """``study.queued`` events after ``after_id`` for studies this reader may read, oldest first.

        Eligibility is the study's current pool and the reader's current coverage, so a
        coverage change applies from the next poll.
        """
        stmt = (select(Event).join(Study, Study.id == Event.study_id)
                .where(Event.id > after_id, Event.type == "study.queued", _eligible(reader_id, pools))
                .order_by(Event.id).limit(limit))
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

    def claim_next(self, reader_id: int, pools: Sequence[str], now: dt.datetime, lease: dt.timedelta,
                   actor: str, actor_site_id: int | None,
                   put_back_since: dt.datetime | None = None) -> ClaimedStudy | None:
        """Claim the top eligible queued study for this reader and audit it; None if none is left.

        Studies this reader released after ``put_back_since`` are taken only when no other
        eligible study is waiting. PostgreSQL: one statement (``CLAIM_NEXT_PG``). SQLite: the
        same steps as separate statements inside the transaction, which holds the single write
        lock from BEGIN IMMEDIATE, so claims are serialised there and SKIP LOCKED is not needed.
        """
        pool_values = _pool_values(pools)
        if not pool_values:
            return None
        since = put_back_since or now
        params = {"pools": pool_values, "reader_id": reader_id, "now": now, "lease_until": now + lease,
                  "actor": actor, "actor_site_id": actor_site_id, "put_back_since": since}
        connection = self.session.connection()
        if connection.dialect.name == "postgresql":
            with _psycopg(connection).cursor(row_factory=dict_row) as cur:
                row = cur.execute(CLAIM_NEXT_PG, params).fetchone()
            return ClaimedStudy.from_statement(row) if row is not None else None
        return self._claim_next_stepwise(reader_id, pools, now, lease, actor, actor_site_id, since)

    def _claim_next_stepwise(self, reader_id: int, pools: Sequence[str], now: dt.datetime, lease: dt.timedelta,
                             actor: str, actor_site_id: int | None, put_back_since: dt.datetime) -> ClaimedStudy | None:
        pick = (select(Study.id).where(Study.status == QUEUED, _eligible(reader_id, pools))
                .order_by(Study.priority_rank, Study.due_at, Study.received_at).limit(1))
        study_id = self.session.scalar(pick.where(~_put_back_by(reader_id, put_back_since)))
        if study_id is None:
            study_id = self.session.scalar(pick)  # only studies this reader put back are left
        if study_id is None:
            return None
        check(QUEUED, StudyStatus.in_read)
        self.session.execute(update(Study).where(Study.id == study_id).values(status=StudyStatus.in_read)
                             .execution_options(synchronize_session=False))
        claim_id = self.session.execute(insert(Claim).values(
            study_id=study_id, reader_id=reader_id, claimed_at=now, lease_until=now + lease,
            open_study_id=study_id).returning(Claim.id)).scalar_one()
        self._audit_claim(claim_id, study_id, actor, actor_site_id, now, "next")
        return self.claimed(claim_id)

    def _audit_claim(self, claim_id: int, study_id: uuid.UUID, actor: str, actor_site_id: int | None,
                     now: dt.datetime, via: str) -> None:
        base = {"at": now, "actor": actor, "actor_site_id": actor_site_id, "object_type": "study",
                "object_id": str(study_id)}
        self.session.execute(insert(AuditEvent), [
            {**base, "action": "claim.created", "detail": {"claim": claim_id, "via": via}},
            {**base, "action": "study.read", "detail": {}},
        ])

    def claimed(self, claim_id: int) -> ClaimedStudy | None:
        """The bundle columns of a claim (its study, patient and recording) by claim id."""
        stmt = (
            select(Claim.id.label("claim_id"), Claim.reader_id, Claim.claimed_at, Claim.lease_until,
                   Study.id.label("study_id"), Study.site_id, Study.patient_id, Study.status, Study.priority,
                   Study.due_at, Study.received_at, Study.acquired_at, Study.indication, Study.clinic_urgency,
                   Study.pool, Patient.name.label("patient_name"), Patient.sex.label("patient_sex"),
                   Patient.birth_date, Patient.external_id.label("patient_external_id"),
                   Site.name.label("site_name"), Recording.format.label("rec_format"), Recording.fs_hz,
                   Recording.leads, Recording.duration_s)
            .join(Study, Study.id == Claim.study_id)
            .join(Patient, Patient.id == Study.patient_id)
            .join(Site, Site.id == Study.site_id)
            .outerjoin(Recording, Recording.study_id == Study.id)
            .where(Claim.id == claim_id)
        )
        row = self.session.execute(stmt).mappings().first()
        if row is None:
            return None
        values = dict(row)
        for key in ("status", "priority", "clinic_urgency", "pool", "patient_sex"):
            values[key] = values[key].value if values[key] is not None else None
        return ClaimedStudy.from_row(values)

    def analysis_result(self, study_id: uuid.UUID) -> dict[str, Any] | None:
        """The latest analysis result of a study (the JSON only, no ORM object)."""
        stmt = (select(Analysis.result).where(Analysis.study_id == study_id)
                .order_by(Analysis.created_at.desc(), Analysis.id.desc()).limit(1))
        return self.session.scalar(stmt)

    def claim_in_scope(self, claim: Claim, pools: Sequence[str]) -> bool:
        """True while the claim's reader still covers the study's site and pool (checked live)."""
        return self.is_eligible(claim.study_id, claim.reader_id, pools)

    def open_claims_outside_scope(self, reader_id: int, pools: Sequence[str]) -> list[Claim]:
        """The reader's open claims on studies no longer in their pools or covered sites, locked."""
        in_scope = select(Study.id).where(_eligible(reader_id, pools))
        stmt = (select(Claim).where(Claim.reader_id == reader_id, Claim.ended_at.is_(None),
                                    Claim.study_id.not_in(in_scope))
                .order_by(Claim.id).with_for_update(of=Claim))
        return list(self.session.scalars(stmt))

    def lock_study(self, study_id: uuid.UUID) -> Study | None:
        stmt = select(Study).where(Study.id == study_id).with_for_update(of=Study)
        return self.session.scalar(stmt)

    # -- claims -----------------------------------------------------------------------
    def open_claim(self, study: Study, reader_id: int, now: dt.datetime, lease: dt.timedelta) -> Claim:
        claim = Claim(study_id=study.id, reader_id=reader_id, claimed_at=now, lease_until=now + lease,
                      open_study_id=study.id)
        self.session.add(claim)
        move(study, StudyStatus.in_read)
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
        check(StudyStatus.in_read, QUEUED)
        stmt = (
            update(Study)
            .where(Study.id == study_id, Study.status == StudyStatus.in_read)
            .values(status=QUEUED)
            .execution_options(synchronize_session="fetch")
        )
        return cast("CursorResult[Any]", self.session.execute(stmt)).rowcount == 1  # DML: a cursor result

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

    def patients_of(self, study_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, tuple[str, str]]:
        """Study id -> (patient name, the clinic's patient id), for notices that must name the patient."""
        stmt = (select(Study.id, Patient.name, Patient.external_id).join(Patient, Patient.id == Study.patient_id)
                .where(Study.id.in_(list(study_ids))))
        return {sid: (name, ext) for sid, name, ext in self.session.execute(stmt)}

    def add_notice(self, notice: CriticalNotice) -> bool:
        """Add unless the study already has a notice with this code; True if added."""
        exists = self.session.scalar(select(CriticalNotice.id).where(
            CriticalNotice.study_id == notice.study_id, CriticalNotice.code == notice.code))
        if exists is not None:
            return False
        self.session.add(notice)
        self.session.flush()
        return True

    def acknowledge_notice(self, notice_id: int, **values: object) -> bool:
        """Record the acknowledgement unless one exists; False if another request acknowledged first
        (the condition in the WHERE clause makes two concurrent acknowledgements leave exactly one)."""
        stmt = (
            update(CriticalNotice)
            .where(CriticalNotice.id == notice_id, CriticalNotice.acknowledged_at.is_(None))
            .values(**values)
            .execution_options(synchronize_session="fetch")
        )
        return cast("CursorResult[Any]", self.session.execute(stmt)).rowcount == 1  # DML: a cursor result

    def unacknowledged_older_than(self, before: dt.datetime) -> list[CriticalNotice]:
        """Open notices raised before ``before``, oldest first (the most urgent at the top)."""
        stmt = select(CriticalNotice).where(CriticalNotice.acknowledged_at.is_(None),
                                            CriticalNotice.raised_at < before).order_by(CriticalNotice.raised_at)
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
        return self.prior_studies_of(study.patient_id, study.id, study.acquired_at, limit)

    def prior_studies_of(self, patient_id: int, study_id: uuid.UUID, acquired_at: dt.datetime,
                         limit: int = 10) -> list[tuple[uuid.UUID, dt.datetime, StudyStatus]]:
        """(id, acquired_at, status) of the patient's studies before ``acquired_at``, other than this one."""
        stmt = (
            select(Study.id, Study.acquired_at, Study.status)
            .where(Study.patient_id == patient_id, Study.id != study_id,
                   Study.acquired_at <= acquired_at)
            .order_by(Study.acquired_at.desc(), Study.id)
            .limit(limit)
        )
        return [(i, at, status) for i, at, status in self.session.execute(stmt)]
