"""Authentication and tenancy: a site sees only its own studies; bad credentials get 401."""

from __future__ import annotations

import datetime as dt

import jwt

from app.auth import service as auth
from storage.models import AuditEvent
from storage.repositories import ApiKeyRepository
from tests.app.factories import login, upload, wfdb_files


def _study(world, data) -> str:
    resp = upload(world.client, world.a.auth, wfdb_files(data, "mitdb/100"))
    assert resp.status_code == 202
    return resp.json()["id"]


def test_foreign_study_is_404_not_403(world, data):
    sid = _study(world, data)
    for headers in (world.b.auth, world.b.key):
        resp = world.client.get(f"/api/v1/studies/{sid}", headers=headers)
        assert resp.status_code == 404
        assert "Clinic A" not in resp.text and "Test Child" not in resp.text
        assert world.client.get(f"/api/v1/studies/{sid}/files/100.dat", headers=headers).status_code == 404
    assert world.client.get("/api/v1/studies", headers=world.b.auth).json()["items"] == []
    # The owner and the hub admin see it.
    assert world.client.get(f"/api/v1/studies/{sid}", headers=world.a.key).status_code == 200
    assert world.client.get(f"/api/v1/studies/{sid}", headers=world.admin).status_code == 200


def test_unknown_study_is_404_and_bad_id_422(world):
    assert world.client.get("/api/v1/studies/00000000-0000-4000-8000-000000000000",
                            headers=world.a.auth).status_code == 404
    assert world.client.get("/api/v1/studies/not-a-uuid", headers=world.a.auth).status_code == 422


def test_reader_cannot_use_clinic_endpoints(world, data):
    sid = _study(world, data)
    assert world.client.get(f"/api/v1/studies/{sid}", headers=world.reader).status_code == 403
    assert upload(world.client, world.reader, wfdb_files(data, "mitdb/100")).status_code == 403


def test_login_issues_a_working_token(world):
    token = login(world.client, "tech-a")
    me = world.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["role"] == "clinic" and me["site_id"] == world.a.site_id


def test_no_credentials_wrong_password_expired_and_forged_tokens(world):
    c = world.client
    assert c.get("/api/v1/studies").status_code == 401
    assert c.post("/api/v1/auth/token", data={"username": "tech-a", "password": "nope"}).status_code == 401
    assert c.post("/api/v1/auth/token", data={"username": "ghost", "password": "nope"}).status_code == 401
    key = c.app.state.ctx.settings.signing_key
    past = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    expired = jwt.encode({"sub": "1", "typ": "access", "iat": int(past.timestamp()),
                          "exp": int((past + dt.timedelta(minutes=5)).timestamp())}, key, algorithm="HS256")
    resp = c.get("/api/v1/studies", headers={"Authorization": f"Bearer {expired}"})
    assert resp.status_code == 401 and resp.headers["WWW-Authenticate"] == "Bearer"
    forged = jwt.encode({"sub": "1", "typ": "access", "exp": 4102444800}, "another-signing-key-of-sufficient-length-0123456789", algorithm="HS256")
    assert c.get("/api/v1/studies", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    assert c.get("/api/v1/studies", headers={"X-API-Key": "ek_nothing_here"}).status_code == 401


def test_revoked_api_key_is_refused(world, data):
    assert world.client.get("/api/v1/studies", headers=world.a.key).status_code == 200
    ctx = world.client.app.state.ctx
    prefix = world.a.api_key.split("_")[1]
    with ctx.session_factory() as s:
        repo = ApiKeyRepository(s)
        repo.revoke(repo.by_prefix(prefix), dt.datetime.now(dt.UTC))
        s.commit()
    resp = world.client.get("/api/v1/studies", headers=world.a.key)
    assert resp.status_code == 401 and "revoked" in resp.json()["detail"]
    assert upload(world.client, world.a.key, wfdb_files(data, "mitdb/100")).status_code == 401


def test_api_key_secret_is_checked_not_just_prefix(world):
    prefix = world.a.api_key.split("_")[1]
    assert world.client.get("/api/v1/studies", headers={"X-API-Key": f"ek_{prefix}_wrong"}).status_code == 401


def test_reads_of_patient_data_are_audited(world, data):
    sid = _study(world, data)
    world.client.get(f"/api/v1/studies/{sid}", headers=world.a.auth)
    world.client.get("/api/v1/studies", headers=world.a.key)
    ctx = world.client.app.state.ctx
    with ctx.session_factory() as s:
        events = s.query(AuditEvent).filter(AuditEvent.action.in_(["study.read", "study.list",
                                                                   "study.created"])).all()
        actions = [(e.action, e.actor.split(":")[0]) for e in events]
    assert ("study.created", "user") in actions
    assert ("study.read", "user") in actions
    assert ("study.list", "api_key") in actions


def test_api_key_is_stored_hashed(world):
    ctx = world.client.app.state.ctx
    with ctx.session_factory() as s:
        key, token = auth.create_api_key(s, world.a.site_id, "x", "test")
        s.commit()
        assert token.split("_", 2)[2] not in key.secret_hash
