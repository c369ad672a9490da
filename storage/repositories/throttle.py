"""Failed-login counters (``login_throttle``): read the blocks, count a failure, clear on success."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.models.throttle import LoginThrottle


class ThrottleRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def blocked_until(self, keys: Sequence[str], now: dt.datetime) -> dt.datetime | None:
        """The latest block still in force on any of ``keys`` (None: none is blocked)."""
        stmt = select(LoginThrottle.blocked_until).where(LoginThrottle.key.in_(list(keys)),
                                                         LoginThrottle.blocked_until > now)
        return max((t for t in self.session.scalars(stmt) if t is not None), default=None)

    def count_failure(self, key: str, now: dt.datetime, window: dt.timedelta) -> LoginThrottle:
        """One more failure for ``key`` (the count restarts when the last window has passed); locked row.

        The row is created by INSERT ... ON CONFLICT DO NOTHING, then locked: two first failures
        of one key at once (a login flood on PostgreSQL) both count, and neither hits the unique key.
        """
        row = None
        while row is None:  # a success's ``clear`` may delete the row between the insert and the lock
            insert = pg_insert if self.session.get_bind().dialect.name == "postgresql" else sqlite_insert
            self.session.execute(insert(LoginThrottle).values(key=key, failures=0, first_failure_at=now)
                                 .on_conflict_do_nothing(index_elements=["key"]))
            row = self.session.get(LoginThrottle, key, with_for_update=True, populate_existing=True)
        if row.first_failure_at < now - window:
            row.failures, row.first_failure_at, row.blocked_until = 0, now, None
        row.failures += 1
        self.session.flush()
        return row

    def clear(self, keys: Sequence[str]) -> None:
        """Forget the failures of ``keys`` (after a successful login)."""
        self.session.execute(delete(LoginThrottle).where(LoginThrottle.key.in_(list(keys))))
