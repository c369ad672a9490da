"""Claim latency of the reading queue on PostgreSQL, over HTTP and in raw SQL, side by side.

Creates a fresh PostgreSQL database, migrates it, seeds N queued studies and R
readers, starts a real uvicorn server on loopback (``--workers``) and runs rounds
of two paired phases on the same database and queue:

* **raw SQL**: R threads, each on its own psycopg connection (autocommit), run the
  claim statement the API runs (``storage.repositories.reading.CLAIM_NEXT_PG``:
  SKIP LOCKED pick, mark, claim, audit) until each has made ``--claims`` claims;
* **HTTP**: R threads call ``POST /api/v1/reader/next`` (keep-alive) as many times.

Before every phase the queue is reset to N waiting studies (claims and audit rows
deleted), so both phases claim from the same 10 k queue. Per phase it prints
p50/p95/p99 latency (ms), claims/s and CPU per claim: for HTTP the API server's
process CPU (utime + stime of the uvicorn process and its workers, from /proc,
not live threads), for raw SQL the client process's CPU; and for both the CPU of
the PostgreSQL backends serving the bench database (from /proc: the server must
run on this machine). The ratios HTTP/raw of
p50 and p99 are the paired figures to quote: on a busy shared machine absolute
throughput says more about the neighbours than about the code.

Bounded (``--claims`` per reader, ``--rounds``, a ``--timeout`` per phase) and
cleaning up after itself (the server is stopped, its temp folder and the database
dropped, even on error). ``--app-dir`` serves another checkout (e.g. a "before"
worktree) against the same seeded database for a before/after comparison.

    .venv/bin/python -m bench.claim_latency --studies 10000 --readers 20 --json /tmp/claims.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import insert, text

from app.auth import credentials
from bench.upload_latency import _free_port, _wait_ready
from storage.db import make_engine
from storage.migrations import upgrade
from storage.models import (
    PRIORITY_RANK, Patient, ReaderCoverage, ReaderPool, Recording, Role, Sex, Site, SiteLevel, Study, StudyStatus,
    Urgency, User, utcnow_aware,
)
from storage.repositories.reading import CLAIM_NEXT_PG

ADMIN = os.environ.get("ECGHUB_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def _seed(url: str, n_studies: int, n_readers: int) -> tuple[int, list[int]]:
    """N queued pediatric studies of one site (random priority and due time) and R readers covering it."""
    engine = make_engine(url)
    rng = random.Random(1)
    now = utcnow_aware()
    with engine.begin() as conn:
        site_id = conn.execute(insert(Site).values(code="bench", name="bench", level=SiteLevel.township)
                               .returning(Site.id)).scalar_one()
        patient_ids = list(conn.execute(insert(Patient).returning(Patient.id), [
            {"site_id": site_id, "external_id": f"p{i}", "name": "p", "sex": Sex.male} for i in range(200)]).scalars())
        studies, recordings = [], []
        for i in range(n_studies):
            prio = rng.choice(list(Urgency))
            sid = uuid.uuid4()
            studies.append({"id": sid, "site_id": site_id, "patient_id": patient_ids[i % 200], "acquired_at": now,
                            "received_at": now, "indication": "", "clinic_urgency": prio,
                            "status": StudyStatus.awaiting_read, "status_reason": "", "priority": prio,
                            "priority_rank": PRIORITY_RANK[prio], "pool": ReaderPool.pediatric,
                            "due_at": now + dt.timedelta(seconds=rng.randint(0, 14400)), "idempotency_key": f"k{i}",
                            "request_hash": "0" * 64, "uploaded_by": "bench", "analysis_attempts": 0})
            recordings.append({"study_id": sid, "format": "wfdb", "fs_hz": 500.0, "leads": ["I"], "n_samples": 5000,
                               "duration_s": 10.0, "warnings": [], "file_demographics": {}})
        conn.execute(insert(Study), studies)
        conn.execute(insert(Recording), recordings)
        reader_ids = list(conn.execute(insert(User).returning(User.id), [
            {"site_id": site_id, "username": f"reader{i}", "password_hash": "x", "role": Role.reader,
             "reader_pools": ["pediatric"], "display_name": "", "active": True, "token_version": 0}
            for i in range(n_readers)]).scalars())
        conn.execute(insert(ReaderCoverage), [{"user_id": u, "site_id": site_id} for u in reader_ids])
    with engine.connect() as conn:  # statistics as autovacuum would have them after a bulk load
        conn.execute(text("ANALYZE"))
        conn.commit()
    engine.dispose()
    return site_id, reader_ids


def _reset_queue(dsn: str) -> None:
    """Every study waiting again, no claims, no audit rows: each phase starts from the same queue."""
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute("DELETE FROM claims")
        c.execute("DELETE FROM audit_events")
        c.execute("UPDATE studies SET status = 'awaiting_read'")
        c.execute("VACUUM ANALYZE studies, claims, audit_events")


def _tree_cpu_s(root_pid: int) -> float:
    """utime + stime (s) of a process and all its live descendants, from /proc."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        stats[pid] = fields
        children.setdefault(int(fields[1]), []).append(pid)
    total, todo = 0.0, [root_pid]
    while todo:
        pid = todo.pop()
        if pid in stats:
            total += (int(stats[pid][11]) + int(stats[pid][12])) / CLK_TCK
        todo.extend(children.get(pid, []))
    return total


