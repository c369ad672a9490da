"""/api/v1/admin/users/{id}/disable and /revoke-sessions: an admin ends a user's access at once."""

from __future__ import annotations

import secrets

from fastapi import APIRouter
from pydantic import BaseModel

from app.auth import service
from app.deps import AdminOnly, CtxDep, SessionDep
from app.params import RowId
from app.errors import Conflict, NotFound
from app.reading import claims
from storage.repositories import AuditRepository, UserRepository

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


class AccessChangeOut(BaseModel):
    user_id: int
    active: bool
    claims_ended: int


@router.post("/users/{user_id}/disable", response_model=AccessChangeOut)
def disable_user(user_id: RowId, ctx: CtxDep, session: SessionDep, admin: AdminOnly) -> AccessChangeOut:
    """Disable an account: its tokens are refused, its open claims end and their studies go back
    to the queue, and it can no longer log in. Audited."""
    if user_id == admin.id:
        raise Conflict("an admin cannot disable their own account")
    user = UserRepository(session).get(user_id)
    if user is None:
        raise NotFound("no such user")
    user.active = False
    ended = claims.end_claims_of(session, admin, user_id, "user_disabled")
    service.revoke_sessions(session, user_id, admin.actor, admin.site_id)
    AuditRepository(session).add(actor=admin.actor, actor_site_id=admin.site_id, action="user.disabled",
                                 object_type="user", object_id=str(user_id), detail={"claims_ended": ended})
    session.commit()  # order: forget the cached token version only once the new one is committed
    ctx.sessions.forget(user_id)
    return AccessChangeOut(user_id=user_id, active=False, claims_ended=ended)


class PasswordResetOut(BaseModel):
    user_id: int
    temporary_password: str
    must_change_password: bool = True


@router.post("/users/{user_id}/reset-password", response_model=PasswordResetOut)
def reset_password(user_id: RowId, ctx: CtxDep, session: SessionDep, admin: AdminOnly) -> PasswordResetOut:
    """A one-time temporary password, shown once: the user's sessions end, and login is refused until
    they choose their own password (``POST /api/v1/auth/password``). Audited."""
    user = UserRepository(session).get(user_id)
    if user is None:
        raise NotFound("no such user")
    temporary = secrets.token_urlsafe(12)
    service.set_password(session, user, temporary, actor=admin.actor, actor_site_id=admin.site_id, temporary=True,
                         action="user.password_reset")
    session.commit()  # order: forget the cached token version only once the new one is committed
    ctx.sessions.forget(user_id)
    return PasswordResetOut(user_id=user_id, temporary_password=temporary)


@router.post("/users/{user_id}/revoke-sessions", response_model=AccessChangeOut)
def revoke_sessions(user_id: RowId, ctx: CtxDep, session: SessionDep, admin: AdminOnly) -> AccessChangeOut:
    """Refuse every token issued so far to this user (they log in again); claims are kept."""
    user = UserRepository(session).get(user_id)
    if user is None:
        raise NotFound("no such user")
    service.revoke_sessions(session, user_id, admin.actor, admin.site_id)
    session.commit()  # order: forget the cached token version only once the new one is committed
    ctx.sessions.forget(user_id)
    return AccessChangeOut(user_id=user_id, active=user.active, claims_ended=0)
