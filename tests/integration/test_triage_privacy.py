"""The reporter's choices in triage, over a real broker and PostgreSQL: a report kept from the police is held for
the reporting centre and alerts no one (a threat to life excepted, shared as a recorded safeguarding override);
erasure leaves no staff note in triage's tables; withdrawal closes the incident.

Reports and the reporter's later choices are published straight onto `vigil.reports.v1`, as intake would.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from services.triage.auth import Auth
from shared.clock import SystemClock
from shared.db import Database
from shared.events.base import Envelope, Event
from shared.events.reports import ReportErased, ReportSubmitted, ReportWithdrawn
from shared.kafka import encode, make_producer
from shared.settings import VigilSettings
from tests.integration.stack import running, stack_env
from tests.integration.test_triage_flow import PASSWORD, incident_events, signed_in, staff
from tests.support.waiting import eventually

CANARY = "CANARY-9c1d-staff-words"
TRIAGED, CLOSED = "vigil.incident.triaged.v1", "vigil.incident.closed.v1"


def publish(vigil: VigilSettings, event: Event, key: str) -> None:
    env = Envelope(id=str(uuid.uuid4()), type=event.TYPE, source="/test", subject=key, time=datetime.now(UTC),
                   sequence=1, key=key, topic=event.TOPIC, data=event.model_dump(mode="json"))
    producer = make_producer(vigil.kafka_bootstrap, "test")
    try:
        producer.send(**encode(env, vigil.topic_prefix + event.TOPIC)).get(timeout=30)
    finally:
        producer.close()


def report(vigil: VigilSettings, reference: str, share_with_police: bool = True, ongoing: bool = False,
           centre_id: str | None = None) -> str:
    """A threat at a mosque: critical (`place_of_worship`); ongoing, a threat to life too. `centre_id`: sent by
    that reporting centre rather than the public form."""
    report_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    publish(vigil, ReportSubmitted.model_validate({
        "report_id": report_id, "reference": reference, "submitted_at": now,
        "channel": "centre" if centre_id else "web", "centre_id": centre_id,
        "reporter": {"role": "victim", "anonymous": False}, "consent": {"share_with_police": share_with_police},
        "incident": {"occurred_at": now, "types": ["threat"], "targeted_characteristics": ["religion"],
                     "ongoing": ongoing, "location": {"area": "E23000001", "place_type": "place_of_worship"}},
        "grading": {"source": "2", "intelligence": "A", "handling": "P"}, "fingerprints": {}}), report_id)
    return report_id


def decided(vigil: VigilSettings, kind: str, count: int) -> dict[str, dict[str, Any]]:
    """The latest event of `kind` for each incident, once `count` incidents have one."""
    def enough() -> dict[str, dict[str, Any]] | None:
        found = {d["incident_id"]: d for t, d, _ in incident_events(vigil, 1) if t == kind}
        return found if len(found) >= count else None

    return eventually(enough, 90, f"{count} {kind}")


def centre_caseworker(env: dict[str, str], username: str, centre: str) -> str:
    db = Database(env["TRIAGE_DATABASE_URL"])
    try:
        return Auth(db, SystemClock()).create_user(username, username.title(), PASSWORD, ["caseworker"],
                                                   centre=centre)
    finally:
        db.dispose()


def without_instance(answer: httpx.Response) -> tuple[int, dict[str, Any]]:
    body = answer.json()
    body.pop("instance", None)
    return answer.status_code, body


def test_a_report_kept_from_the_police_alerts_no_one_and_only_caseworkers_see_it(
        vigil_settings: VigilSettings, new_database: Callable[[str], str], logdir: Path) -> None:
    env = stack_env(vigil_settings, new_database)
    with running(env, logdir, ("triage",)) as svc:
        staff(env, "olive", "triage_officer")
        staff(env, "cass", "caseworker")
        centre_caseworker(env, "tina", "tell-mama")
        held = report(vigil_settings, "VGL-HELD-0001", share_with_police=False)
        shared = report(vigil_settings, "VGL-LIFE-0001", share_with_police=False, ongoing=True)
        theirs = report(vigil_settings, "VGL-TELL-0001", share_with_police=False, centre_id="tell-mama")
        decisions = decided(vigil_settings, TRIAGED, 3)
        officer, caseworker = signed_in(svc["triage"].url, "olive"), signed_in(svc["triage"].url, "cass")
        other_centre = signed_in(svc["triage"].url, "tina")

        unknown = without_instance(officer.get(f"/v1/incidents/{uuid.uuid4()}"))
        assert without_instance(officer.get(f"/v1/incidents/{held}")) == unknown
        assert officer.get(f"/incidents/{held}").status_code == 404
        assert [i["incident_id"] for i in officer.get("/v1/incidents", params={"state": "all"}).json()] == [shared]
        assert "VGL-HELD-0001" not in officer.get("/incidents").text
        assert officer.get(f"/v1/incidents/{shared}").json()["safeguarding_override"] == "threat_to_life"

        assert [i["incident_id"] for i in caseworker.get("/v1/held").json()] == [held]
        assert caseworker.get(f"/v1/incidents/{held}").json()["held_for_centre"] is True
        assert "VGL-HELD-0001" in caseworker.get("/held").text
        assert "Held for the reporting centre" in caseworker.get(f"/incidents/{held}").text
        assert caseworker.get(f"/v1/incidents/{shared}").status_code == 404
        assert officer.get("/v1/held").status_code == 403

        # each caseworker sees only their own centre's: another centre's report is as unknown as none at all
        assert [i["incident_id"] for i in other_centre.get("/v1/held").json()] == [theirs]
        assert other_centre.get(f"/v1/incidents/{theirs}").json()["held_for_centre"] is True
        assert "VGL-TELL-0001" in other_centre.get("/held").text and "VGL-HELD-0001" not in other_centre.get(
            "/held").text
        assert "VGL-TELL-0001" not in caseworker.get("/held").text
        unknown_to_caseworker = without_instance(caseworker.get(f"/v1/incidents/{uuid.uuid4()}"))
        assert without_instance(caseworker.get(f"/v1/incidents/{theirs}")) == unknown_to_caseworker
        assert without_instance(other_centre.get(f"/v1/incidents/{held}")) == unknown_to_caseworker
        assert caseworker.get(f"/incidents/{theirs}").status_code == 404
        assert other_centre.get(f"/incidents/{held}").status_code == 404

    kept = decisions[held]
    assert kept["held_for_centre"] is True and kept["needs_duty_inspector"] is False and kept["critical"] is False
    assert kept["ack_deadline"] is None and kept["safeguarding_override"] is None
    assert "place_of_worship" in [m["code"] for m in kept["matched"]]
    override = decisions[shared]
    assert override["held_for_centre"] is False and override["safeguarding_override"] == "threat_to_life"
    assert override["needs_duty_inspector"] is True and override["ack_deadline"] is not None
    assert override["ruleset_version"]


def dump(database_url: str) -> dict[str, str]:
    """Every table of triage's database as text, the event table apart (see the test below)."""
    engine = sa.create_engine(database_url)
    try:
        found = sa.MetaData()
        found.reflect(engine)
        with engine.connect() as c:
            return {name: "\n".join(str(tuple(row)) for row in c.execute(sa.select(table)))
                    for name, table in found.tables.items()}
    finally:
        engine.dispose()


