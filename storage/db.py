"""Engine and session factory for SQLite (embedded default) and PostgreSQL (at scale)."""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """WAL so readers never block the writer; foreign keys on; wait for the write lock."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=15000")
    cur.close()


_READ_ONLY: contextvars.ContextVar[bool] = contextvars.ContextVar("ecghub_read_only", default=False)


@contextlib.contextmanager
def read_only() -> Iterator[None]:
    """Transactions begun inside this block only read: on SQLite they skip the writer queue.

    A WAL reader sees a consistent snapshot without the write lock, so a caller's
    credential check or an idempotency look-up need not wait behind uploads. Nothing in
    the block may write (on SQLite a write would then fail with "database is locked");
    end the transaction inside the block. No effect on PostgreSQL.
    """
    token = _READ_ONLY.set(True)
    try:
        yield
    finally:
        _READ_ONLY.reset(token)


class _WriterGate:
    """A process-wide queue for SQLite's single writer.

    SQLite's busy handler polls with growing sleeps and no order: under load
    (tens of requests per second) some waiters starve past any timeout and fail
    with "database is locked". Waiting on a Python lock first hands the write
    lock over at once, in near-arrival order. SQLite is the embedded default:
    one process; across processes its own busy timeout still applies.
    """

    def __init__(self, timeout_s: float) -> None:
        self.lock = threading.Lock()
        self.timeout_s = timeout_s

    def begin(self, conn: Any) -> None:
        """Take SQLite's write lock at BEGIN: one writer at a time, no upgrade deadlocks.

        pysqlite's deferred BEGIN lets two transactions read then both try to
        write; one then fails with "database is locked". Serialising writers
        at BEGIN gives the single-writer transaction the design relies on
        (e.g. for exactly-once claims).
        """
        if _READ_ONLY.get():
            conn.exec_driver_sql("BEGIN")  # deferred: a WAL snapshot, no write lock
            return
        if not self.lock.acquire(timeout=self.timeout_s):
            raise OperationalError("BEGIN IMMEDIATE", None, TimeoutError("database busy: writer queue timed out"))
        conn.info["ecghub_gate"] = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            self.end(conn)
            raise

    def end(self, conn: Any) -> None:
        if conn.info.pop("ecghub_gate", False):
            self.lock.release()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine configured for ``url``'s backend."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 15}, **kwargs)
        # Let SQLAlchemy, not pysqlite, emit BEGIN (documented recipe).
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "connect", lambda c, r: setattr(c, "isolation_level", None))
        gate = _WriterGate(timeout_s=30.0)
        event.listen(engine, "begin", gate.begin)
        event.listen(engine, "commit", gate.end)
        event.listen(engine, "rollback", gate.end)
        return engine
    ping_after_idle_s = kwargs.pop("ping_after_idle_s", PING_AFTER_IDLE_S)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    kwargs.setdefault("pool_recycle", 1800)  # below common proxy/firewall idle cut-offs
    engine = create_engine(url, **kwargs)
    _ping_after_idle(engine, ping_after_idle_s)
    return engine


#: A pooled connection idle this long (s) is pinged before reuse; busier ones are not.
PING_AFTER_IDLE_S = 10.0


def _ping_after_idle(engine: Engine, idle_s: float) -> None:
    """Ping a pooled connection on checkout only if it sat idle for ``idle_s`` seconds.

    ``pool_pre_ping`` pings on every checkout: a round trip per transaction. Under load
    connections are reused within milliseconds and a ping finds nothing; a connection
    that idled (the likely victim of a server restart or a proxy's idle cut-off) is
    checked, and a dead one is replaced (``DisconnectionError`` makes the pool connect
    anew). A connection dropped while busy fails its statement: SQLAlchemy then
    invalidates the whole pool's older connections, the request answers 503 +
    Retry-After (``app.errors``), and the read-only auth look-up retries once.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info["ecghub_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("ecghub_idle_since")
        if since is None or time.monotonic() - since < idle_s:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError("pooled connection was dropped while idle") from exc
        if not alive:
            raise DisconnectionError("pooled connection was dropped while idle")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (responses are built after it)."""
    return sessionmaker(engine, expire_on_commit=False)
