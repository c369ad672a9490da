"""Refuse control characters in a request before any route sees them (422 problem+json).

A NUL byte reached PostgreSQL, which refuses it in text, as a 500 (even at
login). Control characters (U+0000-U+001F and U+007F, tab/CR/LF excepted in
bodies) have no place in a path, a query, a JSON or a form-urlencoded body of
this API, so they are refused here once, naming where they were found.
Multipart uploads are not scanned (their files are binary); the upload form's
text fields are checked where they are parsed.
"""

from __future__ import annotations

import json
import re
from urllib.parse import unquote_to_bytes

from starlette.types import Message, Receive, Scope, Send

from app.middleware import HttpMiddleware
from app.errors import PROBLEM_JSON

_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_STRICT = re.compile(rb"[\x00-\x1f\x7f]")
_JSON_ESCAPE = re.compile(rb"\\u00[01][0-9a-fA-F]|\\u007[fF]")
SCANNED_BODIES = (b"application/json", b"application/x-www-form-urlencoded")
MAX_SCANNED_BODY = 4 * 1024 * 1024  # bytes; larger bodies of these types are refused by BodyLimit anyway


def _refusal(where: str) -> tuple[Message, Message]:
    body = json.dumps({"type": "/problems/control-character", "title": "Invalid characters", "status": 422,
                       "detail": f"the request's {where} contains a control character (such as NUL); remove it "
                                 f"and send again"}).encode()
    start = {"type": "http.response.start", "status": 422,
             "headers": [(b"content-type", PROBLEM_JSON.encode()), (b"content-length", str(len(body)).encode())]}
    return start, {"type": "http.response.body", "body": body}


def _bad_body(content_type: bytes, body: bytes) -> bool:
    if content_type.startswith(b"application/json"):
        return bool(_CONTROL.search(body) or _JSON_ESCAPE.search(body))
    return bool(_CONTROL_STRICT.search(unquote_to_bytes(body.replace(b"+", b" "))))


class InputGuard(HttpMiddleware):
    """ASGI middleware: 422 for control characters in the path, query or a scanned body."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        where = None
        if _CONTROL_STRICT.search(scope.get("path", "").encode("utf-8", "surrogateescape")):
            where = "path"
        elif _CONTROL_STRICT.search(unquote_to_bytes(scope.get("query_string", b""))):
            where = "query"
        ctype = dict(scope.get("headers", [])).get(b"content-type", b"").lower()
        if where is None and ctype.startswith(SCANNED_BODIES):
            body, more = b"", True
            while more and len(body) <= MAX_SCANNED_BODY:
                message = await receive()
                body += message.get("body", b"")
                more = message.get("more_body", False)
            if _bad_body(ctype, body):
                where = "body"
            else:
                receive = _replay(body, more, receive)
        if where is None:
            await self.app(scope, receive, send)
            return
        for message in _refusal(where):
            await send(message)


def _replay(body: bytes, more: bool, receive: Receive) -> Receive:
    """A ``receive`` that first hands back the body already read, then the rest."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": more}
        return await receive()

    return replay
