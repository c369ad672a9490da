"""Faults: the database unreachable gives 503 with Retry-After and changes nothing."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from tests.app.factories import upload, wfdb_files
from tests.app.test_s3_blobs import _free_port



def test_database_down_answers_503_with_retry_after(tmp_path, data):
    """PostgreSQL unreachable (a port nobody listens on): 503 + Retry-After, never a 500 or a false 202."""
    from app.auth import credentials
    from storage.models import utcnow_aware

    settings = Settings(var_dir=tmp_path / "var", database_url=f"postgresql+psycopg://postgres@127.0.0.1:{_free_port()}/x",
                        secret_key="s" * 40, worker_mode="off")
    with TestClient(create_app(settings)) as client:
        token = credentials.issue_token(1, settings.signing_key, 5, utcnow_aware())[0]
        resp = upload(client, {"Authorization": f"Bearer {token}"}, wfdb_files(data, "ludb/1"))
        assert resp.status_code == 503 and resp.headers["Retry-After"] == "5"
        assert resp.headers["content-type"].startswith("application/problem+json")
        assert client.get("/readyz").status_code == 503
        assert not any((tmp_path / "var").rglob("*.dat"))
