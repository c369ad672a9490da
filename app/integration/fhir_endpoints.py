"""/fhir/...: a read-only FHIR R4 API (Patient, ServiceRequest, DiagnosticReport, Observation).

Same credentials as /api/v1 (Bearer token or the site's X-API-Key) and the
same tenancy: a clinic sees its own site, a hub admin every site, and another
site's resource is 404. Searches answer a ``searchset`` Bundle. Every read or
search is audited (who, which resource type, which id or query).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from app.auth.principal import Principal
from app.deps import ClinicOrAdmin, CtxDep, SessionDep
from app.errors import NotFound
from app.integration import fhir_resources as res
from app.integration.order_match import order_for_study
from app.integration.fhir_search import date_range, reference_id, token_value
from app.params import RowId
from storage.models import Role, Site, Study
from storage.repositories import (
    AuditRepository,
    FhirRepository,
    OrderRepository,
    ReadingRepository,
    StudyRepository,
    UserRepository,
)

router = APIRouter(prefix="/fhir", tags=["fhir"])
FHIR_JSON = "application/fhir+json"
Count = Annotated[int, Query(alias="_count", ge=1, le=200)]
PatientRef = Annotated[str | None, Query(alias="patient", max_length=40, description="Patient/<id> or <id>")]
PatientIdent = Annotated[str | None, Query(alias="patient.identifier", max_length=100,
                                           description="[system|]the site's patient id")]
Dates = Annotated[list[str] | None, Query(alias="date", max_length=4, description="e.g. ge2026-11-01 (repeatable)")]
Occurrence = Annotated[list[str] | None, Query(max_length=4, description="requested time, e.g. ge2026-11-01")]


def _scope(principal: Principal) -> int | None:
    return None if principal.role == Role.admin else principal.site_id


def _answer(session: Session, principal: Principal, resource: dict[str, Any], what: str) -> JSONResponse:
    AuditRepository(session).add(actor=principal.actor, actor_site_id=principal.site_id, action=f"fhir.{what}",
                                 object_type=resource.get("resourceType", ""), object_id=str(resource.get("id", "")))
    return JSONResponse(res.validated(resource), media_type=FHIR_JSON)


def _bundle(request: Request, resources: list[dict[str, Any]]) -> dict[str, Any]:
    base = str(request.base_url).rstrip("/") + "/fhir"
    return {"resourceType": "Bundle", "id": uuid.uuid4().hex, "type": "searchset", "total": len(resources),
            "link": [{"relation": "self", "url": str(request.url)}],
            "entry": [{"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": res.validated(r),
                       "search": {"mode": "match"}} for r in resources]}


def _patient_ids(session: Session, principal: Principal, ref: str | None, ident: str | None) -> list[int] | None:
    """Patients a search is restricted to (None: no restriction); unknown or foreign ones match nothing."""
    if ref is None and ident is None:
        return None
    repo, site = FhirRepository(session), _scope(principal)
    ids = {p.id for p in repo.patients(site, token_value(ident), 200)} if ident is not None else None
    if ref is not None:
        pid = reference_id(ref, "Patient")
        own = {pid} if pid is not None and repo.patient(pid, site) is not None else set()
        ids = own if ids is None else ids & own
    return sorted(ids or ())


def _study_resources(session: Session, study: Study, request: Request, settings_base: str) -> tuple[
        dict[str, Any], list[dict[str, Any]]]:
    report = ReadingRepository(session).reports(study.id)[0]
    signer = UserRepository(session).get(report.author_id)
    base = settings_base or str(request.base_url).rstrip("/")
    dr = res.diagnostic_report(study, report, signer, order_for_study(session, study, link=False),
                               f"{base}/api/v1/studies/{study.id}/report.pdf")
    return dr, res.observations(study, report, signer)


def _study(session: Session, principal: Principal, study_id: uuid.UUID) -> Study:
    """The signed study behind a DiagnosticReport id, within the caller's sites."""
    site = _scope(principal)
    study = StudyRepository(session).get(study_id) if site is None else \
        StudyRepository(session).get_for_site(study_id, site)
    if study is None or not ReadingRepository(session).reports(study_id):
        raise NotFound("no such DiagnosticReport")
    return study


@router.get("/Patient/{patient_id}")
def read_patient(patient_id: RowId, session: SessionDep, principal: ClinicOrAdmin) -> JSONResponse:
    p = FhirRepository(session).patient(patient_id, _scope(principal))
    if p is None:
        raise NotFound("no such Patient")
    return _answer(session, principal, res.patient(p, session.get_one(Site, p.site_id)), "read")


