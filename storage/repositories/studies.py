"""Patients, studies, recordings and analyses."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.models import Analysis, Patient, Report, Sex, Study, StudyStatus
from storage.models.lifecycle import check


class PatientRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def by_external_id(self, site_id: int, external_id: str) -> Patient | None:
        stmt = select(Patient).where(Patient.site_id == site_id, Patient.external_id == external_id)
        return self.session.scalar(stmt)

    def add(self, patient: Patient) -> Patient:
        self.session.add(patient)
        self.session.flush()
        return patient

    def upsert(self, site_id: int, external_id: str, *, name: str, sex: Sex,
               birth_date: dt.date | None) -> tuple[Patient, list[str]]:
        """The site's patient ``external_id``, created if new, else updated; returns (patient, changed fields).

        A new patient is ONE statement (INSERT ... ON CONFLICT DO NOTHING RETURNING, on SQLite and
        PostgreSQL), and a concurrent upload creating the same patient is no error: the loser reads
        the winner's row. ``birth_date=None`` keeps a known birth date.
        """
        insert = pg_insert if self.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        stmt = (insert(Patient).values(site_id=site_id, external_id=external_id, name=name, sex=sex,
                                       birth_date=birth_date)
                .on_conflict_do_nothing(index_elements=["site_id", "external_id"]).returning(Patient))
        created = self.session.scalars(stmt).first()
        if created is not None:
            return created, []
        patient = self.by_external_id(site_id, external_id)
        assert patient is not None  # the conflict means it exists, and rows are never deleted
        changed = [field for field, new in (("name", name), ("sex", sex), ("birth_date", birth_date))
                   if new is not None and getattr(patient, field) != new]
        for field in changed:
            setattr(patient, field, {"name": name, "sex": sex, "birth_date": birth_date}[field])
        return patient, changed


@dataclass(frozen=True)
class StudyPage:
    """One page of a keyset-paginated listing; ``next_after`` is the last (received_at, id)."""

    items: list[Study]
    next_after: tuple[dt.datetime, uuid.UUID] | None
    first_signed_at: dict[uuid.UUID, dt.datetime]  # study id -> first report signature, signed ones only


class StudyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, study_id: uuid.UUID) -> Study | None:
        return self.session.get(Study, study_id)

    def get_one(self, study_id: uuid.UUID) -> Study:
        """A study that must exist (one this request or job already holds); NoResultFound otherwise."""
        return self.session.get_one(Study, study_id)

    def get_for_site(self, study_id: uuid.UUID, site_id: int) -> Study | None:
        """The study only if it belongs to ``site_id`` (tenancy is enforced in the query)."""
        stmt = select(Study).where(Study.id == study_id, Study.site_id == site_id)
        return self.session.scalar(stmt)

    def by_idempotency_key(self, site_id: int, key: str) -> Study | None:
        stmt = select(Study).where(Study.site_id == site_id, Study.idempotency_key == key)
        return self.session.scalar(stmt)

    def add(self, study: Study) -> Study:
        self.session.add(study)
        self.session.flush()
        return study

    def list_page(
        self,
        *,
        site_id: int | None,
        limit: int,
        status: StudyStatus | None = None,
        received_from: dt.datetime | None = None,
        received_to: dt.datetime | None = None,
        patient_external_id: str | None = None,
        after: tuple[dt.datetime, uuid.UUID] | None = None,
    ) -> StudyPage:
        """Newest first, keyset pagination on (received_at, id); ``site_id=None`` means all sites."""
        stmt = select(Study)
        if site_id is not None:
            stmt = stmt.where(Study.site_id == site_id)
        if status is not None:
            stmt = stmt.where(Study.status == status)
        if received_from is not None:
            stmt = stmt.where(Study.received_at >= received_from)
        if received_to is not None:
            stmt = stmt.where(Study.received_at < received_to)
        if patient_external_id is not None:
            stmt = stmt.join(Patient, Patient.id == Study.patient_id).where(
                Patient.external_id == patient_external_id
            )
        if after is not None:
            at, last_id = after
            stmt = stmt.where(
                or_(Study.received_at < at, and_(Study.received_at == at, Study.id < last_id))
            )
        stmt = stmt.order_by(Study.received_at.desc(), Study.id.desc()).limit(limit + 1)
        rows = list(self.session.scalars(stmt))
        more = len(rows) > limit
        rows = rows[:limit]
        nxt = (rows[-1].received_at, rows[-1].id) if more and rows else None
        return StudyPage(items=rows, next_after=nxt, first_signed_at=self.first_signed_at([r.id for r in rows]))

    def first_signed_at(self, study_ids: list[uuid.UUID]) -> dict[uuid.UUID, dt.datetime]:
        """When each study's first report version was signed (turnaround), in one query."""
        if not study_ids:
            return {}
        stmt = (select(Report.study_id, func.min(Report.signed_at)).where(Report.study_id.in_(study_ids))
                .group_by(Report.study_id))
        return {sid: at for sid, at in self.session.execute(stmt)}

    def ids_awaiting_analysis(self, received_before: dt.datetime, limit: int = 500) -> list[uuid.UUID]:
        """Studies still ``received`` since before ``received_before`` (their job may be lost)."""
        stmt = (
            select(Study.id)
            .where(Study.status == StudyStatus.received, Study.received_at < received_before)
            .order_by(Study.received_at)
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    def analysis_backlog(self) -> tuple[int, dt.datetime | None]:
        """(number of studies still ``received``, the oldest one's ``received_at``): one aggregate query."""
        stmt = select(func.count(), func.min(Study.received_at)).where(Study.status == StudyStatus.received)
        count, oldest = self.session.execute(stmt).one()
        return int(count), oldest

    def transition(
        self, study_id: uuid.UUID, *, expected: StudyStatus, new: StudyStatus, **values: object
    ) -> bool:
        """Move a study from ``expected`` to ``new`` atomically; False if it was not in ``expected``.

        The status check in the WHERE clause makes a duplicated job or a
        concurrent writer harmless: exactly one transition wins.
        """
        check(expected, new)
        stmt = (
            update(Study)
            .where(Study.id == study_id, Study.status == expected)
            .values(status=new, **values)
            .execution_options(synchronize_session="fetch")
        )
        return cast("CursorResult[Any]", self.session.execute(stmt)).rowcount == 1  # DML: a cursor result

    def count_attempt(self, study_id: uuid.UUID) -> None:
        stmt = (
            update(Study)
            .where(Study.id == study_id)
            .values(analysis_attempts=Study.analysis_attempts + 1)
            .execution_options(synchronize_session=False)
        )
        self.session.execute(stmt)

    def add_analysis(self, analysis: Analysis) -> Analysis:
        self.session.add(analysis)
        self.session.flush()
        return analysis

    def ids_analysed_by_other_version(self, version: str, limit: int) -> list[uuid.UUID]:
        """Studies whose latest analysis was made by a pipeline version other than ``version``."""
        latest = (select(Analysis.study_id, func.max(Analysis.id).label("last_id"))
                  .group_by(Analysis.study_id).subquery())
        stmt = (select(Analysis.study_id).join(latest, latest.c.last_id == Analysis.id)
                .where(Analysis.pipeline_version != version).order_by(Analysis.study_id).limit(limit))
        return list(self.session.scalars(stmt))

    def latest_analysis(self, study_id: uuid.UUID) -> Analysis | None:
        stmt = (
            select(Analysis)
            .where(Analysis.study_id == study_id)
            .order_by(Analysis.created_at.desc(), Analysis.id.desc())
            .limit(1)
        )
        return self.session.scalar(stmt)
