"""Intake's HTTP face: the public reports API and the internal personal-data API for services."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from services.intake.application import (
    IdempotencyConflict,
    IntakeApp,
    Receipt,
    SubmitReport,
    Submitter,
    UnknownReport,
)
from services.intake.domain import ReportIn, ReportRejected
from shared.crypto import KeyDestroyed
from shared.events.reports import Channel
from shared.problems import Conflict, Gone, NotFound, Unauthorized, Unprocessable

router = APIRouter()


class Accepted(BaseModel):
    reference: str
    status_url: str
    follow_up_token: str
    warnings: list[str] = []


def intake_app(request: Request) -> IntakeApp:
    app: IntakeApp = request.app.state.intake.app
    return app


IntakeDep = Annotated[IntakeApp, Depends(intake_app)]


def accepted(request: Request, receipt: Receipt) -> Accepted:
    base = request.app.state.intake.settings.public_base_url.rstrip("/")
    return Accepted(reference=receipt.reference, status_url=f"{base}/v1/reports/{receipt.reference}",
                    follow_up_token=receipt.follow_up_token, warnings=receipt.warnings)


@router.post("/v1/reports", status_code=202, response_model=Accepted, tags=["reports"],
             summary="Report a hate crime or hate incident")
def submit_report(report: ReportIn, request: Request, app: IntakeDep,
                  idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> Accepted:
    cmd = SubmitReport(report=report, submitter=Submitter(channel=Channel.api), idempotency_key=idempotency_key)
    try:
        receipt = app.submit(cmd)
    except ReportRejected as e:
        raise Unprocessable(e.message, errors=[{"field": e.field, "pointer": "/" + e.field.replace(".", "/"),
                                                "message": e.message, "code": "rejected"}]) from e
    except IdempotencyConflict as e:
        raise Conflict("this Idempotency-Key was already used with a different report") from e
    return accepted(request, receipt)


def require_service(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    expected = request.app.state.intake.vigil.service_token.get_secret_value()
    given = (authorization or "").removeprefix("Bearer ").strip()
    if not given or not hmac.compare_digest(given, expected):
        raise Unauthorized("a service credential is required", headers={"WWW-Authenticate": "Bearer"})


@router.get("/internal/v1/reports/{report_id}/personal", tags=["internal"],
            dependencies=[Depends(require_service)], summary="Personal data of a report, for services only")
def personal_data(report_id: str, app: IntakeDep) -> JSONResponse:
    try:
        data: dict[str, Any] = app.personal_data(report_id)
    except UnknownReport as e:
        raise NotFound("no such report") from e
    except KeyDestroyed as e:
        raise Gone("this report was erased") from e
    return JSONResponse(data, headers={"Cache-Control": "no-store"})