def _pg_backend_cpu(dsn: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend serving the bench database (the server is local)."""
    with psycopg.connect(dsn, autocommit=True) as c:
        pids = [r[0] for r in c.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                        "AND pid <> pg_backend_pid()")]
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / CLK_TCK
    return out


def _pg_cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU the backends used between two readings (a backend started in between counts in full)."""
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


def _self_cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _run_readers(n: int, make_claim: Callable[[int], Callable[[], bool]], claims_each: int, warmup: int,
                 timeout_s: float) -> tuple[list[float], float]:
    """R threads each make ``warmup`` unmeasured then ``claims_each`` measured claims; (latencies ms, wall s)."""
    lat: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    ready = threading.Barrier(n + 1)
    go = threading.Event()

    def reader(i: int) -> None:
        try:
            claim = make_claim(i)
            for _ in range(warmup):
                claim()
            ready.wait()
            go.wait()
            mine = []
            for _ in range(claims_each):
                t = time.perf_counter()
                if not claim():
                    raise RuntimeError("the queue ran empty: seed more studies")
                mine.append((time.perf_counter() - t) * 1000)
            with lock:
                lat.extend(mine)
        except BaseException as exc:  # reported below
            errors.append(exc)
            ready.abort()

    threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    try:
        ready.wait(timeout=timeout_s)
    except threading.BrokenBarrierError:
        pass  # a reader failed while warming up: reported below
    t0 = time.perf_counter()
    go.set()
    for t in threads:
        t.join(timeout=max(0.0, timeout_s - (time.perf_counter() - t0)))
    wall = time.perf_counter() - t0
    if errors:
        raise SystemExit(f"a reader failed: {errors[0]!r}")
    if any(t.is_alive() for t in threads):
        raise SystemExit(f"phase exceeded --timeout {timeout_s} s")
    return lat, wall


def _raw_phase(dsn: str, site_id: int, reader_ids: list[int], claims_each: int, warmup: int,
               timeout_s: float) -> dict[str, Any]:
    sql = CLAIM_NEXT_PG  # the statement the API runs
    conns: list[psycopg.Connection[Any]] = []

    def make_claim(i: int) -> Callable[[], bool]:
        conn = psycopg.connect(dsn, autocommit=True)
        conns.append(conn)
        uid = reader_ids[i]

        def claim() -> bool:
            now = dt.datetime.now(dt.UTC)
            row = conn.execute(sql, {"pools": ["pediatric"], "reader_id": uid, "now": now,
                                     "lease_until": now + dt.timedelta(minutes=10), "actor": f"user:{uid}",
                                     "actor_site_id": site_id}, prepare=True).fetchone()
            return row is not None
        return claim

    try:
        pg0, cpu0 = _pg_backend_cpu(dsn), _self_cpu_s()
        lat, wall = _run_readers(len(reader_ids), make_claim, claims_each, warmup, timeout_s)
        cpu = _self_cpu_s() - cpu0
        pg = _pg_cpu_delta(pg0, _pg_backend_cpu(dsn))  # before the connections close
    finally:
        for c in conns:
            c.close()
    out = _summary(lat, wall, cpu, len(reader_ids) * warmup)
    out["db_cpu_ms_per_claim"] = 1000 * pg / (len(lat) + len(reader_ids) * warmup)
    return out


def _http_phase(dsn: str, base: str, server_pid: int, secret: str, site_id: int, reader_ids: list[int],
                claims_each: int, warmup: int, timeout_s: float) -> dict[str, Any]:
    clients: list[httpx.Client] = []
    cpu_marks: dict[str, float] = {}

    def make_claim(i: int) -> Callable[[], bool]:
        uid = reader_ids[i]
        token = credentials.issue_token(uid, secret, 60, utcnow_aware(), version=0, role="reader", site_id=site_id,
                                        pools=("pediatric",))[0]  # as the login endpoint issues it
        c = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        clients.append(c)

        def claim() -> bool:
            r = c.post("/api/v1/reader/next")
            if r.status_code not in (200, 204):
                raise RuntimeError(f"claim failed: {r.status_code} {r.text[:200]}")
            return r.status_code == 200
        return claim

    try:
        pg0, cpu0, client0 = _pg_backend_cpu(dsn), _tree_cpu_s(server_pid), _self_cpu_s()
        lat, wall = _run_readers(len(reader_ids), make_claim, claims_each, warmup, timeout_s)
        cpu_marks["server"] = _tree_cpu_s(server_pid) - cpu0
        cpu_marks["client"] = _self_cpu_s() - client0
        cpu_marks["db"] = _pg_cpu_delta(pg0, _pg_backend_cpu(dsn))
    finally:
        for c in clients:
            c.close()
    # The readers warm up after cpu0 is read: divide by every claim the server made in the phase.
    out = _summary(lat, wall, cpu_marks["server"], len(reader_ids) * warmup)
    served = len(lat) + len(reader_ids) * warmup
    out["client_cpu_ms_per_claim"] = 1000 * cpu_marks["client"] / served
    out["db_cpu_ms_per_claim"] = 1000 * cpu_marks["db"] / served
    return out


def _summary(lat: list[float], wall_s: float, cpu_s: float, warmup_claims: int) -> dict[str, Any]:
    q = statistics.quantiles(lat, n=100)
    served = len(lat) + warmup_claims
    return {"claims": len(lat), "p50_ms": q[49], "p95_ms": q[94], "p99_ms": q[98], "max_ms": max(lat),
            "claims_per_s": len(lat) / wall_s, "cpu_ms_per_claim": 1000 * cpu_s / served}


def run(n_studies: int, n_readers: int, claims_each: int, workers: int, rounds: int, warmup: int,
        timeout_s: float, app_dir: str | None, json_path: str | None) -> dict[str, Any]:
    db = f"ecghub_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{db}"')
    dsn = ADMIN.rsplit("/", 1)[0] + f"/{db}"
    url = dsn.replace("postgresql://", "postgresql+psycopg://", 1)
    results: dict[str, Any] = {"studies": n_studies, "readers": n_readers, "claims_per_reader": claims_each,
                               "workers": workers, "app_dir": app_dir or ".", "rounds": []}
    try:
        upgrade(url)
        t0 = time.perf_counter()
        site_id, reader_ids = _seed(url, n_studies, n_readers)
        print(f"seeded {n_studies} queued studies, {n_readers} readers in {time.perf_counter() - t0:.1f} s")
        secret = "bench-secret-" * 4
        with tempfile.TemporaryDirectory() as var:
            env = {**os.environ, "ECGHUB_DATABASE_URL": url, "ECGHUB_VAR_DIR": var, "ECGHUB_SECRET_KEY": secret,
                   "ECGHUB_WORKER_MODE": "off"}
            if app_dir:
                env["PYTHONPATH"] = app_dir
            port = _free_port()
            proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "app.asgi:app", "--port", str(port),
                                     "--workers", str(workers), "--log-level", "warning"],
                                    env=env, cwd=app_dir or None)
            try:
                base = f"http://127.0.0.1:{port}"
                _wait_ready(base, proc)
                for i in range(rounds):
                    _reset_queue(dsn)
                    raw = _raw_phase(dsn, site_id, reader_ids, claims_each, warmup, timeout_s)
                    _reset_queue(dsn)
                    http = _http_phase(dsn, base, proc.pid, secret, site_id, reader_ids, claims_each, warmup, timeout_s)
                    results["rounds"].append({"raw_sql": raw, "http": http})
                    _print_round(i + 1, raw, http)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    if json_path:
        Path(json_path).write_text(json.dumps(results, indent=2))
    return results


