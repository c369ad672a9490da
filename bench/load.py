"""Load test on loopback: clinics upload, readers claim and sign, phones fetch reports, all at once.

Starts the real pieces as separate processes (uvicorn with --workers N, and for
the scale mode ``ecghub worker`` processes on RabbitMQ with a fresh PostgreSQL
database), drives them with an async httpx client for a bounded time, and prints:
uploads/s sustained, p50/p95/p99 latency per endpoint, upload-to-analysed time
(from the database: analysis time - received time), errors, CPU per upload; and writes it all
as JSON (``--out``, default bench/results/load-<time>.json).

CPU is process CPU (/proc/PID/stat: every thread the process ran, exited ones included) of
the API and worker processes, per accepted upload. Every upload is byte-unique (3 samples
nudged by one ADC unit, and a header comment for WFDB), so blob writes and fsyncs happen
for real. The run's database, RabbitMQ queues and temp folder are removed afterwards.

On a machine shared with other work, CPU per upload is the figure to compare, not
throughput; to isolate the upload path, leave the readers and phones out:

    .venv/bin/python -m bench.load --mode scale --api-workers 1 --workers 1 --readers 0 --phones 0 \\
        --rate 8 --seconds 30

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
import json
import os
import random
import shutil
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

    async def timed(self, name: str, call):
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


@dataclass(frozen=True)
class Payload:
    """One upload body to draw from; ``unique()`` makes a byte-different copy for each upload."""

    files: tuple[tuple[str, bytes, str], ...]
    sample_offset: int  # first byte of 16-bit little-endian samples in ``files[-1]``
    sample_bytes: int   # how many bytes of samples follow

    def unique(self, rng: random.Random) -> list[tuple[str, tuple[str, bytes, str]]]:
        """The files with 3 random samples nudged by one ADC unit (~5 uV: invisible on an ECG), so
        every upload writes (and fsyncs) new blobs; a WFDB header also gets an upload comment."""
        *head, (name, data, mime) = self.files
        raw = bytearray(data)
        for _ in range(3):
            at = self.sample_offset + 2 * rng.randrange(self.sample_bytes // 2)
            value = int.from_bytes(raw[at:at + 2], "little", signed=True)
            raw[at:at + 2] = (value + (1 if value < 32767 else -1)).to_bytes(2, "little", signed=True)
        head = [(n, d + f"# load upload {rng.getrandbits(64):016x}\n".encode() if n.endswith(".hea") else d, m)
                for n, d, m in head]
        return [("files", f) for f in [*head, (name, bytes(raw), mime)]]


def _dicom_samples(raw: bytes) -> tuple[int, int]:
    """(offset, length) of the first waveform group's 16-bit samples inside the DICOM file bytes."""
    import io

    import pydicom

    ds = pydicom.dcmread(io.BytesIO(raw))
    wave = bytes(ds.WaveformSequence[0].WaveformData)
    at = raw.find(wave[:256])
    assert at > 0 and ds.WaveformSequence[0].WaveformBitsAllocated == 16
    return at, len(wave)


def _files(dicom_share: float = 0.0) -> list[Payload]:
    """Upload bodies to draw from: 10 LUDB WFDB records (500 Hz, 120 KB) and, for ``dicom_share``
    of the draws, the Mortara DICOM resting ECG shipped with pydicom (1000 Hz, 290 KB)."""
    root = data_dir() / "ludb"
    oct_ = "application/octet-stream"
    wfdb = [Payload(((f"{n}.hea", (root / f"{n}.hea").read_bytes(), oct_),
                     (f"{n}.dat", (root / f"{n}.dat").read_bytes(), oct_)), 0, (root / f"{n}.dat").stat().st_size)
            for n in RECORDS]
    dcm = data_dir() / "formats" / "dicom" / "waveform_ecg.dcm"
    raw = dcm.read_bytes()
    copies = round(len(wfdb) * dicom_share / (1 - dicom_share)) if 0 < dicom_share < 1 else 0
    return wfdb + [Payload(((dcm.name, raw, "application/dicom"),), *_dicom_samples(raw))] * copies


