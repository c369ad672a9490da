"""Health, readiness, metrics and request ids."""

from __future__ import annotations

from tests.app.conftest import METRICS

from tests.app.factories import upload, wait_for_status, wfdb_files


def test_probes_and_request_id(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}
    resp = client.get("/healthz", headers={"X-Request-ID": "abc123"})
    assert resp.headers["x-request-id"] == "abc123"
    assert len(client.get("/healthz").headers["x-request-id"]) == 32


def test_metrics_count_uploads_and_queue_depth(world, data):
    resp = upload(world.client, world.a.auth, wfdb_files(data, "ludb/1"), form=None)
    wait_for_status(world.client, world.a.auth, resp.json()["id"])
    bad = upload(world.client, world.a.auth, [("files", ("x.dat", b"junk", "application/octet-stream"))])
    assert bad.status_code == 422
    text = world.client.get("/metrics", headers=METRICS).text
    assert 'ecghub_uploads_total{outcome="accepted"}' in text
    assert 'ecghub_uploads_total{outcome="unreadable-recording"}' in text
    depth = [line for line in text.splitlines() if line.startswith("ecghub_queue_depth{")]
    assert sum(float(line.rsplit(" ", 1)[1]) for line in depth) == 1.0
    assert "ecghub_analysis_seconds_count" in text
    assert "Test Child" not in text  # no patient data in metrics
