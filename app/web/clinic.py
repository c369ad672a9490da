"""/clinic/ pages: the clinic console (upload, quality verdict, studies, critical notices, reports, share slips).

The pages are shells: their JavaScript (``/static/js/clinic.js``) calls the
clinic API with the session cookie, so tenancy, roles and audit are the API's.
The study pages check the study's site on the server too (through the same
service, audited as a page view), so another site's study is a 404 page.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.auth.principal import Principal
from app.context import AppContext
from app.errors import NotFound
from app.studies.service import get_study
from app.web.pages import guard, render
from storage.models import Role

router = APIRouter(prefix="/clinic", include_in_schema=False)


def _own_study(request: Request, principal: Principal, study_id: uuid.UUID) -> bool:
    """True if the caller's site owns the study (tenancy of the API's service; audited)."""
    ctx: AppContext = request.app.state.ctx
    with ctx.session_factory() as session:
        try:
            get_study(session, principal, study_id, audit_action="study.page")
        except NotFound:
            session.rollback()
            return False
        session.commit()
        return True


@router.get("/", response_class=HTMLResponse)
def console(request: Request) -> Response:
    principal = guard(request, Role.clinic)
    if isinstance(principal, Response):
        return principal
    return render(request, "clinic/index.html", principal, page="console")


@router.get("/studies/{study_id}", response_class=HTMLResponse)
def study_page(request: Request, study_id: uuid.UUID) -> Response:
    principal = guard(request, Role.clinic)
    if isinstance(principal, Response):
        return principal
    if not _own_study(request, principal, study_id):
        return render(request, "clinic/not_found.html", principal, status_code=404)
    return render(request, "clinic/study.html", principal, study_id=str(study_id), page="study")


@router.get("/studies/{study_id}/slip", response_class=HTMLResponse)
def slip_page(request: Request, study_id: uuid.UUID, link: int | None = None) -> Response:
    """The printable QR slip of a share link just created on the study page (the link's URL is
    only known to the browser that created it: the server keeps the token's hash only)."""
    principal = guard(request, Role.clinic)
    if isinstance(principal, Response):
        return principal
    if not _own_study(request, principal, study_id):
        return render(request, "clinic/not_found.html", principal, status_code=404)
    return render(request, "clinic/slip.html", principal, study_id=str(study_id), link_id=link, page="slip")
