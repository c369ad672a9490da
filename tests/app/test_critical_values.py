"""The critical-value closed loop (危急值报告制度) through the API, on SQLite and PostgreSQL.

A reader's critical statement raises a notice for the clinic; the clinic acknowledges it
with who received it, whom they told and when, and the read-back. Hostile input is a 422
naming the field and changes nothing; a second acknowledgement is a 409; another site's
notice is a 404; the hub sees unacknowledged notices past the bound as overdue.
"""

from __future__ import annotations

import datetime as dt

import pytest

from storage.models import User
from tests.app.factories import patient_form, upload, wait_for_status, wfdb_files

LOOP = {"told_name": "王建国", "told_role": "主治医师", "read_back": "ST段抬高，急性心肌梗死可能",
        "action_taken": "已通知患者立即到急诊"}


def _critical_notice(world, data) -> dict:
    """A signed report with a critical statement (STE): the clinic's open notice for it."""
    resp = upload(world.client, world.a.auth, wfdb_files(data, "ludb/1"), form=patient_form(patient_name="张危急"))
    assert resp.status_code == 202, resp.text
    sid = wait_for_status(world.client, world.a.auth, resp.json()["id"])["id"]
    claim = world.client.post(f"/api/v1/reader/studies/{sid}/claim", headers=world.reader).json()["claim"]
    world.client.post(f"/api/v1/reader/claims/{claim['id']}/sign", headers=world.reader,
                      json={"statements": ["SR", "STE"]}).raise_for_status()
    with world.client.app.state.ctx.session_factory() as s:  # the receiving nurse's account, as an admin sets it
        nurse = s.get(User, world.extra["users"]["tech-a"])
        nurse.display_name, nurse.title = "李护士", "护士"
        s.commit()
    return next(n for n in world.client.get("/api/v1/notices", headers=world.a.auth).json() if n["study_id"] == sid)


def _ack(world, notice_id: int, body: dict, headers=None):
    return world.client.post(f"/api/v1/notices/{notice_id}/acknowledge", headers=headers or world.a.auth, json=body)


def _untouched(world, notice_id: int) -> None:
    got = world.client.get(f"/api/v1/notices/{notice_id}", headers=world.a.auth).json()
    assert got["acknowledged_at"] is None and got["read_back"] is None and got["told_name"] is None
    assert [s["step"] for s in got["chain"]] == ["raised", "shown"]


def test_acknowledgement_records_the_whole_loop_and_the_chain_shows_it(world, data):
    notice = _critical_notice(world, data)
    assert (notice["patient_name"], notice["patient_id"]) == ("张危急", "P-001")
    assert notice["text"].startswith("ST段抬高")  # the finding in Chinese first
    before = world.client.get(f"/api/v1/notices/{notice['id']}", headers=world.a.auth).json()
    assert [s["step"] for s in before["chain"]] == ["raised", "shown"]  # listed to the clinic = shown

    told = (dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)).astimezone(dt.timezone(dt.timedelta(hours=8)))
    resp = _ack(world, notice["id"], {**LOOP, "told_at": told.replace(tzinfo=None).isoformat()})  # naive = CST
    assert resp.status_code == 200, resp.text
    got = resp.json()
    assert (got["received_by_name"], got["received_by_role"]) == ("李护士", "护士")  # from the session's user
    assert (got["told_name"], got["told_role"], got["read_back"], got["action_taken"]) == \
        (LOOP["told_name"], LOOP["told_role"], LOOP["read_back"], LOOP["action_taken"])
    assert abs(dt.datetime.fromisoformat(got["told_at"]) - told) < dt.timedelta(seconds=1)
    assert got["acknowledged_by"].startswith("user:") and got["acknowledged_at"]
    chain = got["chain"]
    assert [s["step"] for s in chain] == ["raised", "shown", "acknowledged"]
    assert chain[0]["actor"] == "system:reader" and chain[1]["actor"] == got["acknowledged_by"]
    assert chain[2]["detail"]["read_back"] == LOOP["read_back"] and chain[2]["detail"]["told_name"] == "王建国"
    assert world.client.get(f"/api/v1/notices/{notice['id']}", headers=world.admin).json()["chain"] == chain
    assert world.client.get("/api/v1/notices", headers=world.a.auth, params={"unacknowledged": True}).json() == []


