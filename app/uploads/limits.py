"""ASGI middleware that caps the request body of uploads while it streams in.

Checking Content-Length alone is not enough (chunked uploads have none), and
checking after parsing is too late (the body would already be spooled). This
counts bytes as they arrive and stops the transfer with 413.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import PayloadTooLarge


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, path_prefix: str = "/api/v1/studies") -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.path_prefix = path_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].startswith(self.path_prefix):
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise PayloadTooLarge(f"the upload is larger than the limit of {limit // (1024 * 1024)} MiB")
            return message

        await self.app(scope, counted, send)
