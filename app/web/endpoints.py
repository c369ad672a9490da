"""/login and /logout: the pages' session cookie, holding the same signed token as the API's."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from app.auth import credentials
from app.auth import login as password_login
from app.auth import service as auth
from app.deps import SESSION_COOKIE, CtxDep, SessionDep
from app.auth.endpoints import store_password
from app.auth.passwords import WeakPassword
from app.errors import InvalidRequest, NotAuthenticated, PasswordChangeRequired, TooManyAttempts
from app.i18n import pick_lang, strings
from storage.models import Role
from app.web.pages import HOME, cookie_principal, render

router = APIRouter(include_in_schema=False)


def _safe_next(path: str | None) -> str | None:
    return path if path and path.startswith("/") and not path.startswith("//") else None


@router.get("/", response_class=HTMLResponse)
def root(request: Request) -> Response:
    principal = cookie_principal(request)
    return RedirectResponse(HOME[principal.role] if principal else "/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None, changed: bool = False) -> HTMLResponse:
    return render(request, "login.html", next=_safe_next(next) or "", changed=changed)


@router.get("/password", response_class=HTMLResponse)
def password_page(request: Request, username: str = "", reset: bool = False) -> HTMLResponse:
    return render(request, "password.html", username=username[:100], reset=reset)


@router.post("/password")
async def password_change(request: Request, ctx: CtxDep, username: Annotated[str, Form()],
                          password: Annotated[str, Form()], new_password: Annotated[str, Form()],
                          new_password2: Annotated[str, Form()]) -> Response:
    """The change-password form (also the way back in after an admin's reset): the API's
    ``POST /api/v1/auth/password`` for people, with the refusal shown on the page."""
    s = strings(pick_lang(request))
    if new_password != new_password2:
        return render(request, "password.html", username=username, message=s["password_mismatch"], status_code=422)
    try:
        account = await password_login.verify(ctx, username, password, request.client.host if request.client else "")
        assert account.user_id is not None
        if new_password == password:
            raise InvalidRequest("the new password must differ from the current one")
        await run_in_threadpool(store_password, ctx, account.user_id, new_password)
    except WeakPassword as exc:
        return render(request, "password.html", username=username, message=s[f"password_{exc.rule}"],
                      status_code=exc.status)
    except NotAuthenticated as exc:
        return render(request, "password.html", username=username, message=s["password_wrong"], status_code=exc.status)
    except TooManyAttempts as exc:
        return render(request, "password.html", username=username,
                      message=s["login_throttled"].format(seconds=exc.retry_after_s), status_code=exc.status)
    except InvalidRequest as exc:
        return render(request, "password.html", username=username, message=exc.detail, status_code=exc.status)
    ctx.sessions.forget(account.user_id)
    return RedirectResponse("/login?changed=1", status_code=303)


@router.post("/login")
async def login(request: Request, ctx: CtxDep, username: Annotated[str, Form()],
                password: Annotated[str, Form()], next: Annotated[str, Form()] = "") -> Response:
    minutes = ctx.settings.access_token_minutes
    try:
        token, _ = await password_login.login(ctx, username, password, request.client.host if request.client else "")
    except NotAuthenticated:
        return render(request, "login.html", error=True, next=_safe_next(next) or "", status_code=401)
    except PasswordChangeRequired:
        return RedirectResponse(f"/password?reset=1&username={quote(username[:100])}", status_code=303)
    except TooManyAttempts as exc:
        resp: Response = render(request, "login.html", error=True, throttled=exc.retry_after_s, next=_safe_next(next) or "",
                      status_code=429)
        resp.headers.update(exc.headers())
        return resp
    claims = credentials.read_access_token(token, ctx.settings.signing_key)
    assert claims is not None and claims.role is not None
    resp = RedirectResponse(_safe_next(next) or HOME[Role(claims.role)], status_code=303)
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
        session.commit()  # order: forget the cached token version only once the new one is committed
        ctx.sessions.forget(principal.id)
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp
