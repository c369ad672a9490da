"""Factory functions for service tests: sites, accounts, keys, and uploads of real records."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from functools import lru_cache

from app.auth import credentials
from app.auth import service as auth
from storage.models import Role, Site, SiteLevel, User, utcnow_aware
from storage.repositories import ReadingRepository, SiteRepository, UserRepository

PASSWORD = "correct horse battery staple"


@dataclass
class Clinic:
    site_id: int
    username: str
    token: str
    api_key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def key(self) -> dict[str, str]:
        return {"X-API-Key": self.api_key}


@dataclass
class World:
    client: TestClient
    a: Clinic
    b: Clinic
    admin: dict[str, str]
    reader: dict[str, str]
    extra: dict[str, Any] = field(default_factory=dict)


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    resp = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert resp.status_code == 200, resp.text
    return resp.json()["access_token"]


@lru_cache(maxsize=1)
def _password_hash() -> str:
    # argon2 is deliberately slow (~0.25 s here): hash the shared test password once.
    return credentials.hash_password(PASSWORD)


def _user(s, site_id: int, username: str, role: Role, pools: list[str] | None = None) -> int:
    user = UserRepository(s).add(User(site_id=site_id, username=username, password_hash=_password_hash(),
                                      role=role, reader_pools=pools or []))
    return user.id


def token_for(client: TestClient, user_id: int) -> str:
    """A token as the login endpoint issues it (login itself is tested in test_auth_tenancy)."""
    settings = client.app.state.ctx.settings
    return credentials.issue_token(user_id, settings.signing_key, settings.access_token_minutes, utcnow_aware())[0]


def make_world(client: TestClient) -> World:
    ctx = client.app.state.ctx
    with ctx.session_factory() as s:
        sites = SiteRepository(s)
        hub = sites.add(Site(code="hub", name="Hub ECG centre", level=SiteLevel.hub, region="R"))
        a = sites.add(Site(code="clinic-a", name="Clinic A", level=SiteLevel.township, region="R"))
        b = sites.add(Site(code="clinic-b", name="Clinic B", level=SiteLevel.county, region="R"))
        users = {
            "tech-a": _user(s, a.id, "tech-a", Role.clinic),
            "tech-b": _user(s, b.id, "tech-b", Role.clinic),
            "admin": _user(s, hub.id, "admin", Role.admin),
            "reader": _user(s, hub.id, "reader", Role.reader, ["pediatric", "adult"]),
            "reader2": _user(s, hub.id, "reader2", Role.reader, ["pediatric", "adult"]),
            "adult-reader": _user(s, hub.id, "adult-reader", Role.reader, ["adult"]),
        }
        reading = ReadingRepository(s)
        reading.set_coverage(users["reader"], [a.id, b.id])
        reading.set_coverage(users["reader2"], [a.id, b.id])
        reading.set_coverage(users["adult-reader"], [a.id])
        _, key_a = auth.create_api_key(s, a.id, "ECG cart A", "test")
        _, key_b = auth.create_api_key(s, b.id, "ECG cart B", "test")
        s.commit()
        ids = (a.id, b.id)

    def bearer(name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token_for(client, users[name])}"}

    return World(
        client=client,
        a=Clinic(ids[0], "tech-a", token_for(client, users["tech-a"]), key_a),
        b=Clinic(ids[1], "tech-b", token_for(client, users["tech-b"]), key_b),
        admin=bearer("admin"),
        reader=bearer("reader"),
        extra={"reader2": bearer("reader2"), "adult_reader": bearer("adult-reader"), "users": users,
               "hub_id": hub.id},
    )


def wfdb_files(data: Path, record: str) -> list[tuple[str, tuple[str, bytes, str]]]:
    """Multipart ``files`` entries for a WFDB record (header + signal file), e.g. ``mitdb/100``."""
    base = data / record
    out = []
    for ext in (".hea", ".dat"):
        p = base.with_suffix(ext)
        out.append(("files", (p.name, p.read_bytes(), "application/octet-stream")))
    return out


def patient_form(**over: str) -> dict[str, str]:
    form = {
        "patient_id": "P-001", "patient_name": "Test Child", "patient_sex": "F",
        "patient_birth_date": "2019-03-04", "acquired_at": "2026-11-25T09:30:00+08:00",
        "indication": "palpitations", "urgency": "routine",
    }
    form.update(over)
    return form


def upload(client: TestClient, headers: dict[str, str], files: list, form: dict[str, str] | None = None,
           key: str | None = None) -> Any:
    h = dict(headers)
    if key is None:
        key = str(uuid.uuid4())
    if key:
        h["Idempotency-Key"] = key
    return client.post("/api/v1/studies", headers=h, files=files, data=form or patient_form())


def wait_for_status(client: TestClient, headers: dict[str, str], study_id: str, timeout_s: float = 60.0,
                    done: tuple[str, ...] = ("awaiting_read", "unreadable", "analysis_failed")) -> dict[str, Any]:
    """Poll the study until its analysis settles (the in-process worker runs it)."""
    deadline = time.monotonic() + timeout_s
    while True:
        body = client.get(f"/api/v1/studies/{study_id}", headers=headers).json()
        if body["status"] in done or time.monotonic() > deadline:
            return body
        time.sleep(0.05)
