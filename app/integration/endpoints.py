"""The integration router (orders, HL7 admin, FHIR) and its lifespan: the result dispatcher and,
when ``ECGHUB_HL7_LISTEN_PORT`` is set, the in-process MLLP order listener."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from app.integration import admin_endpoints, fhir_endpoints, orders_endpoints
from app.integration.mllp_listener import ListenerThread
from app.integration.results_outbox import ResultDispatcher


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Started after the app's own lifespan (database, workers) and stopped before it."""
    ctx = app.state.ctx
    dispatcher = ResultDispatcher(ctx.session_factory, ctx.settings)
    listener = None
    if ctx.settings.worker_mode != "off":
        dispatcher.start()
    if ctx.settings.hl7_listen_port is not None:
        listener = ListenerThread(ctx.session_factory, ctx.settings, ctx.settings.hl7_listen_host,
                                  ctx.settings.hl7_listen_port)
        listener.start()
    app.state.hl7_listener, app.state.hl7_dispatcher = listener, dispatcher
    try:
        yield
    finally:
        if listener is not None:
            listener.stop()
        dispatcher.stop()


router = APIRouter(lifespan=lifespan)
router.include_router(orders_endpoints.router)
router.include_router(admin_endpoints.router)
router.include_router(fhir_endpoints.router)
