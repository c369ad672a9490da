"""Domain errors and their one mapping to RFC 9457 problem+json responses.

Services raise a subclass of ``DomainError``; ``install_handlers`` renders
every one the same way. A problem body never carries patient data.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class DomainError(Exception):
    """Base of every error the API reports on purpose."""

    status: int = 400
    type: str = "about:blank"
    title: str = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def headers(self) -> dict[str, str]:
        return {}


class NotAuthenticated(DomainError):
    status, type, title = 401, "/problems/not-authenticated", "Not authenticated"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class Forbidden(DomainError):
    status, type, title = 403, "/problems/forbidden", "Forbidden"


class NotFound(DomainError):
    status, type, title = 404, "/problems/not-found", "Not found"


class Conflict(DomainError):
    status, type, title = 409, "/problems/conflict", "Conflict with the current state"


class IdempotencyConflict(DomainError):
    status, type, title = 409, "/problems/idempotency-conflict", "Idempotency key reused"


class PayloadTooLarge(DomainError):
    status, type, title = 413, "/problems/payload-too-large", "Upload too large"


class InvalidRequest(DomainError):
    """A request that parses but cannot be carried out as asked (names the field or rule)."""

    status, type, title = 422, "/problems/invalid-request", "Invalid request"


class InvalidUpload(DomainError):
    status, type, title = 422, "/problems/invalid-upload", "Invalid upload"


class UnreadableUpload(DomainError):
    status, type, title = 422, "/problems/unreadable-recording", "Recording cannot be read"


class PasswordChangeRequired(DomainError):
    status, type, title = 403, "/problems/password-change-required", "Password change required"


class TooManyAttempts(DomainError):
    status, type, title = 429, "/problems/too-many-attempts", "Too many attempts"

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        super().__init__(detail, retry_after_s=retry_after_s)
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


class ServiceUnavailable(DomainError):
    status, type, title = 503, "/problems/unavailable", "Service temporarily unavailable"

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "5"}


class SuspectAcquisitionTime(DomainError):
    """The acquisition time fails a clock check (future, before birth, long ago): the clinic confirms
    (``confirm_acquired_at=true``) or corrects ``acquired_at`` and sends again. Nothing was stored."""

    status, type, title = 422, "/problems/acquisition-time", "Acquisition time needs confirmation"


class Overloaded(DomainError):
    """Refused by admission control (analysis backlog past its bound); ``retry_after_s`` in the body."""

    status, type, title = 503, "/problems/busy", "Service busy, retry later"

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(max(1, int(self.extra.get("retry_after_s", 10))))}


def problem(status: int, title: str, detail: str, type_: str = "about:blank", **extra: Any) -> JSONResponse:
    body = {"type": type_, "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _validation_detail(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    errors = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "header"))
        errors.append({"field": loc, "message": err.get("msg", "")})
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
    return summary, errors


def install_handlers(app: FastAPI) -> None:
    """Register the single rendering of errors as problem+json."""

    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        resp = problem(exc.status, exc.title, exc.detail, exc.type, **exc.extra)
        resp.headers.update(exc.headers())
        return resp

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail, errors = _validation_detail(exc)
        return problem(422, "Invalid request", detail, "/problems/validation", errors=errors)

    @app.exception_handler(OperationalError)
    async def _database_down(_: Request, exc: OperationalError) -> JSONResponse:
        # Database unreachable, restarting, or (SQLite) busy beyond the timeout: the transaction
        # was rolled back, nothing half-written; the client may retry.
        log.warning("database unavailable: %s", type(exc.orig).__name__ if exc.orig else exc)
        resp = problem(503, "Service temporarily unavailable",
                       "the database is not available right now; nothing was changed, try again shortly",
                       "/problems/unavailable")
        resp.headers["Retry-After"] = "5"
        return resp

    @app.exception_handler(DataError)
    async def _out_of_range(_: Request, exc: DataError) -> JSONResponse:
        # The database refused a value the route let through (a number beyond its column's range):
        # the transaction was rolled back; the client sent something that cannot exist.
        log.info("database refused a value: %s", type(exc.orig).__name__ if exc.orig else exc)
        return problem(422, "Invalid request", "a value in the request is out of range (too large or "
                       "malformed for what it names)", "/problems/validation")

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        # A bug: answer as problem+json (no stack trace, no patient data) and log it with its trace.
        log.exception("unexpected error", exc_info=exc)
        return problem(500, "Internal error", "the service failed to answer this request; it was logged",
                       "/problems/internal")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        resp = problem(exc.status_code, str(exc.detail), str(exc.detail))
        if exc.headers:
            resp.headers.update(exc.headers)
        return resp
