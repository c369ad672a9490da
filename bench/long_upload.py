"""Long recordings: memory of the API and the analysis worker for a 2 h and a 4 h 12-lead upload.

For each ``--hours`` value, on a fresh service: writes a synthetic 12-lead recording at 500 Hz
(``bench.synthetic_ecg``: beats, premature ventricular beats, noise) as WFDB .hea/.dat in a
zip (``--formats wfdb,edf`` adds the same as a zipped EDF) in a temp folder, uploads it as a
clinic, waits for the analysis, then reads it as a reader does (the reading bundle, waveform
windows at the start, the middle and the end, a 60 s window, the beats view twice), timing each
call. The RSS of the API process and of the worker is sampled every 100 ms (psutil) and the
peak is reported per phase (upload, analysis, reading).

``--mode embedded`` (default) is the embedded default: SQLite, local blobs and the analysis
worker INSIDE the uvicorn process; that one process is judged against the API bound during the
upload and the reading, and against the worker bound during the analysis. ``--mode split``
runs the analysis in a separate ``ecghub worker`` process (RabbitMQ broker, same SQLite file)
and judges each process against its own bound. Goals (issue 17): API < 500 MiB, worker < 1 GiB.

The upload limit of the started service is raised to fit the zip (``ECGHUB_MAX_UPLOAD_BYTES``,
printed): 4 h of noisy 12-lead samples deflate to ~90 MB, above the 64 MiB default. The
recording files, the service's folder, its queues and database are deleted afterwards.

    .venv/bin/python -m bench.long_upload --hours 2,4
    .venv/bin/python -m bench.long_upload --hours 2,4 --mode split --formats wfdb,edf
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from app.auth import credentials
from bench.load import _delete_queues
from bench.procstats import RssSampler
from bench.synthetic_ecg import write_edf, write_wfdb, zip_files
from bench.upload_latency import _free_port, _wait_ready
from storage.db import make_engine, make_session_factory
from storage.migrations import upgrade
from storage.models import Analysis, Role, Site, SiteLevel, User, utcnow_aware
from storage.repositories import ReadingRepository

SECRET = "long-upload-secret-" * 3
GOALS_MIB = {"api": 500.0, "worker": 1024.0}


@dataclass(frozen=True)
class Service:
    base: str
    url: str
    api_pid: int
    worker_pid: int | None  # None: the analysis runs inside the API process
    clinic: dict[str, str]  # Authorization headers
    reader: dict[str, str]


def _seed(url: str) -> tuple[int, int, int]:
    """A clinic with its technician and a reader covering it (both pools); (site, clinic user, reader)."""
    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        site = Site(code="long", name="long recordings", level=SiteLevel.township)
        s.add(site)
        s.flush()
        tech = User(site_id=site.id, username="tech", password_hash="x", role=Role.clinic)
        reader = User(site_id=site.id, username="reader", password_hash="x", role=Role.reader,
                      reader_pools=["pediatric", "adult"])
        s.add_all([tech, reader])
        s.flush()
        ReadingRepository(s).set_coverage(reader.id, [site.id])
        s.commit()
        ids = site.id, tech.id, reader.id
    engine.dispose()
    return ids


def _token(user_id: int, role: str, site_id: int, pools: tuple[str, ...] = ()) -> dict[str, str]:
    token = credentials.issue_token(user_id, SECRET, 600, utcnow_aware(), version=0, role=role, site_id=site_id,
                                    pools=pools)[0]
    return {"Authorization": f"Bearer {token}", "X-Requested-With": "bench"}


@contextlib.contextmanager
def service(mode: str, max_upload_bytes: int) -> Iterator[Service]:
    """A fresh SQLite service (uvicorn, plus an ``ecghub worker`` process in split mode)."""
    var = tempfile.mkdtemp(prefix="ecghub-long-")
    url = f"sqlite:///{var}/ecghub.db"
    env = {**os.environ, "ECGHUB_VAR_DIR": var, "ECGHUB_SECRET_KEY": SECRET, "ECGHUB_DATABASE_URL": url,
           "ECGHUB_MAX_UPLOAD_BYTES": str(max_upload_bytes), "ECGHUB_ACCESS_TOKEN_MINUTES": "600"}
    if mode == "split":
        env.update(ECGHUB_WORKER_MODE="broker", ECGHUB_QUEUE_NAME=f"long-{uuid.uuid4().hex[:8]}")
    procs: list[subprocess.Popen[bytes]] = []
    try:
        upgrade(url)
        site, tech, reader = _seed(url)
        port = _free_port()
        procs.append(subprocess.Popen([sys.executable, "-m", "uvicorn", "app.asgi:app", "--port", str(port),
                                       "--log-level", "warning"], env=env))
        if mode == "split":
            procs.append(subprocess.Popen([sys.executable, "-m", "app.cli", "worker", "--threads", "1"], env=env,
                                          stdout=subprocess.DEVNULL))
        base = f"http://127.0.0.1:{port}"
        _wait_ready(base, procs[0])
        yield Service(base, url, procs[0].pid, procs[1].pid if mode == "split" else None,
                      _token(tech, "clinic", site), _token(reader, "reader", site, ("pediatric", "adult")))
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)
        if mode == "split":
            _delete_queues(env.get("ECGHUB_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/"),
                           env["ECGHUB_QUEUE_NAME"])
        shutil.rmtree(var, ignore_errors=True)


def make_upload(folder: Path, hours: float, fmt: str) -> Path:
    """The zipped recording (the unzipped files are deleted at once: only the zip stays on disk)."""
    if fmt == "wfdb":
        files = write_wfdb(folder, f"long{hours:g}h", hours * 3600)
    else:
        files = [write_edf(folder / f"long{hours:g}h.edf", hours * 3600)]
    target = zip_files(files, folder / f"long{hours:g}h-{fmt}.zip")
    for f in files:
        f.unlink()
    return target


def _timed(c: httpx.Client, path: str, headers: dict[str, str]) -> dict[str, Any]:
    t = time.perf_counter()
    r = c.get(path, headers=headers)
    return {"ms": round((time.perf_counter() - t) * 1000, 1), "status": r.status_code, "bytes": len(r.content)}


def _read_as_reader(c: httpx.Client, svc: Service, study: str, duration_s: float) -> dict[str, dict[str, Any]]:
    """The calls a reader's workstation makes on opening and paging through the study, each timed."""
    base = f"/api/v1/reader/studies/{study}"
    mid, end = duration_s / 2, max(0.0, duration_s - 10.0)
    calls = {
        "bundle": base,
        "waveform 0-10 s": f"{base}/waveform?start_s=0&duration_s=10",
        "waveform middle 10 s": f"{base}/waveform?start_s={mid:.0f}&duration_s=10",
        "waveform last 10 s": f"{base}/waveform?start_s={end:.0f}&duration_s=10",
        "waveform middle 60 s": f"{base}/waveform?start_s={mid:.0f}&duration_s=60",
        "beats (first)": f"{base}/beats",
        "beats (again)": f"{base}/beats",
    }
    return {name: _timed(c, path, svc.reader) for name, path in calls.items()}


