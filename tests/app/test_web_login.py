"""Page login: the session cookie carries the API's token; cookie writes need X-Requested-With (CSRF)."""

from __future__ import annotations

import time

from tests.app.factories import PASSWORD


def test_login_sets_cookie_and_redirects_home(world):
    c = world.client
    assert c.get("/login").status_code == 200
    bad = c.post("/login", data={"username": "tech-a", "password": "wrong"}, follow_redirects=False)
    assert bad.status_code == 401 and "ecghub_session" not in bad.cookies
    ok = c.post("/login", data={"username": "tech-a", "password": PASSWORD}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/clinic/"
    cookie = ok.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    assert c.get("/api/v1/me").json()["role"] == "clinic"


def test_cookie_write_needs_the_csrf_header(world, data):
    c = world.client
    c.post("/login", data={"username": "reader", "password": PASSWORD}, follow_redirects=False)
    assert c.post("/api/v1/reader/next").status_code == 403
    assert c.post("/api/v1/reader/next", headers={"X-Requested-With": "fetch"}).status_code == 204


def test_next_parameter_cannot_redirect_off_site(world):
    resp = world.client.post("/login", data={"username": "admin", "password": PASSWORD, "next": "//evil.example"},
                             follow_redirects=False)
    assert resp.headers["location"] == "/admin/"


def test_demo_seed_gives_readers_a_queue(tmp_path, data):
    """The demo command's data: accounts, coverage, real recordings queued for the readers."""
    from fastapi.testclient import TestClient

    from app.demo import PASSWORD as DEMO_PASSWORD
    from app.demo import seed_demo
    from app.main import create_app
    from app.settings import Settings
    from storage.migrations import upgrade

    settings = Settings(var_dir=tmp_path, secret_key="demo-" * 10, sweep_interval_s=0.5, sweep_grace_s=0)
    upgrade(settings.resolved_database_url)
    assert "dr-li" in seed_demo(settings, data)
    seed_demo(settings, data)  # idempotent
    with TestClient(create_app(settings)) as c:
        token = c.post("/api/v1/auth/token", data={"username": "dr-li", "password": DEMO_PASSWORD}).json()
        h = {"Authorization": f"Bearer {token['access_token']}"}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            wl = c.get("/api/v1/reader/worklist", headers=h).json()
            if sum(wl["counts"][p] for p in ("stat", "urgent", "routine")) == 4:
                break
            time.sleep(0.2)
        assert sum(wl["counts"][p] for p in ("stat", "urgent", "routine")) == 4


def test_after_an_admin_reset_the_login_page_leads_to_choosing_a_new_password(world):
    uid = world.extra["users"]["tech-b"]
    temporary = world.client.post(f"/api/v1/admin/users/{uid}/reset-password", headers=world.admin).json()[
        "temporary_password"]
    r = world.client.post("/login", data={"username": "tech-b", "password": temporary}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/password?reset=1&username=tech-b")
    page = world.client.get(r.headers["location"])
    assert page.status_code == 200 and "临时密码" in page.text
    differ = world.client.post("/password", data={"username": "tech-b", "password": temporary,
                                                  "new_password": "quiet river lantern 42",
                                                  "new_password2": "quiet river lantern 43"})
    assert differ.status_code == 422 and "不一致" in differ.text
    common = world.client.post("/password", data={"username": "tech-b", "password": temporary,
                                                  "new_password": "password12", "new_password2": "password12"})
    assert common.status_code == 422 and "最常见的密码" in common.text  # the policy's refusal, in Chinese
    done = world.client.post("/password", data={"username": "tech-b", "password": temporary,
                                                "new_password": "quiet river lantern 42",
                                                "new_password2": "quiet river lantern 42"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/login?changed=1"
    ok = world.client.post("/login", data={"username": "tech-b", "password": "quiet river lantern 42"},
                           follow_redirects=False)
    assert ok.status_code == 303
