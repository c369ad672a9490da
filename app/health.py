"""Liveness and readiness probes."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from app.deps import CtxDep
from app.errors import ServiceUnavailable

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(ctx: CtxDep) -> dict[str, str]:
    """Ready to take traffic: the database answers and the blob store is writable."""
    try:
        with ctx.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        ctx.blobs.check()
    except Exception as exc:
        raise ServiceUnavailable(f"not ready: {type(exc).__name__}") from exc
    return {"status": "ready"}
