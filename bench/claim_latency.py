"""Claim latency of the reading queue on PostgreSQL: 10,000 queued studies, 20 readers pressing "next".

Creates a fresh PostgreSQL database, migrates it, seeds N queued studies and R
readers, starts a real uvicorn server on loopback (``--workers``), and has R
threads call ``POST /api/v1/reader/next`` over HTTP (keep-alive) until each has
made ``--claims`` claims. Prints p50/p95/p99 of the request latency in ms.

    .venv/bin/python -m bench.claim_latency --studies 10000 --readers 20
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import httpx
from sqlalchemy import text
import psycopg

from app.auth import credentials
from bench.upload_latency import _free_port, _wait_ready
from storage.db import make_engine, make_session_factory
from storage.migrations import upgrade
from storage.models import (
    PRIORITY_RANK, Patient, ReaderPool, Recording, Role, Sex, Site, SiteLevel, Study, StudyStatus, Urgency, User,
    utcnow_aware,
)
from storage.repositories import ReadingRepository

ADMIN = os.environ.get("ECGHUB_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _seed(url: str, n_studies: int, n_readers: int) -> list[int]:
    engine = make_engine(url)
    sf = make_session_factory(engine)
    rng = random.Random(1)
    now = utcnow_aware()
    with sf() as s:
        site = Site(code="bench", name="bench", level=SiteLevel.township)
        s.add(site)
        s.flush()
        patients = [Patient(site_id=site.id, external_id=f"p{i}", name="p", sex=Sex.male) for i in range(200)]
        s.add_all(patients)
        s.flush()
        for i in range(n_studies):
            prio = rng.choice(list(Urgency))
            sid = uuid.uuid4()
            s.add(Study(id=sid, site_id=site.id, patient_id=patients[i % 200].id, acquired_at=now, received_at=now,
                        clinic_urgency=prio, status=StudyStatus.awaiting_read, priority=prio,
                        priority_rank=PRIORITY_RANK[prio], pool=ReaderPool.pediatric,
                        due_at=now + dt.timedelta(seconds=rng.randint(0, 14400)), idempotency_key=f"k{i}",
                        request_hash="0" * 64, uploaded_by="bench"))
            s.add(Recording(study_id=sid, format="wfdb", fs_hz=500, leads=["I"], n_samples=5000, duration_s=10))
        ids = []
        for i in range(n_readers):
            u = User(site_id=site.id, username=f"reader{i}", password_hash="x", role=Role.reader,
                     reader_pools=["pediatric"])
            s.add(u)
            s.flush()
            ReadingRepository(s).set_coverage(u.id, [site.id])
            ids.append(u.id)
        s.commit()
    with engine.connect() as conn:  # statistics as autovacuum would have them after a bulk load
        conn.execute(text("ANALYZE"))
        conn.commit()
    engine.dispose()
    return ids


def run(n_studies: int, n_readers: int, claims_each: int, workers: int, think_s: float = 0.0) -> None:
    db = f"ecghub_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{db}"')
    url = ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + f"/{db}"
    try:
        upgrade(url)
        t0 = time.perf_counter()
        reader_ids = _seed(url, n_studies, n_readers)
        print(f"seeded {n_studies} queued studies, {n_readers} readers in {time.perf_counter() - t0:.1f} s")
        secret = "bench-secret-" * 4
        with tempfile.TemporaryDirectory() as var:
            env = {**os.environ, "ECGHUB_DATABASE_URL": url, "ECGHUB_VAR_DIR": var, "ECGHUB_SECRET_KEY": secret,
                   "ECGHUB_WORKER_MODE": "off"}
            port = _free_port()
            proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "app.asgi:app", "--port", str(port),
                                     "--workers", str(workers), "--log-level", "warning"], env=env)
            try:
                base = f"http://127.0.0.1:{port}"
                _wait_ready(base, proc)
                lat = _load(base, reader_ids, secret, claims_each, think_s)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
        q = statistics.quantiles(lat, n=100)
        print(f"POST /api/v1/reader/next: {len(lat)} claims by {n_readers} concurrent readers, "
              f"{workers} uvicorn worker(s), queue of {n_studies}, think time {think_s} s between claims")
        print(f"  p50 {q[49]:.1f} ms   p95 {q[94]:.1f} ms   p99 {q[98]:.1f} ms   max {max(lat):.1f} ms")
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def _load(base: str, reader_ids: list[int], secret: str, claims_each: int, think_s: float) -> list[float]:
    lat: list[float] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(reader_ids))

    def reader(uid: int) -> None:
        token = credentials.issue_token(uid, secret, 60, utcnow_aware())[0]
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
            barrier.wait()
            for _ in range(claims_each):
                t = time.perf_counter()
                r = c.post("/api/v1/reader/next")
                ms = (time.perf_counter() - t) * 1000
                if r.status_code != 200:
                    raise SystemExit(f"claim failed: {r.status_code} {r.text[:200]}")
                with lock:
                    lat.append(ms)
                if think_s:
                    time.sleep(random.uniform(0.5, 1.5) * think_s)

    threads = [threading.Thread(target=reader, args=(u,)) for u in reader_ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return lat


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--studies", type=int, default=10_000)
    p.add_argument("--readers", type=int, default=20)
    p.add_argument("--claims", type=int, default=50, help="claims per reader")
    p.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    p.add_argument("--think", type=float, default=0.0,
                   help="mean seconds a reader waits between claims (0: closed loop, the worst case)")
    a = p.parse_args()
    run(a.studies, a.readers, a.claims, a.workers, a.think)


if __name__ == "__main__":
    main()
