"""Server-side session revocation and claims that follow the reader's scope (issue 17 items 2 and 3).

Run on SQLite and PostgreSQL (the ``world`` fixture). Tokens are real (login endpoint),
studies are real uploads analysed by the in-process worker.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest
from sqlalchemy import text, update

from app.auth.sessions import SessionCheck, is_missing
from storage.db import make_engine
from storage.models import AuditEvent, Claim, Study, StudyStatus
from storage.repositories import ReadingRepository, UserRepository
from tests.app.factories import login
from tests.app.test_reading import _next, _queued

PROBLEM = "application/problem+json"


@pytest.fixture
def settings(settings):
    """Check the token version on every request here, as another API process would see it."""
    return settings.model_copy(update={"auth_cache_seconds": 0.0})


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_logout_revokes_the_token_server_side(world):
    token = login(world.client, "reader")
    assert world.client.get("/api/v1/me", headers=_bearer(token)).status_code == 200
    assert world.client.post("/api/v1/auth/logout", headers=_bearer(token)).status_code == 204
    refused = world.client.get("/api/v1/me", headers=_bearer(token))
    assert refused.status_code == 401 and refused.headers["content-type"].startswith(PROBLEM)
    assert "revoked" in refused.json()["detail"]
    fresh = login(world.client, "reader")
    assert world.client.get("/api/v1/me", headers=_bearer(fresh)).json()["role"] == "reader"
    with world.client.app.state.ctx.session_factory() as s:
        assert s.query(AuditEvent).filter_by(action="auth.logout").count() == 1


def test_a_version_bumped_elsewhere_is_refused_at_once_without_cache(world):
    """Another replica's logout (the row bumped directly): with auth_cache_seconds=0 the next request fails."""
    token = login(world.client, "tech-a")
    assert world.client.get("/api/v1/studies", headers=_bearer(token)).status_code == 200
    ctx = world.client.app.state.ctx
    with ctx.session_factory() as s:
        UserRepository(s).bump_token_version(world.extra["users"]["tech-a"])
        s.commit()
    assert world.client.get("/api/v1/studies", headers=_bearer(token)).status_code == 401


def test_cached_version_is_trusted_for_at_most_the_ttl(world):
    """The documented bound: a cached answer is used for ttl_s seconds, then the database is asked again."""
    ctx = world.client.app.state.ctx
    uid = world.extra["users"]["reader"]
    check = SessionCheck(ctx.session_factory, ttl_s=0.5)
    before = check.load(uid)
    with ctx.session_factory() as s:
        UserRepository(s).bump_token_version(uid)
        s.commit()
    assert check.cached(uid) == before  # still within the bound
    time.sleep(0.6)
    assert is_missing(check.cached(uid))
    assert check.load(uid).token_version == before.token_version + 1


def test_admin_disables_a_reader_ending_claims_and_sessions(world, data):
    sid = _queued(world, data, "ludb/1")
    token = login(world.client, "reader")
    claim_id = _next(world, _bearer(token))["claim"]["id"]
    uid = world.extra["users"]["reader"]
    resp = world.client.post(f"/api/v1/admin/users/{uid}/disable", headers=world.admin)
    assert resp.status_code == 200 and resp.json() == {"user_id": uid, "active": False, "claims_ended": 1}
    assert world.client.get("/api/v1/me", headers=_bearer(token)).status_code == 401
    assert world.client.post("/api/v1/auth/token", data={"username": "reader", "password": "x"}).status_code == 401
    with world.client.app.state.ctx.session_factory() as s:
        assert s.get(Claim, claim_id).outcome.value == "revoked"
        assert s.get(Study, uuid.UUID(sid)).status == StudyStatus.awaiting_read
    assert _next(world, world.extra["reader2"])["study"]["id"] == sid  # back in the queue for others
    assert world.client.post(f"/api/v1/admin/users/{uid}/disable", headers=world.reader).status_code == 401


def test_admin_revokes_all_sessions_but_claims_stay(world, data):
    _queued(world, data, "ludb/1")
    token = login(world.client, "reader")
    claim_id = _next(world, _bearer(token))["claim"]["id"]
    uid = world.extra["users"]["reader"]
    assert world.client.post(f"/api/v1/admin/users/{uid}/revoke-sessions", headers=world.extra["reader2"]
                             ).status_code == 403
    assert world.client.post(f"/api/v1/admin/users/{uid}/revoke-sessions", headers=world.admin).status_code == 200
    assert world.client.get("/api/v1/me", headers=_bearer(token)).status_code == 401
    again = _bearer(login(world.client, "reader"))
    assert world.client.post(f"/api/v1/reader/claims/{claim_id}/renew", headers=again).status_code == 200


def test_removing_coverage_through_admin_ends_the_open_claim(world, data):
    sid = _queued(world, data, "ludb/1")  # clinic A
    claim_id = _next(world, world.reader)["claim"]["id"]
    uid = world.extra["users"]["reader"]
    resp = world.client.put(f"/api/v1/admin/readers/{uid}/coverage", headers=world.admin,
                            json={"site_ids": [world.b.site_id]})
    assert resp.status_code == 200, resp.text
    for action in ("renew", "sign"):
        body = {"statements": ["SR"]} if action == "sign" else None
        refused = world.client.post(f"/api/v1/reader/claims/{claim_id}/{action}", headers=world.reader, json=body)
        assert refused.status_code == 409 and refused.headers["content-type"].startswith(PROBLEM)
        assert "revoked" in refused.json()["detail"]
    with world.client.app.state.ctx.session_factory() as s:
        assert s.get(Study, uuid.UUID(sid)).status == StudyStatus.awaiting_read
        assert s.query(AuditEvent).filter_by(action="claim.revoked", object_id=sid).count() == 1