def _wait_analysed(c: httpx.Client, svc: Service, study: str, timeout_s: float) -> str:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = c.get(f"/api/v1/studies/{study}", headers=svc.clinic).json()["status"]
        if status != "received":
            return status
        time.sleep(0.2)
    return "timeout"


def _analysis_ms(url: str) -> float | None:
    engine = make_engine(url)
    with make_session_factory(engine)() as s:
        ms = s.scalars(select(Analysis.duration_ms)).first()
    engine.dispose()
    return round(ms, 1) if ms is not None else None


def run_one(mode: str, hours: float, fmt: str, folder: Path, timeout_s: float) -> dict[str, Any]:
    """Generate, upload, analyse and read one recording on a fresh service; every figure measured."""
    t = time.perf_counter()
    upload = make_upload(folder, hours, fmt)
    size = upload.stat().st_size
    made_s = time.perf_counter() - t
    limit = max(64 << 20, size + (8 << 20))
    with service(mode, limit) as svc, httpx.Client(base_url=svc.base, timeout=max(600.0, timeout_s)) as c:
        pids = {"api": svc.api_pid} | ({"worker": svc.worker_pid} if svc.worker_pid else {})
        with RssSampler(pids, 0.1) as rss:
            time.sleep(1.0)
            idle = {name: rss.peak(name) for name in pids}
            t0 = rss.now()
            r = c.post("/api/v1/studies", headers={**svc.clinic, "Idempotency-Key": uuid.uuid4().hex},
                       files=[("files", (upload.name, upload.read_bytes(), "application/zip"))],
                       data={"patient_id": f"L{hours:g}", "patient_name": "Long", "patient_sex": "F",
                             "patient_birth_date": "1970-01-01"})
            t1 = rss.now()
            if r.status_code != 202:
                raise SystemExit(f"upload refused: {r.status_code} {r.text[:300]}")
            study = r.json()["id"]
            status = _wait_analysed(c, svc, study, timeout_s)
            t2 = rss.now()
            reads = _read_as_reader(c, svc, study, hours * 3600) if status == "awaiting_read" else {}
            t3 = rss.now()
        analysis_ms = _analysis_ms(svc.url)
    upload.unlink()
    phases = {"upload": (t0, t1), "analysis": (t1, t2), "reading": (t2, t3)}
    peaks = {name: {ph: round(rss.peak(name, a, b + 0.1), 1) for ph, (a, b) in phases.items()} for name in pids}
    return {"hours": hours, "format": fmt, "mode": mode, "zip_mb": round(size / 1e6, 1), "generated_s": round(made_s, 1),
            "upload_limit_mib": limit >> 20, "status": status, "upload_ms": round((t1 - t0) * 1000, 1),
            "upload_to_analysed_s": round(t2 - t1, 1), "analysis_ms": analysis_ms, "reads": reads,
            "idle_rss_mib": {k: round(v, 1) for k, v in idle.items()}, "peak_rss_mib": peaks,
            "goals": _goals(mode, peaks)}


