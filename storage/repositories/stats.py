"""The alliance dashboard's SQL (aggregates only, no patient data) and the admin pages' listings.

Every aggregate runs in the database and on both backends: durations come
from ``julianday`` on SQLite and ``EXTRACT(EPOCH ...)`` on PostgreSQL, days are
counted in the alliance's clock (China Standard Time, UTC+8 all year), and
percentiles are nearest-rank percentiles computed with window functions
(``row_number``/``count`` over a partition), which both backends have.

A nearest-rank percentile P of n sorted values is the value at rank
``ceil(P/100 * n)``, i.e. the smallest value whose rank ``rn`` has
``100 * rn >= P * n``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, extract, func, select
from sqlalchemy.orm import Session

from storage.models import (
    Claim,
    ClaimOutcome,
    CriticalNotice,
    Report,
    Site,
    Study,
    StudyStatus,
    User,
)

#: Offset of the alliance's clock (Asia/Shanghai has no daylight saving time).
LOCAL_OFFSET_HOURS = 8
PERCENTILES = (50, 90)
#: A study in these states is still waiting for its report.
OPEN_STATUSES = (StudyStatus.awaiting_read, StudyStatus.in_read)


@dataclass(frozen=True)
class StatsFilter:
    """Half-open UTC interval ``[start, end)`` and an optional site."""

    start: dt.datetime
    end: dt.datetime
    site_id: int | None = None


class StatsRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- dialect helpers ------------------------------------------------------------------
    @property
    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def _seconds(self, later: Any, earlier: Any) -> ColumnElement[float] | ColumnElement[int]:
        """``later - earlier`` in seconds, as a float."""
        if self._dialect == "sqlite":
            return (func.julianday(later) - func.julianday(earlier)) * 86400.0
        return extract("epoch", later - earlier)

    def _local_day(self, col: Any) -> ColumnElement[str]:
        """``YYYY-MM-DD`` of a UTC timestamp in China Standard Time."""
        if self._dialect == "sqlite":
            return func.strftime("%Y-%m-%d", col, f"+{LOCAL_OFFSET_HOURS} hours")
        return func.to_char(func.timezone("Asia/Shanghai", col), "YYYY-MM-DD")

    def _percentiles(self, values: Select[*tuple[Any, ...]], group: str | None) -> list[dict[str, Any]]:
        """p50/p90 (nearest rank), count and mean of ``values``' column ``s``, per ``group`` column.

        ``values`` must select a column labelled ``s`` (and ``g`` when grouping).
        """
        sub = values.subquery()
        part = [sub.c.g] if group else []
        ranked = select(
            *part,
            sub.c.s,
            func.row_number().over(partition_by=part or None, order_by=sub.c.s).label("rn"),
            func.count().over(partition_by=part or None).label("n"),
        ).subquery()
        cols = [func.max(ranked.c.n).label("n"), func.avg(ranked.c.s).label("mean")]
        for p in PERCENTILES:
            cols.append(func.min(case((ranked.c.rn * 100 >= ranked.c.n * p, ranked.c.s))).label(f"p{p}"))
        stmt = select(*([ranked.c.g] if group else []), *cols)
        if group:
            stmt = stmt.group_by(ranked.c.g)
        return [dict(row._mapping) for row in self.session.execute(stmt) if row._mapping["n"]]

    # -- volumes and quality ---------------------------------------------------------------
    def _studies_in(self, f: StatsFilter) -> list[ColumnElement[bool]]:
        where = [Study.received_at >= f.start, Study.received_at < f.end]
        if f.site_id is not None:
            where.append(Study.site_id == f.site_id)
        return where

    def studies_per_day(self, f: StatsFilter) -> list[tuple[str, int, int]]:
        """(local day, site id, studies received) for every day and site with studies."""
        day = self._local_day(Study.received_at).label("day")
        stmt = (select(day, Study.site_id, func.count()).where(*self._studies_in(f))
                .group_by(day, Study.site_id).order_by(day, Study.site_id))
        return [(str(d), int(s), int(n)) for d, s, n in self.session.execute(stmt)]

    def per_site(self, f: StatsFilter) -> list[dict[str, Any]]:
        """Per site: studies received, unreadable (pipeline), returned for re-recording, analysis failed."""
        def count_status(*statuses: StudyStatus) -> ColumnElement[int]:
            return func.sum(case((Study.status.in_(statuses), 1), else_=0))

        stmt = (
            select(Study.site_id, func.count().label("studies"),
                   count_status(StudyStatus.unreadable).label("unreadable"),
                   count_status(StudyStatus.returned).label("returned"),
                   count_status(StudyStatus.withdrawn).label("withdrawn"),
                   count_status(StudyStatus.received, StudyStatus.analysis_failed).label("not_analysed"))
            .where(*self._studies_in(f)).group_by(Study.site_id).order_by(Study.site_id)
        )
        return [{k: int(v or 0) for k, v in row._mapping.items()} for row in self.session.execute(stmt)]

    # -- turnaround ------------------------------------------------------------------------
    def _first_signed(self) -> Any:
        return (select(Report.study_id, func.min(Report.signed_at).label("signed_at"))
                .group_by(Report.study_id).subquery())

    def turnaround(self, f: StatsFilter) -> list[dict[str, Any]]:
        """Per priority (``g``), for studies received in the interval and signed since: received ->
        first signed report in seconds (n, mean, p50, p90)."""
        first = self._first_signed()
        base = (select(Study.priority.label("g"), self._seconds(first.c.signed_at, Study.received_at).label("s"))
                .join(first, first.c.study_id == Study.id).where(*self._studies_in(f)))
        return self._percentiles(base, "g")

    def turnaround_per_site(self, f: StatsFilter) -> list[dict[str, Any]]:
        """Per site (``g``): received -> first signed report in seconds (n, mean, p50, p90)."""
        first = self._first_signed()
        base = (select(Study.site_id.label("g"), self._seconds(first.c.signed_at, Study.received_at).label("s"))
                .join(first, first.c.study_id == Study.id).where(*self._studies_in(f)))
        return self._percentiles(base, "g")

    def due_counts(self, f: StatsFilter, now: dt.datetime, by_site: bool) -> list[dict[str, Any]]:
        """Per priority (or per site), as ``g``, of the studies received in the interval:

        * ``signed``: with a signed report; ``on_time``: first signature by the study's ``due_at``;
        * ``pending``: still waiting for a report (queued or in read);
        * ``overdue``: pending and past ``due_at`` at ``now``.

        The on-time rate is ``on_time / (signed + overdue)``: every study that was due, not only
        the signed ones (a study nobody signed counts against the hub).
        """
        first = self._first_signed()
        signed = first.c.study_id.is_not(None)
        pending = and_(first.c.study_id.is_(None), Study.status.in_(OPEN_STATUSES))

        def count(cond: ColumnElement[bool]) -> ColumnElement[int]:
            return func.sum(case((cond, 1), else_=0))

        group = Study.site_id if by_site else Study.priority
        stmt = (select(group.label("g"), count(signed).label("signed"),
                       count(and_(signed, first.c.signed_at <= Study.due_at)).label("on_time"),
                       count(pending).label("pending"),
                       count(and_(pending, Study.due_at < now)).label("overdue"))
                .outerjoin(first, first.c.study_id == Study.id).where(*self._studies_in(f)).group_by(group))
        return [{k: (v if k == "g" else int(v or 0)) for k, v in row._mapping.items()}
                for row in self.session.execute(stmt)]

    # -- readers -----------------------------------------------------------------------------
    def reader_claims(self, f: StatsFilter) -> list[dict[str, Any]]:
        """Per reader: claims opened in the interval and how they ended."""
        def outcome(o: ClaimOutcome) -> ColumnElement[int]:
            return func.sum(case((Claim.outcome == o, 1), else_=0))

        stmt = (
            select(Claim.reader_id, func.count().label("claims"),
                   outcome(ClaimOutcome.signed).label("signed"), outcome(ClaimOutcome.released).label("released"),
                   outcome(ClaimOutcome.expired).label("expired"),
                   outcome(ClaimOutcome.reassigned).label("reassigned"),
                   outcome(ClaimOutcome.returned).label("returned"))
            .join(Study, Study.id == Claim.study_id)
            .where(Claim.claimed_at >= f.start, Claim.claimed_at < f.end,
                   *([Study.site_id == f.site_id] if f.site_id is not None else []))
            .group_by(Claim.reader_id)
        )
        return [{k: int(v or 0) for k, v in row._mapping.items()} for row in self.session.execute(stmt)]

    def reader_reports(self, f: StatsFilter) -> list[dict[str, Any]]:
        """Per reader: report versions signed in the interval (first signatures and amendments)."""
        stmt = (
            select(Report.author_id.label("reader_id"), func.count().label("reports"),
                   func.sum(case((Report.version > 1, 1), else_=0)).label("amendments"))
            .join(Study, Study.id == Report.study_id)
            .where(Report.signed_at >= f.start, Report.signed_at < f.end,
                   *([Study.site_id == f.site_id] if f.site_id is not None else []))
            .group_by(Report.author_id)
        )
        return [{k: int(v or 0) for k, v in row._mapping.items()} for row in self.session.execute(stmt)]

    def reader_read_time(self, f: StatsFilter) -> list[dict[str, Any]]:
        """Per reader: claim -> signature seconds of claims signed (claimed in the interval)."""
        base = (select(Claim.reader_id.label("g"), self._seconds(Claim.ended_at, Claim.claimed_at).label("s"))
                .join(Study, Study.id == Claim.study_id)
                .where(Claim.outcome == ClaimOutcome.signed, Claim.claimed_at >= f.start, Claim.claimed_at < f.end,
                       *([Study.site_id == f.site_id] if f.site_id is not None else [])))
        return self._percentiles(base, "g")

    def read_time(self, f: StatsFilter) -> dict[str, Any]:
        """Claim -> signature seconds of every claim signed (claimed in the interval): n, mean, p50, p90."""
        base = (select(self._seconds(Claim.ended_at, Claim.claimed_at).label("s"))
                .join(Study, Study.id == Claim.study_id)
                .where(Claim.outcome == ClaimOutcome.signed, Claim.claimed_at >= f.start, Claim.claimed_at < f.end,
                       *([Study.site_id == f.site_id] if f.site_id is not None else [])))
        rows = self._percentiles(base, None)
        return rows[0] if rows else {}

    # -- critical notices ------------------------------------------------------------------------
    def _notices_in(self, f: StatsFilter) -> list[ColumnElement[bool]]:
        where = [CriticalNotice.raised_at >= f.start, CriticalNotice.raised_at < f.end]
        if f.site_id is not None:
            where.append(CriticalNotice.site_id == f.site_id)
        return where

    def notices_per_site(self, f: StatsFilter) -> list[dict[str, Any]]:
        """Per site: notices raised in the interval, acknowledged, still open."""
        stmt = (
            select(CriticalNotice.site_id, func.count().label("raised"),
                   func.count(CriticalNotice.acknowledged_at).label("acknowledged"))
            .where(*self._notices_in(f)).group_by(CriticalNotice.site_id).order_by(CriticalNotice.site_id)
        )
        return [{k: int(v or 0) for k, v in row._mapping.items()} for row in self.session.execute(stmt)]

    def time_to_acknowledge(self, f: StatsFilter, by_site: bool) -> list[dict[str, Any]]:
        """Raised -> acknowledged seconds of the acknowledged notices (overall, or per site as ``g``)."""
        cols = [CriticalNotice.site_id.label("g")] if by_site else []
        base = select(*cols, self._seconds(CriticalNotice.acknowledged_at, CriticalNotice.raised_at).label("s")).where(
            *self._notices_in(f), CriticalNotice.acknowledged_at.is_not(None))
        return self._percentiles(base, "g" if by_site else None)

    def oldest_open_notice(self, f: StatsFilter) -> dt.datetime | None:
        return self.session.scalar(select(func.min(CriticalNotice.raised_at)).where(
            *self._notices_in(f), CriticalNotice.acknowledged_at.is_(None)))

    # -- the study list (CSV export) ---------------------------------------------------------------
    def study_rows(self, f: StatsFilter, limit: int) -> list[dict[str, Any]]:
        """One row per study received in the interval, oldest first, without patient data: site,
        priority, status, received/due/first-signed times, the first signer and the read seconds
        (claim -> signature of the signing claim)."""
        first = (select(Report.study_id, Report.signed_at, Report.author_id)
                 .where(Report.version == 1).subquery())
        read = (select(Claim.study_id, func.max(self._seconds(Claim.ended_at, Claim.claimed_at)).label("read_s"))
                .where(Claim.outcome == ClaimOutcome.signed).group_by(Claim.study_id).subquery())
        stmt = (select(Study.id.label("study_id"), Study.site_id, Site.name.label("site_name"), Study.priority,
                       Study.status, Study.received_at, Study.due_at, first.c.signed_at,
                       func.coalesce(func.nullif(User.display_name, ""), User.username).label("signer"),
                       read.c.read_s)
                .join(Site, Site.id == Study.site_id)
                .outerjoin(first, first.c.study_id == Study.id)
                .outerjoin(User, User.id == first.c.author_id)
                .outerjoin(read, read.c.study_id == Study.id)
                .where(*self._studies_in(f)).order_by(Study.received_at, Study.id).limit(limit))
        return [dict(row._mapping) for row in self.session.execute(stmt)]

    # -- names for the aggregates ------------------------------------------------------------------
    def site_names(self, site_ids: Sequence[int]) -> dict[int, str]:
        if not site_ids:
            return {}
        stmt = select(Site.id, Site.name).where(Site.id.in_(set(site_ids)))
        return {int(i): str(n) for i, n in self.session.execute(stmt)}

    def user_names(self, user_ids: Sequence[int]) -> dict[int, str]:
        if not user_ids:
            return {}
        stmt = select(User.id, User.display_name, User.username).where(User.id.in_(set(user_ids)))
        return {int(i): str(d or u) for i, d, u in self.session.execute(stmt)}


__all__ = ["LOCAL_OFFSET_HOURS", "OPEN_STATUSES", "StatsFilter", "StatsRepository"]
