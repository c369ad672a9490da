"""Load test on loopback: clinics upload, readers claim and sign, phones fetch reports, all at once.

Starts the real pieces as separate processes (uvicorn with --workers N, and for
the scale mode ``ecghub worker`` processes on RabbitMQ with a fresh PostgreSQL
database), drives them with an async httpx client for a bounded time, and prints:
uploads/s sustained, p50/p95/p99 latency per endpoint, upload-to-analysed time
(from the database: analysis time - received time), errors, CPU seconds per upload.

Uploads are 10 s 12-lead recordings: LUDB WFDB records (PhysioNet) and the Mortara DICOM
resting ECG shipped with pydicom, half each by default (credits in ../shared/data/README.md).

    .venv/bin/python -m bench.load --mode embedded --rate 25 --seconds 30
    .venv/bin/python -m bench.load --mode scale --api-workers 2 --workers 2 --rate 50 --seconds 30
    .venv/bin/python -m bench.load --mode scale --blobs s3 --rate 25 --reader-think 2
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
from sqlalchemy import select

from app.auth import credentials
from bench.claim_latency import ADMIN
from bench.common import data_dir
from bench.s3 import s3_server
from bench.upload_latency import _free_port, _wait_ready
from storage.db import make_engine, make_session_factory
from storage.migrations import upgrade
from storage.models import Analysis, Role, Site, SiteLevel, Study, User, utcnow_aware
from storage.repositories import ReadingRepository

SECRET = "load-test-secret-" * 3
RECORDS = [1, 3, 5, 7, 9, 11, 13, 15, 17, 19]


def _seed(url: str, clinics: int, readers: int) -> tuple[list[int], list[int]]:
    engine = make_engine(url)
    sf = make_session_factory(engine)
    with sf() as s:
        sites = [Site(code=f"c{i}", name=f"clinic {i}", level=SiteLevel.township) for i in range(clinics)]
        s.add_all(sites)
        s.flush()
        clinic_users = []
        for site in sites:
            u = User(site_id=site.id, username=f"tech{site.id}", password_hash="x", role=Role.clinic)
            s.add(u)
            s.flush()
            clinic_users.append(u.id)
        reader_ids = []
        for i in range(readers):
            u = User(site_id=sites[0].id, username=f"reader{i}", password_hash="x", role=Role.reader,
                     reader_pools=["pediatric", "adult"])
            s.add(u)
            s.flush()
            ReadingRepository(s).set_coverage(u.id, [x.id for x in sites])
            reader_ids.append(u.id)
        s.commit()
    engine.dispose()
    return clinic_users, reader_ids


class Stats:
    def __init__(self) -> None:
        self.lat: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.uploaded: list[str] = []
        self.signed: list[str] = []
        self.fetchable: list[str] = []  # signed studies whose clinic token is known
        self.owner: dict[str, str] = {}  # study id -> its clinic's token (phones see their own site only)

    async def timed(self, name: str, call):  # noqa: ANN001, ANN201
        t = time.perf_counter()
        try:
            resp = await call
        except httpx.HTTPError as exc:
            self.errors[f"{name}: {type(exc).__name__}"] += 1
            return None
        self.lat[name].append((time.perf_counter() - t) * 1000)
        if resp.status_code >= 400:
            self.errors[f"{name}: HTTP {resp.status_code}"] += 1
        return resp


def _files(dicom_share: float = 0.0) -> list[list[tuple[str, tuple[str, bytes, str]]]]:
    """Upload bodies to draw from: 10 LUDB WFDB records (500 Hz, 120 KB) and, for ``dicom_share``
    of the draws, the Mortara DICOM resting ECG shipped with pydicom (1000 Hz, 290 KB)."""
    root = data_dir() / "ludb"
    wfdb = [[("files", (f"{n}{ext}", (root / f"{n}{ext}").read_bytes(), "application/octet-stream"))
             for ext in (".hea", ".dat")] for n in RECORDS]
    dcm = data_dir() / "formats" / "dicom" / "waveform_ecg.dcm"
    copies = round(len(wfdb) * dicom_share / (1 - dicom_share)) if 0 < dicom_share < 1 else 0
    return wfdb + [[("files", (dcm.name, dcm.read_bytes(), "application/dicom"))]] * copies


async def _clinic(c: httpx.AsyncClient, token: str, rate: float, until: float, st: Stats, payloads) -> None:  # noqa: ANN001
    h = {"Authorization": f"Bearer {token}"}
    tasks = []
    # A Poisson process from the start: the first upload too waits its random interval (all
    # clinics uploading at t=0 is a synchronised burst no real network produces).
    await asyncio.sleep(random.expovariate(rate))
    while time.monotonic() < until:
        files = random.choice(payloads)
        form = {"patient_id": uuid.uuid4().hex[:12], "patient_name": "Load", "patient_sex": "F",
                "patient_birth_date": "2015-01-01"}

        async def one(files=files, form=form) -> None:  # noqa: ANN001
            r = await st.timed("POST /studies", c.post("/api/v1/studies", files=files, data=form,
                                                        headers={**h, "Idempotency-Key": uuid.uuid4().hex}))
            if r is not None and r.status_code == 202:
                st.uploaded.append(r.json()["id"])
                st.owner[r.json()["id"]] = token

        tasks.append(asyncio.create_task(one()))
        await asyncio.sleep(random.expovariate(rate))
    await asyncio.gather(*tasks)


async def _reader(c: httpx.AsyncClient, token: str, until: float, st: Stats, think_s: float) -> None:
    """Claim, load the waveform, sign; then ``think_s`` seconds (a person reads for a minute or
    more; 0 makes the readers a closed loop that takes all the CPU it can)."""
    h = {"Authorization": f"Bearer {token}", "X-Requested-With": "bench"}
    await asyncio.sleep(random.uniform(0, think_s))  # readers do not start in step
    while time.monotonic() < until:
        r = await st.timed("POST /reader/next", c.post("/api/v1/reader/next", headers=h))
        if r is None or r.status_code != 200:
            await asyncio.sleep(0.2)
            continue
        body = r.json()
        await st.timed("GET /reader/waveform", c.get(body["links"]["waveform"], headers=h))
        s = await st.timed("POST /claims/sign", c.post(f"/api/v1/reader/claims/{body['claim']['id']}/sign",
                                                       headers=h, json={"statements": ["SR", "NORM"]}))
        if s is not None and s.status_code == 201:
            st.signed.append(body["study"]["id"])
            if body["study"]["id"] in st.owner:  # uploaded in this run (not in the warm-up)
                st.fetchable.append(body["study"]["id"])
        await asyncio.sleep(think_s)


async def _phone(c: httpx.AsyncClient, until: float, st: Stats) -> None:
    """A phone fetching a signed report of its own clinic."""
    while time.monotonic() < until:
        if st.fetchable:
            sid = random.choice(st.fetchable)
            h = {"Authorization": f"Bearer {st.owner[sid]}"}
            await st.timed("GET /studies/{id}/report", c.get(f"/api/v1/studies/{sid}/report", headers=h))
        await asyncio.sleep(0.2)


async def _drive(base: str, clinic_ids: list[int], reader_ids: list[int], rate: float, seconds: float,
                 think_s: float = 0.0, dicom_share: float = 0.0) -> Stats:
    st, payloads = Stats(), _files(dicom_share)
    now = utcnow_aware()
    tok = {u: credentials.issue_token(u, SECRET, 60, now)[0] for u in clinic_ids + reader_ids}
    until = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=200)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as c:
        per_clinic = rate / len(clinic_ids)
        jobs = [_clinic(c, tok[u], per_clinic, until, st, payloads) for u in clinic_ids]
        jobs += [_reader(c, tok[u], until, st, think_s) for u in reader_ids]
        jobs += [_phone(c, until, st) for _ in range(5)]
        await asyncio.gather(*jobs)
    return st


def _cpu_seconds(pids: list[int]) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").glob("*") if Path(f"/proc/{pid}").exists() else []:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _machine_cpu_seconds() -> float:
    """CPU time of the whole machine (all processes: PostgreSQL, RabbitMQ and the client too)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    busy = sum(int(v) for i, v in enumerate(fields) if i not in (3, 4))  # all but idle and iowait
    return busy / os.sysconf("SC_CLK_TCK")