def test_a_second_acknowledgement_is_409_and_changes_nothing(world, data):
    notice = _critical_notice(world, data)
    first = _ack(world, notice["id"], LOOP).json()
    again = _ack(world, notice["id"], {**LOOP, "read_back": "另一个内容", "told_name": "别人"})
    assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"
    assert "already acknowledged" in again.json()["detail"]
    now = world.client.get(f"/api/v1/notices/{notice['id']}", headers=world.a.auth).json()
    assert {k: now[k] for k in LOOP} == {k: first[k] for k in LOOP}
    assert now["acknowledged_at"] == first["acknowledged_at"]
    assert [s["step"] for s in now["chain"]].count("acknowledged") == 1


@pytest.mark.parametrize("change,field", [
    ({"read_back": ""}, "read_back"),
    ({"read_back": "   "}, "read_back"),
    ({"told_name": ""}, "told_name"),
    ({"told_role": "医" * 101}, "told_role"),
    ({"read_back": "x" * 1001}, "read_back"),
    ({"told_name": "王\x07医生"}, None),  # control characters: refused by the input guard before the route
    ({"read_back": "ST\u202e抬高"}, "read_back"),
    ({"action_taken": "a\x00b"}, None),
    ({"told_role": "主治\u200b医师"}, "told_role"),  # invisible: two titles that look alike would differ
    ({"told_at": "2099-01-01T00:00:00+08:00"}, "told_at"),
    ({"told_at": "2020-01-01T00:00:00+08:00"}, "told_at"),
    ({"told_at": "yesterday"}, "told_at"),
    ({"received_by_name": "冒名"}, "received_by_name"),
    ({"hospital": "x"}, "hospital"),
])
def test_hostile_acknowledgement_is_422_naming_the_field_and_changes_nothing(world, data, change, field):
    notice = _critical_notice(world, data)
    resp = _ack(world, notice["id"], {**LOOP, **change})
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"] == "application/problem+json"
    if field is None:
        assert resp.json()["type"] == "/problems/control-character"
    else:
        assert field in [e["field"] for e in resp.json()["errors"]], resp.json()
    _untouched(world, notice["id"])


def test_missing_read_back_or_body_is_422(world, data):
    notice = _critical_notice(world, data)
    for body in ({k: v for k, v in LOOP.items() if k != "read_back"}, None):
        resp = world.client.post(f"/api/v1/notices/{notice['id']}/acknowledge", headers=world.a.auth, json=body)
        assert resp.status_code == 422 and resp.headers["content-type"] == "application/problem+json"
    _untouched(world, notice["id"])


def test_another_sites_notice_is_404_and_an_api_key_must_name_the_person(world, data):
    notice = _critical_notice(world, data)
    assert _ack(world, notice["id"], LOOP, headers=world.b.auth).status_code == 404
    assert world.client.get(f"/api/v1/notices/{notice['id']}", headers=world.b.auth).status_code == 404
    assert _ack(world, 999999, LOOP).status_code == 404
    nameless = _ack(world, notice["id"], LOOP, headers=world.a.key)
    assert nameless.status_code == 422 and nameless.json()["errors"][0]["field"] == "received_by_name"
    _untouched(world, notice["id"])
    ok = _ack(world, notice["id"], {**LOOP, "received_by_name": "赵护士", "received_by_role": "护士"},
              headers=world.a.key)
    assert ok.status_code == 200 and ok.json()["received_by_name"] == "赵护士"


def test_hub_admins_see_unacknowledged_notices_past_the_bound_as_overdue(world, data):
    notice = _critical_notice(world, data)
    settings = world.client.app.state.ctx.settings
    assert settings.notice_escalation_min == 15.0  # the default bound (min)
    assert world.client.get("/api/v1/admin/notices/overdue", headers=world.admin).json() == []  # just raised
    assert world.client.get("/api/v1/admin/notices/overdue", headers=world.a.auth).status_code == 403
    settings.notice_escalation_min = 0
    overdue = world.client.get("/api/v1/admin/notices/overdue", headers=world.admin).json()
    assert [(o["id"], o["patient_name"], o["site_name"]) for o in overdue] == [(notice["id"], "张危急", "Clinic A")]
    assert overdue[0]["waiting_min"] >= 0 and overdue[0]["text"].startswith("ST段抬高")
    assert _ack(world, notice["id"], LOOP).status_code == 200
    assert world.client.get("/api/v1/admin/notices/overdue", headers=world.admin).json() == []
