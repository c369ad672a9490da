"""Helpers every page uses: templates, the logged-in principal from the cookie, role guards.

Pages hold no data of their own: their JavaScript calls the same API, with the
same tenancy, roles and audit, using the session cookie.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from app.auth import service as auth
from app.auth.principal import Principal
from app.context import AppContext
from app.deps import SESSION_COOKIE
from app.errors import NotAuthenticated
from app.i18n import pick_lang, strings
from storage.models import Role

templates = Jinja2Templates(directory=str(Path(__file__).resolve().parents[1] / "templates"))
HOME = {Role.reader: "/reader/", Role.clinic: "/clinic/", Role.admin: "/admin/"}


def cookie_principal(request: Request) -> Principal | None:
    """The principal of the session cookie, or None (expired, missing, disabled account)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    ctx: AppContext = request.app.state.ctx
    with ctx.session_factory() as session:
        try:
            return auth.principal_from_token(session, token, ctx.settings.signing_key)
        except NotAuthenticated:
            return None


def render(request: Request, template: str, principal: Principal | None = None, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    lang = pick_lang(request)
    base = {"request": request, "lang": lang, "s": strings(lang), "principal": principal,
            "role": principal.role.value if principal else None}
    resp = templates.TemplateResponse(request, template, {**base, **context}, status_code=status_code,
                                      headers={"Cache-Control": "no-store"})
    if request.query_params.get("lang") == lang:  # remember an explicit choice for the next pages
        resp.set_cookie("lang", lang, max_age=365 * 24 * 3600, samesite="lax", path="/")
    return resp


def guard(request: Request, *roles: Role) -> Principal | Response:
    """The page's principal, or a redirect to the login page, or a 403 page for the wrong role."""
    principal = cookie_principal(request)
    if principal is None:
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    if principal.role not in roles:
        return render(request, "forbidden.html", principal, status_code=403)
    return principal
