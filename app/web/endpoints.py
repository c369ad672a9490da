"""/login and /logout: the pages' session cookie, holding the same signed token as the API's."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.auth import service as auth
from app.deps import SESSION_COOKIE, CtxDep, SessionDep
from app.errors import NotAuthenticated
from app.web.pages import HOME, cookie_principal, render

router = APIRouter(include_in_schema=False)


def _safe_next(path: str | None) -> str | None:
    return path if path and path.startswith("/") and not path.startswith("//") else None


@router.get("/", response_class=HTMLResponse)
def root(request: Request) -> Response:
    principal = cookie_principal(request)
    return RedirectResponse(HOME[principal.role] if principal else "/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> HTMLResponse:  # noqa: A002 - query name
    return render(request, "login.html", next=_safe_next(next) or "")


@router.post("/login")
def login(request: Request, ctx: CtxDep, session: SessionDep, username: Annotated[str, Form()],
          password: Annotated[str, Form()], next: Annotated[str, Form()] = "") -> Response:  # noqa: A002
    minutes = ctx.settings.access_token_minutes
    try:
        token, _ = auth.login(session, username, password, ctx.settings.signing_key, minutes)
    except NotAuthenticated:
        session.commit()  # keep the failed-login audit event
        return render(request, "login.html", error=True, next=_safe_next(next) or "", status_code=401)
    session.commit()
    principal = auth.principal_from_token(session, token, ctx.settings.signing_key)
    resp = RedirectResponse(_safe_next(next) or HOME[principal.role], status_code=303)
    resp.set_cookie(SESSION_COOKIE, token, max_age=minutes * 60, httponly=True, samesite="strict",
                    secure=request.url.scheme == "https", path="/")
    return resp


@router.post("/logout")
def logout(request: Request, ctx: CtxDep, session: SessionDep) -> Response:
    """Log out: the cookie is cleared and the user's tokens are revoked server-side."""
    token = request.cookies.get(SESSION_COOKIE)
    try:
        principal = auth.principal_from_token(session, token, ctx.settings.signing_key) if token else None
    except NotAuthenticated:
        principal = None
    if principal is not None:
        auth.revoke_sessions(session, principal.id, principal.actor, principal.site_id, action="auth.logout")
        session.commit()
        ctx.sessions.forget(principal.id)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp
