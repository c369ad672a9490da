"""Login flood: does a clinic's study list stay fast while 60 clients send wrong passwords?

Starts the real service (uvicorn subprocess, the embedded default: in-process worker and
local blobs) on a fresh SQLite file (``--db sqlite``) or a fresh PostgreSQL database
(``--db postgres``), seeds one clinic with a user and ``--studies`` studies, logs that user
in, and then for ``--seconds``:

* ``--clients`` attackers (a separate process, asyncio) each send wrong logins back to back:
  ``--real-share`` of them at the clinic user's name, the others at random unknown names.
  Their address (X-Forwarded-For, which uvicorn trusts from loopback as behind a proxy) is
  ``--spread``: ``one`` address for all (the throttle's per-address rule soon answers 429
  without hashing), ``client`` one address per attacker, or ``attempt`` a new address per
  attempt (a botnet: only the per-account rule applies, so nearly every attempt costs a hash);
* the clinic user fetches ``GET /api/v1/studies`` in a loop (``--list-pause`` s between
  calls) with its valid token, timed here;
* every 5 s the clinic user logs in with the right password from its own address (its own thread).

Prints the study list's p50/p95/p99 (before and during the flood), its errors, the login
answers by status, the server's process CPU (psutil: the uvicorn process, every thread it
ran, and its children) and the goal (study list p95 < 300 ms during the flood) met or not;
writes everything as JSON (``--out``, default bench/results/login_flood-<db>-<time>.json).
The run's temp folder and database are removed afterwards.

    .venv/bin/python -m bench.login_flood --db sqlite
    .venv/bin/python -m bench.login_flood --db postgres --seconds 60 --spread attempt
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import insert

from app.auth.service import create_user
from bench.claim_latency import ADMIN
from bench.load import _quantiles
from bench.procstats import tree_cpu_s
from bench.upload_latency import _free_port, _wait_ready
from storage.db import make_engine, make_session_factory
from storage.migrations import upgrade
from storage.models import (
    PRIORITY_RANK, Patient, Recording, Role, Sex, Site, SiteLevel, Study, StudyStatus, Urgency, utcnow_aware,
)

SECRET = "login-flood-secret-" * 3
USERNAME = "clinic.tech"
PASSWORD = "harbor-lantern-4821"
GOAL_P95_MS = 300.0


def _seed(url: str, n_studies: int) -> None:
    """One clinic, its user (real argon2 hash of PASSWORD) and ``n_studies`` analysed-looking studies."""
    engine = make_engine(url)
    now = utcnow_aware()
    with make_session_factory(engine)() as s:
        site = Site(code="flood", name="flood clinic", level=SiteLevel.township)
        s.add(site)
        s.flush()
        create_user(s, site_id=site.id, username=USERNAME, password=PASSWORD, role=Role.clinic)
        pids = list(s.execute(insert(Patient).returning(Patient.id), [
            {"site_id": site.id, "external_id": f"p{i}", "name": f"患者{i}", "sex": Sex.female}
            for i in range(max(1, n_studies // 2))]).scalars())
        studies, recordings = [], []
        for i in range(n_studies):
            sid = uuid.uuid4()
            studies.append({"id": sid, "site_id": site.id, "patient_id": pids[i % len(pids)], "acquired_at": now,
                            "received_at": now, "indication": "", "clinic_urgency": Urgency.routine,
                            "status": StudyStatus.awaiting_read, "status_reason": "", "priority": Urgency.routine,
                            "priority_rank": PRIORITY_RANK[Urgency.routine], "idempotency_key": f"k{i}",
                            "request_hash": "0" * 64, "uploaded_by": "bench", "analysis_attempts": 1})
            recordings.append({"study_id": sid, "format": "wfdb", "fs_hz": 500.0, "leads": ["I", "II"],
                               "n_samples": 5000, "duration_s": 10.0, "warnings": [], "file_demographics": {}})
        if studies:
            s.execute(insert(Study), studies)
            s.execute(insert(Recording), recordings)
        s.commit()
    engine.dispose()


@contextlib.contextmanager
def service(db: str, n_studies: int) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A fresh database, seeded, served by one uvicorn process (as `ecghub serve`); (base URL, process)."""
    var = tempfile.mkdtemp(prefix="ecghub-flood-")
    env = {**os.environ, "ECGHUB_VAR_DIR": var, "ECGHUB_SECRET_KEY": SECRET}
    pg_db = None
    if db == "postgres":
        pg_db = f"ecghub_flood_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{pg_db}"')
        url = ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + f"/{pg_db}"
    else:
        url = f"sqlite:///{var}/ecghub.db"
    env["ECGHUB_DATABASE_URL"] = url
    proc = None
    try:
        upgrade(url)
        _seed(url, n_studies)
        port = _free_port()
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "app.asgi:app", "--port", str(port),
                                 "--log-level", "warning", "--timeout-keep-alive", "75"], env=env)
        base = f"http://127.0.0.1:{port}"
        _wait_ready(base, proc)
        yield base, proc
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
        if pg_db:
            with psycopg.connect(ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{pg_db}" WITH (FORCE)')
        shutil.rmtree(var, ignore_errors=True)


# -- the attackers (their own process: their event loop must not delay the clinic's timings) ------

def _address(spread: str, client: int, rng: random.Random) -> str:
    if spread == "one":
        return "203.0.113.7"
    if spread == "client":
        return f"198.18.{client // 250}.{client % 250 + 1}"
    return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


async def _attacker(c: httpx.AsyncClient, i: int, until: float, spread: str, real_share: float,
                    statuses: Counter[str], lat: list[float]) -> None:
    rng = random.Random(i)
    while time.monotonic() < until:
        name = USERNAME if rng.random() < real_share else f"nobody{rng.getrandbits(40):x}"
        t = time.perf_counter()
        try:
            r = await c.post("/api/v1/auth/token", data={"username": name, "password": f"wrong-{rng.getrandbits(32)}"},
                             headers={"X-Forwarded-For": _address(spread, i, rng)})
            statuses[str(r.status_code)] += 1
            lat.append((time.perf_counter() - t) * 1000)
        except httpx.HTTPError as exc:
            statuses[type(exc).__name__] += 1


async def _flood(base: str, clients: int, seconds: float, spread: str, real_share: float) -> dict[str, Any]:
    statuses: Counter[str] = Counter()
    lat: list[float] = []
    until = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=httpx.Limits(max_connections=clients)) as c:
        await asyncio.gather(*[_attacker(c, i, until, spread, real_share, statuses, lat) for i in range(clients)])
    return {"statuses": dict(statuses), "latency_ms": _quantiles(lat)}


