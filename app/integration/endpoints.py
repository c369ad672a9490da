"""The integration router (orders, HL7 and DICOM admin, FHIR) and its lifespan: the result dispatcher and,
when ``ECGHUB_HL7_LISTEN_PORT`` / ``ECGHUB_DICOM_LISTEN_PORT`` are set, the in-process MLLP order
listener and DICOM listener."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from app.integration import admin_endpoints, dicom_admin_endpoints, fhir_endpoints, orders_endpoints
from app.integration.dicom_listener import DicomListener
from app.integration.pacs_outbox import PacsDispatcher
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
    pacs = PacsDispatcher(ctx)
    if ctx.settings.worker_mode != "off":
        pacs.start()
    dicom = None
    if ctx.settings.dicom_listen_port is not None:
        dicom = DicomListener(ctx, ctx.settings.dicom_listen_host, ctx.settings.dicom_listen_port)
        dicom.start()
    app.state.dicom_listener = dicom
    try:
        yield
    finally:
        if dicom is not None:
            dicom.stop()
        pacs.stop()
        if listener is not None:
            listener.stop()
        dispatcher.stop()


router = APIRouter(lifespan=lifespan)
router.include_router(orders_endpoints.router)
router.include_router(admin_endpoints.router)
router.include_router(dicom_admin_endpoints.router)
router.include_router(fhir_endpoints.router)
