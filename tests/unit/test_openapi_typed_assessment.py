"""Assessment's typed answers (every service's are checked for untyped fields by tests/unit/test_openapi_typed.py):
the routes that negotiate JSON or HTML document both, and the answers' models write what the handlers did
before they were typed, null and absent fields included."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from types import SimpleNamespace
from typing import Any

import pytest
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


@pytest.fixture(scope="module")
def openapi() -> Iterator[dict[str, Any]]:
    vigil = VigilSettings(environment="test", kafka_bootstrap="127.0.0.1:1", topic_prefix="unused.")
    assessment = build(vigil, AssessmentSettings(database_url="sqlite://"))
    yield create_app(assessment, with_worker=False).openapi()
    assessment.db.dispose()


def test_the_routes_that_negotiate_document_both_answers_the_json_one_typed(openapi: dict[str, Any]) -> None:
    for path in NEGOTIATED:
        content = openapi["paths"][path]["get"]["responses"]["200"]["content"]
        assert set(content) == {"application/json", "text/html"}, path
        assert content["application/json"]["schema"]["$ref"].startswith("#/components/schemas/"), path
        assert content["text/html"]["schema"] == {"type": "string"}, path


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
