"""FastAPI dependencies: the request's session, settings and authenticated principal."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

import anyio
import anyio.to_thread
from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from app.auth import credentials
from app.auth import service as auth
from app.auth.principal import Principal
from app.auth.sessions import is_missing, principal_for
from app.context import AppContext
from app.errors import Forbidden, NotAuthenticated
from storage.db import read_only
from storage.models import Role

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def get_ctx(request: Request) -> AppContext:
    return request.app.state.ctx


CtxDep = Annotated[AppContext, Depends(get_ctx)]


async def get_session(ctx: CtxDep) -> AsyncIterator[Session]:
    """One session and one transaction per request, committed here, once.

    Scope ``"function"`` (see ``SessionDep``): FastAPI leaves this block after the endpoint
    has returned and its answer is serialised, but before the answer is sent. So a success
    status is never sent for data that was not committed (a failed commit becomes the error
    answer), and an endpoint that raised is rolled back. Endpoints commit themselves only
    where order matters (before a slow render, before forgetting a cached credential, in
    the upload's own thread), each with a comment saying why.

    The commit runs in a thread outside the request pool's limit (a fresh limiter, as
    FastAPI does for dependency exits): with SQLite's single writer, a commit waiting for a
    pool thread while every pool thread waits for the write lock would deadlock. Opening
    a session does no I/O, and when no transaction is open closing does none either.
    """
    session = ctx.session_factory()
    try:
        yield session
    except BaseException:
        if session.in_transaction():
            await _off_pool(session.rollback)
        raise
    else:
        if session.in_transaction():
            await _off_pool(session.commit)
    finally:
        if session.in_transaction():
            await _off_pool(session.rollback)  # only if the commit itself failed
        session.close()


async def _off_pool(step: Callable[[], None]) -> None:
    await anyio.to_thread.run_sync(step, limiter=anyio.CapacityLimiter(1))


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


SESSION_COOKIE = "ecghub_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_principal(
    request: Request,
    ctx: CtxDep,
    token: Annotated[str | None, Depends(oauth2)],
    x_api_key: Annotated[str | None, Header()] = None,
) -> Principal:
    """The caller: a site's API key, a Bearer token, or the pages' session cookie.

    A token carries the principal (role, site, pools) and the user's token version;
    the version is checked against the database at most every
    ``auth_cache_seconds`` per user and process (``app.auth.sessions``), so most
    requests authenticate without a query or a thread hop. The cookie (HttpOnly,
    SameSite=Strict) is accepted on state-changing requests only with the
    ``X-Requested-With`` header, which a cross-site form cannot send (CSRF). Look-ups
    only read (``read_only``: on SQLite they do not queue for the write lock) on
    their own short transaction, so an upload streaming in over a slow link holds
    no transaction meanwhile.
    """
    if x_api_key:
        return await run_in_threadpool(_api_key_principal, ctx, x_api_key)
    raw = token
    if not raw:
        raw = request.cookies.get(SESSION_COOKIE)
        if not raw:
            raise NotAuthenticated("log in (Bearer token) or send the site's X-API-Key header")
        if request.method not in SAFE_METHODS and not request.headers.get("x-requested-with"):
            raise Forbidden("requests from pages must carry the X-Requested-With header")
    claims = credentials.read_access_token(raw, ctx.settings.signing_key)
    if claims is None:
        raise NotAuthenticated("the access token is invalid, expired or revoked; log in again")
    state = ctx.sessions.cached(claims.user_id)
    if is_missing(state):
        state = await run_in_threadpool(ctx.sessions.load, claims.user_id)
    return principal_for(claims, state)  # type: ignore[arg-type]  # not _MISSING past the branch above


def _api_key_principal(ctx: AppContext, x_api_key: str) -> Principal:
    with read_only(), ctx.session_factory() as session:
        try:
            return auth.principal_from_api_key(session, x_api_key)
        finally:
            session.rollback()


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: Role) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    async def check(principal: CurrentPrincipal) -> Principal:  # async: no thread hop for a comparison
        if principal.role not in roles:
            raise Forbidden(f"this endpoint is for {', '.join(r.value for r in roles)} accounts")
        return principal

    return check


ClinicOrAdmin = Annotated[Principal, Depends(require_roles(Role.clinic, Role.admin))]
ReaderOnly = Annotated[Principal, Depends(require_roles(Role.reader))]
AdminOnly = Annotated[Principal, Depends(require_roles(Role.admin))]
