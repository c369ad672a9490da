"""Admission control: refuse uploads (503 + Retry-After) while analysis is too far behind.

Past capacity, accepting every upload only makes every study late (measured in
issue 16: at 40 uploads/s on 2 cores the upload p50 reached 4-10 s and
upload -> analysed 41-55 s). A clinic that is told "busy, retry in N s" loses
nothing: the refused upload stores nothing, and its page retries with the same
Idempotency-Key.

The backlog is the set of studies still ``received`` (stored, not yet analysed).
It is measured with one aggregate query at most every ``admission_check_interval_s``
per process (uploads in between reuse the snapshot), and exported as metrics.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from app.errors import Overloaded
from app.observability import BACKLOG_AGE_SECONDS, BACKLOG_STUDIES, UPLOADS
from app.settings import Settings
from storage.models import utcnow_aware
from storage.repositories import StudyRepository


@dataclass(frozen=True)
class Backlog:
    """Studies stored but not analysed: how many, and how long the oldest has waited (s)."""

    studies: int
    oldest_age_s: float
    measured_at: float  # time.monotonic() of the query


class Admission:
    """Decides whether an upload may be accepted now; thread-safe, one query per interval."""

    def __init__(self, settings: Settings, session_factory: sessionmaker[Session]) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self._lock = threading.Lock()
        self._last: Backlog | None = None

    def backlog(self, *, max_staleness_s: float | None = None) -> Backlog:
        """The backlog, re-measured when the last measurement is older than ``max_staleness_s``."""
        stale = self.settings.admission_check_interval_s if max_staleness_s is None else max_staleness_s
        with self._lock:
            last = self._last
            if last is not None and time.monotonic() - last.measured_at <= stale:
                return last
            with self.session_factory() as session:
                count, oldest = StudyRepository(session).analysis_backlog()
            age = max(0.0, (utcnow_aware() - _aware(oldest)).total_seconds()) if oldest is not None else 0.0
            self._last = Backlog(count, age, time.monotonic())
        BACKLOG_STUDIES.set(count)
        BACKLOG_AGE_SECONDS.set(age)
        return self._last

    def check(self) -> None:
        """Raise ``Overloaded`` (503, Retry-After, the reason named) when a bound is exceeded."""
        s = self.settings
        if s.admission_max_backlog_age_s <= 0 and s.admission_max_backlog <= 0:
            return
        b = self.backlog()
        retry = s.admission_retry_after_s
        if s.admission_max_backlog_age_s > 0 and b.oldest_age_s > s.admission_max_backlog_age_s:
            UPLOADS.labels("refused_busy").inc()
            raise Overloaded(
                f"analysis is behind: the oldest study waiting for analysis was received {b.oldest_age_s:.0f} s ago "
                f"(the bound is {s.admission_max_backlog_age_s:g} s); nothing was stored, retry in {retry} s",
                reason="backlog_age", backlog_studies=b.studies, backlog_age_s=round(b.oldest_age_s, 1),
                retry_after_s=retry)
        if s.admission_max_backlog > 0 and b.studies >= s.admission_max_backlog:
            UPLOADS.labels("refused_busy").inc()
            raise Overloaded(
                f"analysis is behind: {b.studies} studies are waiting for analysis (the bound is "
                f"{s.admission_max_backlog}); nothing was stored, retry in {retry} s",
                reason="backlog_size", backlog_studies=b.studies, backlog_age_s=round(b.oldest_age_s, 1),
                retry_after_s=retry)


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite returns naive UTC datetimes; PostgreSQL aware ones."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
