"""Report documents: PDF/PNG for the clinic, share links with QR codes, and the public phone page."""

from __future__ import annotations

import base64
import datetime as dt
import io
import uuid
from pathlib import Path

import segno
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from app.deps import ClinicOrAdmin, CtxDep, SessionDep
from app.errors import Conflict
from app.i18n import pick_lang, strings
from app.reports import document, share
from app.reports.branding import Branding
from app.studies.service import get_study
from storage.models import ShareLink, Study

router = APIRouter(tags=["reports"])
templates = Jinja2Templates(directory=str(Path(__file__).resolve().parents[1] / "templates"))
PRIVATE = {"Cache-Control": "private, no-store", "X-Robots-Tag": "noindex"}


class LinkIn(BaseModel):
    hours: int | None = Field(None, ge=1, description="lifetime; default ECGHUB_SHARE_LINK_DEFAULT_HOURS")


class LinkOut(BaseModel):
    id: int
    created_at: dt.datetime
    expires_at: dt.datetime
    revoked_at: dt.datetime | None
    url: str | None = Field(None, description="only in the creation response: the token is not stored")
    qr_svg: str | None = None
    qr_png_base64: str | None = None


def _link_out(link: ShareLink, url: str | None = None) -> LinkOut:
    out = LinkOut(id=link.id, created_at=link.created_at, expires_at=link.expires_at, revoked_at=link.revoked_at)
    if url:
        qr = segno.make(url, error="m")
        png = io.BytesIO()
        qr.save(png, kind="png", scale=6, border=2)
        out.url, out.qr_svg = url, qr.svg_inline(scale=4)
        out.qr_png_base64 = base64.b64encode(png.getvalue()).decode()
    return out


@router.post("/api/v1/studies/{study_id}/share-links", response_model=LinkOut, status_code=201)
def create_link(study_id: uuid.UUID, body: LinkIn, request: Request, ctx: CtxDep, session: SessionDep,
                principal: ClinicOrAdmin) -> LinkOut:
    """A link (and QR code) that opens this study's report on a phone, until it expires or is revoked."""
    new = share.create(session, principal, ctx.settings, study_id, body.hours)
    base = ctx.settings.public_base_url.rstrip("/") or str(request.base_url).rstrip("/")
    return _link_out(new.link, f"{base}/r/{new.token}")


@router.get("/api/v1/studies/{study_id}/share-links", response_model=list[LinkOut])
def list_links(study_id: uuid.UUID, session: SessionDep, principal: ClinicOrAdmin) -> list[LinkOut]:
    return [_link_out(link) for link in share.list_links(session, principal, study_id)]


@router.post("/api/v1/share-links/{link_id}/revoke", response_model=LinkOut)
def revoke_link(link_id: int, session: SessionDep, principal: ClinicOrAdmin) -> LinkOut:
    return _link_out(share.revoke(session, principal, link_id))


def _signed_doc(session: Session, study: Study) -> document.ReportDoc:
    doc = document.load(session, study)
    if not doc.signed:
        raise Conflict(f"no signed report (status: {study.status.value})")
    return doc


@router.get("/api/v1/studies/{study_id}/report.pdf", response_class=Response)
def clinic_pdf(study_id: uuid.UUID, ctx: CtxDep, session: SessionDep, principal: ClinicOrAdmin) -> Response:
    """The printable report: A4 landscape, 25 mm/s, 10 mm/mV, on ECG grid."""
    study = get_study(session, principal, study_id, audit_action="report.pdf")
    doc = _signed_doc(session, study)
    session.commit()  # order: end the transaction (the audit row is kept) before the slow render, so no lock is held during it
    pdf = document.report_pdf(ctx.blobs, doc, Branding.from_settings(ctx.settings))
    return Response(pdf, media_type="application/pdf", headers=PRIVATE)


@router.get("/api/v1/studies/{study_id}/report.png", response_class=Response)
def clinic_png(study_id: uuid.UUID, ctx: CtxDep, session: SessionDep, principal: ClinicOrAdmin) -> Response:
    study = get_study(session, principal, study_id, audit_action="report.png")
    _signed_doc(session, study)
    session.commit()  # order: end the transaction (the audit row is kept) before the slow render, so no lock is held during it
    png = document.tracing_png(ctx.blobs, study)
    return Response(png, media_type="image/png", headers=PRIVATE)


def _refusal(request: Request, expired: bool) -> HTMLResponse:
    lang = pick_lang(request)
    s = strings(lang)
    return templates.TemplateResponse(
        request, "refusal.html", {"lang": lang, "s": s, "message": s["link_expired" if expired else "link_invalid"]},
        status_code=410 if expired else 404, headers=PRIVATE)


def in_wechat(request: Request) -> bool:
    """WeChat's in-app browser (``MicroMessenger`` in the user agent), which often cannot open a PDF."""
    return "micromessenger" in request.headers.get("user-agent", "").lower()


@router.get("/r/{token}", response_class=HTMLResponse, include_in_schema=False)
def shared_page(token: str, request: Request, ctx: CtxDep, session: SessionDep) -> HTMLResponse:
    """The phone page of a shared report; a bad, expired or revoked link shows a refusal and nothing else."""
    try:
        study = share.open_link(session, token, "page")
    except share.LinkRefused as exc:
        return _refusal(request, exc.expired)
    doc = document.load(session, study)
    session.commit()  # order: end the transaction before the vector tracing is drawn (~100 ms the first time)
    tracing = document.tracing_svg_rows(ctx.blobs, study) if doc.signed else None
    page = document.page_context(doc, pick_lang(request), f"/r/{token}", Branding.from_settings(ctx.settings),
                                 tracing, in_wechat(request))
    return templates.TemplateResponse(request, "report.html", page, headers={**PRIVATE, "Vary": "User-Agent"})


@router.get("/r/{token}/ecg.png", include_in_schema=False)
def shared_png(token: str, request: Request, ctx: CtxDep, session: SessionDep) -> Response:
    try:
        study = share.open_link(session, token, "png")
        _signed_doc(session, study)
    except share.LinkRefused as exc:
        return _refusal(request, exc.expired)
    session.commit()  # order: end the transaction (the audit row is kept) before the slow render, so no lock is held during it
    png = document.tracing_png(ctx.blobs, study)
    return Response(png, media_type="image/png", headers=PRIVATE)


@router.get("/r/{token}/report.pdf", include_in_schema=False)
def shared_pdf(token: str, request: Request, ctx: CtxDep, session: SessionDep) -> Response:
    try:
        study = share.open_link(session, token, "pdf")
        doc = _signed_doc(session, study)
    except share.LinkRefused as exc:
        return _refusal(request, exc.expired)
    session.commit()  # order: end the transaction (the audit row is kept) before the slow render, so no lock is held during it
    pdf = document.report_pdf(ctx.blobs, doc, Branding.from_settings(ctx.settings))
    return Response(pdf, media_type="application/pdf", headers=PRIVATE)
