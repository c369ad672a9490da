"""Admission control: past its backlog bounds the upload endpoint answers 503 + Retry-After with a
problem+json body naming the reason, stores nothing, and /metrics shows the backlog (SQLite and PostgreSQL).

Analysis is switched off (``worker_mode="off"``) so that the backlog is exactly what the test uploaded.
"""

from __future__ import annotations

from tests.app.conftest import METRICS, METRICS_TOKEN

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.main import create_app
from app.settings import Settings
from storage.models import AuditEvent, Study
from tests.app.factories import World, make_world, patient_form, upload, wfdb_files


def _world(database_url: str, tmp_path: Path, **bounds: float) -> Iterator[World]:
    settings = Settings(var_dir=tmp_path / "var", database_url=database_url, secret_key="test-secret-key-not-for-production",
                        worker_mode="off", admission_check_interval_s=0, metrics_token=METRICS_TOKEN, **bounds)
    with TestClient(create_app(settings)) as client:
        yield make_world(client)


@pytest.fixture
def small_backlog(database_url: str, tmp_path: Path) -> Iterator[World]:
    yield from _world(database_url, tmp_path, admission_max_backlog=2, admission_max_backlog_age_s=0)


@pytest.fixture
def short_age(database_url: str, tmp_path: Path) -> Iterator[World]:
    yield from _world(database_url, tmp_path, admission_max_backlog=0, admission_max_backlog_age_s=1.0)


def _counts(world: World) -> tuple[int, int]:
    with world.client.app.state.ctx.session_factory() as s:
        return s.scalar(select(func.count()).select_from(Study)), s.scalar(select(func.count()).select_from(AuditEvent))


def _assert_busy(resp, reason: str) -> None:
    assert resp.status_code == 503, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    assert int(resp.headers["Retry-After"]) >= 1
    body = resp.json()
    assert body["type"] == "/problems/busy" and body["reason"] == reason
    assert "nothing was stored" in body["detail"]


def test_backlog_size_bound_refuses_and_stores_nothing(small_backlog: World, data) -> None:
    w = small_backlog
    for i in range(2):
        resp = upload(w.client, w.a.auth, wfdb_files(data, "mitdb/100"), form=patient_form(patient_id=f"P{i}"))
        assert resp.status_code == 202, resp.text
    before = _counts(w)
    refused = upload(w.client, w.a.auth, wfdb_files(data, "mitdb/101"), key="busy-1")
    _assert_busy(refused, "backlog_size")
    assert refused.json()["backlog_studies"] == 2
    assert _counts(w) == before  # no study, no audit row, nothing recorded
    metrics = w.client.get("/metrics", headers=METRICS).text
    assert "ecghub_analysis_backlog_studies 2.0" in metrics
    assert 'ecghub_uploads_total{outcome="refused_busy"}' in metrics


def test_backlog_age_bound_refuses_until_analysis_catches_up(short_age: World, data) -> None:
    w = short_age
    assert upload(w.client, w.a.auth, wfdb_files(data, "mitdb/100")).status_code == 202
    time.sleep(1.2)
    refused = upload(w.client, w.a.auth, wfdb_files(data, "mitdb/101"), key="busy-2")
    _assert_busy(refused, "backlog_age")
    assert refused.json()["backlog_age_s"] > 1.0
    age = [ln for ln in w.client.get("/metrics", headers=METRICS).text.splitlines()
           if ln.startswith("ecghub_analysis_backlog_age_seconds ")]
    assert age and float(age[0].split()[1]) > 1.0
    # The backlog drains (here: the study is analysed by hand, as the worker would): accepted again.
    ctx = w.client.app.state.ctx
    from app.analysis.service import analyze_study

    with ctx.session_factory() as s:
        ids = list(s.scalars(select(Study.id)))
    for study_id in ids:
        analyze_study(ctx.session_factory, ctx.blobs, ctx.settings, study_id)
    again = upload(w.client, w.a.auth, wfdb_files(data, "mitdb/101"), key="busy-2")
    assert again.status_code == 202, again.text