def _goals(mode: str, peaks: dict[str, dict[str, float]]) -> dict[str, Any]:
    """API < 500 MiB, worker < 1 GiB; in embedded mode the one process is the API while uploading
    and reading and the worker while analysing."""
    if mode == "split":
        api, worker = max(peaks["api"].values()), max(peaks["worker"].values())
    else:
        api, worker = max(peaks["api"]["upload"], peaks["api"]["reading"]), peaks["api"]["analysis"]
    return {"api_peak_mib": api, "api_met": api < GOALS_MIB["api"],
            "worker_peak_mib": worker, "worker_met": worker < GOALS_MIB["worker"]}


def _print(r: dict[str, Any]) -> None:
    where = "analysis inside the API process" if r["mode"] == "embedded" else "separate worker process"
    print(f"{r['hours']:g} h 12-lead 500 Hz, {r['format'].upper()} zip {r['zip_mb']} MB ({r['mode']}: {where}); "
          f"upload limit set to {r['upload_limit_mib']} MiB")
    print(f"  upload {r['upload_ms']:.0f} ms; upload -> {r['status']} {r['upload_to_analysed_s']} s "
          f"(pipeline {r['analysis_ms']} ms)")
    for name, x in r["reads"].items():
        print(f"  GET {name:<22} {x['ms']:8.1f} ms  HTTP {x['status']}  {x['bytes'] / 1e3:8.1f} kB")
    for name, ph in r["peak_rss_mib"].items():
        print(f"  RSS {name:<7} idle {r['idle_rss_mib'][name]:6.0f} MiB; peak upload {ph['upload']:6.0f}, "
              f"analysis {ph['analysis']:6.0f}, reading {ph['reading']:6.0f} MiB")
    g = r["goals"]
    print(f"  goal API < {GOALS_MIB['api']:.0f} MiB: {g['api_peak_mib']:.0f} MiB "
          f"{'met' if g['api_met'] else 'NOT met'}; worker < {GOALS_MIB['worker']:.0f} MiB: "
          f"{g['worker_peak_mib']:.0f} MiB {'met' if g['worker_met'] else 'NOT met'}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hours", default="2,4", help="comma-separated recording lengths (h), at most 4 each")
    p.add_argument("--mode", choices=["embedded", "split"], default="embedded")
    p.add_argument("--formats", default="wfdb", help="comma-separated: wfdb, edf")
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait for one analysis")
    p.add_argument("--out", help="JSON results file (default bench/results/long_upload-<mode>-<time>.json)")
    args = p.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="ecghub-long-files-") as folder:
        for hours in (float(h) for h in args.hours.split(",")):
            for fmt in args.formats.split(","):
                results.append(run_one(args.mode, hours, fmt.strip(), Path(folder), args.timeout))
                _print(results[-1])
    doc = {"command": " ".join(["python -m bench.long_upload", *sys.argv[1:]]), "machine":
           {"cpus": os.cpu_count(), "load_avg_1min_at_end": round(os.getloadavg()[0], 2)}, "runs": results}
    out = Path(args.out or f"bench/results/long_upload-{args.mode}-{time.strftime('%Y%m%d-%H%M%S')}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"results written to {out}")


if __name__ == "__main__":
    main()
