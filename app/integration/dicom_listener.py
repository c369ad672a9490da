"""The DICOM listener: one AE (pynetdicom) for ECG carts: Verification, Modality Worklist C-FIND and
C-STORE of 12-Lead and General ECG Waveform Storage.

Who may associate: only calling AE titles an admin mapped to a site
(``dicom_peers``), read from the database for every association request, so
a new cart works without a restart; any other AE title is rejected
(A-ASSOCIATE-RJ, "calling AE title not recognised"). Presentation contexts
for any other SOP class (images, reports, ...) are not accepted in
negotiation. Each C-STORE or C-FIND runs in its own transaction
(``dicom_store``, ``dicom_worklist``). Started by ``ecghub dicom-listen`` or,
in-process (tests, demo), when ``ECGHUB_DICOM_LISTEN_PORT`` is set.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from pydicom.dataset import Dataset
from pynetdicom.sop_class import (  # type: ignore[attr-defined]  # names generated when the module loads
    ModalityWorklistInformationFind,
    Verification,
)
from pynetdicom import AE, evt
from pynetdicom.dimse_primitives import C_STORE
from pynetdicom.events import Event
from pynetdicom.transport import ThreadedAssociationServer

from app.context import AppContext
from app.integration.dicom_store import (
    ECG_STORAGE,
    OUT_OF_RESOURCES,
    PROCESSING_FAILURE,
    DicomRefusal,
    store_object,
)
from app.integration.dicom_worklist import WorklistQueryError, worklist
from storage.db import read_only
from storage.models import DicomPeer
from storage.repositories import DicomRepository

log = logging.getLogger(__name__)

#: Accepts no AE title: an AE title cannot contain a backslash (PS3.5 6.2, AE value representation).
_NOBODY = "\\no-peer\\"
#: C-FIND statuses (PS3.4 Table C.4-1).
PENDING, SUCCESS, FIND_IDENTIFIER_INVALID, FIND_FAILED = 0xFF00, 0x0000, 0xA900, 0xC000


class EcghubAE(AE):
    """A pynetdicom AE whose accepted calling AE titles are the ``dicom_peers`` rows, read per association."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(ae_title=ctx.settings.dicom_ae_title)
        self._ctx = ctx

    @property
    def require_calling_aet(self) -> list[str]:
        with read_only(), self._ctx.session_factory() as s:
            titles = [p.ae_title for p in DicomRepository(s).peers()]
            s.rollback()
        return titles or [_NOBODY]

    @require_calling_aet.setter
    def require_calling_aet(self, ae_titles: list[str]) -> None:  # AE.__init__ sets [] here; the DB decides
        pass


def _peer(ctx: AppContext, event: Event) -> DicomPeer | None:
    """The mapped peer of the association (detached: only its id, title and site are read)."""
    with read_only(), ctx.session_factory() as s:
        peer = DicomRepository(s).peer(event.assoc.requestor.ae_title.strip())
        if peer is not None:
            s.expunge(peer)
        s.rollback()
        return peer


def _status(code: int, comment: str = "") -> Dataset:
    ds = Dataset()
    ds.Status = code
    if comment:
        ds.ErrorComment = comment.encode("ascii", "replace").decode()[:64]
    return ds


def handle_store(event: Event, ctx: AppContext) -> Dataset:
    """One C-STORE: the object stored as a study (see ``dicom_store``), or a failure status."""
    peer = _peer(ctx, event)
    request = event.request
    assert isinstance(request, C_STORE)  # this handler is bound to EVT_C_STORE only
    sop_class, sop_instance = str(request.AffectedSOPClassUID), str(request.AffectedSOPInstanceUID)
    if peer is None:  # unmapped since the association was accepted
        return _status(PROCESSING_FAILURE, "calling AE title is not mapped to a site")
    try:
        data = event.encoded_dataset(include_meta=True)
        if len(data) > ctx.settings.max_upload_bytes:
            raise DicomRefusal(OUT_OF_RESOURCES, f"object of {len(data)} bytes is over the upload limit")
        with ctx.session_factory() as session:
            outcome = store_object(ctx, session, peer, sop_class, sop_instance, data)
    except DicomRefusal as exc:
        log.warning("C-STORE %s from %s refused (0x%04X): %s", sop_instance, peer.ae_title, exc.status, exc.reason)
        return _status(exc.status, exc.reason)
    except Exception:  # never leave a cart without an answer; nothing was committed
        log.exception("C-STORE %s from %s failed", sop_instance, peer.ae_title)
        return _status(PROCESSING_FAILURE, "internal error; nothing stored")
    if not outcome.replayed:
        ctx.jobs.enqueue_analysis(outcome.study_id)  # after the commit; the sweeper covers a lost job
    log.info("C-STORE %s from %s: study %s%s", sop_instance, peer.ae_title, outcome.study_id,
             " (already stored)" if outcome.replayed else "")
    return _status(SUCCESS)


def handle_find(event: Event, ctx: AppContext) -> Iterator[tuple[int | Dataset, Dataset | None]]:
    """One worklist C-FIND: a pending answer per scheduled order of the peer's site, then success."""
    peer = _peer(ctx, event)
    if peer is None:
        yield FIND_FAILED, None
        return
    try:
        with read_only(), ctx.session_factory() as s:
            answers = worklist(s, peer, event.identifier, ctx.settings.hl7_local_utc_offset_min,
                               ctx.settings.dicom_worklist_limit)
    except WorklistQueryError as exc:
        log.warning("worklist query from %s refused: %s", peer.ae_title, exc)
        yield _status(FIND_IDENTIFIER_INVALID, str(exc)), None
        return
    except Exception:
        log.exception("worklist query from %s failed", peer.ae_title)
        yield FIND_FAILED, None
        return
    for answer in answers:
        if event.is_cancelled:
            yield 0xFE00, None
            return
        yield PENDING, answer
    yield SUCCESS, None


def build_ae(ctx: AppContext) -> EcghubAE:
    """The AE with its supported contexts: Verification, the worklist, the two ECG storage classes."""
    ae = EcghubAE(ctx)
    ae.add_supported_context(Verification)
    ae.add_supported_context(ModalityWorklistInformationFind)
    for uid in ECG_STORAGE:
        ae.add_supported_context(uid)
    ae.network_timeout = ae.acse_timeout = ae.dimse_timeout = 60
    return ae


class DicomListener:
    """The DICOM server in background threads (pynetdicom's threaded server)."""

    def __init__(self, ctx: AppContext, host: str, port: int) -> None:
        self.ctx, self.host, self.port = ctx, host, port
        self._server: ThreadedAssociationServer | None = None

    def start(self) -> int:
        """Start listening; returns the bound port (useful with port 0)."""
        handlers: list[Any] = [(evt.EVT_C_STORE, handle_store, [self.ctx]), (evt.EVT_C_FIND, handle_find, [self.ctx])]
        server = build_ae(self.ctx).start_server((self.host, self.port), block=False, evt_handlers=handlers)
        assert server is not None  # block=False returns the running server
        self._server = server
        self.port = server.server_address[1]
        return self.port

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None
