"""Delivering queued webhook events, signed per the Standard Webhooks specification.

Headers ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature``
(``v1,<base64 HMAC-SHA256 of "id.timestamp.body">`` with the site's secret),
so receivers can verify with any Standard Webhooks library. A failed
delivery is retried after 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h and 4 h,
then marked ``failed``; every attempt is kept in the delivery log.
No HTTP request is made while a database transaction is open.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import secrets
import threading
from dataclasses import dataclass
from typing import Protocol

import httpx
from sqlalchemy.orm import Session, sessionmaker
from standardwebhooks.webhooks import Webhook

from app.notify.service import event_body
from storage.models import WebhookDelivery, utcnow_aware
from storage.repositories import DeliveryRepository, SiteRepository

log = logging.getLogger(__name__)
BACKOFF_S = (5, 30, 120, 600, 1800, 3600, 7200, 14400)
#: While a dispatcher is sending, the row is leased so no other dispatcher picks it up.
SEND_LEASE = dt.timedelta(seconds=60)


def new_secret() -> str:
    """A Standard Webhooks secret: ``whsec_`` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True)
class _Send:
    delivery_id: int
    url: str
    msg_id: str
    body: str
    secret: str


def _take_due(session_factory: sessionmaker[Session], now: dt.datetime) -> list[_Send]:
    with session_factory() as s:
        repo = DeliveryRepository(s)
        out = []
        for d in repo.due_deliveries(now):
            event, site = repo.event(d.event_id), SiteRepository(s).get(d.site_id)
            d.next_attempt_at = now + SEND_LEASE
            if event is None or site is None or not site.webhook_secret:
                d.status, d.last_error = "failed", "site has no webhook secret"
                continue
            out.append(_Send(d.id, d.url, f"evt_{event.id}", json.dumps(event_body(event)), site.webhook_secret))
        s.commit()
    return out


def _post(client: httpx.Client, job: _Send, now: dt.datetime, timeout_s: float) -> tuple[bool, int | None, str]:
    headers = {"content-type": "application/json", "webhook-id": job.msg_id,
               "webhook-timestamp": str(int(now.timestamp())),
               "webhook-signature": Webhook(job.secret).sign(job.msg_id, now, job.body)}
    try:
        resp = client.post(job.url, content=job.body, headers=headers, timeout=timeout_s)
    except httpx.HTTPError as exc:
        return False, None, f"{type(exc).__name__}: {exc}"[:500]
    ok = 200 <= resp.status_code < 300
    return ok, resp.status_code, "" if ok else f"HTTP {resp.status_code}"


class Attempted(Protocol):
    """A durable delivery row (webhook, HL7 result): the fields one attempt moves on."""

    attempts: int
    status: str
    delivered_at: dt.datetime | None
    next_attempt_at: dt.datetime


def count_attempt(d: Attempted, ok: bool, now: dt.datetime) -> None:
    """One attempt on ``d``: delivered, or retried after the next ``BACKOFF_S`` step, or failed past the last."""
    d.attempts += 1
    if ok:
        d.status, d.delivered_at = "delivered", now
    elif d.attempts > len(BACKOFF_S):
        d.status = "failed"
    else:
        d.next_attempt_at = now + dt.timedelta(seconds=BACKOFF_S[d.attempts - 1])


def _record(session_factory: sessionmaker[Session], job: _Send, ok: bool, code: int | None, error: str) -> None:
    with session_factory() as s:
        d = s.get_one(WebhookDelivery, job.delivery_id)
        d.last_status_code, d.last_error = code, error
        count_attempt(d, ok, utcnow_aware())
        s.commit()


def deliver_due(session_factory: sessionmaker[Session], client: httpx.Client | None = None,
                timeout_s: float = 5.0) -> int:
    """Send every delivery that is due; returns how many were delivered."""
    jobs = _take_due(session_factory, utcnow_aware())
    if not jobs:
        return 0
    own = client is None
    client = client or httpx.Client()
    delivered = 0
    try:
        for job in jobs:
            ok, code, error = _post(client, job, utcnow_aware(), timeout_s)
            _record(session_factory, job, ok, code, error)
            delivered += ok
    finally:
        if own:
            client.close()
    return delivered


class WebhookDispatcher:
    """Background thread sending due webhooks every ``interval_s`` seconds."""

    def __init__(self, session_factory: sessionmaker[Session], interval_s: float = 2.0) -> None:
        self.session_factory = session_factory
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        def loop() -> None:
            with httpx.Client() as client:
                while not self._stop.wait(self.interval_s):
                    try:
                        deliver_due(self.session_factory, client)
                    except Exception:
                        log.exception("webhook dispatch failed")

        self._thread = threading.Thread(target=loop, name="ecghub-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
