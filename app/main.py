"""Application factory: ``create_app(settings)`` builds one service instance."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app import health
from app.admin import endpoints as admin_endpoints
from app.auth import admin as auth_admin
from app.auth import endpoints as auth_endpoints
from app.context import AppContext
from app.errors import install_handlers
from app import integration
from app.input_guard import InputGuard
from app.observability import RequestContext
from app.notices import endpoints as notice_endpoints
from app.notify import endpoints as notify_endpoints
from app.reading import endpoints as reading_endpoints
from app.reading import stream as reading_stream
from app.reading import viewer as reading_viewer
from app.reports import endpoints as report_endpoints
from app.security_headers import SecurityHeaders
from app.settings import Settings
from app.studies import endpoints as study_endpoints
from app.uploads import endpoints as upload_endpoints
from app.uploads.limits import BodyLimit
from app.web import admin as web_admin
from app.web import clinic as web_clinic
from app.web import endpoints as web_endpoints
from app.web import reader as web_reader

STATIC = Path(__file__).with_name("static")


def create_app(settings: Settings | None = None, ctx: AppContext | None = None) -> FastAPI:
    """Build the app; background work starts with the lifespan and stops with it."""
    settings = settings or (ctx.settings if ctx else Settings())
    ctx = ctx or AppContext.from_settings(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        ctx.warm_up()
        ctx.start()
        try:
            yield
        finally:
            ctx.stop()

    app = FastAPI(title="ecghub", version="0.2.0", lifespan=lifespan)
    app.state.ctx = ctx
    install_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_upload_bytes)
    app.add_middleware(InputGuard)
    app.add_middleware(RequestContext)
    app.add_middleware(SecurityHeaders)
    app.include_router(health.router)
    app.include_router(auth_endpoints.router)
    app.include_router(auth_admin.router)
    app.include_router(upload_endpoints.router)
    app.include_router(study_endpoints.router)
    app.include_router(reading_endpoints.router)
    app.include_router(reading_viewer.router)
    app.include_router(reading_stream.router)
    app.include_router(notice_endpoints.router)
    app.include_router(admin_endpoints.router)
    app.include_router(notify_endpoints.router)
    app.include_router(report_endpoints.router)
    app.include_router(integration.router)
    app.include_router(web_endpoints.router)
    app.include_router(web_reader.router)
    app.include_router(web_clinic.router)
    app.include_router(web_admin.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
