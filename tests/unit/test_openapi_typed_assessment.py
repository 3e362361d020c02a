"""Assessment's OpenAPI document types every JSON answer: each 2xx application/json response of each route has a
schema that names its fields, all the way down (no bare object, no array of bare objects, no value of any shape),
so schemathesis (tests/integration/test_service_fuzz.py) checks the answers against what they really are. A new
route answering an untyped `dict` fails here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from services.assessment.answers import TimelineOut
from services.assessment.main import build, create_app
from services.assessment.projection import IncidentFacts, ReportFacts
from services.assessment.queries import incident_item, report_item
from services.assessment.settings import AssessmentSettings
from services.assessment.sites.answers import DrillsOut, RecordOut, TaskingOut, answer
from services.assessment.sites.checks import record_document
from services.assessment.sites.facts import OutcomeFacts
from services.assessment.sites.guidance import PROCEDURES, load_guidance_file
from services.assessment.sites.tasking import Change, Task, Tasking, Window
from shared.settings import VigilSettings

Schema = dict[str, Any]
NEGOTIATED = ("/v1/sites/{site_id}/plan", "/v1/tasking")   # JSON, or HTML for Accept: text/html


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
    components = document.get("components", {}).get("schemas", {})
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation.get("responses", {}).items():
                json_answer = response.get("content", {}).get("application/json")
                if status.startswith("2") and json_answer is not None:
                    found += untyped(json_answer.get("schema", {}), components, f"{method.upper()} {path} {status}")
    return found


@pytest.fixture(scope="module")
def openapi() -> Iterator[dict[str, Any]]:
    vigil = VigilSettings(environment="test", kafka_bootstrap="127.0.0.1:1", topic_prefix="unused.")
    assessment = build(vigil, AssessmentSettings(database_url="sqlite://"))
    yield create_app(assessment, with_worker=False).openapi()
    assessment.db.dispose()


def test_every_json_answer_of_every_route_is_typed_all_the_way_down(openapi: dict[str, Any]) -> None:
    assert untyped_answers(openapi) == []


def test_the_routes_that_negotiate_document_both_answers_the_json_one_typed(openapi: dict[str, Any]) -> None:
    for path in NEGOTIATED:
        content = openapi["paths"][path]["get"]["responses"]["200"]["content"]
        assert set(content) == {"application/json", "text/html"}, path
        assert content["application/json"]["schema"]["$ref"].startswith("#/components/schemas/"), path
        assert content["text/html"]["schema"] == {"type": "string"}, path


def test_the_check_finds_an_untyped_answer_at_the_top_or_nested() -> None:
    class Loose(BaseModel):
        name: str
        extra: dict[str, Any]
        rows: list[dict[str, Any]]

    app = FastAPI()

    @app.get("/bare")
    def bare() -> dict[str, Any]:
        return {}

    @app.get("/rows")
    def rows() -> list[dict[str, Any]]:
        return []

    @app.get("/loose", response_model=Loose)
    def loose() -> dict[str, Any]:
        return {}

    @app.get("/anything", response_model=None, responses={200: {"content": {"application/json": {}}}})
    def anything() -> dict[str, Any]:
        return {}

    @app.get("/fine", response_model=DrillsOut)
    def fine() -> dict[str, Any]:
        return {}

    assert sorted(untyped_answers(app.openapi())) == [
        "GET /anything 200: any value",
        "GET /bare 200: an object without properties",
        "GET /loose 200 (Loose).extra: an object without properties",
        "GET /loose 200 (Loose).rows[]: an object without properties",
        "GET /rows 200[]: an object without properties",
    ]


def test_the_readiness_answer_names_a_drill_for_each_procedure_of_the_guidance() -> None:
    assert tuple(DrillsOut.model_fields) == PROCEDURES


AT = datetime(2027, 1, 13, 18, 0, 5, 120000, tzinfo=UTC)


def sent_unchanged(model: type[BaseModel], document: dict[str, Any]) -> None:
    """The answer, checked against its model, is the JSON the route wrote before it was typed: no field dropped,
    renamed or added, a missing one still missing, moments still written by `isoformat()`."""
    assert answer(model, document) == json.loads(json.dumps(document))


def test_a_timeline_answers_both_kinds_of_item_with_their_empty_fields_as_before() -> None:
    report = ReportFacts(report_id="r1", reference="V00001", area="E23000005", district=None, occurred_at=AT,
                         submitted_at=AT, updated_at=AT, sequence=2, types=("graffiti",), strands=(), religion=None,
                         place_type="street", place_fp=None, injuries="none", weapon=False, ongoing=False,
                         vulnerable=False, repeat=False, grading="2AC", channel="web", role="victim")
    incident = IncidentFacts("i1", "r0", "E23000005", "P2", True, "open", AT, AT, ())
    sent_unchanged(TimelineOut, {"area": "E23000005", "from": "2027-01-12", "to": "2027-01-13",
                                 "items": [report_item(report), incident_item(incident, None)]})


def test_a_records_words_are_absent_for_those_who_may_not_read_them_and_null_when_there_are_none() -> None:
    guidance = load_guidance_file(None)
    found = OutcomeFacts("o1", "s1", "building_check", "issues_found", "lighting", AT, AT, "lee", "page",
                         resolved_at=AT, resolved_by="sup")
    done = OutcomeFacts("o2", "s1", "no_such_routine", "done", None, AT, AT, "lee", "link")
    for document in (record_document(found, guidance), record_document(done, guidance),
                     record_document(found, guidance, "a broken lamp", None, with_words=True)):
        sent_unchanged(RecordOut, document)
    assert "notes" not in answer(RecordOut, record_document(done, guidance))
    assert answer(RecordOut, record_document(done, guidance, None, None, with_words=True))["notes"] is None


def test_a_tasking_list_answers_a_supervisors_change_only_where_there_is_one() -> None:
    def task(site_id: str, change: Change | None = None) -> Task:
        return Task(f"t-{site_id}", site_id, "Central Mosque", "muslim", "M13", "moderate", 9,
                    (Window(time(13, 15), time(14, 45), "Friday prayers"),), ("risk 6",), change,
                    (SimpleNamespace(visited_at=AT, visited_by="nina"),))

    dropped = Change("s2", False, "visited yesterday", "sup", AT)
    tasking = Tasking("E23000005", date(2027, 1, 15), (task("s1"),), (task("s2", dropped),), (task("s3"),))
    document = {**tasking.document(), "team": None, "as_of": AT.isoformat()}
    sent_unchanged(TaskingOut, document)
    sent = answer(TaskingOut, document)
    assert "change" not in sent["tasks"][0] and sent["dropped"][0]["change"]["change"] == "dropped"
