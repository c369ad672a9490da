"""The readers' live stream (GET /api/v1/reader/stream, server-sent events) on SQLite and PostgreSQL.

A stat study uploaded while a reader listens is announced to that reader (with its priority),
not to a reader outside its pool; the stream sends heartbeats and ends by itself.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from app.settings import Settings
from tests.app.conftest import METRICS_TOKEN
from tests.app.factories import patient_form, upload, wait_for_status, wfdb_files


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """The suite's settings with a fast poll and a heartbeat every half second."""
    return Settings(
        var_dir=tmp_path / "var", database_url=database_url, secret_key="test-secret-key-not-for-production",
        worker_mode="inprocess", sweep_interval_s=0.5, sweep_grace_s=0.0, max_upload_bytes=8 * 1024 * 1024,
        metrics_token=METRICS_TOKEN, reader_stream_poll_s=0.2, reader_stream_heartbeat_s=0.5,
    )


def _messages(text: str) -> list[dict[str, str]]:
    """Parse an SSE body into messages (field -> value; comment lines under ':')."""
    out = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        msg: dict[str, str] = {}
        for line in block.split("\n"):
            field, _, value = line.partition(":")
            msg[field] = msg.get(field, "") + value.strip()
        out.append(msg)
    return out


def _listen(world, headers, seconds: float, into: list) -> threading.Thread:
    def run() -> None:
        resp = world.client.get("/api/v1/reader/stream", headers=headers, params={"lifetime_s": seconds})
        into.append(resp)
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_stat_arrival_is_announced_to_readers_of_its_pool(world, data):
    got, other = [], []
    child_reader = _listen(world, world.reader, 12, got)
    adult_reader = _listen(world, world.extra["adult_reader"], 12, other)  # adult pool only
    time.sleep(1.0)  # both listening before the upload
    sid = upload(world.client, world.a.auth, wfdb_files(data, "ludb/1"),
                 form=patient_form(urgency="stat", patient_id="STAT-1")).json()["id"]
    assert wait_for_status(world.client, world.a.auth, sid)["status"] == "awaiting_read"
    child_reader.join(30)
    adult_reader.join(30)
    [resp] = got
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
    msgs = _messages(resp.text)
    assert msgs[0]["retry"] == "3000"
    queued = [json.loads(m["data"]) for m in msgs if m.get("event") == "study.queued"]
    assert [(q["study_id"], q["data"]["priority"], q["data"]["reason"]) for q in queued] == [(sid, "stat", "new")]
    assert int(next(m["id"] for m in msgs if m.get("event") == "study.queued")) == queued[0]["id"]
    assert sum(1 for m in msgs if m.get("") == "heartbeat") >= 10  # every 0.5 s over 12 s
    assert msgs[-1]["event"] == "bye"
    assert "patient" not in resp.text.lower() and "STAT-1" not in resp.text  # ids and priority only
    [resp_other] = other
    assert not [m for m in _messages(resp_other.text) if m.get("event") == "study.queued"]
    # The clinic's own feed and webhooks do not carry the readers' queue events.
    feed = world.client.get("/api/v1/events", headers=world.a.auth).json()["events"]
    assert all(e["type"] != "study.queued" for e in feed)


def test_reconnect_resumes_after_last_event_id_and_put_back_is_announced(world, data):
    sid = upload(world.client, world.a.auth, wfdb_files(data, "ludb/1"), form=patient_form()).json()["id"]
    wait_for_status(world.client, world.a.auth, sid)
    # From event 0: the earlier arrival is replayed (a browser reconnecting with Last-Event-ID 0).
    first = world.client.get("/api/v1/reader/stream", headers={**world.reader, "Last-Event-ID": "0"},
                             params={"lifetime_s": 1})
    [arrived] = [json.loads(m["data"]) for m in _messages(first.text) if m.get("event") == "study.queued"]
    body = world.client.post("/api/v1/reader/next", headers=world.reader).json()
    world.client.post(f"/api/v1/reader/claims/{body['claim']['id']}/release", headers=world.reader)
    again = world.client.get("/api/v1/reader/stream", headers={**world.reader, "Last-Event-ID": str(arrived["id"])},
                             params={"lifetime_s": 1})
    [requeued] = [json.loads(m["data"]) for m in _messages(again.text) if m.get("event") == "study.queued"]
    assert requeued["study_id"] == sid and requeued["data"]["reason"] == "requeued"


def test_stream_refuses_clinics_anonymous_and_bad_last_event_id(world):
    assert world.client.get("/api/v1/reader/stream", headers=world.a.auth).status_code == 403
    assert world.client.get("/api/v1/reader/stream").status_code == 401
    bad = world.client.get("/api/v1/reader/stream", headers={**world.reader, "Last-Event-ID": "12; drop"})
    assert bad.status_code == 422 and "Last-Event-ID" in bad.text and bad.headers["content-type"].startswith("application/problem+json")
    assert world.client.get("/api/v1/reader/stream", headers=world.reader,
                            params={"lifetime_s": -1}).status_code == 422
