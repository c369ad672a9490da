"""/api/v1/admin/...: sites, users, reader coverage, API keys, the dashboard's statistics (hub admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.params import RecordDate, RowId
from app.admin import service, stats
from app.admin.schemas import (
    ApiKeyIn,
    ApiKeyListOut,
    ApiKeyOut,
    CoverageIn,
    CreatedOut,
    SiteIn,
    SiteOut,
    StatsOut,
    UserIn,
    UserUpdateIn,
    UserOut,
)
from app.deps import AdminOnly, CtxDep, SessionDep
from storage.models import Role

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


@router.get("/stats", response_model=StatsOut)
def get_stats(
    ctx: CtxDep, session: SessionDep, _: AdminOnly,
    date_from: Annotated[RecordDate, Query(alias="from", description="first day (China Standard Time)")] = None,
    date_to: Annotated[RecordDate, Query(alias="to", description="last day, inclusive")] = None,
    site_id: RowId | None = None,
) -> StatsOut:
    """The alliance dashboard: studies per day and clinic, unreadable rate per clinic, turnaround
    (received -> first signed report) p50/p90 against the SLA per priority, reader workload, critical
    notices and time to acknowledgment. Default range: the last 30 days."""
    out = stats.dashboard(session, ctx.settings, date_from, date_to, site_id)
    session.rollback()
    return out
