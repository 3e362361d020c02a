"""Intake's HTTP face: the public reports API, reporting centres' batch API, and the internal personal-data API.

Routes are thin: authenticate, rate-limit, call the application, map its exceptions to problems.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.exc import OperationalError

from services.intake.application import (
    IdempotencyConflict,
    IntakeApp,
    Receipt,
    StatusView,
    SubmitReport,
    UnknownReport,
    Withdrawn,
)
from services.intake.deps import (
    IntakeDep,
    PersonalDataReader,
    SubmitterDep,
    TokenDep,
    parts_of,
    public_limit,
    submitter,
)
from services.intake.domain import ReportIn, ReportRejected, Status, UpdateIn
from services.intake.pages import FIGURES
from services.intake.writer import StoreUnavailable
from shared.crypto import KeyDestroyed
from shared.events.reports import ReadPurpose
from shared.personal import PersonalData
from shared.problems import (
    Conflict,
    Gone,
    NotFound,
    Unauthorized,
    Unavailable,
    Unprocessable,
    field_errors,
    json_body,
)

router = APIRouter()
REFERENCE = Annotated[str, Path(min_length=6, max_length=16, pattern="^[A-Za-z0-9]+$",
                                description="the reference given at submission")]


class Accepted(BaseModel):
    reference: str = Field(description="short, readable reference to quote when following up",
                           examples=["QH7DKT4MXA"])
    status_url: str = Field(description="GET it with the follow-up token to see progress")
    follow_up_token: str = Field(description="secret: shown only now; send as 'Authorization: Bearer <token>'")
    warnings: list[str] = Field(default_factory=list, description="what intake discarded, and why")
    external_reference: str | None = Field(None, description="the reporting centre's own reference, echoed")


class SharedWithPolice(BaseModel):
    """The reporter asked that the police not be given the report; a risk to someone's life overrode that."""

    reason: Literal["risk_to_life"] = "risk_to_life"
    rule: str = Field(description="the triage rule that shared it (`threat_to_life`)")
    police_force: str = Field(description="the police force that has the report")
    contact: str = Field(description="where the reporter can reach that force, quoting their reference")
    emergency: str = Field(description="the number to call in an emergency")


class ReportStatus(BaseModel):
    reference: str
    status: Status = Field(description="received, triaged, with_the_police or closed")
    received_at: str
    updated_at: str
    updates: int = Field(description="how many follow-ups the reporter has added")
    shared_with_police: SharedWithPolice | None = Field(
        None, description="set when a report kept from the police was shared with them to protect someone's life")


class BatchIn(BaseModel):
    reports: list[dict[str, Any]] = Field(
        min_length=1, max_length=100, description="up to 100 reports, each shaped like POST /v1/reports",
        json_schema_extra={"items": {"$ref": "#/components/schemas/ReportIn"}})


class FieldProblemOut(BaseModel):
    field: str = Field(description="where in the batch, e.g. reports.3.incident.types")
    pointer: str = Field(description="the same as a JSON pointer, e.g. /reports/3/incident/types")
    message: str
    code: str


class ItemProblem(BaseModel):
    """Why one report of a batch was not accepted, in problem+json's members (RFC 9457)."""

    title: str
    status: int
    detail: str
    errors: list[FieldProblemOut] | None = Field(None, description="each field to correct (422)")


class BatchItem(BaseModel):
    index: int
    status: int = Field(description="202 accepted, 409 conflict, 422 rejected")
    external_reference: str | None = None
    accepted: Accepted | None = None
    problem: ItemProblem | None = None


class BatchResult(BaseModel):
    accepted: int
    rejected: int
    results: list[BatchItem]


def accepted(request: Request, receipt: Receipt) -> Accepted:
    base = parts_of(request).settings.public_base_url.rstrip("/")
    return Accepted(reference=receipt.reference, status_url=f"{base}/v1/reports/{receipt.reference}",
                    follow_up_token=receipt.follow_up_token, warnings=receipt.warnings,
                    external_reference=receipt.external_reference)


def rejected(e: ReportRejected, prefix: str = "") -> Unprocessable:
    errors = [{"field": prefix + p.field, "pointer": "/" + (prefix + p.field).replace(".", "/"),
               "message": p.message, "code": p.code} for p in e.problems]
    return Unprocessable("Please correct: " + ", ".join(err["field"] for err in errors), errors=errors)


def unavailable() -> Unavailable:
    """The database is down or restarting: the report was not accepted, and the client may send it again."""
    return Unavailable("reports cannot be stored at the moment; please send the report again in a few seconds",
                       headers={"Retry-After": RETRY_AFTER})


RETRY_AFTER = "5"  # seconds: a database restart takes a few
IDEMPOTENCY_MAX = 200
IDEMPOTENCY_TEXT = ("the same key and body give the same answer and one report; the same key with another body "
                    "gives 409")
