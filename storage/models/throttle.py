"""Failed-login counters, shared by every API process (the limiter holds across replicas)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, UTCDateTime


class LoginThrottle(Base):
    """Consecutive failed logins for one key ("acct:NAME", "pair:NAME|ADDR" or "addr:ADDR").

    ``failures`` counts failures since ``first_failure_at`` (reset after a quiet window or a
    success); while ``blocked_until`` is in the future the key's logins are refused unheard.
    """

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    first_failure_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    blocked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