def _flood_process(base: str, clients: int, seconds: float, spread: str, real_share: float, out: Any) -> None:
    """Say "started" (imports done), flood, send the figures back."""
    out.send("started")
    out.send(asyncio.run(_flood(base, clients, seconds, spread, real_share)))


# -- the clinic ------------------------------------------------------------------------------

@dataclass
class ClinicView:
    lat: list[float]
    errors: Counter[str]
    own_logins: Counter[str]


def _own_logins(base: str, until: float, every_s: float, view: ClinicView) -> None:
    """The clinic user's correct login every ``every_s`` s from its own address (on its own thread:
    a login queued behind the attackers' hashes must not pause the study-list timings)."""
    with httpx.Client(base_url=base, timeout=60) as c:
        while time.monotonic() + every_s < until:
            time.sleep(every_s)
            t = time.perf_counter()
            r = c.post("/api/v1/auth/token", data={"username": USERNAME, "password": PASSWORD},
                       headers={"X-Forwarded-For": "192.0.2.10"})
            view.own_logins[f"{r.status_code} ({(time.perf_counter() - t):.1f} s)"] += 1


def _clinic(base: str, token: str, seconds: float, pause: float, login_every: float | None = 5.0) -> ClinicView:
    """The clinic user: its study list in a loop, and (``login_every``) its own correct login now and then."""
    view = ClinicView([], Counter(), Counter())
    until = time.monotonic() + seconds
    logins = threading.Thread(target=_own_logins, args=(base, until, login_every, view), daemon=True)
    if login_every:
        logins.start()
    h = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=60) as c:
        while time.monotonic() < until:
            t = time.perf_counter()
            try:
                r = c.get("/api/v1/studies", headers=h)
                view.lat.append((time.perf_counter() - t) * 1000)
                if r.status_code != 200:
                    view.errors[f"HTTP {r.status_code}"] += 1
            except httpx.HTTPError as exc:
                view.errors[type(exc).__name__] += 1
            time.sleep(pause)
    if login_every:
        logins.join(timeout=120)
    return view


