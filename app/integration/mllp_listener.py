"""The MLLP listener for orders: an asyncio TCP server, one ACK per message, several messages per connection.

MLLP (HL7 v2 Transport Specification, MLLP release 2): each message is framed
as ``<VT> message <FS><CR>``. Bytes outside a frame are discarded; a frame
larger than ``hl7_max_message_bytes`` is refused (AR); a stream that keeps going
without an end of frame past that closes the connection. Nothing is stored either way.
Database work runs in a worker thread so one slow commit does not stall
other connections. Started by ``ecghub hl7-listen`` or, in-process (tests,
demo), by :class:`ListenerThread`.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.integration.ack import build_ack
from app.integration.hl7_codec import END, START, Hl7Refusal, decode, frame
from app.integration.orders_in import OrderMessage, header, parse_order, store
from app.settings import Settings

log = logging.getLogger(__name__)
IDLE_TIMEOUT_S = 300.0


def handle_message(raw: bytes, session_factory: sessionmaker[Session], settings: Settings) -> bytes:
    """Process one received message and return its encoded ACK (in the sender's character set)."""
    codec, text, refusal, note = "utf-8", "", None, ""
    try:
        if len(raw) > settings.hl7_max_message_bytes:
            raise Hl7Refusal(f"message of {len(raw)} bytes is over the {settings.hl7_max_message_bytes}-byte limit")
        text, codec = decode(raw)
        msg = parse_order(text, settings.hl7_local_utc_offset_min)
        note = _store_once(session_factory, msg)
    except Hl7Refusal as exc:
        refusal = exc
    except Exception as exc:  # an unexpected failure is answered, never left without an ACK
        log.exception("HL7 message could not be processed")
        refusal = Hl7Refusal(f"internal error: {type(exc).__name__}", ack_code="AE", hl7_error="207")
    head = header(text or raw.decode("latin-1"))
    if refusal is not None:
        log.warning("HL7 %s refused (%s): %s", head.control_id, refusal.ack_code, refusal.reason)
    charset = "GB 18030-2000" if codec == "gb18030" else ("UNICODE UTF-8" if codec == "utf-8" else "")
    ack = build_ack(head, charset, refusal, application=settings.hl7_application, facility=settings.hl7_facility,
                    note=note)
    return ack.encode(codec, errors="replace")


def _store_once(session_factory: sessionmaker[Session], msg: OrderMessage) -> str:
    """Store in one transaction; a concurrent retransmission that won the race is read back as a duplicate."""
    for attempt in (1, 2):
        with session_factory() as s:
            try:
                order, what = store(s, msg)
                s.commit()
                return f"order {order.id} {what}"
            except IntegrityError:
                s.rollback()
                if attempt == 2:
                    raise
    raise AssertionError("unreachable")


async def _serve_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                            session_factory: sessionmaker[Session], settings: Settings) -> None:
    buf = b""
    try:
        while True:
            chunk = await asyncio.wait_for(reader.read(65536), IDLE_TIMEOUT_S)
            if not chunk:
                return
            buf += chunk
            while END in buf:
                block, buf = buf.split(END, 1)
                start = block.find(START)
                if start < 0:
                    continue
                ack = await asyncio.to_thread(handle_message, block[start + 1:], session_factory, settings)
                writer.write(frame(ack))
                await writer.drain()
            if len(buf) > settings.hl7_max_message_bytes + 65536:  # no end of frame in sight
                log.warning("MLLP frame over %d bytes: connection closed", settings.hl7_max_message_bytes)
                return
    except (TimeoutError, ConnectionError):
        return
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except (ConnectionError, asyncio.CancelledError):
            pass


async def start_server(session_factory: sessionmaker[Session], settings: Settings, host: str,
                       port: int) -> asyncio.Server:
    return await asyncio.start_server(lambda r, w: _serve_connection(r, w, session_factory, settings), host, port)


class ListenerThread:
    """The MLLP server on its own event loop in a daemon thread (in-process: tests and the demo)."""

    def __init__(self, session_factory: sessionmaker[Session], settings: Settings, host: str, port: int) -> None:
        self.session_factory, self.settings, self.host, self.port = session_factory, settings, host, port
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> int:
        """Start listening; returns the bound port (useful with port 0)."""
        self._thread = threading.Thread(target=self._loop.run_forever, name="ecghub-hl7-listener", daemon=True)
        self._thread.start()  # the caller may itself run in an event loop (the app's lifespan)
        server = start_server(self.session_factory, self.settings, self.host, self.port)
        self._server = asyncio.run_coroutine_threadsafe(server, self._loop).result(timeout=10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    def stop(self) -> None:
        server = self._server
        if server is None:
            return

        async def close() -> None:
            server.close()
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:  # open connections: their handlers close their transports
                task.cancel()
            await asyncio.gather(*others, return_exceptions=True)
            await asyncio.wait_for(server.wait_closed(), 5)

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._loop.close()
