"""Analysis jobs on Dramatiq.

Why Dramatiq: messages are acknowledged only after the actor finishes, so a
worker killed mid-job leaves its message to be redelivered (RabbitMQ: durable
queue, persistent messages, publisher confirms); retries with exponential
backoff and a failure callback are built in. The embedded default uses
Dramatiq's in-memory broker with a worker thread pool inside the API process:
no broker to install.

The gap between "study committed" and "message published" (a crash right
there, or the in-memory broker dying with the process) is closed by the
sweeper: studies still ``received`` after a grace period are enqueued again.
Jobs are idempotent (see ``app.analysis.service``), so a duplicate is harmless.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import resource
import threading
import uuid
from pathlib import Path
from typing import Any

import dramatiq
from dramatiq.brokers.stub import StubBroker
from sqlalchemy.orm import Session, sessionmaker

from app.analysis import service as analysis
from app.settings import Settings
from storage.blobs import BlobStore
from storage.models import utcnow_aware
from storage.repositories import StudyRepository

log = logging.getLogger(__name__)


def make_broker(settings: Settings) -> dramatiq.Broker:
    if settings.worker_mode == "broker":
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=settings.broker_url, confirm_delivery=True)
    return StubBroker()


def resident_mib() -> float:
    """This process's resident memory now (MiB), from /proc (Linux); its peak where /proc is absent.

    Memory a job freed is not always returned to the system (allocator fragmentation); a
    process that stays above its ceiling after a job is recycled rather than left to grow.
    """
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class Jobs:
    """The analysis actors bound to one broker, plus the sweeper that re-enqueues lost work."""

    def __init__(self, settings: Settings, session_factory: sessionmaker[Session], blobs: BlobStore,
                 broker: dramatiq.Broker | None = None) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.blobs = blobs
        self.broker = broker or make_broker(settings)
        self._worker: dramatiq.Worker | None = None
        self._stop = threading.Event()
        #: Set once a finished job left the process above ``worker_max_rss_mib`` (``ecghub worker`` exits).
        self.over_memory = threading.Event()
        self._sweeper: threading.Thread | None = None
        self.analyze = dramatiq.Actor(
            self._analyze, broker=self.broker, actor_name="analyze_study", queue_name=settings.queue_name, priority=0,
            options={"max_retries": settings.analysis_max_retries, "min_backoff": 1000, "max_backoff": 60_000},
        )
        self.failed = dramatiq.Actor(
            self._failed, broker=self.broker, actor_name="analysis_failed", queue_name=settings.queue_name, priority=0,
            options={"max_retries": 20},
        )

    # -- actors -----------------------------------------------------------------
    def _analyze(self, study_id: str) -> None:
        outcome = analysis.analyze_study(self.session_factory, self.blobs, self.settings, uuid.UUID(study_id))
        log.info("analysis of study %s: %s", study_id, outcome)
        rss = resident_mib()
        if rss > self.settings.worker_max_rss_mib and not self.over_memory.is_set():
            log.warning("worker resident memory %.0f MiB is above ECGHUB_WORKER_MAX_RSS_MIB=%d after study %s: "
                        "finishing and exiting for a fresh process", rss, self.settings.worker_max_rss_mib, study_id)
            self.over_memory.set()

    def _failed(self, message: dict[str, Any], exception: dict[str, Any]) -> None:
        study_id = uuid.UUID(message["args"][0])
        error = f"{exception.get('type', 'Error')}: {exception.get('message', '')}"
        analysis.mark_failed(self.session_factory, study_id, error)

    # -- producer side ----------------------------------------------------------------
    def enqueue_analysis(self, study_id: uuid.UUID) -> bool:
        """Publish the job; False (logged) if the broker refused: the sweeper will retry."""
        try:
            self.analyze.send_with_options(args=(str(study_id),), on_failure=self.failed.actor_name)
        except Exception:  # broker down: the committed study is picked up by the sweeper
            log.exception("could not enqueue analysis of study %s", study_id)
            return False
        return True

    def sweep(self, grace_s: float | None = None) -> int:
        """Enqueue again every study still ``received`` for longer than ``grace_s`` seconds."""
        grace = self.settings.sweep_grace_s if grace_s is None else grace_s
        with self.session_factory() as session:
            ids = StudyRepository(session).ids_awaiting_analysis(utcnow_aware() - dt.timedelta(seconds=grace))
        return sum(self.enqueue_analysis(i) for i in ids)

    def check(self) -> None:
        """Raise unless the broker accepts a connection (broker mode only; readiness probe)."""
        if self.settings.worker_mode != "broker":
            return
        import pika

        params = pika.URLParameters(self.settings.broker_url)
        params.socket_timeout = params.blocked_connection_timeout = 3
        params.connection_attempts = 1
        pika.BlockingConnection(params).close()

    # -- running ------------------------------------------------------------------------
    def start_worker(self, threads: int | None = None) -> None:
        """Consume analysis jobs in this process (embedded default, or ``ecghub worker``)."""
        self.broker.emit_after("process_boot")
        self._worker = dramatiq.Worker(
            self.broker, queues={self.settings.queue_name}, worker_threads=threads or self.settings.worker_threads,
            worker_timeout=100,
        )
        self._worker.start()

    def start_sweeper(self, first_grace_s: float | None = None) -> None:
        """Sweep once now (with ``first_grace_s``), then every ``sweep_interval_s``."""
        def loop() -> None:
            grace = first_grace_s
            while not self._stop.is_set():
                try:
                    self.sweep(grace)
                except Exception:
                    log.exception("sweep failed")
                grace = None
                self._stop.wait(self.settings.sweep_interval_s)

        self._sweeper = threading.Thread(target=loop, name="ecghub-sweeper", daemon=True)
        self._sweeper.start()

    def stop(self) -> None:
        self._stop.set()
        if self._worker is not None:
            self._worker.stop()
            self._worker = None
        if self._sweeper is not None:
            self._sweeper.join(timeout=5)
        self.broker.close()
