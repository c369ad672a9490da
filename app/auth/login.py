"""Password login with throttling that holds across API processes.

A flood of wrong logins used to stall the service: each argon2 hash (~0.25 s)
ran inside a write transaction (SQLite's single writer) on the shared thread
pool, and nothing slowed the attacker down. Now:

* the user and any block are read in a read-only snapshot, the hash runs
  outside any transaction on its own limiter (``HASHES_AT_ONCE`` threads, so
  the request thread pool stays free for everyone else), and the outcome is
  written in one short transaction;
* failures are counted per (account, address), per address and per account
  (``RULES``) in the database, so every replica sees them; past a rule's
  allowance each further failure blocks that key for ``BASE_BLOCK_S`` doubling
  up to ``MAX_BLOCK_S``. A blocked login is answered 429 with Retry-After
  without hashing. The per-pair rule stops guessing at one account from one
  place; the per-account allowance is high (NIST SP 800-63B 5.2.2: at most 100
  consecutive failures) so an attacker cannot lock a doctor out cheaply;
* an unknown user costs the same hash as a known one (no user enumeration by
  timing), and the answer is the same;
* a block's start is audited (``auth.lockout``) besides every failure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import anyio
from starlette.concurrency import run_in_threadpool

from app.auth import credentials
from app.context import AppContext
from app.errors import NotAuthenticated, PasswordChangeRequired, TooManyAttempts
from storage.db import read_only
from storage.models import utcnow_aware
from storage.repositories import AuditRepository, ThrottleRepository, UserRepository

WINDOW = dt.timedelta(minutes=15)
#: (key kind, failures allowed in ``WINDOW`` before blocks start)
RULES = (("pair", 5), ("addr", 30), ("acct", 50))
BASE_BLOCK_S = 30
MAX_BLOCK_S = 900
HASHES_AT_ONCE = 2
_HASHING = anyio.CapacityLimiter(HASHES_AT_ONCE)


@dataclass(frozen=True)
class _Account:
    user_id: int | None
    password_hash: str | None
    usable: bool
    version: int = 0
    role: str | None = None
    site_id: int | None = None
    pools: tuple[str, ...] = ()
    must_change: bool = False


def throttle_keys(username: str, address: str) -> dict[str, str]:
    """Rule kind -> counter key for this attempt."""
    name, addr = username.strip().lower()[:100], (address or "unknown")[:64]
    return {"pair": f"pair:{name}|{addr}", "addr": f"addr:{addr}", "acct": f"acct:{name}"}


def block_for(failures: int, allowed: int) -> dt.timedelta | None:
    """How long a key is blocked after its ``failures``-th failure (None within the allowance)."""
    if failures <= allowed:
        return None
    return dt.timedelta(seconds=min(MAX_BLOCK_S, BASE_BLOCK_S * 2 ** (failures - allowed - 1)))


def _read(ctx: AppContext, username: str, keys: list[str], now: dt.datetime) -> tuple[dt.datetime | None, _Account]:
    with read_only(), ctx.session_factory() as session:
        blocked = ThrottleRepository(session).blocked_until(keys, now)
        user = UserRepository(session).by_username(username)
        if user is None:
            return blocked, _Account(None, None, False)
        return blocked, _Account(user.id, user.password_hash, bool(user.active and user.site.active),
                                 user.token_version, user.role.value, user.site_id, tuple(user.reader_pools or ()),
                                 bool(user.must_change_password))


def _record(ctx: AppContext, account: _Account, ok: bool, keys: dict[str, str], now: dt.datetime) -> None:
    """Write the outcome in one short transaction: audit, and count or clear the failures."""
    with ctx.session_factory() as session:
        audit, throttle = AuditRepository(session), ThrottleRepository(session)
        if ok:
            throttle.clear([keys["pair"], keys["acct"]])
            audit.add(actor=f"user:{account.user_id}", actor_site_id=account.site_id, action="auth.login",
                      object_type="user", object_id=str(account.user_id))
        else:
            audit.add(actor="anonymous", actor_site_id=None, action="auth.login_failed", object_type="user",
                      object_id=str(account.user_id) if account.user_id else "-")
            for kind, allowed in RULES:
                row = throttle.count_failure(keys[kind], now, WINDOW)
                block = block_for(row.failures, allowed)
                if block is not None:
                    row.blocked_until = now + block
                    audit.add(actor="anonymous", actor_site_id=None, action="auth.lockout", object_type="login",
                              object_id=keys[kind][:100], detail={"failures": row.failures,
                                                                  "blocked_s": int(block.total_seconds())})
        session.commit()


async def verify(ctx: AppContext, username: str, password: str, address: str) -> _Account:
    """The account if ``password`` is right and no throttle blocks (throttled, counted and audited
    as a login); else a typed error."""
    now = utcnow_aware()
    keys = throttle_keys(username, address)
    blocked, account = await run_in_threadpool(_read, ctx, username, list(keys.values()), now)
    if blocked is not None:
        raise TooManyAttempts("too many failed logins; wait before trying again",
                              retry_after_s=max(1, int((blocked - now).total_seconds()) + 1))
    ok = await anyio.to_thread.run_sync(credentials.verify_password, account.password_hash, password,
                                        limiter=_HASHING)
    ok = ok and account.usable
    await run_in_threadpool(_record, ctx, account, ok, keys, now)
    if not ok:
        raise NotAuthenticated("wrong username or password, or the account is disabled")
    return account


async def login(ctx: AppContext, username: str, password: str, address: str) -> tuple[str, dt.datetime]:
    """A token for ``username`` (``verify``); refused while an admin's reset asks for a new password."""
    account = await verify(ctx, username, password, address)
    if account.must_change:
        raise PasswordChangeRequired("this account's password was reset: choose your own with "
                                     "POST /api/v1/auth/password before logging in")
    settings = ctx.settings
    assert account.user_id is not None
    return credentials.issue_token(account.user_id, settings.signing_key, settings.access_token_minutes,
                                   utcnow_aware(), version=account.version, role=account.role,
                                   site_id=account.site_id, pools=account.pools)