def _service_pids() -> list[int]:
    """PostgreSQL and RabbitMQ server processes on this machine (their CPU per upload is reported)."""
    out = []
    for p in Path("/proc").glob("[0-9]*"):
        try:
            if (p / "comm").read_text().strip() in ("postgres", "beam.smp", "epmd"):
                out.append(int(p.name))
        except OSError:
            continue
    return out


def _tree(pid: int) -> list[int]:
    out = [pid]
    for p in Path("/proc").glob("[0-9]*"):
        try:
            if int((p / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                out += _tree(int(p.name))
        except (OSError, ValueError):
            continue
    return out


def _analysed_ms(url: str, ids: list[str]) -> list[float]:
    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        rows = s.execute(select(Study.received_at, Analysis.created_at).join(Analysis, Analysis.study_id == Study.id)
                         .where(Study.id.in_([uuid.UUID(i) for i in ids]))).all()
    engine.dispose()
    return [(a - r).total_seconds() * 1000 for r, a in rows]


@contextlib.contextmanager
def cluster(mode: str, api_workers: int, workers: int, clinics: int, readers: int, **extra_env: str):  # noqa: ANN201
    """Start the real pieces (fresh database, uvicorn, analysis workers) and yield a Cluster."""
    var = tempfile.mkdtemp(prefix="ecghub-load-")
    env = {**os.environ, "ECGHUB_VAR_DIR": var, "ECGHUB_SECRET_KEY": SECRET, "ECGHUB_SWEEP_GRACE_S": "120",
           **extra_env}
    db = None
    if mode == "scale":
        db = f"ecghub_load_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{db}"')
        url = ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1) + f"/{db}"
        env.update(ECGHUB_DATABASE_URL=url, ECGHUB_WORKER_MODE="broker", ECGHUB_QUEUE_NAME=f"load-{db[-8:]}")
    else:
        url = f"sqlite:///{var}/ecghub.db"
        env.update(ECGHUB_DATABASE_URL=url)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        upgrade(url)
        clinic_ids, reader_ids = _seed(url, clinics, readers)
        port = _free_port()
        procs.append(subprocess.Popen([sys.executable, "-m", "uvicorn", "app.asgi:app", "--port", str(port),
                                       "--workers", str(api_workers), "--log-level", "warning",
                                       "--timeout-keep-alive", "75"], env=env))  # as `ecghub serve`
        if mode == "scale":
            procs += [subprocess.Popen([sys.executable, "-m", "app.cli", "worker", "--threads", "1"], env=env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(workers)]
        base = f"http://127.0.0.1:{port}"
        _wait_ready(base, procs[0])
        yield Cluster(base, url, clinic_ids, reader_ids, [p for proc in procs for p in _tree(proc.pid)], Path(var),
                      api_pids=_tree(procs[0].pid))
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        if db:
            with psycopg.connect(ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


@dataclass(frozen=True)
class Cluster:
    base: str
    url: str
    clinic_ids: list[int]
    reader_ids: list[int]
    pids: list[int]
    var_dir: Path
    api_pids: list[int]  # the uvicorn processes (in embedded mode they also analyse)


def run(args: argparse.Namespace) -> None:
    with contextlib.ExitStack() as stack:
        env = stack.enter_context(s3_server()).env() if args.blobs == "s3" else {}
        c = stack.enter_context(cluster(args.mode, args.api_workers, args.workers, args.clinics, args.readers, **env))
        if args.warmup > 0:  # connections, thread-local broker channels, lazy imports: not the steady state
            asyncio.run(_drive(c.base, c.clinic_ids, c.reader_ids, args.rate, args.warmup, args.reader_think,
                               args.dicom_share))
            time.sleep(2)
        client0 = time.process_time()
        svc0 = {p: _cpu_seconds([p]) for p in _service_pids()}
        cpu0, api0, all0, t0 = _cpu_seconds(c.pids), _cpu_seconds(c.api_pids), _machine_cpu_seconds(), time.monotonic()
        st = asyncio.run(_drive(c.base, c.clinic_ids, c.reader_ids, args.rate, args.seconds, args.reader_think,
                                args.dicom_share))
        client = time.process_time() - client0
        time.sleep(args.drain)
        elapsed, cpu = time.monotonic() - t0, _cpu_seconds(c.pids) - cpu0
        api, machine = _cpu_seconds(c.api_pids) - api0, _machine_cpu_seconds() - all0
        svc = sum(_cpu_seconds([p]) - svc0.get(p, 0.0) for p in _service_pids())  # new backends count whole
        analysed = _analysed_ms(c.url, st.uploaded)
    _print(args, st, analysed, elapsed, cpu, client, api, machine, svc)


def _print(args: argparse.Namespace, st: Stats, analysed: list[float], elapsed: float, cpu: float,
           client: float, api: float, machine: float, svc: float) -> None:
    workers = f", {args.workers} analysis worker(s)" if args.mode == "scale" else " (in-process analysis)"
    print(f"mode {args.mode}, {args.blobs} blobs: {args.api_workers} uvicorn worker(s){workers}; offered "
          f"{args.rate}/s uploads for {args.seconds:.0f} s after {args.warmup:.0f} s warm-up, {args.clinics} clinics, {args.readers} readers "
          f"(think {args.reader_think:g} s), 5 phones; {args.dicom_share:.0%} Mortara DICOM, the rest LUDB WFDB")
    print(f"  uploads accepted {len(st.uploaded)} ({len(st.uploaded) / args.seconds:.1f}/s), "
          f"signed {len(st.signed)}, analysed {len(analysed)}")
    for name, xs in sorted(st.lat.items()):
        q = statistics.quantiles(xs, n=100) if len(xs) > 1 else [xs[0]] * 99
        print(f"  {name:<28} n={len(xs):5d}  p50 {q[49]:7.1f}  p95 {q[94]:7.1f}  p99 {q[98]:7.1f} ms")
    if analysed:
        q = statistics.quantiles(analysed, n=100) if len(analysed) > 1 else [analysed[0]] * 99
        print(f"  upload -> analysed           p50 {q[49]:7.1f}  p95 {q[94]:7.1f}  p99 {q[98]:7.1f} ms")
    print(f"  errors: {dict(st.errors) or 0}; not analysed: {len(st.uploaded) - len(analysed)}")
    print(f"  CPU {cpu:.1f} s over {elapsed:.0f} s = {cpu / max(1, len(st.uploaded)) * 1000:.0f} ms per upload "
          f"(server and workers, all activity included); load client {client:.1f} s on the same cores")
    if args.mode == "scale":
        n = max(1, len(st.uploaded))
        print(f"  of which API processes {api / n * 1000:.0f} ms, analysis workers {(cpu - api) / n * 1000:.0f} ms per upload")
    print(f"  PostgreSQL + RabbitMQ processes {svc / max(1, len(st.uploaded)) * 1000:.0f} ms per upload")
    print(f"  whole machine {machine:.1f} CPU s = {machine / max(1, len(st.uploaded)) * 1000:.0f} ms per upload "
          f"(with PostgreSQL, RabbitMQ, the client; anything else running on the machine counts too)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mode", choices=["embedded", "scale"], default="embedded")
    p.add_argument("--api-workers", type=int, default=1)
    p.add_argument("--workers", type=int, default=2, help="analysis worker processes (scale mode)")
    p.add_argument("--rate", type=float, default=25.0, help="offered uploads per second")
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--drain", type=float, default=10.0, help="seconds to let analysis finish afterwards")
    p.add_argument("--warmup", type=float, default=5.0,
                   help="seconds of the same load first, not measured (the first seconds after a start pay for "
                        "new connections and lazy imports: p50 ~460 ms in the first 3 s at 10/s)")
    p.add_argument("--clinics", type=int, default=20)
    p.add_argument("--readers", type=int, default=5)
    p.add_argument("--reader-think", type=float, default=0.0,
                   help="seconds each reader waits after signing (0: closed loop, the heaviest case)")
    p.add_argument("--dicom-share", type=float, default=0.5,
                   help="share of uploads that are the Mortara DICOM (1000 Hz); the others are LUDB WFDB")
    p.add_argument("--blobs", choices=["local", "s3"], default="local",
                   help="s3: moto's S3 server on loopback (its own CPU is not counted: a separate machine)")
    run(p.parse_args())


if __name__ == "__main__":
    main()
