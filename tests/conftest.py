"""Suite-wide fixtures: the real PostgreSQL server used by the `postgres` tests.

Each test run (and each xdist worker) gets its own freshly created database,
migrated with alembic, and drops it at the end. PostgreSQL must be reachable
(the test command starts it); set ECGHUB_TEST_POSTGRES=0 to skip those tests
visibly on a machine without it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest

PG_ADMIN_URL = os.environ.get("ECGHUB_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _sqlalchemy_url(dbname: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{dbname}"


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test process; yields its SQLAlchemy URL."""
    if os.environ.get("ECGHUB_TEST_POSTGRES") == "0":
        pytest.skip("PostgreSQL tests disabled by ECGHUB_TEST_POSTGRES=0")
    name = f"ecghub_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL not reachable at {PG_ADMIN_URL} (the test command starts it): {exc}")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _sqlalchemy_url(name)
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
