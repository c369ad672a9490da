"""POST /api/v1/auth/token (OAuth2 password flow) and GET /api/v1/me."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from app.auth import service
from app.deps import CtxDep, CurrentPrincipal, SessionDep

router = APIRouter(prefix="/api/v1", tags=["auth"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class MeOut(BaseModel):
    kind: str
    id: int
    site_id: int
    role: str
    reader_pools: list[str]


@router.post("/auth/token", response_model=TokenOut)
def token(form: Annotated[OAuth2PasswordRequestForm, Depends()], ctx: CtxDep, session: SessionDep) -> TokenOut:
    """Exchange username and password for an access token (expires after ECGHUB_ACCESS_TOKEN_MINUTES)."""
    minutes = ctx.settings.access_token_minutes
    try:
        access, _ = service.login(session, form.username, form.password, ctx.settings.signing_key, minutes)
    finally:
        session.commit()  # the audit event of a failed login is kept too
    return TokenOut(access_token=access, expires_in=minutes * 60)


@router.post("/auth/logout", status_code=204)
def logout(ctx: CtxDep, session: SessionDep, principal: CurrentPrincipal) -> Response:
    """End this user's sessions: every token issued to them so far is refused from now on.

    One version per user, so logging out on one device logs out the others too. API keys
    have no session (an admin revokes a key instead).
    """
    if principal.kind == "user":
        service.revoke_sessions(session, principal.id, principal.actor, principal.site_id, action="auth.logout")
        session.commit()
        ctx.sessions.forget(principal.id)
    return Response(status_code=204)


@router.get("/me", response_model=MeOut)
def me(principal: CurrentPrincipal) -> MeOut:
    return MeOut(kind=principal.kind, id=principal.id, site_id=principal.site_id, role=principal.role.value,
                 reader_pools=list(principal.reader_pools))