def _print_round(i: int, raw: dict[str, Any], http: dict[str, Any]) -> None:
    print(f"round {i}: {raw['claims']} claims per phase")
    print(f"  {'':10} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'claims/s':>9} {'CPU ms/claim':>13} "
          f"{'PostgreSQL CPU ms/claim':>24}")
    for name, r, who in (("raw SQL", raw, "client"), ("HTTP", http, "API")):
        print(f"  {name:10} {r['p50_ms']:8.1f} {r['p95_ms']:8.1f} {r['p99_ms']:8.1f} {r['claims_per_s']:9.0f} "
              f"{r['cpu_ms_per_claim']:10.2f} ({who}) {r['db_cpu_ms_per_claim']:14.2f}")
    print(f"  (the benchmark's own HTTP clients used {http['client_cpu_ms_per_claim']:.2f} ms CPU per claim "
          "on the same cores)")
    print(f"  HTTP / raw SQL: p50 {http['p50_ms'] / raw['p50_ms']:.2f}x   p99 {http['p99_ms'] / raw['p99_ms']:.2f}x   "
          f"claims/s {http['claims_per_s'] / raw['claims_per_s']:.2f}x")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--studies", type=int, default=10_000)
    p.add_argument("--readers", type=int, default=20)
    p.add_argument("--claims", type=int, default=50, help="measured claims per reader per phase")
    p.add_argument("--warmup", type=int, default=3, help="unmeasured claims per reader before each phase")
    p.add_argument("--rounds", type=int, default=2, help="paired raw-SQL/HTTP rounds")
    p.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds a phase may take before the run aborts")
    p.add_argument("--app-dir", default=None, help="serve the app from this checkout (before/after comparisons)")
    p.add_argument("--json", default=None, help="write the figures here as JSON")
    a = p.parse_args()
    if a.readers * (a.claims + a.warmup) > a.studies:
        p.error("--readers x (--claims + --warmup) must not exceed --studies (each phase claims from one queue)")
    run(a.studies, a.readers, a.claims, a.workers, a.rounds, a.warmup, a.timeout, a.app_dir, a.json)


if __name__ == "__main__":
    main()
