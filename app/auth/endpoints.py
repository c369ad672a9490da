"""POST /api/v1/auth/token (OAuth2 password flow) and GET /api/v1/me."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from app.auth import login, service
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
async def token(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()], ctx: CtxDep) -> TokenOut:
    """Exchange username and password for an access token (expires after ECGHUB_ACCESS_TOKEN_MINUTES).

    Failed logins are throttled per account and address (``app.auth.login``): 429 with Retry-After.
    """
    address = request.client.host if request.client else ""
    access, _ = await login.login(ctx, form.username, form.password, address)
    return TokenOut(access_token=access, expires_in=ctx.settings.access_token_minutes * 60)


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
