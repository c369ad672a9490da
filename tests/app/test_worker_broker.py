"""The scale path: API on PostgreSQL publishing to RabbitMQ, a separate `ecghub worker` process analysing."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from storage.models import Analysis
from tests.app.factories import make_world, upload, wait_for_status, wfdb_files

pytestmark = pytest.mark.postgres
BROKER_URL = os.environ.get("ECGHUB_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672/")


@pytest.fixture
def broker_settings(pg_migrated: str, tmp_path: Path) -> Settings:
    from tests.app.conftest import _empty_postgres

    _empty_postgres(pg_migrated)
    return Settings(var_dir=tmp_path / "var", database_url=pg_migrated, secret_key="k" * 40,
                    worker_mode="broker", broker_url=BROKER_URL, queue_name=f"test-{uuid.uuid4().hex[:8]}",
                    sweep_interval_s=1.0, sweep_grace_s=30.0)


def _start_worker(settings: Settings, **extra_env: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, **extra_env, "ECGHUB_DATABASE_URL": settings.database_url, "ECGHUB_BROKER_URL": BROKER_URL,
           "ECGHUB_VAR_DIR": str(settings.var_dir), "ECGHUB_QUEUE_NAME": settings.queue_name,
           "ECGHUB_SECRET_KEY": settings.secret_key}
    return subprocess.Popen([sys.executable, "-m", "app.cli", "worker", "--threads", "1"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_separate_worker_analyses_upload(broker_settings, data):
    worker = _start_worker(broker_settings)
    try:
        with TestClient(create_app(broker_settings)) as client:
            world = make_world(client)
            resp = upload(client, world.a.auth, wfdb_files(data, "mitdb/100"))
            assert resp.status_code == 202, resp.text
            study = wait_for_status(client, world.a.auth, resp.json()["id"], timeout_s=90)
            assert study["status"] == "awaiting_read", study
            with client.app.state.ctx.session_factory() as s:
                assert s.query(Analysis).filter_by(study_id=uuid.UUID(study["id"])).count() == 1
    finally:
        worker.terminate()
        out, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, out.decode(errors="replace")[-2000:]


def test_sweeper_recovers_a_study_whose_job_could_not_be_published(broker_settings, data):
    """Broker unreachable at upload time: the study is committed (202), stays `received`, and the
    sweeper of a healthy process publishes it later; nothing is lost."""
    down = broker_settings.model_copy(update={"broker_url": "amqp://guest:guest@127.0.0.1:1/"})
    with TestClient(create_app(down)) as client:
        world = make_world(client)
        resp = upload(client, world.a.auth, wfdb_files(data, "mitdb/100"))
        assert resp.status_code == 202, resp.text
        sid = resp.json()["id"]
        assert client.get(f"/api/v1/studies/{sid}", headers=world.a.auth).json()["status"] == "received"
    worker = _start_worker(broker_settings)
    try:
        with TestClient(create_app(broker_settings)) as client:
            assert client.app.state.ctx.jobs.sweep(grace_s=0) >= 1
            study = wait_for_status(client, world.a.auth, sid, timeout_s=90)
            assert study["status"] == "awaiting_read", study
    finally:
        worker.terminate()
        worker.communicate(timeout=30)


def test_worker_killed_mid_job_loses_nothing(broker_settings, data):
    """SIGKILL a worker while it analyses: RabbitMQ redelivers the unacknowledged jobs to a new worker,
    and every study ends analysed exactly once."""
    import signal
    import time

    from sqlalchemy import select

    from storage.models import Study, StudyStatus

    records = ["mitdb/100", "mitdb/101", "mitdb/106", "mitdb/108", "mitdb/109", "mitdb/112"]
    with TestClient(create_app(broker_settings)) as client:
        world = make_world(client)
        ids = []
        for i, rec in enumerate(records):
            resp = upload(client, world.a.auth, wfdb_files(data, rec), form=None, key=f"kill-{i}")
            assert resp.status_code == 202
            ids.append(uuid.UUID(resp.json()["id"]))
        sf = client.app.state.ctx.session_factory
        first = _start_worker(broker_settings)
        deadline, killed = time.monotonic() + 60, False
        while time.monotonic() < deadline and not killed:
            with sf() as s:  # a job has started (attempt counted) but not finished
                busy = s.scalar(select(Study.id).where(Study.id.in_(ids), Study.status == StudyStatus.received,
                                                       Study.analysis_attempts > 0))
            if busy is not None:
                first.send_signal(signal.SIGKILL)
                killed = True
            time.sleep(0.01)
        first.wait(timeout=10)
        assert killed, "the worker never started a job"
        with sf() as s:
            left = s.scalar(select(Study.id).where(Study.id.in_(ids), Study.status == StudyStatus.received))
        assert left is not None, "all jobs finished before the kill: the test proved nothing"
        second = _start_worker(broker_settings)
        try:
            for sid in ids:
                study = wait_for_status(client, world.a.auth, str(sid), timeout_s=120)
                assert study["status"] == "awaiting_read", study
        finally:
            second.terminate()
            second.communicate(timeout=30)
        with sf() as s:
            for sid in ids:
                assert s.query(Analysis).filter_by(study_id=sid).count() == 1


def test_worker_over_its_memory_ceiling_finishes_the_job_then_exits_for_a_fresh_one(broker_settings, data):
    """ECGHUB_WORKER_MAX_RSS_MIB: a worker left above it by a job acknowledges that job (the study is
    analysed once, nothing redelivered or lost) and exits 75 so its supervisor starts a new process."""
    worker = _start_worker(broker_settings, ECGHUB_WORKER_MAX_RSS_MIB="1")  # any real process is above 1 MiB
    try:
        with TestClient(create_app(broker_settings)) as client:
            world = make_world(client)
            resp = upload(client, world.a.auth, wfdb_files(data, "ludb/1"))
            assert resp.status_code == 202, resp.text
            study = wait_for_status(client, world.a.auth, resp.json()["id"], timeout_s=90)
            assert study["status"] == "awaiting_read", study
            out, _ = worker.communicate(timeout=60)
            assert worker.returncode == 75, out.decode(errors="replace")[-2000:]
            assert b"ECGHUB_WORKER_MAX_RSS_MIB" in out
            with client.app.state.ctx.session_factory() as s:
                assert s.query(Analysis).filter_by(study_id=uuid.UUID(study["id"])).count() == 1
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.communicate(timeout=30)
