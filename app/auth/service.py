"""Authenticating users and API keys, and managing keys. Services never commit."""

from __future__ import annotations


from sqlalchemy.orm import Session

from app.auth import credentials
from app.auth.passwords import check_password
from app.auth.principal import Principal
from app.auth.sessions import principal_for
from app.errors import NotAuthenticated
from storage.models import ApiKey, Role, User
from storage.repositories import ApiKeyRepository, AuditRepository, SiteRepository, UserRepository


def principal_from_token(session: Session, token: str, signing_key: str) -> Principal:
    """The principal of a token, checked against the database now (no cache): for the pages."""
    claims = credentials.read_access_token(token, signing_key)
    if claims is None:
        raise NotAuthenticated("the access token is invalid, expired or revoked; log in again")
    return principal_for(claims, UserRepository(session).auth_state(claims.user_id))


def revoke_sessions(session: Session, user_id: int, actor: str, actor_site_id: int | None,
                    action: str = "auth.sessions_revoked") -> bool:
    """Refuse every token issued so far to ``user_id`` (logout, or an admin's "revoke all"); audited."""
    if UserRepository(session).bump_token_version(user_id) is None:
        return False
    AuditRepository(session).add(actor=actor, actor_site_id=actor_site_id, action=action, object_type="user",
                                 object_id=str(user_id))
    return True


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
                display_name: str = "", reader_pools: list[str] | None = None, title: str = "") -> User:
    """A new account; the password must pass the policy (``app.auth.passwords``)."""
    site = SiteRepository(session).get(site_id)
    check_password(password, username=username, context=(site.code,) if site else ())
    return UserRepository(session).add(User(
        site_id=site_id, username=username, password_hash=credentials.hash_password(password),
        role=role, display_name=display_name, title=title, reader_pools=reader_pools or [],
    ))


def set_password(session: Session, user: User, new_password: str, *, actor: str, actor_site_id: int | None,
                 temporary: bool, action: str) -> None:
    """Give ``user`` a new password (policy-checked), end their sessions, and audit ``action``.
    ``temporary``: an admin's reset; the user must choose their own before logging in."""
    site = SiteRepository(session).get(user.site_id)
    check_password(new_password, username=user.username, context=(site.code,) if site else ())
    user.password_hash = credentials.hash_password(new_password)
    user.must_change_password = temporary
    revoke_sessions(session, user.id, actor, actor_site_id, action=action)