async def _clinic(c: httpx.AsyncClient, token: str, rate: float, until: float, st: Stats, payloads) -> None:
    h = {"Authorization": f"Bearer {token}"}
    tasks = []
    rng = random.Random()
    # A Poisson process from the start: the first upload too waits its random interval (all
    # clinics uploading at t=0 is a synchronised burst no real network produces).
    await asyncio.sleep(random.expovariate(rate))
    while time.monotonic() < until:
        files = random.choice(payloads).unique(rng)
        form = {"patient_id": uuid.uuid4().hex[:12], "patient_name": "Load", "patient_sex": "F",
                "patient_birth_date": "2015-01-01"}

        async def one(files=files, form=form) -> None:
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
                 think_s: float = 0.0, dicom_share: float = 0.0, phones: int = 5) -> Stats:
    st, payloads = Stats(), _files(dicom_share)
    now = utcnow_aware()
    tok = {u: credentials.issue_token(u, SECRET, 60, now)[0] for u in clinic_ids + reader_ids}
    until = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=200)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as c:
        per_clinic = rate / len(clinic_ids)
        jobs = [_clinic(c, tok[u], per_clinic, until, st, payloads) for u in clinic_ids]
        jobs += [_reader(c, tok[u], until, st, think_s) for u in reader_ids]
        jobs += [_phone(c, until, st) for _ in range(phones)]
        await asyncio.gather(*jobs)
    return st


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU (s) of each process, ALL its threads included, exited ones too.

    /proc/PID/stat's utime and stime count every thread the process ever ran (summing
    /proc/PID/task/* only sees live threads: issue 16 found it reporting 3.1 ms of 24.3). A
    process that has exited counts 0 here; the cluster's processes live until after measuring.
    """
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
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
def cluster(mode: str, api_workers: int, workers: int, clinics: int, readers: int, **extra_env: str):
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
            _delete_queues(env.get("ECGHUB_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/"), env["ECGHUB_QUEUE_NAME"])
        shutil.rmtree(var, ignore_errors=True)


def _delete_queues(broker_url: str, queue: str) -> None:
    """Remove the run's queues from RabbitMQ: Dramatiq's queue, its delay (.DQ) and dead-letter (.XQ) queues."""
    import pika
    from pika.exceptions import AMQPError

    try:
        conn = pika.BlockingConnection(pika.URLParameters(broker_url))
    except AMQPError as exc:  # the broker is gone: nothing left to clean there
        print(f"  (could not connect to RabbitMQ to delete queue {queue}: {exc})", file=sys.stderr)
        return
    try:
        for name in (queue, f"{queue}.DQ", f"{queue}.XQ"):
            channel = conn.channel()
            try:
                channel.queue_delete(queue=name)
            except AMQPError as exc:  # never declared: the broker closed the channel; say so and go on
                print(f"  (queue {name} not deleted: {exc})", file=sys.stderr)
    finally:
        conn.close()


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
                               args.dicom_share, args.phones))
            time.sleep(2)
        client0 = time.process_time()
        svc0 = {p: _cpu_seconds([p]) for p in _service_pids()}
        cpu0, api0, all0, t0 = _cpu_seconds(c.pids), _cpu_seconds(c.api_pids), _machine_cpu_seconds(), time.monotonic()
        st = asyncio.run(_drive(c.base, c.clinic_ids, c.reader_ids, args.rate, args.seconds, args.reader_think,
                                args.dicom_share, args.phones))
        client = time.process_time() - client0
        _drain(c.url, st.uploaded, args.drain)
        elapsed, cpu = time.monotonic() - t0, _cpu_seconds(c.pids) - cpu0
        api, machine = _cpu_seconds(c.api_pids) - api0, _machine_cpu_seconds() - all0
        svc = sum(_cpu_seconds([p]) - svc0.get(p, 0.0) for p in _service_pids())  # new backends count whole
        analysed = _analysed_ms(c.url, st.uploaded)
    result = _result(args, st, analysed, elapsed, cpu, client, api, machine, svc)
    _print(result)
    out = Path(args.out or f"bench/results/load-{time.strftime('%Y%m%d-%H%M%S')}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"  results written to {out}")


def _drain(url: str, ids: list[str], limit_s: float) -> None:
    """Wait until every accepted upload is analysed (or ``limit_s`` passes): CPU is then complete."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline and len(_analysed_ms(url, ids)) < len(ids):
        time.sleep(0.5)
    time.sleep(0.5)


def _quantiles(xs: list[float]) -> dict[str, float] | None:
    if not xs:
        return None
    q = statistics.quantiles(xs, n=100) if len(xs) > 1 else [xs[0]] * 99
    return {"n": len(xs), "p50": round(q[49], 1), "p95": round(q[94], 1), "p99": round(q[98], 1)}


def _result(args: argparse.Namespace, st: Stats, analysed: list[float], elapsed: float, cpu: float,
            client: float, api: float, machine: float, svc: float) -> dict[str, object]:
    """Everything measured, as one JSON-able dict (CPU in ms per accepted upload)."""
    n = max(1, len(st.uploaded))
    return {
        "command": " ".join(["python -m bench.load", *sys.argv[1:]]),
        "config": {k: v for k, v in vars(args).items() if k != "out"},
        "uploads_accepted": len(st.uploaded), "uploads_per_s": round(len(st.uploaded) / args.seconds, 2),
        "refused_busy": st.errors.get("POST /studies: HTTP 503", 0),
        "signed": len(st.signed), "analysed": len(analysed), "not_analysed": len(st.uploaded) - len(analysed),
        "latency_ms": {name: _quantiles(xs) for name, xs in sorted(st.lat.items())},
        "upload_to_analysed_ms": _quantiles(analysed),
        "errors": dict(st.errors),
        "elapsed_s": round(elapsed, 1),
        # API CPU per accepted upload; worker CPU per ANALYSED study (a study still queued at the end
        # has cost its worker nothing yet, so dividing by the accepted count would flatter the workers).
        "cpu_ms_per_upload": {
            "api": round(api / n * 1000, 1),
            "workers": round((cpu - api) / max(1, len(analysed)) * 1000, 1) if args.mode == "scale" else None,
            "api_plus_workers": round((api / n + ((cpu - api) / max(1, len(analysed)) if args.mode == "scale"
                                                  else 0.0)) * 1000, 1),
            "postgres_rabbitmq": round(svc / n * 1000, 1),
            "whole_machine": round(machine / n * 1000, 1),
        },
        "client_cpu_s": round(client, 1),
    }


def _print(r: dict) -> None:
    a = r["config"]
    workers = f", {a['workers']} analysis worker(s)" if a["mode"] == "scale" else " (in-process analysis)"
    print(f"mode {a['mode']}, {a['blobs']} blobs: {a['api_workers']} uvicorn worker(s){workers}; offered "
          f"{a['rate']}/s uploads for {a['seconds']:.0f} s after {a['warmup']:.0f} s warm-up, {a['clinics']} clinics, "
          f"{a['readers']} readers (think {a['reader_think']:g} s), {a['phones']} phones; {a['dicom_share']:.0%} "
          "Mortara DICOM, the rest LUDB WFDB; every upload byte-unique")
    print(f"  uploads accepted {r['uploads_accepted']} ({r['uploads_per_s']}/s), refused busy {r['refused_busy']}, "
          f"signed {r['signed']}, analysed {r['analysed']}")
    for name, q in r["latency_ms"].items():
        print(f"  {name:<28} n={q['n']:5d}  p50 {q['p50']:7.1f}  p95 {q['p95']:7.1f}  p99 {q['p99']:7.1f} ms")
    if q := r["upload_to_analysed_ms"]:
        print(f"  upload -> analysed           p50 {q['p50']:7.1f}  p95 {q['p95']:7.1f}  p99 {q['p99']:7.1f} ms")
    print(f"  errors: {r['errors'] or 0}; not analysed: {r['not_analysed']}")
    c = r["cpu_ms_per_upload"]
    print(f"  process CPU per upload: API + workers {c['api_plus_workers']} ms (API {c['api']}, workers "
          f"{c['workers']}); load client {r['client_cpu_s']} s on the same cores")
    print(f"  PostgreSQL + RabbitMQ processes {c['postgres_rabbitmq']} ms per upload; whole machine "
          f"{c['whole_machine']} ms per upload (anything else running on the machine counts too)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mode", choices=["embedded", "scale"], default="embedded")
    p.add_argument("--api-workers", type=int, default=1)
    p.add_argument("--workers", type=int, default=2, help="analysis worker processes (scale mode)")
    p.add_argument("--rate", type=float, default=25.0, help="offered uploads per second")
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--drain", type=float, default=120.0,
                   help="at most this many seconds to let analysis finish afterwards (CPU is counted until then)")
    p.add_argument("--warmup", type=float, default=5.0,
                   help="seconds of the same load first, not measured (the first seconds after a start pay for "
                        "new connections and lazy imports: p50 ~460 ms in the first 3 s at 10/s)")
    p.add_argument("--clinics", type=int, default=20)
    p.add_argument("--readers", type=int, default=5)
    p.add_argument("--reader-think", type=float, default=0.0,
                   help="seconds each reader waits after signing (0: closed loop, the heaviest case)")
    p.add_argument("--dicom-share", type=float, default=0.5,
                   help="share of uploads that are the Mortara DICOM (1000 Hz); the others are LUDB WFDB")
    p.add_argument("--phones", type=int, default=5, help="phones fetching signed reports")
    p.add_argument("--out", help="JSON results file (default bench/results/load-<time>.json)")
    p.add_argument("--blobs", choices=["local", "s3"], default="local",
                   help="s3: moto's S3 server on loopback (its own CPU is not counted: a separate machine)")
    run(p.parse_args())


if __name__ == "__main__":
    main()
