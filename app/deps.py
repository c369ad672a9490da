"""FastAPI dependencies: the request's session, settings and authenticated principal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from app.auth import service as auth
from app.auth.principal import Principal
from app.context import AppContext
from app.errors import Forbidden, NotAuthenticated
from storage.db import read_only
from storage.models import Role

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_ctx(request: Request) -> AppContext:
    return request.app.state.ctx


CtxDep = Annotated[AppContext, Depends(get_ctx)]


def get_session(ctx: CtxDep) -> Iterator[Session]:
    """One session per request. Endpoints commit explicitly before answering, so a
    success status is never sent for data that was not committed; anything
    uncommitted is rolled back here."""
    session = ctx.session_factory()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]


SESSION_COOKIE = "ecghub_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_principal(
    request: Request,
    ctx: CtxDep,
    session: SessionDep,
    token: Annotated[str | None, Depends(oauth2)],
    x_api_key: Annotated[str | None, Header()] = None,
) -> Principal:
    """The caller: a site's API key, a Bearer token, or the pages' session cookie.

    The cookie (HttpOnly, SameSite=Strict) is accepted on state-changing requests
    only with the ``X-Requested-With`` header, which a cross-site form cannot
    send (CSRF). The look-up only reads (``read_only``: on SQLite it does not queue
    for the write lock) and its transaction is ended at once, so an upload
    streaming in over a slow link holds no transaction meanwhile.
    """
    with read_only():
        try:
            return _principal(request, ctx, session, token, x_api_key)
        finally:
            session.rollback()


def _principal(request: Request, ctx: AppContext, session: Session, token: str | None,
               x_api_key: str | None) -> Principal:
    if x_api_key:
        return auth.principal_from_api_key(session, x_api_key)
    if token:
        return auth.principal_from_token(session, token, ctx.settings.signing_key)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        if request.method not in SAFE_METHODS and not request.headers.get("x-requested-with"):
            raise Forbidden("requests from pages must carry the X-Requested-With header")
        return auth.principal_from_token(session, cookie, ctx.settings.signing_key)
    raise NotAuthenticated("log in (Bearer token) or send the site's X-API-Key header")


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require_roles(*roles: Role):  # noqa: ANN201 - FastAPI dependency factory
    def check(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"this endpoint is for {', '.join(r.value for r in roles)} accounts")
        return principal

    return check


ClinicOrAdmin = Annotated[Principal, Depends(require_roles(Role.clinic, Role.admin))]
ReaderOnly = Annotated[Principal, Depends(require_roles(Role.reader))]
AdminOnly = Annotated[Principal, Depends(require_roles(Role.admin))]
