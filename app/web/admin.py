"""/admin/ pages: the alliance dashboard and the plain admin pages (sites, users, reader coverage, API keys,
the live queue, webhooks).

The pages are shells for hub admins; their JavaScript (``/static/js/admin.js``)
calls the admin API (``/api/v1/admin/...``) with the session cookie, so the
API's role check and audit apply to everything they show or change.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.web.pages import guard, render
from storage.models import ReaderPool, Role, SiteLevel

router = APIRouter(prefix="/admin", include_in_schema=False)

PAGES = {
    "dashboard": "admin/dashboard.html",
    "sites": "admin/sites.html",
    "users": "admin/users.html",
    "coverage": "admin/coverage.html",
    "api-keys": "admin/api_keys.html",
    "queue": "admin/queue.html",
    "webhooks": "admin/webhooks.html",
}


def _page(request: Request, name: str) -> Response:
    principal = guard(request, Role.admin)
    if isinstance(principal, Response):
        return principal
    return render(request, PAGES[name], principal, page=name, levels=[lv.value for lv in SiteLevel],
                  roles=[r.value for r in Role], pools=[p.value for p in ReaderPool])


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request) -> Response:
    return _page(request, "dashboard")


@router.get("/sites", response_class=HTMLResponse)
def sites(request: Request) -> Response:
    return _page(request, "sites")


@router.get("/users", response_class=HTMLResponse)
def users(request: Request) -> Response:
    return _page(request, "users")


@router.get("/coverage", response_class=HTMLResponse)
def coverage(request: Request) -> Response:
    return _page(request, "coverage")


@router.get("/api-keys", response_class=HTMLResponse)
def api_keys(request: Request) -> Response:
    return _page(request, "api-keys")


@router.get("/queue", response_class=HTMLResponse)
def queue(request: Request) -> Response:
    """The live queue: waiting and overdue studies, open claims by reader (reassign, requeue), escalations."""
    return _page(request, "queue")


@router.get("/webhooks", response_class=HTMLResponse)
def webhooks(request: Request) -> Response:
    """Each site's webhook URL (set, switch off) and its delivery log."""
    return _page(request, "webhooks")
