"""Sites, users and API keys."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.models import ApiKey, Role, Site, User


class SiteRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, site_id: int) -> Site | None:
        return self.session.get(Site, site_id)

    def all(self) -> list[Site]:
        return list(self.session.scalars(select(Site).order_by(Site.level, Site.name, Site.id)))

    def by_code(self, code: str) -> Site | None:
        return self.session.scalar(select(Site).where(Site.code == code))

    def add(self, site: Site) -> Site:
        self.session.add(site)
        self.session.flush()
        return site


@dataclass(frozen=True)
class AuthState:
    """What a token check needs of a user, in one indexed row (users joined to their site)."""

    token_version: int
    active: bool
    role: Role
    site_id: int
    reader_pools: tuple[str, ...]


class UserRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def auth_state(self, user_id: int) -> AuthState | None:
        """Token version, role, site and pools of a user; ``active`` false if the user or site is disabled."""
        stmt = (select(User.token_version, User.active, Site.active, User.role, User.site_id, User.reader_pools)
                .join(Site, Site.id == User.site_id).where(User.id == user_id))
        row = self.session.execute(stmt).first()
        if row is None:
            return None
        version, user_active, site_active, role, site_id, pools = row
        return AuthState(int(version), bool(user_active and site_active), role, int(site_id), tuple(pools or ()))

    def bump_token_version(self, user_id: int) -> int | None:
        """Refuse every token issued so far to this user; returns the new version (None: no such user)."""
        stmt = (update(User).where(User.id == user_id).values(token_version=User.token_version + 1)
                .returning(User.token_version).execution_options(synchronize_session=False))
        new = self.session.scalar(stmt)
        return int(new) if new is not None else None

    def get(self, user_id: int) -> User | None:
        return self.session.get(User, user_id)

    def list(self, site_id: int | None = None, role: Role | None = None) -> list[User]:
        stmt = select(User).order_by(User.role, User.username)
        if site_id is not None:
            stmt = stmt.where(User.site_id == site_id)
        if role is not None:
            stmt = stmt.where(User.role == role)
        return list(self.session.scalars(stmt))

    def by_username(self, username: str) -> User | None:
        return self.session.scalar(select(User).where(User.username == username))

    def add(self, user: User) -> User:
        self.session.add(user)
        self.session.flush()
        return user


class ApiKeyRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def list(self, site_id: int | None = None) -> list[ApiKey]:
        stmt = select(ApiKey).order_by(ApiKey.site_id, ApiKey.created_at.desc(), ApiKey.id.desc())
        if site_id is not None:
            stmt = stmt.where(ApiKey.site_id == site_id)
        return list(self.session.scalars(stmt))

    def by_prefix(self, prefix: str) -> ApiKey | None:
        return self.session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))

    def get(self, key_id: int) -> ApiKey | None:
        return self.session.get(ApiKey, key_id)

    def add(self, key: ApiKey) -> ApiKey:
        self.session.add(key)
        self.session.flush()
        return key

    def revoke(self, key: ApiKey, at: dt.datetime) -> None:
        key.revoked_at = at
        self.session.flush()
