"""POST /api/v1/auth/token (OAuth2 password flow) and GET /api/v1/me."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from app.auth import login, service
from app.context import AppContext
from app.deps import CtxDep, CurrentPrincipal, SessionDep
from app.errors import InvalidRequest
from storage.repositories import UserRepository

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


class PasswordChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=256, description="the current (or temporary) password")
    new_password: str = Field(min_length=1, max_length=256)


@router.post("/auth/password", status_code=204)
async def change_password(request: Request, body: PasswordChangeIn, ctx: CtxDep) -> Response:
    """Choose a new password with the current one (also after an admin's reset, when login is refused).

    The check is throttled like a login; the new password must pass the policy; every session of
    the user ends. Audited.
    """
    account = await login.verify(ctx, body.username, body.password, request.client.host if request.client else "")
    assert account.user_id is not None
    if body.new_password == body.password:
        raise InvalidRequest("the new password must differ from the current one")
    await run_in_threadpool(store_password, ctx, account.user_id, body.new_password)
    ctx.sessions.forget(account.user_id)
    return Response(status_code=204)


def store_password(ctx: AppContext, user_id: int, new_password: str) -> None:
    """The user's own new password (policy-checked), every session ended; audited."""
    with ctx.session_factory() as session:
        user = UserRepository(session).get(user_id)
        assert user is not None
        service.set_password(session, user, new_password, actor=f"user:{user_id}", actor_site_id=user.site_id,
                             temporary=False, action="auth.password_changed")
        session.commit()  # order: its own short unit of work, after the slow password check outside any transaction


@router.post("/auth/logout", status_code=204)
def logout(ctx: CtxDep, session: SessionDep, principal: CurrentPrincipal) -> Response:
    """End this user's sessions: every token issued to them so far is refused from now on.

    One version per user, so logging out on one device logs out the others too. API keys
    have no session (an admin revokes a key instead).
    """
    if principal.kind == "user":
        service.revoke_sessions(session, principal.id, principal.actor, principal.site_id, action="auth.logout")
        session.commit()  # order: forget the cached token version only once the new one is committed
        ctx.sessions.forget(principal.id)
    return Response(status_code=204)


@router.get("/me", response_model=MeOut)
def me(principal: CurrentPrincipal) -> MeOut:
    return MeOut(kind=principal.kind, id=principal.id, site_id=principal.site_id, role=principal.role.value,
                 reader_pools=list(principal.reader_pools))