def run(args: argparse.Namespace) -> dict[str, Any]:
    with service(args.db, args.studies) as (base, proc):
        with httpx.Client(base_url=base, timeout=30) as c:
            r = c.post("/api/v1/auth/token", data={"username": USERNAME, "password": PASSWORD},
                       headers={"X-Forwarded-For": "192.0.2.10"})
            r.raise_for_status()
            token = r.json()["access_token"]
        before = _clinic(base, token, args.baseline, args.list_pause, login_every=None)
        recv, send = mp.Pipe(duplex=False)
        attackers = mp.get_context("spawn").Process(
            target=_flood_process, args=(base, args.clients, args.seconds, args.spread, args.real_share, send))
        attackers.start()
        recv.recv()  # "started": the attackers' imports are done
        cpu0, t0 = tree_cpu_s(proc.pid), time.monotonic()
        time.sleep(1.0)  # the flood is on before the clinic's timings start
        during = _clinic(base, token, max(1.0, args.seconds - 1.0), args.list_pause)
        flood = recv.recv()
        attackers.join(timeout=60)
        cpu, elapsed = tree_cpu_s(proc.pid) - cpu0, time.monotonic() - t0
    return _result(args, before, during, flood, cpu, elapsed)


def _result(args: argparse.Namespace, before: ClinicView, during: ClinicView, flood: dict[str, Any], cpu: float,
            elapsed: float) -> dict[str, Any]:
    q = _quantiles(during.lat)
    return {
        "command": " ".join(["python -m bench.login_flood", *sys.argv[1:]]),
        "config": {k: v for k, v in vars(args).items() if k != "out"},
        "machine": {"cpus": os.cpu_count(), "load_avg_1min_at_end": round(os.getloadavg()[0], 2)},
        "study_list_ms_before_flood": _quantiles(before.lat),
        "study_list_ms_during_flood": q,
        "study_list_errors": dict(during.errors),
        "clinic_own_login_during_flood": dict(during.own_logins),
        "wrong_logins": flood["statuses"],
        "wrong_login_latency_ms": flood["latency_ms"],
        "server_cpu_s": round(cpu, 1),
        "server_cpu_share_of_one_core": round(cpu / elapsed, 2),
        "goal": {"study_list_p95_ms_below": GOAL_P95_MS,
                 "met": bool(q and q["p95"] < GOAL_P95_MS and not during.errors)},
    }


def _print(r: dict[str, Any]) -> None:
    a = r["config"]
    print(f"login flood on {a['db']}: {a['clients']} clients x {a['seconds']:.0f} s of wrong logins "
          f"({a['real_share']:.0%} at the real user, addresses: {a['spread']}); {a['studies']} studies listed")
    for label, key in (("before the flood", "study_list_ms_before_flood"), ("during the flood", "study_list_ms_during_flood")):
        if q := r[key]:
            print(f"  GET /studies {label:<17} n={q['n']:5d}  p50 {q['p50']:7.1f}  p95 {q['p95']:7.1f}  "
                  f"p99 {q['p99']:7.1f} ms")
    print(f"  study list errors: {r['study_list_errors'] or 0}")
    print(f"  wrong logins by answer: {r['wrong_logins']}  (latency {r['wrong_login_latency_ms']})")
    print(f"  the clinic's own correct login during the flood: {r['clinic_own_login_during_flood']}")
    print(f"  server process CPU {r['server_cpu_s']} s ({r['server_cpu_share_of_one_core']} cores); "
          f"machine: {r['machine']['cpus']} CPUs, load {r['machine']['load_avg_1min_at_end']} at the end")
    g = r["goal"]
    print(f"  goal: study list p95 < {g['study_list_p95_ms_below']:.0f} ms with no error: "
          f"{'met' if g['met'] else 'NOT met'}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--clients", type=int, default=60)
    p.add_argument("--spread", choices=["one", "client", "attempt"], default="attempt",
                   help="attackers' addresses: one for all, one per client, or a new one per attempt")
    p.add_argument("--real-share", type=float, default=0.2, help="share of attempts at the real user's name")
    p.add_argument("--studies", type=int, default=200, help="studies of the clinic (the list shows 50)")
    p.add_argument("--list-pause", type=float, default=0.1, help="seconds between two study-list calls")
    p.add_argument("--baseline", type=float, default=5.0, help="seconds of study-list calls before the flood")
    p.add_argument("--out", help="JSON results file (default bench/results/login_flood-<db>-<time>.json)")
    args = p.parse_args()
    result = run(args)
    _print(result)
    out = Path(args.out or f"bench/results/login_flood-{args.db}-{time.strftime('%Y%m%d-%H%M%S')}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"  results written to {out}")


if __name__ == "__main__":
    main()
