"""/api/v1/admin/...: sites, users, reader coverage, API keys (hub admins only)."""

from __future__ import annotations

from fastapi import APIRouter

from app.admin import service
from app.admin.schemas import ApiKeyIn, ApiKeyOut, CoverageIn, CreatedOut, SiteIn, UserIn
from app.deps import AdminOnly, SessionDep

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


@router.post("/sites", response_model=CreatedOut, status_code=201)
def create_site(body: SiteIn, session: SessionDep, admin: AdminOnly) -> CreatedOut:
    site = service.create_site(session, admin, body)
    session.commit()
    return CreatedOut(id=site.id)


@router.post("/users", response_model=CreatedOut, status_code=201)
def create_user(body: UserIn, session: SessionDep, admin: AdminOnly) -> CreatedOut:
    user = service.create_user(session, admin, body)
    session.commit()
    return CreatedOut(id=user.id)


@router.put("/readers/{reader_id}/coverage", response_model=CoverageIn)
def set_coverage(reader_id: int, body: CoverageIn, session: SessionDep, admin: AdminOnly) -> CoverageIn:
    """The sites whose studies this reader may read (replaces the previous list)."""
    sites = service.set_coverage(session, admin, reader_id, body.site_ids)
    session.commit()
    return CoverageIn(site_ids=sites)


@router.post("/sites/{site_id}/api-keys", response_model=ApiKeyOut, status_code=201)
def create_api_key(site_id: int, body: ApiKeyIn, session: SessionDep, admin: AdminOnly) -> ApiKeyOut:
    key, token = service.create_api_key(session, admin, site_id, body.name)
    session.commit()
    return ApiKeyOut(id=key.id, site_id=key.site_id, name=key.name, created_at=key.created_at,
                     revoked_at=key.revoked_at, token=token)


@router.post("/api-keys/{key_id}/revoke", response_model=ApiKeyOut)
def revoke_api_key(key_id: int, session: SessionDep, admin: AdminOnly) -> ApiKeyOut:
    key = service.revoke_api_key(session, admin, key_id)
    session.commit()
    return ApiKeyOut(id=key.id, site_id=key.site_id, name=key.name, created_at=key.created_at,
                     revoked_at=key.revoked_at)
