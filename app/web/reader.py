"""/reader/: the cardiologist's reading workstation (worklist, 12-lead viewer, report).

The page holds no data: its JavaScript (static/js/reader*.js) calls the reading
API with the session cookie, so tenancy, roles, audit and claims are the API's.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.i18n import pick_lang, strings
from app.web.pages import guard, render
from storage.models import Role

router = APIRouter(include_in_schema=False)

#: Strings of the shared tables the page's JavaScript also needs (besides every ``rd_`` key).
_SHARED_KEYS = ("sex_M", "sex_F", "sex_U", "years", "months", "days", "bpm")


def page_strings(lang: str) -> dict[str, Any]:
    """The strings the reader's JavaScript uses, in ``lang``."""
    s = strings(lang)
    return {k: v for k, v in s.items() if k.startswith("rd_") or k in _SHARED_KEYS}


@router.get("/reader/", response_class=HTMLResponse)
def reader_page(request: Request) -> Response:
    """The workstation; clinic and admin accounts get 403, anonymous visitors the login page."""
    principal = guard(request, Role.reader)
    if isinstance(principal, Response):
        return principal
    lang = pick_lang(request)
    return render(request, "reader/workstation.html", principal, js_strings=page_strings(lang))