@router.get("/Patient")
def search_patients(request: Request, session: SessionDep, principal: ClinicOrAdmin, count: Count = 50,
                    identifier: Annotated[str | None, Query(max_length=100)] = None) -> JSONResponse:
    found = FhirRepository(session).patients(_scope(principal), token_value(identifier), count)
    bundle = _bundle(request, [res.patient(p, session.get_one(Site, p.site_id)) for p in found])
    return _search_answer(session, principal, bundle, "Patient", request)


def _search_answer(session: Session, principal: Principal, bundle: dict[str, Any], type_: str,
                   request: Request) -> JSONResponse:
    AuditRepository(session).add(actor=principal.actor, actor_site_id=principal.site_id, action="fhir.search",
                                 object_type=type_, object_id=request.url.query[:200])
    return JSONResponse(res.validated(bundle), media_type=FHIR_JSON)


@router.get("/ServiceRequest/{order_id}")
def read_service_request(order_id: RowId, session: SessionDep, principal: ClinicOrAdmin) -> JSONResponse:
    order, site = OrderRepository(session).get(order_id), _scope(principal)
    if order is None or (site is not None and order.site_id != site):
        raise NotFound("no such ServiceRequest")
    return _answer(session, principal, res.service_request(order), "read")


@router.get("/ServiceRequest")
def search_service_requests(request: Request, ctx: CtxDep, session: SessionDep, principal: ClinicOrAdmin,
                            patient: PatientRef = None, patient_identifier: PatientIdent = None,
                            occurrence: Occurrence = None, count: Count = 50) -> JSONResponse:
    lo, hi = date_range(occurrence or [], ctx.settings.hl7_local_utc_offset_min)
    orders = OrderRepository(session).search(
        site_id=_scope(principal), status=None, patient_ids=_patient_ids(session, principal, patient,
                                                                         patient_identifier),
        requested_from=lo, requested_to=hi, limit=count)
    return _search_answer(session, principal, _bundle(request, [res.service_request(o) for o in orders]),
                          "ServiceRequest", request)


@router.get("/DiagnosticReport/{study_id}")
def read_diagnostic_report(study_id: uuid.UUID, request: Request, ctx: CtxDep, session: SessionDep,
                           principal: ClinicOrAdmin) -> JSONResponse:
    study = _study(session, principal, study_id)
    return _answer(session, principal, _study_resources(session, study, request, ctx.settings.public_base_url)[0],
                   "read")


def _reported(request: Request, ctx: CtxDep, session: Session, principal: Principal, patient: str | None,
              ident: str | None, date: list[str] | None, count: int) -> list[Study]:
    lo, hi = date_range(date or [], ctx.settings.hl7_local_utc_offset_min)
    return FhirRepository(session).reported_studies(_scope(principal), _patient_ids(session, principal, patient,
                                                                                    ident), lo, hi, count)


@router.get("/DiagnosticReport")
def search_diagnostic_reports(request: Request, ctx: CtxDep, session: SessionDep, principal: ClinicOrAdmin,
                              patient: PatientRef = None, patient_identifier: PatientIdent = None,
                              date: Dates = None, count: Count = 50) -> JSONResponse:
    studies = _reported(request, ctx, session, principal, patient, patient_identifier, date, count)
    reports = [_study_resources(session, s, request, ctx.settings.public_base_url)[0] for s in studies]
    return _search_answer(session, principal, _bundle(request, reports), "DiagnosticReport", request)


@router.get("/Observation/{observation_id}")
def read_observation(observation_id: Annotated[str, Path(max_length=64)], request: Request, ctx: CtxDep,
                     session: SessionDep, principal: ClinicOrAdmin) -> JSONResponse:
    try:
        study_id = uuid.UUID(observation_id[:36])
    except ValueError:
        raise NotFound("no such Observation") from None
    study = _study(session, principal, study_id)
    match = [o for o in _study_resources(session, study, request, ctx.settings.public_base_url)[1]
             if o["id"] == observation_id]
    if not match:
        raise NotFound("no such Observation")
    return _answer(session, principal, match[0], "read")


@router.get("/Observation")
def search_observations(request: Request, ctx: CtxDep, session: SessionDep, principal: ClinicOrAdmin,
                        patient: PatientRef = None, patient_identifier: PatientIdent = None, date: Dates = None,
                        code: Annotated[str | None, Query(max_length=100, description="[http://loinc.org|]code")]
                        = None, count: Count = 50) -> JSONResponse:
    studies = _reported(request, ctx, session, principal, patient, patient_identifier, date, count)
    wanted = token_value(code)
    found = [o for s in studies for o in _study_resources(session, s, request, ctx.settings.public_base_url)[1]
             if wanted is None or o["code"]["coding"][0]["code"] == wanted]
    return _search_answer(session, principal, _bundle(request, found[: count]), "Observation", request)
