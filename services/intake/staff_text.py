"""What staff write about a report, sealed and opened with the report's own data key, for triage (ADR 0055).

The reports' master key is intake's alone, so triage cannot seal with a report's data key itself: it asks here,
with its service credential, and puts only the sealed value in its events (override and regrade reasons, the
notes and actions of a community impact assessment). Erasure deletes the report's key: from then on every copy
of that text, on `vigil.incidents.v1` and in triage's event log, is unreadable, and these routes answer 410.

Nothing is stored here and nothing personal is answered: the text is what staff wrote, handed back to them.
It is sealed for a purpose of its own (the associated data names it), so the reporter's own sealed data, which
triage reads only through the recorded personal-data route, does not open here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.intake.application import IntakeApp, UnknownReport, data_key
from services.intake.deps import IntakeDep, StaffTextCaller
from shared.crypto import KeyDestroyed, open_sealed, seal
from shared.events.reports import Sealed
from shared.problems import Gone, NotFound, Unprocessable

staff_text_router = APIRouter(tags=["internal"])
ERRORS: dict[int | str, dict[str, str]] = {
    401: {"description": "no Vigil service's credential"}, 403: {"description": "a service other than triage"},
    404: {"description": "no such report"}, 410: {"description": "the report was erased: its key is gone"}}
ReportId = Annotated[str, Path(max_length=64)]


def purpose(report_id: str) -> str:
    """The associated data staff text is sealed under: the report, and that it is staff text."""
    return f"{report_id}#staff-text"


class ToSeal(BaseModel):
    fields: dict[str, Annotated[str, Field(max_length=10_000)]] = Field(
        min_length=1, max_length=10, description="the text to seal, by name (`reason`, `notes`, ...)")


class SealedText(BaseModel):
    sealed: Sealed


class ToOpen(BaseModel):
    sealed: list[Sealed] = Field(min_length=1, max_length=200, description="values sealed for this report")


class OpenedText(BaseModel):
    fields: list[dict[str, str]] = Field(description="each value's fields, in the order asked")


def _key(app: IntakeApp, report_id: str) -> bytes:
    with app.db.snapshot() as s:
        try:
            return data_key(s, app.master_key, report_id)
        except UnknownReport as e:
            raise NotFound("no such report") from e
        except KeyDestroyed as e:
            raise Gone("this report was erased") from e


@staff_text_router.post("/internal/v1/reports/{report_id}/staff-text:seal", response_model=SealedText,
                        summary="Seal text staff wrote about a report with the report's data key (triage only)",
                        responses=ERRORS)
def seal_text(report_id: ReportId, body: ToSeal, app: IntakeDep, _caller: StaffTextCaller) -> JSONResponse:
    sealed = seal(_key(app, report_id), purpose(report_id), dict(body.fields))
    return JSONResponse(SealedText(sealed=sealed).model_dump(mode="json"), headers={"Cache-Control": "no-store"})


@staff_text_router.post("/internal/v1/reports/{report_id}/staff-text:open", response_model=OpenedText,
                        summary="Open text sealed for a report, while its data key exists (triage only)",
                        responses={**ERRORS, 422: {"description": "a value not sealed for this report"}})
def open_text(report_id: ReportId, body: ToOpen, app: IntakeDep, _caller: StaffTextCaller) -> JSONResponse:
    key = _key(app, report_id)
    try:
        opened = [{k: str(v) for k, v in open_sealed(key, purpose(report_id), value).items()}
                  for value in body.sealed]
    except ValueError as e:  # SealBroken, or not even base64
        raise Unprocessable("a value was not sealed for this report") from e
    return JSONResponse(OpenedText(fields=opened).model_dump(mode="json"), headers={"Cache-Control": "no-store"})
