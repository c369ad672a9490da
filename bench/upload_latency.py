"""Time from upload to analysed, on the embedded default (SQLite + local blobs + in-process worker).

Starts a real uvicorn server on loopback in a subprocess, uploads MIT-BIH
record 100 (30 min, 2 leads, 360 Hz; PhysioNet, credits in ../shared/data)
N times with distinct patients, and polls each study until it is analysed.
Prints the median and the spread of (a) the upload request alone and (b)
upload-to-analysed, in ms.

    ./dev shell -c "python -m bench.upload_latency"     or
    .venv/bin/python -m bench.upload_latency --runs 20
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import data_dir

PASSWORD = "bench-password-0123"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_ready(base: str, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit("server exited during start-up")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("server did not become ready")


def _setup(env: dict[str, str]) -> None:
    code = (
        "from app.context import AppContext; from app.settings import Settings; "
        "from app.auth import service as a; from storage.models import Site, SiteLevel, Role; "
        "from storage.migrations import upgrade; st=Settings(worker_mode='off'); upgrade(st.resolved_database_url); "
        "c=AppContext.from_settings(st); s=c.session_factory(); site=Site(code='b', name='b', level=SiteLevel.township); "
        f"s.add(site); s.flush(); a.create_user(s, site_id=site.id, username='bench', password='{PASSWORD}', "
        "role=Role.clinic); s.commit()"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


def run(runs: int, record: Path) -> None:
    files = [(p.name, p.read_bytes()) for p in (record.with_suffix(".hea"), record.with_suffix(".dat"))]
    with tempfile.TemporaryDirectory() as var:
        env = {**os.environ, "ECGHUB_VAR_DIR": var, "ECGHUB_SECRET_KEY": "bench-" * 8}
        _setup(env)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "app.asgi:app", "--port", str(port),
                                 "--log-level", "warning"], env=env)
        try:
            _wait_ready(base, proc)
            with httpx.Client(base_url=base, timeout=60) as c:
                token = c.post("/api/v1/auth/token", data={"username": "bench", "password": PASSWORD}).json()
                h = {"Authorization": f"Bearer {token['access_token']}"}
                post_ms, done_ms = [], []
                for i in range(runs):
                    t0 = time.perf_counter()
                    r = c.post("/api/v1/studies", headers={**h, "Idempotency-Key": f"bench-{i}"},
                               files=[("files", f) for f in files],
                               data={"patient_id": f"B{i}", "patient_name": "Bench", "patient_sex": "M"})
                    r.raise_for_status()
                    post_ms.append((time.perf_counter() - t0) * 1000)
                    sid = r.json()["id"]
                    while (status := c.get(f"/api/v1/studies/{sid}", headers=h).json()["status"]) == "received":
                        time.sleep(0.005)
                    if status != "awaiting_read":
                        raise SystemExit(f"study ended {status}")
                    done_ms.append((time.perf_counter() - t0) * 1000)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"record {record.name}: {sum(len(d) for _, d in files) / 1e6:.2f} MB, {runs} uploads, one at a time")
    for name, xs in (("upload request (POST -> 202)", post_ms), ("upload -> analyzed", done_ms)):
        q = statistics.quantiles(xs, n=10)
        print(f"  {name:<30} median {statistics.median(xs):7.1f} ms   p10 {q[0]:7.1f}   p90 {q[-1]:7.1f}   "
              f"max {max(xs):7.1f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--record", default="mitdb/100")
    args = p.parse_args()
    run(args.runs, data_dir() / args.record)


if __name__ == "__main__":
    main()
