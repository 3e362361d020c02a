"""Every JSON answer a service documents has a schema with its fields, all the way down: no route answers a
bare object, nor one holding an object of anything.

A route that returns `dict[str, Any]`, or a `JSONResponse` with no response model, is documented as an object of
anything (or as nothing at all), so fuzzing its answers against the OpenAPI document (tests/integration/
test_service_fuzz.py) checks nothing. The services are built on SQLite, without their workers: only their
OpenAPI documents are read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from pydantic import BaseModel

from services.assessment.main import build as build_assessment
from services.assessment.main import create_app as assessment_app
from services.assessment.settings import AssessmentSettings
from services.intake.application import SubmitReport, Submitter
from services.intake.domain import ReportIn, UpdateIn
from services.intake.main import build as build_intake
from services.intake.main import create_app as intake_app
from services.intake.settings import IntakeSettings
from services.notify.main import build as build_notify
from services.notify.main import create_app as notify_app
from services.notify.settings import NotifySettings
from services.triage.main import build as build_triage
from services.triage.main import create_app as triage_app
from services.triage.settings import TriageSettings
from shared.events.reports import Channel
from shared.migrate import upgrade
from shared.personal import PersonalData
from shared.servicecalls import service_headers
from shared.settings import VigilSettings
from tests.factories import report_body

VIGIL = VigilSettings(environment="test")


def _triage(db: str) -> FastAPI:
    return triage_app(build_triage(VIGIL, TriageSettings(database_url=db, seal_staff_text=False)), with_worker=False)


def _notify(db: str) -> FastAPI:
    return notify_app(build_notify(VIGIL, NotifySettings(database_url=db)), with_worker=False)


def _intake(db: str) -> FastAPI:
    return intake_app(build_intake(VIGIL, IntakeSettings(database_url=db)), with_worker=False)


def _assessment(db: str) -> FastAPI:
    return assessment_app(build_assessment(VIGIL, AssessmentSettings(database_url=db)), with_worker=False)


SERVICES: dict[str, Callable[[str], FastAPI]] = {"triage": _triage, "notify": _notify, "intake": _intake,
                                                 "assessment": _assessment}


Schema = dict[str, Any]


def untyped(schema: Schema, components: dict[str, Schema], where: str, seen: frozenset[str] = frozenset()
            ) -> Iterator[str]:
    """Where in `schema` a value's shape is not described: an empty schema, an object without properties (or
    typed additional properties), an array without typed items."""
    ref = schema.get("$ref")
    if ref is not None:
        name = ref.rsplit("/", 1)[-1]
        if name not in seen:
            yield from untyped(components[name], components, f"{where} ({name})", seen | {name})
        return
    if not schema:
        yield f"{where}: any value"
        return
    for key in ("anyOf", "oneOf", "allOf"):
        for n, part in enumerate(schema.get(key, [])):
            yield from untyped(part, components, f"{where}|{n}", seen)
    if schema.get("type") == "object":
        properties: dict[str, Schema] = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        if not properties and (extra is None or extra is True or extra == {}):
            yield f"{where}: an object without properties"
        for name, part in properties.items():
            yield from untyped(part, components, f"{where}.{name}", seen)
        if isinstance(extra, dict) and extra:
            yield from untyped(extra, components, f"{where}{{}}", seen)
    if schema.get("type") == "array":
        yield from untyped(schema.get("items", {}), components, f"{where}[]", seen)


def untyped_answers(document: dict[str, Any]) -> list[str]:
    """Every place, all the way down, in a success answer in JSON whose shape its schema does not give."""
    components = document.get("components", {}).get("schemas", {})
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation.get("responses", {}).items():
                for media, content in answer.get("content", {}).items():
                    if status.startswith("2") and media.split(";")[0].endswith("json"):
                        found += untyped(content.get("schema", {}), components, f"{method.upper()} {path} {status}")
    return found


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_every_json_answer_of_the_service_names_its_fields(service: str, tmp_path: Path) -> None:
    app = SERVICES[service](f"sqlite:///{tmp_path / service}.db")
    assert untyped_answers(app.openapi()) == []


class _Typed(BaseModel):
    name: str


class _Loose(BaseModel):
    name: str
    extra: dict[str, Any]
    rows: list[dict[str, Any]]


def test_an_untyped_answer_is_found_at_the_top_or_nested() -> None:
    app = FastAPI()

    @app.get("/dict")
    def as_dict() -> dict[str, Any]:
        return {}

    @app.get("/list")
    def as_list() -> list[dict[str, Any]]:
        return []

    @app.get("/response")
    def as_response() -> JSONResponse:
        return JSONResponse({})

    @app.get("/loose", response_model=_Loose)
    def loose() -> dict[str, Any]:
        return {}

    @app.get("/typed", response_model=_Typed)
    def typed() -> JSONResponse:
        return JSONResponse({"name": "x"})

    @app.get("/typed-list")
    def typed_list() -> list[_Typed]:
        return []

    @app.get("/maybe")
    def maybe() -> _Typed | None:
        return None

    @app.get("/count")
    def count() -> int:
        return 0

    assert sorted(untyped_answers(app.openapi())) == [
        "GET /dict 200: an object without properties",
        "GET /list 200[]: an object without properties",
        "GET /loose 200 (_Loose).extra: an object without properties",
        "GET /loose 200 (_Loose).rows[]: an object without properties",
        "GET /response 200: any value",
    ]


def test_a_reports_personal_data_is_what_the_model_describes_and_nothing_more(tmp_path: Path) -> None:
    """Triage passes intake's answer on as it is (`GET /v1/incidents/{id}/personal`): every field intake seals,
    and the reporter's later updates, are named in the shared model."""
    url = f"sqlite:///{tmp_path / 'intake.db'}"
    upgrade("intake", url)
    intake = build_intake(VIGIL, IntakeSettings(database_url=url))
    body = report_body(reporter__phone="+447700900123", reporter__organisation="A small charity",
                       incident__online={"platform": "a forum", "url": "https://forum.example/t/1"},
                       external_reference="C-1")
    centre = Submitter(channel=Channel.centre, centre_id="centre-1")
    receipt = intake.app.submit(SubmitReport(report=ReportIn.model_validate(body), submitter=centre))
    intake.app.add_update(receipt.reference, receipt.follow_up_token, UpdateIn(information="they came back"))
    with TestClient(intake_app(intake, with_worker=False)) as client:
        answer = client.get(f"/internal/v1/reports/{receipt.report_id}/personal", params={"purpose": "staff_view"},
                            headers=service_headers(VIGIL, "triage"))
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert set(data) == set(PersonalData.model_fields)  # every field given, each one named by the model
    assert PersonalData.model_validate(data).model_dump(mode="json", exclude_none=True) == data
