"""POST /api/v1/studies: a clinic uploads a recording with the patient form."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Header, Request, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.auth.principal import Principal
from app.context import AppContext
from app.deps import ClinicOrAdmin, CtxDep, SessionDep
from app.errors import DomainError, InvalidUpload, PayloadTooLarge
from app.observability import UPLOADS
from app.studies.schemas import StudyAccepted
from app.uploads import service
from app.uploads.schemas import UploadMetadata

router = APIRouter(prefix="/api/v1/studies", tags=["uploads"])
_FIELDS = set(UploadMetadata.model_fields)


def _metadata(form: dict[str, str]) -> UploadMetadata:
    unknown = set(form) - _FIELDS
    if unknown:
        raise InvalidUpload(f"unknown form field(s): {', '.join(sorted(unknown))}")
    try:
        return UploadMetadata.model_validate({k: v for k, v in form.items() if v != ""})
    except ValidationError as exc:
        errors = [{"field": ".".join(map(str, e["loc"])) or "form", "message": e["msg"]} for e in exc.errors()]
        raise InvalidUpload("; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors) from exc


def _store(ctx: AppContext, session: Session, principal: Principal, meta: UploadMetadata,
           files: list[service.UploadedFile], key: str | None) -> tuple[service.UploadResult, StudyAccepted]:
    """Store and commit in ONE worker thread: the transaction (on SQLite, the write lock) must
    never wait for another thread from the pool, which may all be waiting for that lock."""
    result = service.upload_study(ctx, session, principal, meta, files, key)
    body = StudyAccepted.of(result.study)  # built before commit: no lazy load after it
    session.commit()  # order: in this worker thread (see above), before the job is published
    return result, body


@router.post("", status_code=202, response_model=StudyAccepted, responses={
    200: {"description": "replay of an earlier identical upload"},
    409: {"description": "Idempotency-Key reused with a different body"},
    413: {"description": "upload too large"}, 422: {"description": "invalid form or unreadable recording"},
    503: {"description": "analysis is behind (admission control) or a store is down: retry after Retry-After"},
})
async def upload(
    request: Request,
    response: Response,
    background: BackgroundTasks,
    ctx: CtxDep,
    session: SessionDep,
    principal: ClinicOrAdmin,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> StudyAccepted:
    """Upload one study: the recording in ``files`` (WFDB .hea + .dat, a .zip, EDF or CSV) and the
    patient form. Send an ``Idempotency-Key`` so that retries over a bad link make one study."""
    settings = ctx.settings
    # Before the body is read: a refused upload costs the service (almost) nothing and stores nothing.
    await run_in_threadpool(ctx.admission.check)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > settings.max_upload_bytes:
        raise PayloadTooLarge(f"the upload is larger than the limit of {settings.max_upload_bytes // (1024 * 1024)} MiB")
    try:
        form = await request.form(max_files=settings.max_upload_files, max_fields=32)
    except StarletteHTTPException as exc:
        if "Too many files" in str(exc.detail):
            raise PayloadTooLarge(f"too many files: at most {settings.max_upload_files} per upload") from exc
        raise InvalidUpload(f"the multipart body cannot be parsed: {exc.detail}") from exc
    try:
        files, fields = [], {}
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                if name != "files":
                    raise InvalidUpload(f"files must be sent in the 'files' field, not {name!r}")
                files.append(service.UploadedFile(service.clean_filename(value.filename), await value.read()))
            elif name in fields:
                raise InvalidUpload(f"form field {name!r} given twice")
            else:
                fields[name] = value
    finally:
        await form.close()
    try:
        meta = _metadata(fields)
        result, body = await run_in_threadpool(_store, ctx, session, principal, meta, files, idempotency_key)
    except DomainError as exc:
        UPLOADS.labels(exc.type.rsplit("/", 1)[-1]).inc()
        raise
    UPLOADS.labels("replayed" if result.replayed else "accepted").inc()
    if not result.replayed:
        # Published after the answer, in a worker thread: the broker's client blocks (publisher
        # confirms, reconnects while the broker is down) and must never stall the event loop,
        # and the committed study is already safe (the sweeper re-publishes a lost job).
        background.add_task(ctx.jobs.enqueue_analysis, result.study.id)
    response.headers["Location"] = f"/api/v1/studies/{result.study.id}"
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return body
