"""Exactly-once claims under contention: many readers pressing "next" at once on real connections."""

from __future__ import annotations

import datetime as dt
import random
import threading
import uuid
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from app.auth.principal import Principal
from app.reading import claims
from app.settings import Settings
from storage.db import make_engine, make_session_factory
from storage.models import (
    PRIORITY_RANK,
    AuditEvent,
    Claim,
    Patient,
    ReaderPool,
    Role,
    Sex,
    Site,
    SiteLevel,
    Study,
    StudyStatus,
    Urgency,
    User,
)
from storage.repositories import ReadingRepository


def _seed(session_factory, n_studies: int, n_readers: int) -> list[Principal]:
    now = dt.datetime.now(dt.UTC)
    rng = random.Random(7)
    with session_factory() as s:
        site = Site(code="c", name="c", level=SiteLevel.township)
        s.add(site)
        s.flush()
        patient = Patient(site_id=site.id, external_id="p", name="p", sex=Sex.female)
        s.add(patient)
        s.flush()
        for i in range(n_studies):
            prio = rng.choice(list(Urgency))
            s.add(Study(id=uuid.uuid4(), site_id=site.id, patient_id=patient.id, acquired_at=now,
                        received_at=now, clinic_urgency=prio, status=StudyStatus.awaiting_read, priority=prio,
                        priority_rank=PRIORITY_RANK[prio], pool=ReaderPool.pediatric,
                        due_at=now + dt.timedelta(seconds=rng.randint(0, 3600)), idempotency_key=f"k{i}",
                        request_hash="0" * 64, uploaded_by="test"))
        readers = []
        for i in range(n_readers):
            u = User(site_id=site.id, username=f"r{i}", password_hash="x", role=Role.reader,
                     reader_pools=["pediatric"])
            s.add(u)
            s.flush()
            ReadingRepository(s).set_coverage(u.id, [site.id])
            readers.append(Principal("user", u.id, site.id, Role.reader, ("pediatric",)))
        s.commit()
    return readers


def _drain(session_factory, readers: list[Principal], settings: Settings) -> tuple[list[tuple[int, uuid.UUID]], list[BaseException]]:
    got: list[tuple[int, uuid.UUID]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(len(readers))

    def reader_loop(p: Principal) -> None:
        try:
            start.wait()
            while True:
                with session_factory() as s:
                    claim = claims.claim_next(s, p, settings)
                    s.commit()
                    if claim is None:
                        return
                    with lock:
                        got.append((p.id, claim.study_id))
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=reader_loop, args=(p,)) for p in readers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    return got, errors


def _check(session_factory, got, n_studies: int) -> None:
    counts = Counter(study for _, study in got)
    assert len(counts) == n_studies, f"{n_studies - len(counts)} studies never claimed"
    assert max(counts.values()) == 1, "a study was claimed twice"
    with session_factory() as s:
        statuses = Counter(s.scalars(select(Study.status)))
        assert statuses == {StudyStatus.in_read: n_studies}
        open_claims = s.scalars(select(Claim).where(Claim.ended_at.is_(None))).all()
        assert len(open_claims) == n_studies
        assert {c.study_id for c in open_claims} == set(counts)
        # the claim statement writes its audit rows with the claim: one claim.created per study
        created = Counter(s.scalars(select(AuditEvent.object_id).where(AuditEvent.action == "claim.created")))
        assert created == Counter(str(study) for study in counts)


@pytest.mark.postgres
def test_500_studies_50_readers_postgres(pg_migrated, tmp_path: Path):
    from tests.app.conftest import _empty_postgres

    _empty_postgres(pg_migrated)
    engine = make_engine(pg_migrated, pool_size=50, max_overflow=0)
    sf = make_session_factory(engine)
    readers = _seed(sf, 500, 50)
    got, errors = _drain(sf, readers, Settings(var_dir=tmp_path))
    assert not errors, errors[:3]
    _check(sf, got, 500)
    assert len({r for r, _ in got}) > 10, "claims were not spread over many readers"
    engine.dispose()


def test_200_studies_8_readers_sqlite(sqlite_template, tmp_path: Path):
    import shutil

    path = tmp_path / "q.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    sf = make_session_factory(engine)
    readers = _seed(sf, 200, 8)
    got, errors = _drain(sf, readers, Settings(var_dir=tmp_path))
    assert not errors, errors[:3]
    _check(sf, got, 200)
    engine.dispose()
