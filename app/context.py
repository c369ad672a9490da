"""The process-wide objects of one running service, built from Settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.auth.sessions import SessionCheck
from app.housekeeping import Housekeeper
from app.jobs import Jobs
from app.notify.webhooks import WebhookDispatcher
from app.settings import Settings
from app.uploads.admission import Admission
from storage.blobs import BlobStore, LocalBlobStore, S3BlobStore
from storage.db import make_engine, make_session_factory


def make_blob_store(settings: Settings) -> BlobStore:
    """The blob backend chosen by ``ECGHUB_BLOB_BACKEND`` (local folder or S3-compatible)."""
    if settings.blob_backend == "s3":
        return S3BlobStore(settings.s3_bucket, endpoint_url=settings.s3_endpoint_url, prefix=settings.s3_prefix,
                           region=settings.s3_region, access_key=settings.s3_access_key,
                           secret_key=settings.s3_secret_key)
    return LocalBlobStore(settings.resolved_blob_dir)


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    blobs: BlobStore
    jobs: Jobs
    housekeeper: Housekeeper
    webhooks: WebhookDispatcher
    admission: Admission
    #: Token-version checks (server-side revocation), cached per user for ``auth_cache_seconds``.
    sessions: SessionCheck = field(init=False)

    def __post_init__(self) -> None:
        self.sessions = SessionCheck(self.session_factory, self.settings.auth_cache_seconds)

    @classmethod
    def from_settings(cls, settings: Settings) -> "AppContext":
        engine = make_engine(settings.resolved_database_url)
        session_factory = make_session_factory(engine)
        blobs = make_blob_store(settings)
        return cls(settings, engine, session_factory, blobs, Jobs(settings, session_factory, blobs),
                   Housekeeper(session_factory, settings),
                   WebhookDispatcher(session_factory, settings.webhook_interval_s),
                   Admission(settings, session_factory))

    def start(self) -> None:
        """Start background work: in-process worker (embedded) and the lost-job sweeper."""
        if self.settings.worker_mode == "inprocess":
            self.jobs.start_worker()
            # The in-memory broker starts empty: anything still `received` is ours to redo.
            self.jobs.start_sweeper(first_grace_s=0)
        elif self.settings.worker_mode == "broker":
            self.jobs.start_sweeper()
        if self.settings.worker_mode != "off":
            self.housekeeper.start()
            self.webhooks.start()

    @staticmethod
    def warm_up() -> None:
        """Import at start what the first DICOM upload or job would otherwise import (pydicom,
        ~0.25 s): a new replica's first requests then answer as fast as the next ones."""
        import pydicom  # noqa: F401

    def stop(self) -> None:
        self.webhooks.stop()
        self.housekeeper.stop()
        self.jobs.stop()
        self.engine.dispose()
