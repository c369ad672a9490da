"""Fault runs: PostgreSQL, RabbitMQ or the S3 object store down while clinics upload (scale mode).

Clinics upload at a steady rate and, like the clinic console, retry a 503 after its
Retry-After with the SAME Idempotency-Key. Mid-run the chosen service is restarted on this
machine. Afterwards the run checks, from the database and the blob store, that:

* no request got a 5xx other than 503, and every 503 carried Retry-After;
* every upload ended acknowledged (202) and is exactly one study with its recording and
  original files intact (sha256 of the stored bytes);
* every study was analysed exactly once (jobs resumed after the broker restart).

    .venv/bin/python -m bench.faults --fault postgres              # a restart (~2 s)
    .venv/bin/python -m bench.faults --fault postgres --down 8     # stopped for 8 s: requests get 503
    .venv/bin/python -m bench.faults --fault rabbitmq
    .venv/bin/python -m bench.faults --fault s3 --down 8           # moto's S3 server cut off for 8 s

With ``--fault s3`` the service stores blobs in moto's S3 server on loopback, reached through a
relay that the run cuts (connections refused and dropped) and restores.

It restarts the machine's own services (``pg_ctlcluster``, ``rabbitmqctl``): run it on a
development machine, never against shared infrastructure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import subprocess
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import func, select

from app.auth import credentials
from bench.load import _files, cluster
from bench.s3 import BUCKET, S3Server, s3_server
from storage.blobs import BlobStore, LocalBlobStore, S3BlobStore
from storage.db import make_engine, make_session_factory
from storage.models import Analysis, RecordingFile, Study, utcnow_aware


def _outage(fault: str, down_s: float, s3: S3Server | None) -> float:
    """Take the service down for ``down_s`` seconds (at least its restart time); returns the
    seconds it was unavailable."""
    t = time.monotonic()
    if fault == "postgres":
        version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
        if down_s <= 0:
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True)
        else:
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "stop", "-m", "fast"],
                           check=True)
            time.sleep(down_s)
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=True)
    elif fault == "rabbitmq":
        subprocess.run(["rabbitmqctl", "-q", "stop_app"], check=True)
        time.sleep(max(down_s, 3))
        subprocess.run(["rabbitmqctl", "-q", "start_app"], check=True)
    else:
        assert s3 is not None
        s3.relay.cut()
        time.sleep(max(down_s, 3))
        s3.relay.restore()
    return time.monotonic() - t


async def _upload_until_done(c: httpx.AsyncClient, token: str, files, outcomes: Counter, ids: dict) -> None:
    key = uuid.uuid4().hex
    form = {"patient_id": key[:12], "patient_name": "Fault", "patient_sex": "M"}
    for _ in range(60):
        try:
            r = await c.post("/api/v1/studies", files=files, data=form,
                             headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key})
        except httpx.HTTPError as exc:
            outcomes[f"connection error: {type(exc).__name__}"] += 1
            await asyncio.sleep(1)
            continue
        outcomes[f"{r.status_code}{' +Retry-After' if 'retry-after' in r.headers else ''}"] += 1
        if r.status_code == 202:
            ids[key] = r.json()["id"]
            return
        if r.status_code != 503:
            return
        await asyncio.sleep(float(r.headers.get("retry-after", "1")))
    outcomes["gave up after 60 tries"] += 1


async def _drive(base: str, clinic_ids: list[int], rate: float, seconds: float) -> tuple[Counter, dict]:
    outcomes: Counter = Counter()
    ids: dict[str, str] = {}
    payloads = _files()
    tokens = [credentials.issue_token(u, "load-test-secret-" * 3, 60, utcnow_aware())[0] for u in clinic_ids]
    tasks = []
    until = time.monotonic() + seconds
    async with httpx.AsyncClient(base_url=base, timeout=60) as c:
        while time.monotonic() < until:
            tasks.append(asyncio.create_task(
                _upload_until_done(c, random.choice(tokens), random.choice(payloads), outcomes, ids)))
            await asyncio.sleep(random.expovariate(rate))
        await asyncio.gather(*tasks)
    return outcomes, ids


def _verify(url: str, blobs: BlobStore, ids: dict[str, str], drain_s: float) -> list[str]:
    engine = make_engine(url)
    sf = make_session_factory(engine)
    wanted = [uuid.UUID(i) for i in ids.values()]
    problems = []
    deadline = time.monotonic() + drain_s
    while True:
        with sf() as s:
            analysed = s.scalar(select(func.count(func.distinct(Analysis.study_id))).where(
                Analysis.study_id.in_(wanted)))
        if analysed == len(wanted) or time.monotonic() > deadline:
            break
        time.sleep(1)
    with sf() as s:
        studies = s.scalar(select(func.count()).select_from(Study))
        per_study = Counter(s.scalars(select(Analysis.study_id).where(Analysis.study_id.in_(wanted))))
        files = s.scalars(select(RecordingFile)).all()
    engine.dispose()
    if studies != len(wanted):
        problems.append(f"{studies} studies in the database for {len(wanted)} acknowledged uploads")
    if len(per_study) != len(wanted):
        problems.append(f"{len(wanted) - len(per_study)} acknowledged studies never analysed")
    if any(n != 1 for n in per_study.values()):
        problems.append("a study was analysed more than once")
    for f in files:
        try:
            blobs.get(f.blob_key)
        except Exception as exc:
            problems.append(f"file {f.name}: {exc}")
    return problems


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--fault", choices=["postgres", "rabbitmq", "s3"], required=True)
    p.add_argument("--rate", type=float, default=5.0)
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--at", type=float, default=10.0, help="seconds into the run when the service goes down")
    p.add_argument("--down", type=float, default=0.0,
                   help="seconds the service stays down (0: a plain restart; RabbitMQ and S3 at least 3 s)")
    a = p.parse_args()
    with contextlib.ExitStack() as stack:
        s3 = stack.enter_context(s3_server()) if a.fault == "s3" else None
        c = stack.enter_context(cluster("scale", 2, 2, 10, 1, ECGHUB_SWEEP_GRACE_S="10", ECGHUB_SWEEP_INTERVAL_S="5",
                                        **(s3.env() if s3 else {})))
        timer = threading.Timer(a.at, lambda: print(
            f"{a.fault} unavailable for {_outage(a.fault, a.down, s3):.1f} s", flush=True))
        timer.start()
        outcomes, ids = asyncio.run(_drive(c.base, c.clinic_ids, a.rate, a.seconds))
        timer.join()
        blobs = (S3BlobStore(BUCKET, endpoint_url=s3.endpoint_url, access_key="test", secret_key="test",
                             region="us-east-1") if s3 else LocalBlobStore(c.var_dir / "blobs"))
        problems = _verify(c.url, blobs, ids, drain_s=90)
    print(f"fault {a.fault}: {sum(outcomes.values())} requests for {len(ids)} uploads; responses {dict(outcomes)}")
    bad = [k for k in outcomes if k.startswith("5") and not k.startswith("503 +Retry-After")]
    print("5xx other than 503 with Retry-After:", bad or "none")
    print("integrity:", problems or "every acknowledged upload is one study, files intact, analysed exactly once")


if __name__ == "__main__":
    main()
