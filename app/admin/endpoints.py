"""/api/v1/admin/...: sites, users, reader coverage, API keys, the dashboard's statistics and its CSV
exports, the live queue and requeue (hub admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.params import RecordDate, RowId
from app.admin import export, live_queue, service, stats
from app.admin.schemas import (
    ApiKeyIn,
    ApiKeyListOut,
    ApiKeyOut,
    QueueOut,
    CoverageIn,
    CreatedOut,
    SiteIn,
    SiteOut,
    StatsOut,
    UserIn,
    UserUpdateIn,
    UserOut,
)
from app.content_disposition import content_disposition
from app.deps import AdminOnly, CtxDep, SessionDep
from app.i18n import pick_lang, strings
from app.reading.schemas import ClaimOut
from app.reading.views import claim_out
from storage.models import Role, utcnow_aware

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


@router.get("/sites", response_model=list[SiteOut])
def list_sites(session: SessionDep, _: AdminOnly) -> list[SiteOut]:
    return [SiteOut.model_validate(s, from_attributes=True) for s in service.list_sites(session)]


@router.post("/sites", response_model=CreatedOut, status_code=201)
def create_site(body: SiteIn, session: SessionDep, admin: AdminOnly) -> CreatedOut:
    site = service.create_site(session, admin, body)
    return CreatedOut(id=site.id)


@router.get("/users", response_model=list[UserOut])
def list_users(session: SessionDep, _: AdminOnly, site_id: RowId | None = None, role: Role | None = None) -> list[UserOut]:
    """Accounts, optionally of one site or role; readers with the sites they cover."""
    return [UserOut(id=u.id, site_id=u.site_id, site_name=u.site.name, username=u.username,
                    display_name=u.display_name, title=u.title, role=u.role, reader_pools=list(u.reader_pools or []),
                    active=u.active, created_at=u.created_at, covered_site_ids=cov)
            for u, cov in service.list_users(session, site_id, role)]


@router.post("/users", response_model=CreatedOut, status_code=201)
def create_user(body: UserIn, session: SessionDep, admin: AdminOnly) -> CreatedOut:
    user = service.create_user(session, admin, body)
    return CreatedOut(id=user.id)


@router.patch("/users/{user_id}", response_model=UserOut)
def update_user(user_id: RowId, body: UserUpdateIn, session: SessionDep, admin: AdminOnly) -> UserOut:
    """Name and title as printed on the reports the user signs (e.g. 李明 主任医师). Audited."""
    u = service.update_user(session, admin, user_id, body)
    out = UserOut(id=u.id, site_id=u.site_id, site_name=u.site.name, username=u.username,
                  display_name=u.display_name, title=u.title, role=u.role, reader_pools=list(u.reader_pools or []),
                  active=u.active, created_at=u.created_at)
    return out


@router.put("/readers/{reader_id}/coverage", response_model=CoverageIn)
def set_coverage(reader_id: RowId, body: CoverageIn, session: SessionDep, admin: AdminOnly) -> CoverageIn:
    """The sites whose studies this reader may read (replaces the previous list)."""
    sites = service.set_coverage(session, admin, reader_id, body.site_ids)
    return CoverageIn(site_ids=sites)


@router.get("/api-keys", response_model=list[ApiKeyListOut])
def list_api_keys(session: SessionDep, _: AdminOnly, site_id: RowId | None = None) -> list[ApiKeyListOut]:
    """Every site's keys (newest first per site); the secret itself is shown only once, at creation."""
    return [ApiKeyListOut(id=k.id, site_id=k.site_id, site_name=k.site.name, name=k.name, prefix=k.prefix,
                          created_at=k.created_at, revoked_at=k.revoked_at)
            for k in service.list_api_keys(session, site_id)]


