"""Security headers on every response (a pure ASGI middleware, so streaming answers keep them too).

* ``Content-Security-Policy``: scripts only from this origin, no inline script
  (pages start their script from JSON data: ``static/js/boot.js``); styles may
  be inline (the phone report page carries its CSS inline to load in one
  request); images also from ``data:``/``blob:`` (QR codes, tracings);
  ``frame-ancestors 'none'`` (no framing, clickjacking). ``/docs`` and
  ``/redoc`` (the interactive API pages) get only the framing rule: they run
  inline script by design.
* ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY`` (older
  browsers), ``Referrer-Policy: no-referrer`` (share-link tokens live in URLs).
* ``Strict-Transport-Security`` when the request came over HTTPS (directly or,
  with uvicorn's proxy headers, through a TLS-terminating proxy).
* ``Cache-Control: no-store`` on everything but static files, unless the
  route set its own: API answers and pages carry patient data.
"""

from __future__ import annotations

from starlette.types import Message, Receive, Scope, Send

from app.middleware import HttpMiddleware

CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
DOCS_CSP = "frame-ancestors 'none'"
DOCS_PATHS = ("/docs", "/redoc")
HSTS = "max-age=31536000"


class SecurityHeaders(HttpMiddleware):
    """Adds the headers above to every HTTP response of the wrapped app."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        fixed = [
            (b"content-security-policy", (DOCS_CSP if path.startswith(DOCS_PATHS) else CSP).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"no-referrer"),
        ]
        if scope.get("scheme") == "https":
            fixed.append((b"strict-transport-security", HSTS.encode()))
        cacheable = path.startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                have = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in fixed if k not in have]
                if not cacheable and b"cache-control" not in have:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