def test_erasure_leaves_no_staff_words_in_triage_and_withdrawal_closes(
        vigil_settings: VigilSettings, new_database: Callable[[str], str], logdir: Path) -> None:
    # triage alone, as before sealing: reasons in clear, shown "[erased]" (the sealed path: test_staff_text_sealed.py)
    env = stack_env(vigil_settings, new_database) | {"TRIAGE_SEAL_STAFF_TEXT": "false"}
    with running(env, logdir, ("triage",)) as svc:
        staff(env, "dora", "duty_inspector")
        erased = report(vigil_settings, "VGL-ERASE-001", ongoing=True)
        withdrawn = report(vigil_settings, "VGL-WITHD-001", ongoing=True)
        decided(vigil_settings, TRIAGED, 2)
        dora = signed_in(svc["triage"].url, "dora")
        for path, body in [("override", {"priority": "P2", "needs_duty_inspector": True, "reason": CANARY}),
                           ("regrade", {"source": "1", "intelligence": "A", "handling": "P", "reason": CANARY}),
                           ("cia", {"community_tension": "low", "risk_of_disorder": "low", "communities": CANARY,
                                    "notes": CANARY, "actions": CANARY})]:
            answer = dora.post(f"/v1/incidents/{erased}/{path}", json=body)
            assert answer.status_code == 200, answer.text
        assert CANARY in dump(env["TRIAGE_DATABASE_URL"])["community_impact_assessments"]

        publish(vigil_settings, ReportErased(report_id=erased, erased_at=datetime.now(UTC), requested_by="dana"),
                erased)
        publish(vigil_settings, ReportWithdrawn(report_id=withdrawn, withdrawn_at=datetime.now(UTC)), withdrawn)
        shown = eventually(lambda: (lambda i: i if i["erased_at"] else None)(
            dora.get(f"/v1/incidents/{erased}").json()), 60, "the erasure")
        closed = decided(vigil_settings, CLOSED, 1)[withdrawn]
        page = dora.get(f"/incidents/{erased}").text
        tables = dump(env["TRIAGE_DATABASE_URL"])
        after = dora.get(f"/v1/incidents/{withdrawn}").json()

    assert CANARY not in str(shown) and CANARY not in page
    assert "The reporter&#39;s data was erased on" in page or "The reporter's data was erased on" in page
    assert shown["facts"] is None
    # The event table is append-only, the incident's history and outbox (ADR 0003, 0022): the override and
    # regrade reasons stay in it until staff free text travels sealed with the report's key (#15).
    assert [name for name, text in tables.items() if CANARY in text and name != "event_log"] == []
    assert erased not in tables["report_memory"]
    assert closed["outcome"] == "withdrawn_by_reporter" and closed["closed_by"] == "reporter"
    assert after["state"] == "closed" and after["outcome"] == "withdrawn_by_reporter"