# POST /v1/reports reads its body and headers itself (ADR 0016); this documents them as FastAPI would.
REPORT_OPERATION: dict[str, Any] = {
    "requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/ReportIn"}}}},
    "parameters": [{"name": "idempotency-key", "in": "header", "required": False, "description": IDEMPOTENCY_TEXT,
                    "schema": {"anyOf": [{"type": "string", "maxLength": IDEMPOTENCY_MAX}, {"type": "null"}],
                               "description": IDEMPOTENCY_TEXT, "title": "Idempotency-Key"}}],
    "security": [{"APIKeyHeader": []}],
}


class OwnHandlerRoute(APIRoute):
    """A route whose endpoint takes the Request and returns its Response itself (ADR 0016).

    FastAPI documents and routes it like any other operation; at request time it calls the endpoint
    directly, with no dependency solving (which parses query string, headers and cookies for every
    request) and no response serialisation.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint: Callable[[Request], Coroutine[Any, Any, Response]] = self.endpoint
        return endpoint


async def submit_report(request: Request) -> Response:
    # The hottest route reads its body and headers and writes its answer itself (ADR 0016): FastAPI's
    # dependency solving, body handling (decode to a dict, then validate) and response handling (validate
    # the returned model again, then encode) cost more CPU than intake's own work. Contract, errors and
    # OpenAPI (REPORT_OPERATION) are the same.
    headers = request.headers
    idempotency_key = headers.get("idempotency-key")
    if idempotency_key is not None and len(idempotency_key) > IDEMPOTENCY_MAX:
        raise RequestValidationError([{
            "type": "string_too_long", "loc": ("header", "idempotency-key"), "input": idempotency_key,
            "msg": f"String should have at most {IDEMPOTENCY_MAX} characters", "ctx": {"max_length": IDEMPOTENCY_MAX}}])
    who = await submitter(request, headers.get("x-api-key"))
    report = json_body(ReportIn, await request.body(), headers.get("content-type"))
    app: IntakeApp = parts_of(request).app
    try:
        receipt = await app.submit_async(SubmitReport(report=report, submitter=who, idempotency_key=idempotency_key))
    except ReportRejected as e:
        raise rejected(e) from e
    except IdempotencyConflict as e:
        raise Conflict("this Idempotency-Key was already used with a different report") from e
    except (StoreUnavailable, OperationalError) as e:
        raise unavailable() from e
    return Response(accepted(request, receipt).model_dump_json().encode(), status_code=202,
                    media_type="application/json")


router.add_api_route(
    "/v1/reports", submit_report, methods=["POST"], route_class_override=OwnHandlerRoute, status_code=202,
    response_model=Accepted, tags=["reports"], summary="Report a hate crime or hate incident",
    openapi_extra=REPORT_OPERATION,
    responses={401: {"description": "an API key was given and is not valid"},
               409: {"description": "the Idempotency-Key was used with a different report"},
               413: {"description": "the body is too large"},
               415: {"description": "the body is not JSON"},
               422: {"description": "invalid report: every bad field is named"},
               429: {"description": "too many requests; see Retry-After"},
               503: {"description": "the report could not be stored now; see Retry-After"}})


@router.post("/v1/reports:batch", response_model=BatchResult, tags=["reporting centres"],
             summary="Submit up to 100 reports at once (reporting centres)",
             description="Each item is accepted or rejected on its own. An item's `external_reference` is its "
                         "idempotency key: sending the same batch again gives the same answers and no duplicates.",
             responses={401: {"description": "no valid API key"}, 413: {"description": "the body is too large"},
                        422: {"description": "the batch itself is malformed"},
                        429: {"description": "too many requests; see Retry-After"},
                        503: {"description": "the reports could not be stored now; see Retry-After"}})
def submit_batch(batch: BatchIn, request: Request, app: IntakeDep, who: SubmitterDep) -> BatchResult:
    if who.centre_id is None:
        raise Unauthorized("batch submission needs a reporting centre's API key",
                           headers={"WWW-Authenticate": "ApiKey"})
    parsed: dict[int, ReportIn] = {}
    results: dict[int, BatchItem] = {}
    for i, raw in enumerate(batch.reports):
        try:
            parsed[i] = ReportIn.model_validate(raw)
        except ValidationError as e:
            errors = [{**err, "field": f"reports.{i}." + err["field"], "pointer": f"/reports/{i}" + err["pointer"]}
                      for err in field_errors(e)]  # type: ignore[arg-type]
            results[i] = BatchItem(index=i, status=422, external_reference=_ext(raw), problem=_problem(422, errors))
    cmds = [SubmitReport(report=r, submitter=who, idempotency_key=f"ext:{r.external_reference}"
                         if r.external_reference else None) for r in parsed.values()]
    for i, outcome in zip(parsed, app.submit_many(cmds), strict=True):
        results[i] = batch_item(request, i, parsed[i].external_reference, outcome)
    ordered = [results[i] for i in range(len(batch.reports))]
    ok = sum(1 for r in ordered if r.status == 202)
    return BatchResult(accepted=ok, rejected=len(ordered) - ok, results=ordered)


def _ext(raw: dict[str, Any]) -> str | None:
    value = raw.get("external_reference")
    return value if isinstance(value, str) else None


def batch_item(request: Request, index: int, ext: str | None, outcome: Receipt | Exception) -> BatchItem:
    if isinstance(outcome, ReportRejected):
        return BatchItem(index=index, status=422, external_reference=ext,
                         problem=_problem(422, rejected(outcome, f"reports.{index}.").extra["errors"]))
    if isinstance(outcome, IdempotencyConflict):
        return BatchItem(index=index, status=409, external_reference=ext, problem=ItemProblem(
            title="Conflict", status=409, detail="this external_reference was already used for a different report"))
    if isinstance(outcome, (StoreUnavailable, OperationalError)):
        raise unavailable() from outcome
    if isinstance(outcome, Exception):
        raise outcome
    return BatchItem(index=index, status=202, external_reference=ext, accepted=accepted(request, outcome))


def _problem(status: int, errors: list[dict[str, Any]]) -> ItemProblem:
    return ItemProblem(title="Invalid report", status=status,
                       detail="Please correct: " + ", ".join(e["field"] for e in errors[:10]),
                       errors=[FieldProblemOut.model_validate(e) for e in errors])


def view(s: StatusView) -> ReportStatus:
    shared = SharedWithPolice(rule=s.safeguarding_override, police_force=s.police_force or "",
                              contact=FIGURES["non_emergency_number"], emergency=FIGURES["emergency_number"]
                              ) if s.safeguarding_override else None
    return ReportStatus(reference=s.reference, status=s.status, received_at=s.received_at,
                        updated_at=s.updated_at, updates=s.updates, shared_with_police=shared)


NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "no report with this reference and token (the two are not told apart)"},
             429: {"description": "too many requests; see Retry-After"}}


@router.get("/v1/reports/{reference}", response_model=ReportStatus, tags=["follow-up"],
            summary="The reporter's view of a report's progress",
            responses={**NOT_FOUND, 410: {"description": "the report was erased"}},
            dependencies=[Depends(public_limit)])
def report_status(reference: REFERENCE, app: IntakeDep, token: TokenDep) -> JSONResponse:
    try:
        status = app.status(reference, token.credentials if token else None)
    except UnknownReport as e:
        raise NotFound("no report with this reference and token") from e
    except KeyDestroyed as e:
        raise Gone("this report was erased") from e
    return JSONResponse(view(status).model_dump(mode="json"), headers={"Cache-Control": "no-store"})


@router.post("/v1/reports/{reference}/updates", status_code=202, response_model=ReportStatus,
             tags=["follow-up"], summary="Add follow-up information to a report",
             responses={**NOT_FOUND, 409: {"description": "the report was withdrawn"},
                        410: {"description": "the report was erased"},
                        413: {"description": "the body is too large"}, 422: {"description": "invalid update"}},
             dependencies=[Depends(public_limit)])
def add_update(reference: REFERENCE, update: Annotated[UpdateIn, Body()], app: IntakeDep,
               token: TokenDep) -> ReportStatus:
    try:
        return view(app.add_update(reference, token.credentials if token else None, update))
    except UnknownReport as e:
        raise NotFound("no report with this reference and token") from e
    except KeyDestroyed as e:
        raise Gone("this report was erased") from e
    except Withdrawn as e:
        raise Conflict("this report was withdrawn: nothing more can be added to it") from e


@router.get("/internal/v1/reports/{report_id}/personal", tags=["internal"],
            summary="Personal data of a report, for triage and notify only; every read is recorded",
            response_model=PersonalData,
            description="Each read is recorded, before the data leaves intake, as `vigil.report.personal_data_read.v1`"
                        ": the calling service (as its credential says), `purpose` and `on_behalf_of`.",
            responses={401: {"description": "no Vigil service's credential"},
                       403: {"description": "a service that may not read personal data (assessment)"},
                       404: {"description": "no such report"}, 410: {"description": "the report was erased"}})
def personal_data(report_id: Annotated[str, Path(max_length=64)], app: IntakeDep, service: PersonalDataReader,
                  purpose: Annotated[ReadPurpose, Query(description="why the service reads it")],
                  on_behalf_of: Annotated[str | None, Query(min_length=1, max_length=120, description=(
                      "the staff account that asked (a staff view)"))] = None) -> JSONResponse:
    try:
        data: dict[str, Any] = app.personal_data(report_id, service, purpose, on_behalf_of)
    except UnknownReport as e:
        raise NotFound("no such report") from e
    except KeyDestroyed as e:
        raise Gone("this report was erased") from e
    return JSONResponse(data, headers={"Cache-Control": "no-store"})
