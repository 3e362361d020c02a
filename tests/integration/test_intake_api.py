"""Intake's public and centre API over real HTTP (uvicorn) on PostgreSQL: every rule, every error."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from services.intake import tables
from services.intake.application import SubmitReport
from services.intake.domain import ReportIn, check_report
from services.intake.main import Intake, build, create_app
from services.intake.settings import IntakeSettings
from services.intake.writer import PendingReport
from shared.crypto import new_data_key
from shared.events.reports import ReadPurpose
from shared.eventstore import ConcurrencyError
from shared.migrate import upgrade
from shared.settings import VigilSettings
from tests.factories import report_body
from tests.support.asgi import serving
from tests.support.loops import on_a_loop_of_its_own

PROBLEM = "application/problem+json"


@contextmanager
def serve(intake: Intake) -> Iterator[str]:
    """The real ASGI stack on a real socket, in this process, without the Kafka worker."""
    with serving(create_app(intake, with_worker=False), lifespan="on", name="intake") as base:
        yield base


def new_intake(url: str, **settings: Any) -> Intake:
    vigil = VigilSettings(environment="test", kafka_bootstrap="127.0.0.1:1", topic_prefix="unused.")
    return build(vigil, IntakeSettings(database_url=url, **settings))


@pytest.fixture(scope="module")
def intake_url(postgres_admin_url: str) -> str:
    from tests.support.infra import create_database

    url = create_database(postgres_admin_url, "intake")
    upgrade("intake", url)
    return url


@pytest.fixture(scope="module")
def intake(intake_url: str) -> Intake:
    return new_intake(intake_url, rate_limit_enabled=False)


@pytest.fixture(scope="module")
def api(intake: Intake) -> Iterator[httpx.Client]:
    with serve(intake) as base, httpx.Client(base_url=base, timeout=10) as client:
        yield client


def events_of(intake: Intake, stream: str) -> list[Any]:
    with intake.db.sessions() as s:
        return intake.store.load(s, stream)


def count(intake: Intake, table: Any) -> int:
    with intake.db.sessions() as s:
        return int(s.execute(select(func.count()).select_from(table)).scalar_one())


def problem_fields(answer: httpx.Response) -> set[str]:
    assert answer.headers["content-type"] == PROBLEM, answer.text
    return {e["field"] for e in answer.json()["errors"]}


# -- acceptance ---------------------------------------------------------------------------------


def test_a_valid_report_is_accepted_with_a_readable_reference_and_stored_before_the_answer(
        api: httpx.Client, intake: Intake) -> None:
    answer = api.post("/v1/reports", json=report_body())
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert len(body["reference"]) == 10 and set(body["reference"]) <= set("ACDEFGHJKMNPQRTWXY34679")
    assert body["status_url"].endswith(f"/v1/reports/{body['reference']}")
    with intake.db.sessions() as s:
        row = s.execute(select(tables.reports).where(tables.reports.c.reference == body["reference"])).mappings().one()
    [event] = events_of(intake, row["report_id"])
    assert event.type == "vigil.report.submitted.v1"
    assert "Amina" not in str(event.data) and "East London Mosque" not in str(event.data)


def test_a_postcode_district_alone_resolves_to_its_force_area(api: httpx.Client, intake: Intake) -> None:
    answer = api.post("/v1/reports", json=report_body(incident__location={"postcode": "M1 1AE",
                                                                          "place_type": "street"}))
    assert answer.status_code == 202, answer.text
    with intake.db.sessions() as s:
        area = s.execute(select(tables.reports.c.area).where(
            tables.reports.c.reference == answer.json()["reference"])).scalar_one()
    assert area == intake.areas.area_for_postcode("M1")


def test_a_district_code_is_accepted_and_routed_to_its_force(api: httpx.Client, intake: Intake) -> None:
    area = next(a for a in intake.areas.all() if intake.areas.districts_of(a.code))
    district = intake.areas.districts_of(area.code)[0]
    answer = api.post("/v1/reports", json=report_body(incident__location={"area": district.code,
                                                                          "place_type": "street"}))
    assert answer.status_code == 202, answer.text
    with intake.db.sessions() as s:
        row = s.execute(select(tables.reports).where(
            tables.reports.c.reference == answer.json()["reference"])).mappings().one()
    [event] = events_of(intake, row["report_id"])
    assert event.data["incident"]["location"] == {"area": area.code, "district": district.code,
                                                  "place_type": "street"}


def test_contact_details_without_contact_consent_are_discarded_with_a_warning(api: httpx.Client) -> None:
    answer = api.post("/v1/reports", json=report_body(consent__contact=False, reporter__phone="07700 900123"))
    assert answer.status_code == 202
    assert answer.json()["warnings"] == ["contact details were discarded because contact consent was not given"]


def test_a_name_on_an_anonymous_report_is_discarded_with_a_warning(api: httpx.Client, intake: Intake) -> None:
    answer = api.post("/v1/reports", json=report_body(reporter__anonymous=True))
    assert answer.json()["warnings"] == ["the name was discarded because the report is anonymous"]


# -- every rule names its field ---------------------------------------------------------------

INVALID = [
    ({"incident__types": []}, "incident.types"),
    ({"incident__targeted_characteristics": []}, "incident.targeted_characteristics"),
    ({"incident__types": ["graffiti", "graffiti"]}, "incident.types"),
    ({"incident__types": ["shouting"]}, "incident.types.0"),
    ({"reporter__role": "bystander"}, "reporter.role"),
    ({"reporter__email": "not-an-email"}, "reporter.email"),
    ({"reporter__phone": "call me"}, "reporter.phone"),
    ({"reporter__preferred_language": "English!"}, "reporter.preferred_language"),
    ({"incident__injuries": "fatal"}, "incident.injuries"),
    ({"incident__religion_targeted": "pastafarian"}, "incident.religion_targeted"),
    ({"incident__vulnerabilities": ["tall"]}, "incident.vulnerabilities.0"),
    ({"incident__location": {"area": "E23000001", "place_type": "castle"}}, "incident.location.place_type"),
    ({"incident__description": "x" * 10001}, "incident.description"),
    ({"incident__occurred_at": "last tuesday"}, "incident.occurred_at"),
    ({"incident__weapon": "maybe"}, "incident.weapon"),
    ({"consent__contact": "yes please"}, "consent.contact"),
]


@pytest.mark.parametrize(("overrides", "field"), INVALID, ids=[f for _, f in INVALID])
def test_each_invalid_field_is_named_in_a_problem(api: httpx.Client, overrides: dict[str, Any], field: str) -> None:
    answer = api.post("/v1/reports", json=report_body(**overrides))
    assert answer.status_code == 422
    assert field in problem_fields(answer)


RULES = [
    ({"incident__occurred_at": "2099-01-01T10:00:00Z"}, "incident.occurred_at", "in_future"),
    ({"incident__occurred_at": "2026-01-01T10:00:00"}, "incident.occurred_at", "timezone_missing"),
    ({"incident__location": {"place_type": "online"}}, "incident.online", "required"),
    ({"incident__location": {"area": "E99999999", "place_type": "street"}}, "incident.location.area", "unknown_area"),
    ({"incident__location": {"postcode": "ZZ9 9ZZ", "place_type": "street"}}, "incident.location.area",
     "area_unresolved"),
    ({"incident__location": {"place_type": "street"}}, "incident.location.area", "required"),
    ({"incident__targeted_characteristics": ["race"]}, "incident.religion_targeted", "inconsistent"),
    ({"reporter__role": "organisation"}, "reporter.organisation", "required"),
    ({"external_reference": "TM-1"}, "external_reference", "not_allowed"),
]


@pytest.mark.parametrize(("overrides", "field", "code"), RULES, ids=[c for _, _, c in RULES])
def test_each_cross_field_rule_is_a_named_problem(api: httpx.Client, overrides: dict[str, Any], field: str,
                                                  code: str) -> None:
    answer = api.post("/v1/reports", json=report_body(**overrides))
    assert answer.status_code == 422, answer.text
    assert {(e["field"], e["code"]) for e in answer.json()["errors"]} >= {(field, code)}


def test_every_problem_in_a_report_is_named_at_once(api: httpx.Client) -> None:
    body = report_body(incident__occurred_at="2099-01-01T10:00:00Z",
                       incident__location={"area": "E99999999", "place_type": "online"})
    answer = api.post("/v1/reports", json=body)
    assert problem_fields(answer) == {"incident.occurred_at", "incident.online", "incident.location.area"}


def test_unknown_fields_are_rejected_not_dropped(api: httpx.Client) -> None:
    body = report_body()
    body["incident"]["location"]["gps"] = "51.5,-0.1"
    body["urgent"] = True
    assert problem_fields(api.post("/v1/reports", json=body)) == {"incident.location.gps", "urgent"}


def test_a_body_over_the_limit_gets_413_and_nothing_is_stored(api: httpx.Client, intake: Intake) -> None:
    before = count(intake, tables.reports)
    answer = api.post("/v1/reports", json=report_body(incident__description="x" * 70_000))
    assert answer.status_code == 413
    assert answer.headers["content-type"] == PROBLEM
    streamed = api.post("/v1/reports", content=iter([b"{" + b" " * 40_000, b" " * 40_000 + b"}"]),
                        headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    assert count(intake, tables.reports) == before


def test_malformed_json_is_a_problem_too(api: httpx.Client) -> None:
    answer = api.post("/v1/reports", content=b"{not json", headers={"content-type": "application/json"})
    assert answer.status_code == 422 and answer.headers["content-type"] == PROBLEM
    assert answer.json()["errors"][0]["code"] == "json_invalid"
    not_an_object = api.post("/v1/reports", content=b"[1, 2]", headers={"content-type": "application/json"})
    assert not_an_object.status_code == 422 and not_an_object.json()["errors"][0]["field"] == "(body)"


def test_a_body_that_is_not_json_gets_415_naming_the_type(api: httpx.Client, intake: Intake) -> None:
    before = count(intake, tables.reports)
    answer = api.post("/v1/reports", content=json.dumps(report_body()).encode(),
                      headers={"content-type": "text/plain"})
    assert answer.status_code == 415 and answer.headers["content-type"] == PROBLEM
    assert "application/json" in answer.json()["detail"] and "text/plain" in answer.json()["detail"]
    with_charset = api.post("/v1/reports", content=json.dumps(report_body()).encode(),
                            headers={"content-type": "application/json; charset=utf-8"})
    assert with_charset.status_code == 202, with_charset.text
    assert count(intake, tables.reports) == before + 1


# -- idempotency --------------------------------------------------------------------------------


def test_an_idempotency_key_over_200_characters_is_a_named_problem(api: httpx.Client, intake: Intake) -> None:
    before = count(intake, tables.reports)
    answer = api.post("/v1/reports", json=report_body(), headers={"Idempotency-Key": "k" * 201})
    assert answer.status_code == 422 and answer.headers["content-type"] == PROBLEM
    assert problem_fields(answer) == {"header.idempotency-key"}
    assert count(intake, tables.reports) == before


def test_the_same_idempotency_key_and_body_give_the_same_answer_and_one_report(
        api: httpx.Client, intake: Intake) -> None:
    body = report_body()
    before = count(intake, tables.reports)
    first = api.post("/v1/reports", json=body, headers={"Idempotency-Key": "family-1"})
    again = api.post("/v1/reports", json=body, headers={"Idempotency-Key": "family-1"})
    assert first.status_code == again.status_code == 202
    assert first.json() == again.json()
    assert count(intake, tables.reports) == before + 1


def test_concurrent_twins_with_one_key_make_one_report(api: httpx.Client, intake: Intake) -> None:
    body = report_body()
    before = count(intake, tables.reports)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: api.post("/v1/reports", json=body, headers={"Idempotency-Key": "twins"}),
                                range(8)))
    assert {a.status_code for a in answers} == {202}
    assert len({a.json()["reference"] for a in answers}) == 1
    assert count(intake, tables.reports) == before + 1


def test_the_same_key_with_a_different_body_is_a_conflict(api: httpx.Client) -> None:
    api.post("/v1/reports", json=report_body(), headers={"Idempotency-Key": "k-2"})
    answer = api.post("/v1/reports", json=report_body(incident__types=["arson"]), headers={"Idempotency-Key": "k-2"})
    assert answer.status_code == 409
    assert answer.headers["content-type"] == PROBLEM
    assert "Idempotency-Key" in answer.json()["detail"]


# -- follow-up ----------------------------------------------------------------------------------


def submitted(api: httpx.Client, **overrides: Any) -> tuple[str, dict[str, str]]:
    body = api.post("/v1/reports", json=report_body(**overrides)).json()
    return body["reference"], {"Authorization": f"Bearer {body['follow_up_token']}"}


def test_the_reporter_sees_the_status_with_the_follow_up_token(api: httpx.Client) -> None:
    reference, auth = submitted(api)
    answer = api.get(f"/v1/reports/{reference}", headers=auth)
    assert answer.status_code == 200
    assert answer.json()["status"] == "received" and answer.json()["reference"] == reference
    assert set(answer.json()) == {"reference", "status", "received_at", "updated_at", "updates", "shared_with_police"}
    assert answer.json()["shared_with_police"] is None  # set only after a safeguarding override
    assert answer.headers["cache-control"] == "no-store"


def test_a_wrong_or_missing_token_looks_exactly_like_an_unknown_reference(api: httpx.Client) -> None:
    reference, _ = submitted(api)
    wrong = api.get(f"/v1/reports/{reference}", headers={"Authorization": "Bearer guessed"})
    missing = api.get(f"/v1/reports/{reference}")
    unknown = api.get("/v1/reports/AAAAAAAAAA", headers={"Authorization": "Bearer guessed"})
    assert wrong.status_code == missing.status_code == unknown.status_code == 404
    assert wrong.json()["detail"] == missing.json()["detail"] == unknown.json()["detail"]


def test_follow_up_information_is_appended_as_an_amended_event(api: httpx.Client, intake: Intake) -> None:
    reference, auth = submitted(api)
    answer = api.post(f"/v1/reports/{reference}/updates", headers=auth,
                      json={"information": "He came back today with friends.", "ongoing": True})
    assert answer.status_code == 202, answer.text
    assert answer.json()["updates"] == 1
    with intake.db.sessions() as s:
        report_id = s.execute(select(tables.reports.c.report_id).where(
            tables.reports.c.reference == reference)).scalar_one()
    _submitted, amended = events_of(intake, report_id)
    assert amended.type == "vigil.report.amended.v1"
    assert amended.data["incident"]["ongoing"] is True
    assert "came back" not in str(amended.data)
    personal = intake.app.personal_data(report_id, "triage", ReadPurpose.staff_view)
    assert personal["updates"][0]["information"] == "He came back today with friends."
    assert personal["description"].startswith("Offensive graffiti")


def test_follow_up_with_a_wrong_token_changes_nothing(api: httpx.Client) -> None:
    reference, auth = submitted(api)
    answer = api.post(f"/v1/reports/{reference}/updates", headers={"Authorization": "Bearer nope"},
                      json={"information": "x"})
    assert answer.status_code == 404
    assert api.get(f"/v1/reports/{reference}", headers=auth).json()["updates"] == 0


def test_follow_up_rejects_unknown_fields(api: httpx.Client) -> None:
    reference, auth = submitted(api)
    answer = api.post(f"/v1/reports/{reference}/updates", headers=auth, json={"information": "x", "status": "closed"})
    assert problem_fields(answer) == {"status"}


# -- reporting centres --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def centre_key(intake: Intake) -> str:
    return intake.centres.issue("tell-mama", "test key", trusted=True).api_key


def test_api_keys_are_stored_only_as_hashes(intake: Intake, centre_key: str) -> None:
    with intake.db.sessions() as s:
        stored = [tuple(r) for r in s.execute(select(tables.api_keys))]
    secret = centre_key.rsplit("_", 1)[1]
    assert stored and all(secret not in str(row) for row in stored)


def test_a_centre_report_keeps_its_external_reference_and_is_graded_as_trusted(
        api: httpx.Client, intake: Intake, centre_key: str) -> None:
    answer = api.post("/v1/reports", json=report_body(external_reference="TM-2026-0042"),
                      headers={"X-API-Key": centre_key})
    assert answer.status_code == 202
    assert answer.json()["external_reference"] == "TM-2026-0042"
    with intake.db.sessions() as s:
        row = s.execute(select(tables.reports).where(
            tables.reports.c.reference == answer.json()["reference"])).mappings().one()
    assert (row["centre_id"], row["external_reference"]) == ("tell-mama", "TM-2026-0042")
    [event] = events_of(intake, row["report_id"])
    assert event.data["channel"] == "centre" and event.data["grading"]["source"] == "1"


def test_an_invalid_or_revoked_key_is_refused(api: httpx.Client, intake: Intake) -> None:
    issued = intake.centres.issue("centre-x", "to revoke")
    assert api.post("/v1/reports", json=report_body(), headers={"X-API-Key": issued.api_key}).status_code == 202
    intake.centres.revoke(issued.key_id)
    for key in (issued.api_key, "vigil_deadbeef_nope", "garbage"):
        answer = api.post("/v1/reports", json=report_body(), headers={"X-API-Key": key})
        assert answer.status_code == 401 and answer.headers["content-type"] == PROBLEM


def test_a_batch_gives_a_result_per_item_and_stores_only_the_good_ones(
        api: httpx.Client, intake: Intake, centre_key: str) -> None:
    good = [report_body(external_reference=f"B-{i}") for i in range(3)]
    bad = report_body(external_reference="B-bad", incident__types=[])
    future = report_body(external_reference="B-future", incident__occurred_at="2099-01-01T00:00:00Z")
    before = count(intake, tables.reports)
    answer = api.post("/v1/reports:batch", json={"reports": [good[0], bad, good[1], future, good[2]]},
                      headers={"X-API-Key": centre_key})
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["accepted"], result["rejected"]) == (3, 2)
    assert [r["status"] for r in result["results"]] == [202, 422, 202, 422, 202]
    assert result["results"][1]["problem"]["errors"][0]["field"] == "reports.1.incident.types"
    assert result["results"][3]["problem"]["errors"][0]["field"] == "reports.3.incident.occurred_at"
    assert [r["external_reference"] for r in result["results"]] == ["B-0", "B-bad", "B-1", "B-future", "B-2"]
    assert count(intake, tables.reports) == before + 3


def test_sending_the_same_batch_again_creates_no_duplicates(api: httpx.Client, intake: Intake,
                                                            centre_key: str) -> None:
    batch = {"reports": [report_body(external_reference=f"R-{i}") for i in range(5)]}
    first = api.post("/v1/reports:batch", json=batch, headers={"X-API-Key": centre_key}).json()
    before = count(intake, tables.reports)
    again = api.post("/v1/reports:batch", json=batch, headers={"X-API-Key": centre_key}).json()
    assert count(intake, tables.reports) == before
    assert [r["accepted"]["reference"] for r in again["results"]] == \
        [r["accepted"]["reference"] for r in first["results"]]


def test_a_reused_external_reference_with_other_facts_is_a_conflict_for_that_item_only(
        api: httpx.Client, intake: Intake, centre_key: str) -> None:
    original = report_body(external_reference="DUP-1")
    api.post("/v1/reports:batch", json={"reports": [original]}, headers={"X-API-Key": centre_key})
    twin_in_batch = report_body(external_reference="DUP-2")
    changed = report_body(external_reference="DUP-1", incident__types=["arson"])
    answer = api.post("/v1/reports:batch", json={"reports": [changed, twin_in_batch, twin_in_batch]},
                      headers={"X-API-Key": centre_key}).json()
    assert [r["status"] for r in answer["results"]] == [409, 202, 202]
    assert answer["results"][1]["accepted"]["reference"] == answer["results"][2]["accepted"]["reference"]


def test_a_batch_needs_a_key_and_at_most_100_items(api: httpx.Client, centre_key: str) -> None:
    assert api.post("/v1/reports:batch", json={"reports": [report_body()]}).status_code == 401
    too_many = api.post("/v1/reports:batch", json={"reports": [report_body()] * 101},
                        headers={"X-API-Key": centre_key})
    assert too_many.status_code == 422 and "reports" in problem_fields(too_many)


# -- rate limiting ------------------------------------------------------------------------------


def test_a_family_reporting_together_is_not_refused_but_a_flood_is(intake_url: str) -> None:
    limited = new_intake(intake_url, rate_limit_per_minute=6, rate_limit_burst=8)
    with serve(limited) as base, httpx.Client(base_url=base, timeout=10) as client:
        family = [client.post("/v1/reports", json=report_body()) for _ in range(8)]
        assert {a.status_code for a in family} == {202}
        flood = client.post("/v1/reports", json=report_body())
        assert flood.status_code == 429
        assert flood.headers["content-type"] == PROBLEM
        assert 1 <= int(flood.headers["retry-after"]) <= 10
        assert client.get("/v1/reports/AAAAAAAAAA").status_code == 429


def test_a_centre_is_limited_by_its_key_not_by_the_public_limit(intake_url: str) -> None:
    limited = new_intake(intake_url, rate_limit_per_minute=1, rate_limit_burst=1)
    key = limited.centres.issue("busy-centre", "k").api_key
    with serve(limited) as base, httpx.Client(base_url=base, timeout=10) as client:
        answers = [client.post("/v1/reports", json=report_body(), headers={"X-API-Key": key}) for _ in range(5)]
        assert {a.status_code for a in answers} == {202}


# -- the contract -------------------------------------------------------------------------------


def test_openapi_documents_every_field_enum_and_problem(api: httpx.Client) -> None:
    doc = api.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    incident = schemas["IncidentIn"]["properties"]
    for name in ("occurred_at", "types", "targeted_characteristics", "religion_targeted", "location", "online",
                 "injuries", "weapon", "vulnerabilities", "repeat", "description", "ongoing"):
        assert name in incident
    assert set(schemas["IncidentType"]["enum"]) >= {"physical_assault", "arson", "online_abuse", "hate_material"}
    assert schemas["ReportIn"]["examples"]
    post = doc["paths"]["/v1/reports"]["post"]
    for code in ("202", "401", "409", "413", "422", "429"):
        assert code in post["responses"]
    assert "application/problem+json" in post["responses"]["422"]["content"]


def test_security_headers_are_on_api_answers(api: httpx.Client) -> None:
    too_large = api.post("/v1/reports", content=b"{" + b" " * 70_000 + b"}",
                         headers={"content-type": "application/json"})
    assert too_large.status_code == 413
    for answer in (api.post("/v1/reports", json={}), api.post("/v1/reports", json=report_body()), too_large):
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"], answer.status_code
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers.get_list("x-content-type-options") == ["nosniff"], "each header once"


# -- the group commit on the event loop ------------------------------------------------------------


def _pending(intake: Intake, reference: str | None = None) -> PendingReport:
    app = intake.app
    report = ReportIn.model_validate(report_body())
    checked = check_report(report, app.clock.now(), app.areas, False)
    cmd = SubmitReport(report=report)
    receipt = app._new_receipt(checked, cmd)
    if reference:
        receipt = dataclasses.replace(receipt, reference=reference)
    return app._pending(cmd, checked, receipt, new_data_key(), "")


def test_a_clash_in_a_group_commit_fails_only_its_own_report(intake: Intake) -> None:
    writer = intake.app.loop_writer
    assert writer is not None, "on PostgreSQL the hot path commits on the event loop"
    taken = _pending(intake)
    on_a_loop_of_its_own(writer.write(taken))
    batch = [_pending(intake), _pending(intake, reference=taken.report_row["reference"]), _pending(intake)]

    async def together() -> list[BaseException | None]:
        results = await asyncio.gather(*(writer.write(p) for p in batch), return_exceptions=True)
        await writer.aclose()
        return results

    outcomes = on_a_loop_of_its_own(together())
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], ConcurrencyError), outcomes[1]
    with intake.db.sessions() as s:
        stored = set(s.execute(select(tables.reports.c.report_id)).scalars())
        logged = set(s.execute(select(intake.store.log.c.stream_id)).scalars())
    assert {batch[0].report_id, batch[2].report_id} <= stored & logged
    assert batch[1].report_id not in stored | logged, "nothing of the clashing report is half-stored"


def test_the_group_commit_function_stores_each_column_as_given(intake: Intake) -> None:
    """The function's jsonb rows against the rows the application built: bytes, microseconds, NULLs, text."""
    writer = intake.app.loop_writer
    assert writer is not None
    pending = dataclasses.replace(
        _pending(intake), traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", tracestate="v=1",
        idempotency_row={"scope": "public", "key": "k-" + _pending(intake).report_id, "request_hash": "ab" * 32,
                         "response": json.dumps({"reference": "X"}), "created_at": intake.app.clock.now()})
    on_a_loop_of_its_own(writer.write(pending))
    on_a_loop_of_its_own(writer.aclose())
    assert pending.idempotency_row is not None
    with intake.db.sessions() as s:
        for table, given in [(tables.report_keys, pending.key_row), (tables.reports, pending.report_row),
                             (tables.idempotency, pending.idempotency_row)]:
            key = table.c.report_id if "report_id" in table.c else table.c.key
            stored = dict(s.execute(select(table).where(key == (given.get("report_id") or given["key"])))
                          .mappings().one())
            assert stored == given, table.name
        assert isinstance(pending.key_row["wrapped_key"], bytes) and len(pending.key_row["wrapped_key"]) > 12
        [event] = intake.store.load(s, pending.report_id)
    assert (event.type, event.topic, event.key, event.subject, event.sequence) == (
        pending.event.TYPE, pending.event.TOPIC, pending.report_id, pending.report_id, 1)
    assert event.data == pending.event.model_dump(mode="json")
    assert (event.traceparent, event.tracestate) == (pending.traceparent, pending.tracestate)
    assert event.source == intake.store.source and event.time.tzinfo is not None


def test_an_unknown_page_answers_a_browser_with_a_page_that_keeps_the_quick_exit(api: httpx.Client) -> None:
    page = api.get("/ar/no-such-page", headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "govuk-exit-this-page" in page.text and "Leave this site quickly" not in page.text  # in Arabic
    assert 'dir="rtl"' in page.text and 'lang="ar"' in page.text


def test_an_unknown_route_still_answers_an_api_client_with_a_problem(api: httpx.Client) -> None:
    answer = api.get("/v1/no-such-route", headers={"Accept": "application/json"})
    assert answer.status_code == 404
    assert answer.headers["content-type"] == PROBLEM
