"""Periodic upkeep of the reading queue: lapsed leases back to the queue, escalations raised.

Runs as a thread in every API process; several replicas running it at once is
safe (lapsed claims are taken with SKIP LOCKED, escalations are unique per
kind and study, and a lost race simply rolls back).
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.notices.service import escalate
from app.reading.claims import expire_lapsed
from app.settings import Settings

log = logging.getLogger(__name__)


def run_once(session_factory: sessionmaker[Session], settings: Settings) -> tuple[int, int]:
    """Expire lapsed leases and raise due escalations; returns (expired, escalated)."""
    with session_factory() as session:
        expired = expire_lapsed(session)
        session.commit()
    with session_factory() as session:
        try:
            raised = len(escalate(session, settings))
            session.commit()
        except IntegrityError:  # another replica raised the same escalation first
            session.rollback()
            raised = 0
    return expired, raised


class Housekeeper:
    def __init__(self, session_factory: sessionmaker[Session], settings: Settings) -> None:
        self.session_factory = session_factory
        self.settings = settings
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.wait(self.settings.housekeeping_interval_s):
                try:
                    run_once(self.session_factory, self.settings)
                except Exception:
                    log.exception("housekeeping failed")

        self._thread = threading.Thread(target=loop, name="ecghub-housekeeping", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
