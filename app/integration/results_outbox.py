"""The durable outbox of ORU^R01 results: queued from report events, sent over MLLP, retried with backoff.

Report signing and amendment already write an ``Event`` in the signing
transaction (``app.notify.service.emit``). This module subscribes from the
delivery side: each round it turns every report event of a site with an HL7
endpoint (raised after the endpoint was set) into one ``Hl7Delivery`` row with
the message built and frozen, then sends what is due. A delivery row is unique
per event, so replicas racing to queue the same event cannot duplicate it.
Same shape and backoff as the webhooks (``app.notify.webhooks``): the row is
leased while sending, no socket is opened inside a transaction, every attempt
updates the delivery log, and after the last backoff step the row is ``failed``.
An ACK of AA/CA means delivered; AE/AR, no answer or no connection is retried.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import threading
import uuid
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.integration.hl7_codec import END, START, component, frame
from app.integration.order_match import order_for_study
from app.integration.results_out import ResultInput, build_oru
from app.notify.webhooks import SEND_LEASE, count_attempt
from app.settings import Settings
from storage.db import read_only
from storage.models import Event, Hl7Delivery, Hl7Endpoint, utcnow_aware
from storage.repositories import Hl7Repository, ReadingRepository, SiteRepository, StudyRepository, UserRepository

log = logging.getLogger(__name__)


def _delivery_for(session: Session, event: Event, endpoint: Hl7Endpoint, settings: Settings) -> Hl7Delivery | None:
    study = StudyRepository(session).get(event.study_id)
    version = (event.payload.get("data") or {}).get("version")
    report = next((r for r in ReadingRepository(session).reports(event.study_id) if r.version == version), None)
    site = SiteRepository(session).get(event.site_id)
    if study is None or report is None or site is None:
        return None
    control_id = f"ECG{event.id}-{uuid.uuid4().hex[:8]}"
    message = build_oru(ResultInput(
        site=site, study=study, report=report, signer=UserRepository(session).get(report.author_id),
        order=order_for_study(session, study), control_id=control_id,
        receiving_application=endpoint.receiving_application, receiving_facility=endpoint.receiving_facility,
        application=settings.hl7_application, facility=settings.hl7_facility), utcnow_aware())
    return Hl7Delivery(event_id=event.id, site_id=site.id, study_id=study.id, report_version=report.version,
                       host=endpoint.host, port=endpoint.port, control_id=control_id, message=message,
                       next_attempt_at=utcnow_aware(), created_at=utcnow_aware())


def _nothing_to_do(session_factory: sessionmaker[Session]) -> bool:
    """A read-only look first: an idle round takes no write lock (SQLite's single writer stays free)."""
    with read_only(), session_factory() as s:
        try:
            repo = Hl7Repository(s)
            return not repo.unqueued_report_events(limit=1) and not repo.due_deliveries(utcnow_aware(), limit=1,
                                                                                         lock=False)
        finally:
            s.rollback()


def enqueue_results(session_factory: sessionmaker[Session], settings: Settings) -> int:
    """Queue an ORU for every report event not queued yet; returns how many were queued."""
    with session_factory() as s:
        repo = Hl7Repository(s)
        queued = 0
        for event, endpoint in repo.unqueued_report_events():
            delivery = _delivery_for(s, event, endpoint, settings)
            endpoint.event_cursor = max(endpoint.event_cursor, event.id)
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
    host: str
    port: int
    control_id: str
    message: str


def _take_due(session_factory: sessionmaker[Session], now: dt.datetime) -> list[_Send]:
    with session_factory() as s:
        out = []
        for d in Hl7Repository(s).due_deliveries(now):
            d.next_attempt_at = now + SEND_LEASE
            out.append(_Send(d.id, d.host, d.port, d.control_id, d.message))
        s.commit()
    return out


def send_mllp(host: str, port: int, message: bytes, timeout_s: float) -> bytes:
    """Send one framed message and return the peer's answer (the bytes inside its MLLP frame)."""
    with socket.create_connection((host, port), timeout=timeout_s) as sock:
        sock.settimeout(timeout_s)
        sock.sendall(frame(message))
        buf = b""
        while END not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("the peer closed the connection without an ACK")
            buf += chunk
            if len(buf) > 1_000_000:
                raise ConnectionError("the peer's answer is not an MLLP-framed ACK")
    block = buf.split(END, 1)[0]
    return block[block.find(START) + 1:] if START in block else block


def _ack_result(answer: bytes, control_id: str) -> tuple[bool, str, str]:
    """(delivered, ack code, error) from the peer's ACK."""
    text = answer.decode("utf-8", errors="replace")
    segments = {s[:3]: s for s in reversed(text.replace("\n", "\r").split("\r")) if len(s) > 3}
    msa = segments.get("MSA")
    if msa is None:
        return False, "", "the answer has no MSA segment"
    fields = msa.split(msa[3])
    code = fields[1].strip().upper() if len(fields) > 1 else ""
    if len(fields) > 2 and fields[2] != control_id:
        return False, code[:2], f"the ACK answers message {fields[2]!r}, not {control_id!r}"
    if code in ("AA", "CA"):
        return True, code, ""
    err = segments.get("ERR", "")
    why = (err.split(err[3])[8] if err and len(err.split(err[3])) > 8 else "") or \
        (fields[3] if len(fields) > 3 else "")
    return False, code[:2], f"peer answered {code or '?'}: {component(why, 1) or 'no reason given'}"[:500]


def _record(session_factory: sessionmaker[Session], job: _Send, ok: bool, code: str, error: str) -> None:
    with session_factory() as s:
        d = s.get_one(Hl7Delivery, job.delivery_id)
        d.ack_code, d.last_error = code, error
        count_attempt(d, ok, utcnow_aware())
        s.commit()


def deliver_due(session_factory: sessionmaker[Session], settings: Settings) -> int:
    """Send every due ORU; returns how many the peers acknowledged."""
    delivered = 0
    for job in _take_due(session_factory, utcnow_aware()):
        try:
            answer = send_mllp(job.host, job.port, job.message.encode("utf-8"), settings.hl7_timeout_s)
            ok, code, error = _ack_result(answer, job.control_id)
        except OSError as exc:
            ok, code, error = False, "", f"{type(exc).__name__}: {exc}"[:500]
        if not ok:
            log.warning("HL7 delivery %d to %s:%d not acknowledged: %s", job.delivery_id, job.host, job.port, error)
        _record(session_factory, job, ok, code, error)
        delivered += ok
    return delivered


class ResultDispatcher:
    """Background thread: queue new report events, then send due ORUs, every ``hl7_interval_s`` seconds."""

    def __init__(self, session_factory: sessionmaker[Session], settings: Settings) -> None:
        self.session_factory, self.settings = session_factory, settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        if _nothing_to_do(self.session_factory):
            return 0
        enqueue_results(self.session_factory, self.settings)
        return deliver_due(self.session_factory, self.settings)

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.wait(self.settings.hl7_interval_s):
                try:
                    self.run_once()
                except Exception:
                    log.exception("HL7 result dispatch failed")

        self._thread = threading.Thread(target=loop, name="ecghub-hl7-results", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
