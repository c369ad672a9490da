"""Authenticating users and API keys, and managing keys. Services never commit."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from app.auth import credentials
from app.auth.principal import Principal
from app.errors import NotAuthenticated
from storage.models import ApiKey, Role, User, utcnow_aware
from storage.repositories import ApiKeyRepository, AuditRepository, UserRepository


def login(session: Session, username: str, password: str, signing_key: str, minutes: int) -> tuple[str, dt.datetime]:
    """Check a username/password and issue an access token; audit both outcomes."""
    user = UserRepository(session).by_username(username)
    ok = credentials.verify_password(user.password_hash if user else None, password)
    audit = AuditRepository(session)
    if not ok or user is None or not user.active or not user.site.active:
        audit.add(actor="anonymous", actor_site_id=None, action="auth.login_failed", object_type="user",
                  object_id=str(user.id) if user else "-")
        raise NotAuthenticated("wrong username or password, or the account is disabled")
    audit.add(actor=f"user:{user.id}", actor_site_id=user.site_id, action="auth.login",
              object_type="user", object_id=str(user.id))
    return credentials.issue_token(user.id, signing_key, minutes, utcnow_aware())


def principal_from_token(session: Session, token: str, signing_key: str) -> Principal:
    user_id = credentials.read_token(token, signing_key)
    user = UserRepository(session).get(user_id) if user_id is not None else None
    if user is None or not user.active or not user.site.active:
        raise NotAuthenticated("the access token is invalid or expired; log in again")
    return Principal("user", user.id, user.site_id, user.role, tuple(user.reader_pools or ()))


def principal_from_api_key(session: Session, token: str) -> Principal:
    parts = credentials.split_api_key(token)
    key = ApiKeyRepository(session).by_prefix(parts[0]) if parts else None
    if (
        parts is None
        or key is None
        or key.revoked_at is not None
        or not key.site.active
        or not credentials.api_key_matches(parts[1], key.secret_hash)
    ):
        raise NotAuthenticated("the API key is invalid or has been revoked")
    return Principal("api_key", key.id, key.site_id, Role.clinic)


def create_api_key(session: Session, site_id: int, name: str, actor: str) -> tuple[ApiKey, str]:
    """Mint a key for ``site_id``; returns the row and the token (shown once, never stored)."""
    new = credentials.mint_api_key()
    key = ApiKeyRepository(session).add(ApiKey(site_id=site_id, name=name, prefix=new.prefix,
                                               secret_hash=new.secret_hash))
    AuditRepository(session).add(actor=actor, actor_site_id=None, action="api_key.created",
                                 object_type="api_key", object_id=str(key.id))
    return key, new.token


def create_user(session: Session, *, site_id: int, username: str, password: str, role: Role,
                display_name: str = "", reader_pools: list[str] | None = None) -> User:
    return UserRepository(session).add(User(
        site_id=site_id, username=username, password_hash=credentials.hash_password(password),
        role=role, display_name=display_name, reader_pools=reader_pools or [],
    ))
