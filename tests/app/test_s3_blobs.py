"""The S3-compatible blob backend against a real S3-protocol server on loopback (moto's standalone server)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import boto3
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.settings import Settings
from storage.blobs import BlobCorrupted, BlobNotFound, S3BlobStore, sha256_hex
from tests.app.factories import make_world, upload, wait_for_status, wfdb_files

CREDS = {"access_key": "test", "secret_key": "test", "region": "us-east-1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("moto S3 server did not start")
            time.sleep(0.1)
    boto3.client("s3", endpoint_url=url, aws_access_key_id="test", aws_secret_access_key="test",
                 region_name="us-east-1").create_bucket(Bucket="ecghub-test")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def test_put_get_roundtrip_and_integrity(s3_endpoint):
    store = S3BlobStore("ecghub-test", endpoint_url=s3_endpoint, **CREDS)
    data = b"\x00\x01ecg" * 1000
    key = store.put(data)
    assert key == sha256_hex(data) and store.exists(key) and store.get(key) == data
    assert store.put(data) == key  # idempotent
    with pytest.raises(BlobNotFound):
        store.get("0" * 64)
    other = sha256_hex(b"other")
    store.client.put_object(Bucket="ecghub-test", Key=f"blobs/{other}", Body=b"tampered")
    with pytest.raises(BlobCorrupted):
        store.get(other)
    store.check()


def _settings(tmp_path, database_url: str, endpoint: str) -> Settings:
    return Settings(var_dir=tmp_path / "var", database_url=database_url, secret_key="s" * 40,
                    blob_backend="s3", s3_bucket="ecghub-test", s3_endpoint_url=endpoint, s3_prefix="studies/",
                    s3_access_key="test", s3_secret_key="test", sweep_interval_s=0.5, sweep_grace_s=0)


def test_upload_to_s3_is_byte_exact_and_analysed(s3_endpoint, database_url, tmp_path, data):
    with TestClient(create_app(_settings(tmp_path, database_url, s3_endpoint))) as client:
        world = make_world(client)
        files = wfdb_files(data, "ludb/1")
        resp = upload(client, world.a.auth, files)
        assert resp.status_code == 202, resp.text
        study = wait_for_status(client, world.a.auth, resp.json()["id"])
        assert study["status"] == "awaiting_read"
        for _, (name, content, _) in files:
            got = client.get(f"/api/v1/studies/{study['id']}/files/{name}", headers=world.a.auth)
            assert got.content == content
        assert not (tmp_path / "var" / "blobs").exists()  # nothing went to the local folder


def test_object_store_down_refuses_upload_with_503(database_url, tmp_path, data):
    down = _settings(tmp_path, database_url, f"http://127.0.0.1:{_free_port()}")
    with TestClient(create_app(down)) as client:
        world = make_world(client)
        resp = upload(client, world.a.auth, wfdb_files(data, "ludb/1"))
        assert resp.status_code == 503 and resp.headers["Retry-After"]
        assert "nothing was recorded" in resp.json()["detail"]
        assert client.get("/api/v1/studies", headers=world.a.auth).json()["items"] == []
        assert client.get("/readyz").status_code == 503

