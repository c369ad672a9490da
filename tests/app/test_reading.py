"""The reading queue through the API: order, eligibility, leases, signing, amendments, critical values."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import update

from app.housekeeping import run_once
from storage.models import AuditEvent, Claim
from tests.app.factories import patient_form, upload, wait_for_status, wfdb_files


def _queued(world, data, record: str, headers=None, **form) -> str:
    resp = upload(world.client, headers or world.a.auth, wfdb_files(data, record), form=patient_form(**form))
    assert resp.status_code == 202, resp.text
    study = wait_for_status(world.client, headers or world.a.auth, resp.json()["id"])
    assert study["status"] == "awaiting_read", study
    return study["id"]


def _next(world, headers) -> dict:
    resp = world.client.post("/api/v1/reader/next", headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_next_follows_priority_then_due_time(world, data):
    ids = [
        _queued(world, data, "ludb/1", patient_id="A", urgency="routine"),
        _queued(world, data, "ludb/3", patient_id="B", urgency="stat"),
        _queued(world, data, "ludb/5", patient_id="C", urgency="urgent"),
        _queued(world, data, "ludb/7", patient_id="D", urgency="stat"),
    ]
    wl = world.client.get("/api/v1/reader/worklist", headers=world.reader).json()
    assert sum(wl["counts"][p] for p in ("stat", "urgent", "routine")) == 4
    rank = {"stat": 0, "urgent": 1, "routine": 2}
    expected = sorted(wl["items"], key=lambda i: (rank[i["priority"]], i["due_at"]))
    claimed = [_next(world, world.reader)["study"] for _ in ids]
    assert [c["id"] for c in claimed] == [i["study_id"] for i in expected]
    assert claimed[0]["priority"] == "stat" and claimed[-1]["priority"] in ("routine", "urgent")
    for c in claimed:  # due = received + SLA(priority): 10 min, 30 min, 4 h by default
        sla = {"stat": 10, "urgent": 30, "routine": 240}[c["priority"]]
        due = dt.datetime.fromisoformat(c["due_at"]) - dt.datetime.fromisoformat(c["received_at"])
        assert abs(due.total_seconds() - sla * 60) < 1
    assert world.client.post("/api/v1/reader/next", headers=world.reader).status_code == 204


def test_claim_bundle_has_what_a_reader_needs(world, data):
    sid = _queued(world, data, "ludb/1", indication="syncope at school")
    body = _next(world, world.reader)
    assert body["study"]["id"] == sid and body["claim"]["id"]
    assert body["study"]["indication"] == "syncope at school"
    assert body["patient"]["sex"] == "F" and body["patient"]["age_days"] > 365 * 7
    assert body["study"]["pool"] == "pediatric"
    assert body["analysis"]["quality"]["verdict"] in ("good", "acceptable")
    assert "intervals_ms" in body["analysis"] and body["analysis"]["findings"]
    wave = world.client.get(body["links"]["waveform"], headers=world.reader, params={"fs": 250}).json()
    assert set(wave["leads"]) >= {"I", "II", "V1", "V6"} and wave["units"] == "uV"
    assert len(wave["leads"]["II"]) == 2500
    assert 300 < max(wave["leads"]["II"]) - min(wave["leads"]["II"]) < 6000  # QRS 0.3-6 mV


def test_priors_of_the_same_patient_are_linked(world, data):
    first = _queued(world, data, "ludb/1", patient_id="SAME", acquired_at="2026-11-20T09:00:00+08:00")
    second = _queued(world, data, "ludb/3", patient_id="SAME", acquired_at="2026-11-24T09:00:00+08:00")
    body = world.client.get(f"/api/v1/reader/studies/{second}", headers=world.reader).json()
    assert [p["id"] for p in body["priors"]] == [first]


def test_pool_and_coverage_are_enforced(world, data):
    child = _queued(world, data, "ludb/1")  # born 2019: pediatric pool
    adult_b = _queued(world, data, "ludb/3", headers=world.b.auth, patient_birth_date="1970-01-01")
    adult_reader = world.extra["adult_reader"]  # adult pool only, covers clinic A only
    assert world.client.post("/api/v1/reader/next", headers=adult_reader).status_code == 204
    assert world.client.post(f"/api/v1/reader/studies/{child}/claim", headers=adult_reader).status_code == 404
    assert world.client.post(f"/api/v1/reader/studies/{adult_b}/claim", headers=adult_reader).status_code == 404
    assert world.client.get(f"/api/v1/reader/studies/{adult_b}", headers=adult_reader).status_code == 404
    # Clinics and admins cannot use the reader API.
    assert world.client.post("/api/v1/reader/next", headers=world.a.auth).status_code == 403
    assert world.client.post("/api/v1/reader/next", headers=world.admin).status_code == 403


def test_a_claimed_study_is_not_given_twice_and_release_requeues(world, data):
    sid = _queued(world, data, "ludb/1")
    first = _next(world, world.reader)
    assert first["study"]["id"] == sid
    assert world.client.post("/api/v1/reader/next", headers=world.extra["reader2"]).status_code == 204
    taken = world.client.post(f"/api/v1/reader/studies/{sid}/claim", headers=world.extra["reader2"])
    assert taken.status_code == 409
    rel = world.client.post(f"/api/v1/reader/claims/{first['claim']['id']}/release", headers=world.reader)
    assert rel.status_code == 200 and rel.json()["outcome"] == "released"
    assert _next(world, world.extra["reader2"])["study"]["id"] == sid


def test_lapsed_lease_returns_study_to_queue(world, data):
    sid = _queued(world, data, "ludb/1")
    claim_id = _next(world, world.reader)["claim"]["id"]
    renewed = world.client.post(f"/api/v1/reader/claims/{claim_id}/renew", headers=world.reader)
    assert renewed.status_code == 200
    ctx = world.client.app.state.ctx
    with ctx.session_factory() as s:
        s.execute(update(Claim).where(Claim.id == claim_id).values(
            lease_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
        s.commit()
    assert run_once(ctx.session_factory, ctx.settings)[0] == 1
    again = _next(world, world.extra["reader2"])
    assert again["study"]["id"] == sid
    with ctx.session_factory() as s:
        assert s.get(Claim, claim_id).outcome.value == "expired"
        assert s.query(AuditEvent).filter_by(action="claim.expired", object_id=sid).count() == 1
    late = world.client.post(f"/api/v1/reader/claims/{claim_id}/sign", headers=world.reader,
                             json={"statements": ["SR"]})
    assert late.status_code == 409


def test_sign_then_amend_keeps_the_signed_version(world, data):
    sid = _queued(world, data, "ludb/1")
    claim_id = _next(world, world.reader)["claim"]["id"]
    signed = world.client.post(f"/api/v1/reader/claims/{claim_id}/sign", headers=world.reader, json={
        "statements": ["SR", "NORM"], "free_text": "正常", "measurements": {"qrs_ms": 131}})
    assert signed.status_code == 201, signed.text
    v1 = signed.json()
    assert v1["version"] == 1 and v1["measurements"]["qrs_ms"] == 131 and "qrs_ms" in v1["edited_measurements"]
    clinic = world.client.get(f"/api/v1/studies/{sid}/report", headers=world.a.auth).json()
    assert clinic["status"] == "reported" and [v["version"] for v in clinic["versions"]] == [1]
    again = world.client.post(f"/api/v1/reader/claims/{claim_id}/sign", headers=world.reader,
                              json={"statements": ["SR"]})
    assert again.status_code == 409  # the claim ended with the signature
    no_reason = world.client.post(f"/api/v1/reader/studies/{sid}/amend", headers=world.reader,
                                  json={"statements": ["SR"]})
    assert no_reason.status_code == 422
    amended = world.client.post(f"/api/v1/reader/studies/{sid}/amend", headers=world.extra["reader2"], json={
        "statements": ["SR", "AVB1"], "reason": "PR re-measured: 210 ms", "measurements": {"pr_ms": 210}})
    assert amended.status_code == 201, amended.text
    assert amended.json()["version"] == 2 and amended.json()["supersedes_version"] == 1
    clinic = world.client.get(f"/api/v1/studies/{sid}/report", headers=world.a.auth).json()
    assert clinic["status"] == "amended"
    assert [v["version"] for v in clinic["versions"]] == [2, 1]
    assert clinic["versions"][1] == {**v1}  # the first signed version is unchanged
    assert world.client.get(f"/api/v1/studies/{sid}/report", headers=world.b.auth).status_code == 404
    # Turnaround for the clinic's list: the FIRST signature, in the list and the detail alike.
    listed = world.client.get("/api/v1/studies", headers=world.a.auth).json()["items"]
    row = next(i for i in listed if i["id"] == sid)
    first = dt.datetime.fromisoformat(v1["signed_at"])
    assert dt.datetime.fromisoformat(row["first_signed_at"]) == first
    detail = world.client.get(f"/api/v1/studies/{sid}", headers=world.a.auth).json()
    assert dt.datetime.fromisoformat(detail["first_signed_at"]) == first


def test_signing_another_study_than_the_one_on_screen_is_refused(world, data):
    """Wrong-patient guard: the sign body names the study the reader saw; a mismatch stores nothing."""
    first = _queued(world, data, "ludb/1")
    second = _queued(world, data, "ludb/3", patient_id="P-002", patient_name="李四")
    claim = _next(world, world.reader)["claim"]
    other = second if claim["study_id"] == first else first
    wrong = world.client.post(f"/api/v1/reader/claims/{claim['id']}/sign", headers=world.reader,
                              json={"study_id": other, "statements": ["SR"]})
    assert wrong.status_code == 409 and "on screen" in wrong.json()["detail"]
    assert world.client.get(f"/api/v1/studies/{claim['study_id']}/report", headers=world.a.auth).json()["versions"] == []
    right = world.client.post(f"/api/v1/reader/claims/{claim['id']}/sign", headers=world.reader,
                              json={"study_id": claim["study_id"], "statements": ["SR"]})
    assert right.status_code == 201, right.text


def test_unknown_statement_is_422_and_foreign_claim_404(world, data):
    _queued(world, data, "ludb/1")
    claim_id = _next(world, world.reader)["claim"]["id"]
    bad = world.client.post(f"/api/v1/reader/claims/{claim_id}/sign", headers=world.reader,
                            json={"statements": ["NOT_A_CODE"]})
    assert bad.status_code == 422 and "NOT_A_CODE" in bad.json()["detail"]
    other = world.client.post(f"/api/v1/reader/claims/{claim_id}/sign", headers=world.extra["reader2"],
                              json={"statements": ["SR"]})
    assert other.status_code == 404


def test_return_to_clinic_shows_reason(world, data):
    sid = _queued(world, data, "ludb/1")
    claim_id = _next(world, world.reader)["claim"]["id"]
    resp = world.client.post(f"/api/v1/reader/claims/{claim_id}/return", headers=world.reader,
                             json={"reason": "re-record: V1-V3 electrodes swapped"})
    assert resp.status_code == 200 and resp.json()["outcome"] == "returned"
    study = world.client.get(f"/api/v1/studies/{sid}", headers=world.a.auth).json()
    assert study["status"] == "returned" and "V1-V3" in study["status_reason"]
    assert study["first_signed_at"] is None  # never signed


def test_admin_reassigns_a_claim(world, data):
    sid = _queued(world, data, "ludb/1")
    claim_id = _next(world, world.reader)["claim"]["id"]
    target = world.extra["users"]["reader2"]
    not_admin = world.client.post(f"/api/v1/admin/claims/{claim_id}/reassign", headers=world.reader,
                                  json={"reader_id": target})
    assert not_admin.status_code == 403
    ineligible = world.client.post(f"/api/v1/admin/claims/{claim_id}/reassign", headers=world.admin,
                                   json={"reader_id": world.extra["users"]["adult-reader"]})
    assert ineligible.status_code == 409
    moved = world.client.post(f"/api/v1/admin/claims/{claim_id}/reassign", headers=world.admin,
                              json={"reader_id": target})
    assert moved.status_code == 200 and moved.json()["reader_id"] == target
    assert world.client.post(f"/api/v1/reader/claims/{claim_id}/sign", headers=world.reader,
                             json={"statements": ["SR"]}).status_code == 409
    new_id = moved.json()["id"]
    ok = world.client.post(f"/api/v1/reader/claims/{new_id}/sign", headers=world.extra["reader2"],
                           json={"statements": ["SR"]})
    assert ok.status_code == 201
    assert world.client.get(f"/api/v1/studies/{sid}", headers=world.a.auth).json()["status"] == "reported"


def test_critical_statement_notice_is_acknowledged_by_the_clinic(world, data):
    sid = _queued(world, data, "ludb/1")
    claim_id = _next(world, world.reader)["claim"]["id"]
    signed = world.client.post(f"/api/v1/reader/claims/{claim_id}/sign", headers=world.reader,
                               json={"statements": ["STE"], "free_text": "call the clinic"})
    assert signed.status_code == 201
    mine = world.client.get("/api/v1/notices", headers=world.a.auth, params={"unacknowledged": True}).json()
    notice = next(n for n in mine if n["study_id"] == sid and n["code"] == "STE")
    assert notice["source"] == "reader" and notice["acknowledged_at"] is None
    assert (notice["patient_name"], notice["patient_id"]) == ("Test Child", "P-001")  # the notice names the patient
    assert world.client.get("/api/v1/notices", headers=world.b.auth).json() == []
    assert world.client.post(f"/api/v1/notices/{notice['id']}/acknowledge", headers=world.b.auth, json={
        "told_name": "x", "told_role": "x", "read_back": "x"}).status_code == 404

    ctx = world.client.app.state.ctx
    ctx.settings.notice_escalation_min = 0
    run_once(ctx.session_factory, ctx.settings)
    esc = world.client.get("/api/v1/admin/escalations", headers=world.admin).json()
    assert any(e["kind"] == "notice_unacknowledged" and e["study_id"] == sid for e in esc)
    run_once(ctx.session_factory, ctx.settings)  # raised once, not again
    esc2 = world.client.get("/api/v1/admin/escalations", headers=world.admin).json()
    assert len([e for e in esc2 if e["kind"] == "notice_unacknowledged"]) == 1

    ack = world.client.post(f"/api/v1/notices/{notice['id']}/acknowledge", headers=world.a.key, json={
        "told_name": "王医生", "told_role": "主治医师", "read_back": "ST段抬高", "received_by_name": "护士 李"})
    assert ack.status_code == 200 and ack.json()["acknowledged_by"].startswith("api_key:")
    left = world.client.get("/api/v1/notices", headers=world.a.auth, params={"unacknowledged": True}).json()
    assert all(n["id"] != notice["id"] for n in left)
    with ctx.session_factory() as s:
        actions = {e.action for e in s.query(AuditEvent).filter_by(object_id=sid)}
    assert {"notice.raised", "notice.acknowledged", "report.signed", "claim.created"} <= actions


def test_unclaimed_stat_and_overdue_escalate(world, data):
    sid = _queued(world, data, "ludb/1", urgency="stat")
    ctx = world.client.app.state.ctx
    ctx.settings.stat_unclaimed_escalation_min = 0
    from storage.models import Study

    with ctx.session_factory() as s:
        s.execute(update(Study).where(Study.id == uuid.UUID(sid)).values(
            due_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)))
        s.commit()
    run_once(ctx.session_factory, ctx.settings)
    kinds = {e["kind"] for e in world.client.get("/api/v1/admin/escalations", headers=world.admin).json()
             if e["study_id"] == sid}
    assert kinds == {"stat_unclaimed", "overdue"}
    wl = world.client.get("/api/v1/reader/worklist", headers=world.reader).json()
    assert wl["counts"]["overdue"] == 1 and wl["items"][0]["overdue"] is True


@pytest.mark.parametrize("code", ["STE", "AVB3", "VT"])
def test_every_critical_statement_raises_a_notice(world, data, code):
    sid = _queued(world, data, "ludb/1")
    claim_id = _next(world, world.reader)["claim"]["id"]
    world.client.post(f"/api/v1/reader/claims/{claim_id}/sign", headers=world.reader,
                      json={"statements": ["SR", code]})
    codes = {n["code"] for n in world.client.get("/api/v1/notices", headers=world.a.auth).json()
             if n["study_id"] == sid}
    assert code in codes and "SR" not in codes


def test_queue_rows_name_patient_clinic_indication_and_waiting_time(world, data):
    sid = _queued(world, data, "ludb/1", patient_name="王小明", indication="胸痛 2 小时", urgency="urgent")
    wl = world.client.get("/api/v1/reader/worklist", headers=world.reader)
    assert wl.status_code == 200
    [row] = wl.json()["items"]
    assert row["study_id"] == sid and row["patient_name"] == "王小明" and row["indication"] == "胸痛 2 小时"
    with world.client.app.state.ctx.session_factory() as s:
        from storage.models import Site, Study
        study = s.get(Study, uuid.UUID(sid))
        assert row["site_name"] == s.get(Site, study.site_id).name != ""
        waited = (dt.datetime.now(dt.UTC) - study.received_at).total_seconds()
    assert 0 <= row["waiting_s"] <= waited + 1 and row["patient_sex"] == "F"
    assert row["age_days"] > 365 * 7 and row["clinic_urgency"] == "urgent"
    # The rows name patients: who was shown which is audited.
    with world.client.app.state.ctx.session_factory() as s:
        shown = s.query(AuditEvent).filter_by(action="study.worklist").all()
        assert shown and sid in shown[-1].detail["studies"]


def _put_back(world, headers, body) -> None:
    rel = world.client.post(f"/api/v1/reader/claims/{body['claim']['id']}/release", headers=headers)
    assert rel.status_code == 200 and rel.json()["outcome"] == "released"


def test_put_back_study_is_skipped_for_that_reader_while_others_wait(world, data):
    stat = _queued(world, data, "ludb/1", patient_id="S", urgency="stat")
    routine = _queued(world, data, "ludb/3", patient_id="R", urgency="routine")
    first = _next(world, world.reader)
    assert first["study"]["id"] == stat  # the most urgent first
    _put_back(world, world.reader, first)
    second = _next(world, world.reader)
    assert second["study"]["id"] == routine  # not the stat study just put back, though it ranks higher
    # Another reader is not affected: the put-back stat study is their next one.
    assert _next(world, world.extra["reader2"])["study"]["id"] == stat
    _put_back(world, world.reader, second)
    _put_back(world, world.extra["reader2"], {"claim": world.client.get(
        "/api/v1/reader/worklist", headers=world.extra["reader2"]).json()["my_claims"][0]})
    # Both are now put back by this reader: the higher-ranked one comes back (nothing else waits).
    assert _next(world, world.reader)["study"]["id"] == stat


def test_put_back_only_study_comes_back_and_skip_lapses(world, data):
    only = _queued(world, data, "ludb/1")
    body = _next(world, world.reader)
    _put_back(world, world.reader, body)
    again = _next(world, world.reader)
    assert again["study"]["id"] == only  # it is the only one: it may come back
    _put_back(world, world.reader, again)
    other = _queued(world, data, "ludb/3", patient_id="OTHER", urgency="routine")
    assert _next(world, world.reader)["study"]["id"] == other
    # The skip lasts putback_skip_minutes: put back longer ago than that, the study ranks as usual.
    ctx = world.client.app.state.ctx
    with ctx.session_factory() as s:
        s.execute(update(Claim).where(Claim.study_id == uuid.UUID(only)).values(
            ended_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=ctx.settings.putback_skip_minutes + 1)))
        s.commit()
    assert _next(world, world.reader)["study"]["id"] == only
