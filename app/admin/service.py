"""Admin operations. Every change is audited; services never commit."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.admin.schemas import SiteIn, UserIn, UserUpdateIn
from app.auth import service as auth
from app.auth.principal import Principal
from app.errors import Conflict, NotFound
from app.errors import InvalidRequest
from app.reading.claims import end_claims_outside_scope
from storage.models import ApiKey, Role, Site, User, utcnow_aware
from storage.repositories import (
    ApiKeyRepository,
    AuditRepository,
    ReadingRepository,
    SiteRepository,
    UserRepository,
)


def _audit(session: Session, admin: Principal, action: str, kind: str, obj_id: object, **detail: object) -> None:
    AuditRepository(session).add(actor=admin.actor, actor_site_id=admin.site_id, action=action,
                                 object_type=kind, object_id=str(obj_id), detail=detail)


def create_site(session: Session, admin: Principal, body: SiteIn) -> Site:
    if SiteRepository(session).by_code(body.code):
        raise Conflict(f"a site with code {body.code!r} exists")
    site = SiteRepository(session).add(Site(code=body.code, name=body.name, level=body.level, region=body.region))
    _audit(session, admin, "site.created", "site", site.id)
    return site


def update_user(session: Session, admin: Principal, user_id: int, body: UserUpdateIn) -> User:
    """Set the name and title printed on the user's signed reports (only the fields given)."""
    user = UserRepository(session).get(user_id)
    if user is None:
        raise NotFound("no such user")
    changed = {k: v for k, v in body.model_dump().items() if v is not None}
    for key, value in changed.items():
        setattr(user, key, value)
    _audit(session, admin, "user.updated", "user", user.id, **changed)
    session.flush()
    return user


def create_user(session: Session, admin: Principal, body: UserIn) -> User:
    if SiteRepository(session).get(body.site_id) is None:
        raise InvalidRequest("site_id does not exist")
    if UserRepository(session).by_username(body.username):
        raise Conflict(f"username {body.username!r} is taken")
    try:
        user = auth.create_user(session, site_id=body.site_id, username=body.username, password=body.password,
                                role=body.role, display_name=body.display_name, title=body.title,
                                reader_pools=[p.value for p in body.reader_pools])
    except IntegrityError as exc:
        raise Conflict(f"username {body.username!r} is taken") from exc
    _audit(session, admin, "user.created", "user", user.id, role=body.role.value)
    return user


def set_coverage(session: Session, admin: Principal, reader_id: int, site_ids: list[int]) -> list[int]:
    user = UserRepository(session).get(reader_id)
    if user is None or user.role != Role.reader:
        raise NotFound("no such reader")
    sites = SiteRepository(session)
    missing = [s for s in site_ids if sites.get(s) is None]
    if missing:
        raise InvalidRequest(f"unknown site id(s): {missing}")
    ReadingRepository(session).set_coverage(reader_id, site_ids)
    ended = end_claims_outside_scope(session, admin, reader_id)  # a reader keeps no claim on a site they lost
    _audit(session, admin, "reader.coverage_set", "user", reader_id, sites=sorted(set(site_ids)), claims_ended=ended)
    return sorted(set(site_ids))


def create_api_key(session: Session, admin: Principal, site_id: int, name: str) -> tuple[ApiKey, str]:
    if SiteRepository(session).get(site_id) is None:
        raise NotFound("no such site")
    key, token = auth.create_api_key(session, site_id, name, admin.actor)
    return key, token


def revoke_api_key(session: Session, admin: Principal, key_id: int) -> ApiKey:
    repo = ApiKeyRepository(session)
    key = repo.get(key_id)
    if key is None:
        raise NotFound("no such API key")
    if key.revoked_at is None:
        repo.revoke(key, utcnow_aware())
        _audit(session, admin, "api_key.revoked", "api_key", key.id)
    return key


# -- listings for the admin pages (no patient data; not audited, like the other admin reads) --------

def list_sites(session: Session) -> list[Site]:
    return SiteRepository(session).all()


def list_users(session: Session, site_id: int | None, role: Role | None) -> list[tuple[User, list[int]]]:
    """Accounts (never their password hashes) with each reader's covered sites."""
    coverage = ReadingRepository(session).all_coverage()
    users = UserRepository(session).list(site_id, role)
    return [(u, coverage.get(u.id, []) if u.role == Role.reader else []) for u in users]


def list_api_keys(session: Session, site_id: int | None) -> list[ApiKey]:
    """Keys (their public prefix and state; the secret is never stored, so never shown again)."""
    return ApiKeyRepository(session).list(site_id)
