"""The durable outbox of PACS deliveries: each signed report or amendment is C-STOREd to the site's PACS
(else the hub's, ``ECGHUB_DICOM_PACS``), retried with the webhooks' backoff until the PACS stores it.

Same shape as the ORU outbox (``results_outbox``): report events become ``DicomDelivery`` rows (unique
per event: replicas cannot duplicate), a row is leased while sending, no association is opened inside
a transaction, each attempt updates the delivery log. Unlike an ORU, the objects are built at send
time (the PDF is rendered then, from the study's latest signed report), not frozen in the row.
A delivery counts only when the PACS answers success (or a warning, 0xB000-0xBFFF) for every object.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass

from pydicom.uid import EncapsulatedPDFStorage
from pynetdicom import AE
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.context import AppContext
from app.integration import pacs_export, pacs_waveform
from app.integration.dicom_store import ECG_STORAGE
from app.integration.order_match import order_for_study
from app.notify.webhooks import SEND_LEASE, count_attempt
from app.reports import document
from app.reports.branding import Branding
from app.settings import Settings
from storage.db import read_only
from storage.models import DicomDelivery, DicomPacs, Event, utcnow_aware
from storage.repositories import DicomRepository, ReadingRepository, StudyRepository

log = logging.getLogger(__name__)


def sync_hub_pacs(session_factory: sessionmaker[Session], settings: Settings) -> None:
    """Make the hub's destination row match ``ECGHUB_DICOM_PACS`` (``AE@host:port``; empty: none).
    A changed destination starts from now: older reports are not re-sent."""
    want = None
    if settings.dicom_pacs:
        ae, address = settings.dicom_pacs.split("@", 1)
        host, port = address.rsplit(":", 1)
        want = (host, int(port), ae)
    with session_factory() as s:
        repo = DicomRepository(s)
        have = repo.pacs(None)
        if ((have.host, have.port, have.ae_title) if have else None) != want:
            repo.set_pacs(None, DicomPacs(site_id=None, host=want[0], port=want[1], ae_title=want[2],
                                          enabled_at=utcnow_aware(), event_cursor=0) if want else None)
        s.commit()


def _delivery_for(s: Session, ctx: AppContext, event: Event, pacs: DicomPacs) -> DicomDelivery | None:
    study = StudyRepository(s).get(event.study_id)
    version = (event.payload.get("data") or {}).get("version")
    if study is None or version is None:
        return None
    uid = pacs_export.study_uid(pacs_export.original_waveform(ctx.blobs, study), study, order_for_study(s, study))
    return DicomDelivery(event_id=event.id, site_id=study.site_id, study_id=study.id, report_version=int(version),
                         host=pacs.host, port=pacs.port, ae_title=pacs.ae_title, study_instance_uid=uid,
                         next_attempt_at=utcnow_aware(), created_at=utcnow_aware())


def enqueue(ctx: AppContext) -> int:
    """Queue a PACS delivery for every report event not queued yet; returns how many were queued."""
    with ctx.session_factory() as s:
        repo, queued, seen = DicomRepository(s), 0, set()
        for event, pacs in repo.unqueued_report_events():
            if event.id in seen:  # two hub rows (replicas syncing a new setting at once): one delivery
                continue
            seen.add(event.id)
            delivery = _delivery_for(s, ctx, event, pacs)
            pacs.event_cursor = max(pacs.event_cursor, event.id)
            if delivery is not None:
                repo.add_delivery(delivery)
                queued += 1
        try:
            s.commit()
        except IntegrityError:  # another replica queued them first
            s.rollback()
            return 0
    return queued


@dataclass(frozen=True)
class _Send:
    delivery_id: int
    study_id: uuid.UUID
    version: int
    host: str
    port: int
    ae_title: str


def _take_due(session_factory: sessionmaker[Session]) -> list[_Send]:
    now = utcnow_aware()
    with session_factory() as s:
        out = []
        for d in DicomRepository(s).due_deliveries(now):
            d.next_attempt_at = now + SEND_LEASE
            out.append(_Send(d.id, d.study_id, d.report_version, d.host, d.port, d.ae_title))
        s.commit()
    return out


def _build(ctx: AppContext, job: _Send) -> list[pacs_export.PacsObject]:
    """The objects of one delivery, read in one read-only transaction, rendered after it."""
    with read_only(), ctx.session_factory() as s:
        study = StudyRepository(s).get_one(job.study_id)
        report = next(r for r in ReadingRepository(s).reports(job.study_id) if r.version == job.version)
        order = order_for_study(s, study, link=False)
        doc = document.load(s, study, job.version)
        waveform = pacs_export.original_waveform(ctx.blobs, study)
        uid = pacs_export.study_uid(waveform, study, order)
        if waveform is None:  # uploaded in another format: the 12 leads' first 10 s, built (blob reads only)
            waveform = pacs_waveform.recording_waveform(ctx.blobs, study, uid)
        pdf_object = pacs_export.report_pdf_object(study, report, order, uid)
        # closing (not rolling back) ends the transaction and keeps what was loaded for the rendering
    pacs_export.attach_pdf(pdf_object, document.report_pdf(ctx.blobs, doc, Branding.from_settings(ctx.settings)))
    return pacs_export.objects(waveform, pdf_object, order)


def c_store(settings: Settings, job: _Send, objects: list[pacs_export.PacsObject]) -> str:
    """Send the objects in one association; returns "" when all were stored, else the reason."""
    ae = AE(ae_title=settings.dicom_ae_title)
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = ae.connection_timeout = settings.dicom_timeout_s
    for uid in (*ECG_STORAGE, EncapsulatedPDFStorage):
        ae.add_requested_context(uid)
    assoc = ae.associate(job.host, job.port, ae_title=job.ae_title)
    if not assoc.is_established:
        return f"no association with {job.ae_title}@{job.host}:{job.port} (refused, aborted or down)"
    try:
        for obj in objects:
            status = assoc.send_c_store(obj.dataset)
            code = int(status.Status) if "Status" in status else -1
            if code != 0 and not 0xB000 <= code <= 0xBFFF:
                return f"the PACS answered 0x{code:04X} to {obj.sop_class}" if code >= 0 else "no C-STORE answer"
    finally:
        assoc.release()
    return ""


def _record(session_factory: sessionmaker[Session], job: _Send, error: str) -> None:
    with session_factory() as s:
        d = s.get_one(DicomDelivery, job.delivery_id)
        d.last_error = error[:500]
        count_attempt(d, not error, utcnow_aware())
        s.commit()


def deliver_due(ctx: AppContext) -> int:
    """Send every due delivery; returns how many the PACS stored."""
    delivered = 0
    for job in _take_due(ctx.session_factory):
        try:
            error = c_store(ctx.settings, job, _build(ctx, job))
        except Exception as exc:  # a failed attempt is logged and retried, never lost
            log.exception("PACS delivery %d failed", job.delivery_id)
            error = f"{type(exc).__name__}: {exc}"
        if error:
            log.warning("PACS delivery %d to %s@%s:%d: %s", job.delivery_id, job.ae_title, job.host, job.port, error)
        _record(ctx.session_factory, job, error)
        delivered += not error
    return delivered


def _nothing_to_do(session_factory: sessionmaker[Session]) -> bool:
    """A read-only look first: an idle round takes no write lock (SQLite's single writer stays free)."""
    with read_only(), session_factory() as s:
        repo = DicomRepository(s)
        idle = not repo.unqueued_report_events(limit=1) and not repo.due_deliveries(utcnow_aware(), limit=1,
                                                                                   lock=False)
        s.rollback()
        return idle


class PacsDispatcher:
    """Background thread: queue new report events, then send due deliveries, every ``dicom_interval_s``."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        if _nothing_to_do(self.ctx.session_factory):
            return 0
        enqueue(self.ctx)
        return deliver_due(self.ctx)

    def start(self) -> None:
        sync_hub_pacs(self.ctx.session_factory, self.ctx.settings)

        def loop() -> None:
            while not self._stop.wait(self.ctx.settings.dicom_interval_s):
                try:
                    self.run_once()
                except Exception:
                    log.exception("PACS dispatch failed")

        self._thread = threading.Thread(target=loop, name="ecghub-pacs-results", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