@pytest.mark.parametrize("action", ["renew", "sign"])
def test_renew_and_sign_recheck_scope_and_end_the_claim(world, data, action):
    """Coverage lost by any path (here the row changed directly): renew/sign answer 403 and the claim ends."""
    sid = _queued(world, data, "ludb/1")
    claim_id = _next(world, world.reader)["claim"]["id"]
    ctx = world.client.app.state.ctx
    with ctx.session_factory() as s:
        ReadingRepository(s).set_coverage(world.extra["users"]["reader"], [world.b.site_id])
        s.commit()
    body = {"statements": ["SR"]} if action == "sign" else None
    refused = world.client.post(f"/api/v1/reader/claims/{claim_id}/{action}", headers=world.reader, json=body)
    assert refused.status_code == 403 and refused.headers["content-type"].startswith(PROBLEM)
    assert refused.json()["type"] == "/problems/claim-out-of-scope"
    with ctx.session_factory() as s:
        assert s.get(Claim, claim_id).outcome.value == "revoked"  # the ending was committed
        assert s.get(Study, uuid.UUID(sid)).status == StudyStatus.awaiting_read
    assert _next(world, world.extra["reader2"])["study"]["id"] == sid


@pytest.mark.postgres
def test_dropped_connections_are_replaced_without_pre_ping(pg_migrated):
    """No ping per checkout: a connection dropped while idle is pinged and replaced; one dropped
    while in use fails once (503 upstream) and the pool's older connections are recycled."""
    from tests.app.conftest import _empty_postgres

    _empty_postgres(pg_migrated)
    engine = make_engine(pg_migrated, ping_after_idle_s=0.2)
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    _terminate_others(engine)
    time.sleep(0.3)
    with engine.connect() as conn:  # idle past the bound: pinged, found dead, replaced
        assert conn.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()

    busy = make_engine(pg_migrated, ping_after_idle_s=3600)
    with busy.connect() as conn:
        conn.execute(text("SELECT 1"))
    _terminate_others(busy)
    from sqlalchemy.exc import OperationalError

    with pytest.raises(OperationalError), busy.connect() as conn:
        conn.execute(text("SELECT 1"))
    with busy.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    busy.dispose()


def _terminate_others(engine) -> None:
    """Kill every other backend on this database, as a server restart or a proxy cut-off would."""
    import psycopg

    from tests.conftest import PG_ADMIN_URL

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = %s AND pid <> pg_backend_pid()", (engine.url.database,))


def test_the_claim_bundle_equals_the_study_bundle(world, data):
    """/reader/next builds its bundle from the claim statement's result (on PostgreSQL: analysis, beat
    count and priors in the same statement); it must match GET /reader/studies/{id}, built by queries."""
    first = _queued(world, data, "ludb/1", patient_id="P1", urgency="routine")
    second = _queued(world, data, "ludb/3", patient_id="P1", urgency="stat")
    claimed = _next(world, world.reader)
    assert claimed["study"]["id"] == second
    fetched = world.client.get(f"/api/v1/reader/studies/{second}", headers=world.reader).json()
    assert claimed == fetched
    assert claimed["analysis"]["beats"] > 5 and "r_peaks" not in claimed["analysis"]
    assert [p["id"] for p in claimed["priors"]] == [first]


def test_claiming_a_study_by_id_ends_its_lapsed_lease(world, data):
    """Lapsed leases are the housekeeper's job, but claiming that very study need not wait for it."""
    sid = _queued(world, data, "ludb/1")
    claim_id = _next(world, world.reader)["claim"]["id"]
    ctx = world.client.app.state.ctx
    taken = world.client.post(f"/api/v1/reader/studies/{sid}/claim", headers=world.extra["reader2"])
    assert taken.status_code == 409  # lease still live
    with ctx.session_factory() as s:
        s.execute(update(Claim).where(Claim.id == claim_id).values(
            lease_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
        s.commit()
    taken = world.client.post(f"/api/v1/reader/studies/{sid}/claim", headers=world.extra["reader2"])
    assert taken.status_code == 200, taken.text
    assert taken.json()["claim"]["reader_id"] == world.extra["users"]["reader2"]
    with ctx.session_factory() as s:
        assert s.get(Claim, claim_id).outcome.value == "expired"


@pytest.mark.postgres
def test_requests_survive_connections_dropped_under_the_pool(world):
    """Every pooled connection killed (a PostgreSQL restart): the next request answers normally; the
    read-only auth look-up retries once and the pool recycles its older connections."""
    assert world.client.get("/api/v1/reader/worklist", headers=world.reader).status_code == 200
    _terminate_others(world.client.app.state.ctx.engine)
    resp = world.client.get("/api/v1/reader/worklist", headers=world.reader)
    assert resp.status_code == 200, resp.text
