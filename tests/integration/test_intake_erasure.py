"""Erasure, holds, withdrawal and retention on intake over real HTTP, PostgreSQL and Kafka.

Staff sign in at triage; here triage's session check answers from a table of test sessions (the real
introspection is covered by test_staff_access.py). The clock is intake's own, moved by the tests.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from kafka.consumer.fetcher import ConsumerRecord
from sqlalchemy import select, update

from services.cli import main as vigil
from services.intake import tables
from services.intake.main import Intake, build, create_app
from services.intake.settings import IntakeSettings
from shared.clock import MovableClock
from shared.events.reports import (
    HoldKind,
    ReadPurpose,
    ReportErased,
    ReportHoldPlaced,
    ReportPersonalDataRead,
    ReportSubmitted,
    ReportWithdrawn,
)
from shared.migrate import upgrade
from shared.servicecalls import service_headers
from shared.settings import VigilSettings
from shared.staffaccess import StaffAccess
from shared.topics import REPORTS
from tests.factories import report_body
from tests.support.asgi import serving
from tests.support.kafka_reader import headers_of, read_topic
from tests.support.waiting import eventually

PROBLEM = "application/problem+json"
DAY = timedelta(days=1)
SESSIONS = {"dana-session": ("dana", ["data_protection_officer"]), "ada-session": ("ada", ["admin"]),
            "tom-session": ("tom", ["triage_officer", "supervisor"])}
DPO = {"Authorization": "Bearer dana-session"}


def introspection(request: httpx.Request) -> httpx.Response:
    token = json.loads(request.content)["token"]
    if token not in SESSIONS:
        return httpx.Response(200, json={"active": False})
    username, roles = SESSIONS[token]
    return httpx.Response(200, json={"active": True, "username": username, "roles": roles, "csrf_token": "c"})


@pytest.fixture(scope="module")
def vigil_settings(kafka_bootstrap: str) -> VigilSettings:
    return VigilSettings(environment="test", kafka_bootstrap=kafka_bootstrap,
                         topic_prefix=f"t{uuid.uuid4().hex[:8]}.", topic_partitions=3)


@pytest.fixture(scope="module")
def intake_url(postgres_admin_url: str) -> str:
    from tests.support.infra import create_database

    url = create_database(postgres_admin_url, "intakeerase")
    upgrade("intake", url)
    return url


@pytest.fixture(scope="module")
def clock() -> MovableClock:
    return MovableClock(datetime.now(UTC))


@pytest.fixture(scope="module")
def intake(vigil_settings: VigilSettings, intake_url: str, clock: MovableClock) -> Intake:
    settings = IntakeSettings(database_url=intake_url, rate_limit_enabled=False, retention_enabled=False)
    service = build(vigil_settings, settings, clock)
    service.staff_access = StaffAccess(vigil_settings, "intake", client=httpx.Client(transport=httpx.MockTransport(
        introspection)))
    return service


@pytest.fixture(scope="module")
def api(intake: Intake) -> Iterator[httpx.Client]:
    """With the worker: the relay puts what intake appends on Kafka."""
    with serving(create_app(intake, with_worker=True), lifespan="on", name="intake") as base, \
            httpx.Client(base_url=base, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def centre_key(intake: Intake) -> str:
    return intake.centres.issue("tell-mama", "erasure tests").api_key


def submit(api: httpx.Client, headers: dict[str, str] | None = None, **overrides: Any) -> dict[str, Any]:
    answer = api.post("/v1/reports", json=report_body(**overrides), headers=headers or {})
    assert answer.status_code == 202, answer.text
    body: dict[str, Any] = answer.json()
    body["auth"] = {"Authorization": f"Bearer {body['follow_up_token']}"}
    return body


def report_row(intake: Intake, reference: str) -> Any:
    with intake.db.sessions() as s:
        return s.execute(select(tables.reports).where(tables.reports.c.reference == reference)).mappings().one()


def key_row(intake: Intake, report_id: str) -> Any:
    with intake.db.sessions() as s:
        return s.execute(select(tables.report_keys).where(tables.report_keys.c.report_id == report_id)).first()


def on_topic(intake: Intake, report_id: str, type_name: str) -> list[ConsumerRecord]:
    """The raw records of one type for a report on vigil.reports.v1, once there is one."""
    topic = intake.kafka.names(REPORTS)

    def found() -> list[ConsumerRecord]:
        records = read_topic(intake.vigil.kafka_bootstrap, topic, expect=1, timeout=20, until=0.5)
        return [r for r in records if r.key == report_id.encode() and headers_of(r)["ce_type"] == type_name.encode()]

    return eventually(found, 45, f"{type_name} for {report_id} on {topic}")


# -- erasure ------------------------------------------------------------------------------------


def test_an_officer_erases_a_report_and_intake_keeps_nothing_that_opens_it(
        api: httpx.Client, intake: Intake, centre_key: str) -> None:
    sent = submit(api, {"X-API-Key": centre_key}, external_reference="TM-ERASE-0001")
    row = report_row(intake, sent["reference"])
    erased = api.post(f"/v1/reports/{sent['reference']}/erasure", headers=DPO,
                      json={"reason": "Article 17 request, ticket DP-0001"})
    assert erased.status_code == 200, erased.text
    assert erased.json()["requested_by"] == "dana" and erased.json()["basis"] == "request"

    assert key_row(intake, row["report_id"]) is None, "the key's row is deleted, not flagged"
    after = report_row(intake, sent["reference"])
    assert after["erased_at"] is not None and after["external_reference"] is None and after["idempotency_key"] is None
    with intake.db.sessions() as s:
        cache = [tuple(r) for r in s.execute(select(tables.idempotency).where(
            tables.idempotency.c.scope == "centre:tell-mama"))]
    assert all("TM-ERASE-0001" not in str(r) for r in cache), "the cache entry names no one any more"

    [record] = on_topic(intake, row["report_id"], ReportErased.TYPE)
    event = json.loads(record.value)
    assert (event["requested_by"], event["reason"], event["basis"]) == ("dana", "Article 17 request, ticket DP-0001",
                                                                         "request")
    assert event["erased_at"]


def test_after_erasure_the_holder_of_the_token_gets_410_and_a_wrong_token_still_404(
        api: httpx.Client, intake: Intake) -> None:
    sent = submit(api)
    report_id = report_row(intake, sent["reference"])["report_id"]
    assert api.post(f"/v1/reports/{sent['reference']}/erasure", headers=DPO, json={"reason": "DP-2"}).status_code == 200
    ref = sent["reference"]
    assert api.get(f"/v1/reports/{ref}", headers=sent["auth"]).status_code == 410
    assert api.post(f"/v1/reports/{ref}/updates", headers=sent["auth"], json={"information": "x"}).status_code == 410
    assert api.post(f"/v1/reports/{ref}/withdrawal", headers=sent["auth"]).status_code == 410
    assert api.get(f"/v1/reports/{ref}", headers={"Authorization": "Bearer wrong"}).status_code == 404
    personal = api.get(f"/internal/v1/reports/{report_id}/personal", params={"purpose": "staff_view"},
                       headers=service_headers(VigilSettings(environment="test"), "triage"))
    assert personal.status_code == 410 and personal.headers["content-type"] == PROBLEM


# -- personal data, for the services that need it ------------------------------------------------


def test_only_triage_and_notify_read_personal_data_and_every_read_is_on_kafka_with_who_and_why(
        api: httpx.Client, intake: Intake) -> None:
    sent = submit(api)  # from Amina Test, amina@example.org
    report_id = report_row(intake, sent["reference"])["report_id"]
    url = f"/internal/v1/reports/{report_id}/personal"
    vigil = intake.vigil

    def read(caller: str, **params: str) -> httpx.Response:
        return api.get(url, params=params, headers=service_headers(vigil, caller))

    by_triage = read("triage", purpose="staff_view", on_behalf_of="tom")
    by_notify = read("notify", purpose="referral")
    assert (by_triage.status_code, by_notify.status_code) == (200, 200)
    assert by_triage.json()["email"] == by_notify.json()["email"] == "amina@example.org"
    assert by_triage.headers["cache-control"] == "no-store"
    refused = read("assessment", purpose="staff_view")
    assert refused.status_code == 403 and refused.headers["content-type"] == PROBLEM
    assert "assessment" in refused.json()["detail"] and "Amina" not in refused.text
    assert api.get(url, params={"purpose": "referral"}).status_code == 401
    guessed = api.get(url, params={"purpose": "referral"}, headers={"Authorization": "Bearer guess"})
    assert guessed.status_code == 401 and guessed.headers["content-type"] == PROBLEM
    assert read("notify").status_code == 422, "no read without a reason"
    assert read("notify", purpose="curiosity").status_code == 422

    records = on_topic(intake, report_id, ReportPersonalDataRead.TYPE)
    if len(records) < 2:  # the second may follow the first by a relay pass
        records = eventually(lambda: len(r := on_topic(intake, report_id, ReportPersonalDataRead.TYPE)) == 2
                             and r, 30, "both reads on the topic")
    reads = [json.loads(r.value) for r in records]
    assert [(r["service"], r["purpose"], r["on_behalf_of"]) for r in reads] == [
        ("triage", "staff_view", "tom"), ("notify", "referral", None)], "the refused and bad calls read nothing"
    assert all("amina" not in r.value.decode().lower() for r in records)


def test_the_records_of_reads_come_before_the_data_and_outlive_erasure(api: httpx.Client, intake: Intake) -> None:
    sent = submit(api)
    report_id = report_row(intake, sent["reference"])["report_id"]
    url = f"/internal/v1/reports/{report_id}/personal"
    headers = service_headers(intake.vigil, "notify")
    assert api.get(url, params={"purpose": "reporter_message"}, headers=headers).status_code == 200
    assert api.post(f"/v1/reports/{sent['reference']}/erasure", headers=DPO, json={"reason": "DP-9"}).status_code == 200
    assert api.get(url, params={"purpose": "reporter_message"}, headers=headers).status_code == 410
    with intake.db.sessions() as s:
        log = intake.store.log
        kept = s.execute(select(log.c.type).where(log.c.stream_id == f"{report_id}/reads")).scalars().all()
    assert kept == [ReportPersonalDataRead.TYPE], "one read recorded; the refused one after erasure read nothing"


def test_erasing_twice_answers_410_and_changes_nothing(api: httpx.Client, intake: Intake) -> None:
    sent = submit(api)
    first = api.post(f"/v1/reports/{sent['reference']}/erasure", headers=DPO, json={"reason": "DP-3"})
    again = api.post(f"/v1/reports/{sent['reference']}/erasure", headers=DPO, json={"reason": "DP-3"})
    assert first.status_code == 200 and again.status_code == 410
    assert again.headers["content-type"] == PROBLEM and again.json()["erased_at"] == first.json()["erased_at"]
    with intake.db.sessions() as s:
        stream = intake.store.load(s, report_row(intake, sent["reference"])["report_id"])
    assert [e.type for e in stream].count(ReportErased.TYPE) == 1


def test_a_replay_of_an_erased_reports_submission_is_refused_not_brought_back(
        api: httpx.Client, intake: Intake) -> None:
    body = report_body()
    first = api.post("/v1/reports", json=body, headers={"Idempotency-Key": "erase-replay-1"})
    assert api.post(f"/v1/reports/{first.json()['reference']}/erasure", headers=DPO,
                    json={"reason": "DP-4"}).status_code == 200
    replay = api.post("/v1/reports", json=body, headers={"Idempotency-Key": "erase-replay-1"})
    assert replay.status_code == 409
    with intake.db.sessions() as s:
        assert s.execute(select(tables.idempotency).where(tables.idempotency.c.key == "erase-replay-1")).first() is None


def test_erasure_needs_a_sign_in_and_the_officers_or_an_admins_role(api: httpx.Client) -> None:
    sent = submit(api)
    path = f"/v1/reports/{sent['reference']}/erasure"
    assert api.post(path, json={"reason": "x"}).status_code == 401
    assert api.post(path, json={"reason": "x"}, headers={"Authorization": "Bearer tom-session"}).status_code == 403
    assert api.post(path, json={"reason": "x"}, headers={"Authorization": "Bearer ended"}).status_code == 401
    assert api.get("/v1/erasures", headers={"Authorization": "Bearer tom-session"}).status_code == 403
    assert api.post(path, json={"reason": "x"}, headers={"Authorization": "Bearer ada-session"}).status_code == 200
    assert api.post("/v1/reports/AAAAAAAAAA/erasure", json={"reason": "x"}, headers=DPO).status_code == 404


# -- holds --------------------------------------------------------------------------------------


def test_a_hold_refuses_erasure_naming_the_hold_until_it_is_released(api: httpx.Client, intake: Intake) -> None:
    sent = submit(api)
    ref, report_id = sent["reference"], report_row(intake, sent["reference"])["report_id"]
    held = api.post(f"/v1/reports/{ref}/hold", headers=DPO,
                    json={"kind": "legal", "reason": "Court order CANARY-HOLD-REASON"})
    assert held.status_code == 201, held.text
    refused = api.post(f"/v1/reports/{ref}/erasure", headers=DPO, json={"reason": "DP-5"})
    assert refused.status_code == 409 and refused.headers["content-type"] == PROBLEM
    assert refused.json()["hold"] == {"hold_id": held.json()["hold_id"], "kind": "legal", "placed_by": "dana",
                                      "placed_at": held.json()["placed_at"]}
    assert key_row(intake, report_id) is not None

    release = f"/v1/reports/{ref}/hold/{held.json()['hold_id']}/release"
    assert api.post(release, headers=DPO, json={"reason": "order discharged"}).status_code == 200
    assert api.post(release, headers=DPO, json={"reason": "again"}).status_code == 409
    [listed] = api.get(f"/v1/reports/{ref}/holds", headers=DPO).json()
    assert listed["released_by"] == "dana" and listed["reason"] == "Court order CANARY-HOLD-REASON"
    assert api.post(f"/v1/reports/{ref}/erasure", headers=DPO, json={"reason": "DP-5"}).status_code == 200

    [record] = on_topic(intake, report_id, ReportHoldPlaced.TYPE)
    assert json.loads(record.value)["placed_by"] == "dana" and json.loads(record.value)["kind"] == "legal"
    assert b"CANARY-HOLD-REASON" not in record.value, "a hold's reason travels sealed"
    assert api.get(f"/v1/reports/{ref}/holds", headers=DPO).json()[0]["reason"] is None, "gone with the report"


def test_no_services_credential_places_holds_or_erases_staff_routes_are_for_people(
        api: httpx.Client, intake: Intake) -> None:
    ref = submit(api)["reference"]
    for service in ("assessment", "notify", "triage"):
        headers = service_headers(intake.vigil, service)
        for path, body in ((f"/v1/reports/{ref}/hold", {"kind": "legal", "reason": "r"}),
                           (f"/v1/reports/{ref}/erasure", {"reason": "DP-6"})):
            refused = api.post(path, headers=headers, json=body)
            assert refused.status_code == 403 and refused.headers["content-type"] == PROBLEM, (service, path)
            assert "signed-in member of staff" in refused.json()["detail"]
        assert api.get(f"/v1/reports/{ref}/holds", headers=headers).status_code == 403
    assert api.get(f"/v1/reports/{ref}/holds", headers=DPO).json() == [], "nothing was placed"
    assert api.post(f"/v1/reports/{ref}/erasure", headers=DPO, json={"reason": "DP-6"}).status_code == 200


def test_the_privacy_log_lists_every_erasure_withdrawal_and_hold_with_who_when_and_why_a_page_at_a_time(
        api: httpx.Client) -> None:
    sent = submit(api)
    ref = sent["reference"]
    assert api.post(f"/v1/reports/{ref}/withdrawal", headers=sent["auth"]).status_code == 200
    hold = api.post(f"/v1/reports/{ref}/hold", headers=DPO, json={"kind": "safeguarding", "reason": "risk"}).json()
    api.post(f"/v1/reports/{ref}/hold/{hold['hold_id']}/release", headers=DPO, json={"reason": "passed"})
    api.post(f"/v1/reports/{ref}/erasure", headers=DPO, json={"reason": "DP-6"})

    seen, page = [], f"/v1/erasures?limit=2&reference={ref}"
    while page:
        answer = api.get(page, headers=DPO)
        assert answer.status_code == 200, answer.text
        seen += answer.json()["items"]
        page = answer.json()["next"]
    assert [(i["action"], i["by"], i["kind"]) for i in seen] == [
        ("erased", "dana", "request"), ("hold_released", "dana", "safeguarding"),
        ("hold_placed", "dana", "safeguarding"), ("withdrawn", "reporter", None)]
    assert seen[0]["reason"] == "DP-6" and all(i["at"] and i["reference"] == ref for i in seen)
    assert seen[1]["reason"] is None and seen[2]["reason"] is None, "hold reasons go with the report"


# -- the command line ---------------------------------------------------------------------------


def test_vigil_erase_erases_refuses_under_a_hold_and_is_idempotent(
        api: httpx.Client, intake: Intake, intake_url: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("INTAKE_DATABASE_URL", intake_url)
    held, free = submit(api), submit(api)
    intake.protection.place_hold(held["reference"], HoldKind.legal, "litigation", "dana")
    assert vigil(["erase", held["reference"], "--reason", "DP-7"]) == 1
    assert "legal hold" in capsys.readouterr().err
    assert vigil(["erase", free["reference"], "--reason", "DP-8", "--by", "dana"]) == 0
    assert vigil(["erase", free["reference"], "--reason", "DP-8"]) == 0
    assert "erased already" in capsys.readouterr().out
    assert vigil(["erase", "AAAAAAAAAA", "--reason", "DP-9"]) == 1
    report_id = report_row(intake, free["reference"])["report_id"]
    assert key_row(intake, report_id) is None and api.get(f"/v1/reports/{free['reference']}",
                                                          headers=free["auth"]).status_code == 410
    [record] = on_topic(intake, report_id, ReportErased.TYPE)
    assert json.loads(record.value)["requested_by"] == "dana" and json.loads(record.value)["reason"] == "DP-8"


# -- withdrawal ---------------------------------------------------------------------------------


def test_the_reporter_withdraws_and_the_data_is_erased_after_the_grace_period(
        api: httpx.Client, intake: Intake, clock: MovableClock) -> None:
    sent = submit(api)
    ref, report_id = sent["reference"], report_row(intake, sent["reference"])["report_id"]
    assert api.post(f"/v1/reports/{ref}/withdrawal", json={"reason": "x"}).status_code == 404, "needs the token"
    withdrawn = api.post(f"/v1/reports/{ref}/withdrawal", headers=sent["auth"],
                         json={"reason": "CANARY-WITHDRAWAL-REASON"})
    assert withdrawn.status_code == 200, withdrawn.text
    erase_after = datetime.fromisoformat(withdrawn.json()["erase_after"])
    assert erase_after == clock.now() + 30 * DAY
    again = api.post(f"/v1/reports/{ref}/withdrawal", headers=sent["auth"])
    assert again.json() == withdrawn.json(), "withdrawing twice answers as the first time"
    assert api.get(f"/v1/reports/{ref}", headers=sent["auth"]).json()["status"] == "withdrawn"
    assert api.post(f"/v1/reports/{ref}/updates", headers=sent["auth"], json={"information": "x"}).status_code == 409

    [record] = on_topic(intake, report_id, ReportWithdrawn.TYPE)
    event = json.loads(record.value)
    assert event["withdrawn_by"] == "reporter" and event["erase_after"] and event["personal"]["ciphertext"]
    assert b"CANARY-WITHDRAWAL-REASON" not in record.value

    clock.advance(29 * DAY)
    intake.retention.sweep()
    assert key_row(intake, report_id) is not None
    clock.advance(2 * DAY)
    intake.retention.sweep()
    assert key_row(intake, report_id) is None
    assert api.get(f"/v1/reports/{ref}", headers=sent["auth"]).status_code == 410
    [erased] = on_topic(intake, report_id, ReportErased.TYPE)
    assert (json.loads(erased.value)["basis"], json.loads(erased.value)["requested_by"]) == ("withdrawal", "reporter")


def test_a_safeguarding_hold_keeps_a_withdrawn_report_past_its_grace_period(
        api: httpx.Client, intake: Intake, clock: MovableClock) -> None:
    sent = submit(api)
    ref, report_id = sent["reference"], report_row(intake, sent["reference"])["report_id"]
    api.post(f"/v1/reports/{ref}/withdrawal", headers=sent["auth"])
    hold = api.post(f"/v1/reports/{ref}/hold", headers=DPO, json={"kind": "safeguarding", "reason": "risk"}).json()
    clock.advance(45 * DAY)
    intake.retention.sweep()
    assert key_row(intake, report_id) is not None
    assert api.get(f"/v1/reports/{ref}", headers=sent["auth"]).json()["status"] == "withdrawn"
    api.post(f"/v1/reports/{ref}/hold/{hold['hold_id']}/release", headers=DPO, json={"reason": "risk passed"})
    intake.retention.sweep()
    assert key_row(intake, report_id) is None


# -- leaks closed -------------------------------------------------------------------------------


def test_the_idempotency_cache_keeps_no_follow_up_token_yet_a_replay_answers_the_same(
        api: httpx.Client, intake: Intake, centre_key: str) -> None:
    body = report_body()
    first = api.post("/v1/reports", json=body, headers={"Idempotency-Key": "no-token-kept"})
    batch = api.post("/v1/reports:batch", headers={"X-API-Key": centre_key},
                     json={"reports": [report_body(external_reference="TM-NO-TOKEN-1")]})
    tokens = [first.json()["follow_up_token"], batch.json()["results"][0]["accepted"]["follow_up_token"]]
    with intake.db.sessions() as s:
        stored = " ".join(str(tuple(row)) for row in s.execute(select(tables.idempotency)))
    assert all(token not in stored for token in tokens)
    replay = api.post("/v1/reports", json=body, headers={"Idempotency-Key": "no-token-kept"})
    assert replay.json() == first.json()
    auth = {"Authorization": f"Bearer {replay.json()['follow_up_token']}"}
    assert api.get(f"/v1/reports/{first.json()['reference']}", headers=auth).status_code == 200


def test_an_answer_kept_before_tokens_were_derived_is_replayed_with_a_token_that_works(
        api: httpx.Client, intake: Intake) -> None:
    body = report_body()
    first = api.post("/v1/reports", json=body, headers={"Idempotency-Key": "kept-before"}).json()
    legacy = {k: v for k, v in first.items() if k not in ("follow_up_token", "status_url")}
    legacy["report_id"] = report_row(intake, first["reference"])["report_id"]
    with intake.db.transaction() as s:  # as migration intake_0004 leaves an older answer
        s.execute(update(tables.idempotency).where(tables.idempotency.c.key == "kept-before")
                  .values(response=json.dumps(legacy)))
        s.execute(update(tables.reports).where(tables.reports.c.reference == first["reference"])
                  .values(token_hash="0" * 64))
    replay = api.post("/v1/reports", json=body, headers={"Idempotency-Key": "kept-before"}).json()
    assert replay["reference"] == first["reference"]
    auth = {"Authorization": f"Bearer {replay['follow_up_token']}"}
    assert api.get(f"/v1/reports/{first['reference']}", headers=auth).status_code == 200


def test_organisation_platform_and_a_centres_reference_travel_sealed(
        api: httpx.Client, intake: Intake, centre_key: str) -> None:
    canaries = ["Canary Org QX7", "CanaryPlatform QX7", "TM-CANARY-QX7"]
    sent = submit(api, {"X-API-Key": centre_key}, external_reference=canaries[2],
                  reporter={"role": "organisation", "organisation": canaries[0]},
                  incident__location={"area": "E23000001", "place_type": "online"},
                  incident__online={"platform": canaries[1]})
    report_id = report_row(intake, sent["reference"])["report_id"]
    api.post(f"/v1/reports/{sent['reference']}/updates", headers=sent["auth"], json={"information": "more"})
    [record] = on_topic(intake, report_id, ReportSubmitted.TYPE)
    raw = record.value + b"".join(value for _, value in record.headers)
    assert not [c for c in canaries if c.encode() in raw], "read on the topic in clear"
    with intake.db.sessions() as s:
        logged = " ".join(env.model_dump_json() for env in intake.store.load(s, report_id))
    assert not [c for c in canaries if c in logged]
    personal = intake.app.personal_data(report_id, "triage", ReadPurpose.staff_view)
    assert (personal["organisation"], personal["online_platform"], personal["external_reference"]) == tuple(canaries)


def test_facts_older_events_carried_in_clear_are_cleared_from_intakes_own_log_at_erasure(
        api: httpx.Client, intake: Intake) -> None:
    sent = submit(api)
    report_id = report_row(intake, sent["reference"])["report_id"]
    log = intake.store.log
    with intake.db.transaction() as s:  # as intake wrote them before #15
        seq, text = s.execute(select(log.c.seq, log.c.data).where(log.c.stream_id == report_id)).one()
        data = json.loads(text)
        data["reporter"]["organisation"], data["incident"]["online_platform"] = "Old Org ZZ9", "OldPlatform ZZ9"
        data["external_reference"] = "OLD-REF-ZZ9"
        s.execute(update(log).where(log.c.seq == seq).values(data=json.dumps(data)))
    api.post(f"/v1/reports/{sent['reference']}/erasure", headers=DPO, json={"reason": "DP-10"})
    with intake.db.sessions() as s:
        stored = " ".join(s.execute(select(log.c.data).where(log.c.stream_id == report_id)).scalars())
    assert "ZZ9" not in stored
    with intake.db.sessions() as s:
        submitted = intake.store.load(s, report_id)[0].event()
    assert isinstance(submitted, ReportSubmitted) and submitted.reporter.organisation is None