@router.post("/sites/{site_id}/api-keys", response_model=ApiKeyOut, status_code=201)
def create_api_key(site_id: RowId, body: ApiKeyIn, session: SessionDep, admin: AdminOnly) -> ApiKeyOut:
    key, token = service.create_api_key(session, admin, site_id, body.name)
    return ApiKeyOut(id=key.id, site_id=key.site_id, name=key.name, created_at=key.created_at,
                     revoked_at=key.revoked_at, token=token)


@router.post("/api-keys/{key_id}/revoke", response_model=ApiKeyOut)
def revoke_api_key(key_id: RowId, session: SessionDep, admin: AdminOnly) -> ApiKeyOut:
    key = service.revoke_api_key(session, admin, key_id)
    return ApiKeyOut(id=key.id, site_id=key.site_id, name=key.name, created_at=key.created_at,
                     revoked_at=key.revoked_at)


StatsFrom = Annotated[RecordDate, Query(alias="from", description="first day (China Standard Time)")]
StatsTo = Annotated[RecordDate, Query(alias="to", description="last day, inclusive")]


@router.get("/stats", response_model=StatsOut)
def get_stats(ctx: CtxDep, session: SessionDep, _: AdminOnly, date_from: StatsFrom = None, date_to: StatsTo = None,
              site_id: RowId | None = None) -> StatsOut:
    """The alliance dashboard: studies per day and clinic, unreadable and returned rates, turnaround
    (received -> first signed report) p50/p90 and the on-time rate over every study that was due,
    read time (claim -> signature), reader workload, critical notices and time to acknowledgment,
    and one row per clinic. Default range: the last 30 days."""
    out = stats.dashboard(session, ctx.settings, date_from, date_to, site_id)
    session.rollback()
    return out


def _csv(body: bytes, name: str) -> Response:
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": content_disposition(name), "Cache-Control": "no-store"})


@router.get("/stats/clinics.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "UTF-8 CSV with BOM"}})
def clinics_csv(request: Request, ctx: CtxDep, session: SessionDep, _: AdminOnly, date_from: StatsFrom = None,
                date_to: StatsTo = None, site_id: RowId | None = None) -> Response:
    """The dashboard's per-clinic table as CSV (UTF-8 with BOM for Excel; headers in the page language)."""
    st = stats.dashboard(session, ctx.settings, date_from, date_to, site_id)
    session.rollback()
    lang = pick_lang(request)
    return _csv(export.clinics_csv(st, lang), f"{strings(lang)['admin_csv_clinics']}_{st.date_from}_{st.date_to}.csv")


@router.get("/stats/studies.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "UTF-8 CSV with BOM"}})
def studies_csv(request: Request, session: SessionDep, _: AdminOnly, date_from: StatsFrom = None,
                date_to: StatsTo = None, site_id: RowId | None = None) -> Response:
    """Every study received in the range (no patient data): clinic, priority, status, received, due
    and first-signed times, turnaround, on time, signer, read time. UTF-8 with BOM."""
    f, first, last = stats.stats_filter(session, date_from, date_to, site_id)
    lang = pick_lang(request)
    body = export.studies_csv(session, f, lang, utcnow_aware())
    session.rollback()
    return _csv(body, f"{strings(lang)['admin_csv_studies']}_{first}_{last}.csv")


@router.get("/queue", response_model=QueueOut)
def get_queue(ctx: CtxDep, session: SessionDep, _: AdminOnly,
              limit: Annotated[int, Query(ge=1, le=2000, description="most studies listed")] = 500) -> QueueOut:
    """The live queue: studies waiting for a report, most urgent first, with waiting time, due time,
    how far past it, and the open claim (reader, age); the depth per priority."""
    out = live_queue.live_queue(session, ctx.settings, limit)
    session.rollback()
    return out


@router.post("/claims/{claim_id}/requeue", response_model=ClaimOut)
def requeue_claim(claim_id: RowId, session: SessionDep, admin: AdminOnly) -> ClaimOut:
    """End a reader's open claim and put the study back in the queue (audited)."""
    return claim_out(live_queue.requeue(session, admin, claim_id))
