"""Server-side session revocation: is a token still honoured?

Every access token carries its user's ``token_version`` (``ver``). Logout, disabling
the user and "revoke all sessions" bump that version in the database, which refuses
every token issued before. The check is one indexed row (users joined to sites); its
answer is kept per user for at most ``ttl_s`` seconds (``ECGHUB_AUTH_CACHE_SECONDS``,
default 5 s). That is the documented bound: a token revoked through another API
process keeps working there for at most ``ttl_s`` seconds; in the process that did
the revocation it stops at once (``forget``).
"""

from __future__ import annotations

import threading
import time

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app.auth.credentials import TokenClaims
from app.auth.principal import Principal
from app.errors import NotAuthenticated
from storage.db import read_only
from storage.models import Role
from storage.repositories.org import AuthState, UserRepository

_MISSING = object()


class SessionCheck:
    """Per-process cache of users' token versions and active flags, bounded in time and size."""

    def __init__(self, session_factory: sessionmaker[Session], ttl_s: float, max_entries: int = 10_000) -> None:
        self.session_factory = session_factory
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: dict[int, tuple[float, AuthState | None]] = {}
        self._lock = threading.Lock()

    def cached(self, user_id: int) -> AuthState | None | object:
        """The cached state of a user, or ``_MISSING`` (then call ``load``). Never touches the database."""
        entry = self._entries.get(user_id)
        if entry is None or entry[0] < time.monotonic():
            return _MISSING
        return entry[1]

    def load(self, user_id: int) -> AuthState | None:
        """Read the user's state (one row; retried once on a dropped connection) and cache it."""
        try:
            state = self._query(user_id)
        except OperationalError as exc:
            if not exc.connection_invalidated:
                raise
            state = self._query(user_id)  # the pool reconnects; a database that is down fails again: 503
        if self.ttl_s > 0:
            with self._lock:
                if len(self._entries) >= self.max_entries:
                    self._entries.clear()
                self._entries[user_id] = (time.monotonic() + self.ttl_s, state)
        return state

    def _query(self, user_id: int) -> AuthState | None:
        with read_only(), self.session_factory() as session:
            try:
                return UserRepository(session).auth_state(user_id)
            finally:
                session.rollback()

    def forget(self, user_id: int) -> None:
        """Drop a user's cached state (after this process bumped their version or disabled them)."""
        with self._lock:
            self._entries.pop(user_id, None)


def is_missing(value: object) -> bool:
    return value is _MISSING


def principal_for(claims: TokenClaims, state: AuthState | None) -> Principal:
    """The principal a token stands for, if the user is active and the token's version is current."""
    if state is None or not state.active or state.token_version != claims.version:
        raise NotAuthenticated("the access token is invalid, expired or revoked; log in again")
    if claims.role is not None and claims.site_id is not None:
        return Principal("user", claims.user_id, claims.site_id, Role(claims.role), claims.pools)
    return Principal("user", claims.user_id, state.site_id, state.role, state.reader_pools)
