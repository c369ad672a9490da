"""Fixtures for service tests: a real app on a real database (SQLite file or PostgreSQL).

Tests that take the ``client`` fixture run twice, once per backend. The
database is migrated once per session with alembic (the real migrations, not
``create_all``) and emptied between tests.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from app.main import create_app
from app.settings import Settings
from bench.common import data_dir
from storage.db import make_engine
from storage.migrations import upgrade
from storage.models import Base
from tests.app.factories import World, make_world


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_migrated(pg_database: str) -> str:
    upgrade(pg_database)
    return pg_database


def _empty_postgres(url: str) -> None:
    engine = make_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "ecghub.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_migrated")
    _empty_postgres(url)
    return url


#: The factories' records carry fixed dates (2026-11-25, a prior from 2025): they must not age past the
#: upload's "acquired long ago" bound as the calendar moves on. test_upload_clock tests the default bound.
FIXTURE_RECORD_AGE_DAYS = 3650.0
METRICS_TOKEN = "test-metrics-token"
METRICS = {"Authorization": f"Bearer {METRICS_TOKEN}"}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        var_dir=tmp_path / "var", database_url=database_url, secret_key="test-secret-key-not-for-production",
        worker_mode="inprocess", sweep_interval_s=0.5, sweep_grace_s=0.0, max_upload_bytes=8 * 1024 * 1024,
        metrics_token=METRICS_TOKEN, upload_max_acquisition_age_days=FIXTURE_RECORD_AGE_DAYS,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture
def world(client: TestClient) -> World:
    """Two clinics, a hub with a reader and an admin; tokens and an API key for each clinic."""
    return make_world(client)


@pytest.fixture(scope="session")
def data() -> Path:
    root = data_dir()
    if not (root / "mitdb" / "100.hea").exists():
        pytest.fail(f"recordings not found at {root}; set ECGHUB_DATA_DIR")
    return root
