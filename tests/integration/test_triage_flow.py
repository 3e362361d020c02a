"""Triage over a real broker and PostgreSQL: reports in, decisions out, the workflow and tension mode."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from kafka.consumer.fetcher import ConsumerRecord

from services.triage.auth import Auth
from shared.clock import SystemClock
from shared.db import Database
from shared.settings import VigilSettings
from tests.factories import report_body
from tests.integration.stack import running, stack_env
from tests.support.kafka_reader import headers_of, read_topic
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a long enough password"
PERSONAL = ["Amina Test", "amina@example.org", "E1 6AN", "East London Mosque", "Offensive graffiti"]
# The ruleset these decisions were written against: its `cluster` counts three reports in a force area, and it has
# no flood grouping (the newer default's rules are proven in tests/unit/test_triage_cluster.py and test_flood.py).
OLD_RULESET = {"TRIAGE_RULESET_FILE": str(ROOT / "services/triage/rulesets/default-2026.11.1.yaml")}


def staff(env: dict[str, str], username: str, *roles: str) -> str:
    db = Database(env["TRIAGE_DATABASE_URL"])
    try:
        return Auth(db, SystemClock()).create_user(username, username.title(), PASSWORD, list(roles))
    finally:
        db.dispose()


def signed_in(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=10)
    answer = client.post("/v1/session", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    client.headers["X-CSRF-Token"] = answer.json()["csrf_token"]
    return client


def incident_events(settings: VigilSettings, expect: int, kind: str | None = None,
                    until: float | None = None) -> list[tuple[str, dict[str, Any], ConsumerRecord]]:
    records = read_topic(settings.kafka_bootstrap, f"{settings.topic_prefix}vigil.incidents.v1", expect=expect,
                         until=until)
    out = [(headers_of(r)["ce_type"].decode(), json.loads(r.value), r) for r in records]
    return [e for e in out if kind is None or e[0] == kind]


def triaged(settings: VigilSettings, count: int) -> list[dict[str, Any]]:
    def enough() -> list[dict[str, Any]] | None:
        found = [d for t, d, _ in incident_events(settings, 1) if t == "vigil.incident.triaged.v1"]
        return found if len(found) >= count else None

    return sorted(eventually(enough, 90, f"{count} triage decisions"), key=lambda d: d["triaged_at"])


def submit(intake: str, **overrides: Any) -> dict[str, Any]:
    answer = httpx.post(f"{intake}/v1/reports", json=report_body(**overrides), timeout=10)
    assert answer.status_code == 202, answer.text
    result: dict[str, Any] = answer.json()
    return result


STREET = {"area": "E23000001", "postcode": "E1 6AN", "place_type": "street", "place_name": "Whitechapel Road"}


def test_decisions_name_each_rule_with_its_explanation_and_the_ruleset_version(
        vigil_settings: VigilSettings, new_database: Callable[[str], str], logdir: Path) -> None:
    env = stack_env(vigil_settings, new_database) | OLD_RULESET
    with running(env, logdir, ("intake", "triage")) as svc:
        first = submit(svc["intake"].url, incident__types=["verbal_abuse"], incident__location=STREET)
        [plain] = triaged(vigil_settings, 1)
        submit(svc["intake"].url, incident__types=["verbal_abuse"], incident__location=STREET)
        second = triaged(vigil_settings, 2)[1]
        submit(svc["intake"].url, incident__types=["harassment"], incident__location=STREET,
               reporter__email="someone.else@example.org")
        third = triaged(vigil_settings, 3)[2]

        update = httpx.post(f"{svc['intake'].url}/v1/reports/{first['reference']}/updates", timeout=10,
                            headers={"Authorization": f"Bearer {first['follow_up_token']}"},
                            json={"information": "They came back with a knife and are still outside", "ongoing": True,
                                  "weapon": True})
        assert update.status_code == 202, update.text
        retriaged = triaged(vigil_settings, 4)[3]

    assert plain["reference"] == first["reference"]
    assert (plain["matched"], plain["critical"], plain["priority"], plain["ack_deadline"]) == ([], False, "P3", None)
    assert plain["ruleset_version"] == "2026.11.1"
    assert plain["grading"] == {"source": "2", "intelligence": "A", "handling": "P"}
    [repeat] = second["matched"]
    assert repeat["code"] == "repeat_victimisation" and second["priority"] == "P2" and second["needs_duty_inspector"]
    assert "same reporter contact" in repeat["explanation"] and "same place" in repeat["explanation"]
    assert [m["code"] for m in third["matched"]] == ["repeat_victimisation", "cluster"]
    assert "3 reports in this area within 24 hours" in third["matched"][1]["explanation"]
    assert retriaged["incident_id"] == plain["incident_id"] and retriaged["retriage"] is True
    assert retriaged["priority"] == "P2" and "violence" in [m["code"] for m in retriaged["matched"]]
    assert retriaged["ack_deadline"] is not None

    events = incident_events(vigil_settings, 5)
    [published] = [d for t, d, _ in events if t == "vigil.incident.ruleset_published.v1"]
    assert published["version"] == "2026.11.1" and "cluster" in published["rule_codes"]
    for _t, _d, record in events:
        for value in [*PERSONAL, "Whitechapel Road", "knife"]:
            assert value.encode() not in record.value, f"{value!r} travelled in plain text"


def test_two_people_acknowledging_at_once_one_wins_and_the_other_is_told_who(
        vigil_settings: VigilSettings, new_database: Callable[[str], str], logdir: Path) -> None:
    env = stack_env(vigil_settings, new_database)
    created = subprocess.run(
        [sys.executable, "-m", "services.cli", "triage", "create-user", "--username", "dora", "--name", "Dora DI",
         "--role", "duty_inspector", "--password-env", "PW"], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, **env, "PW": PASSWORD})
    assert created.returncode == 0, created.stderr
    staff(env, "sam", "supervisor")
    staff(env, "ann", "analyst")
    with running(env, logdir, ("intake",)) as first, \
            running(env | {"VIGIL_INTAKE_INTERNAL_URL": first["intake"].url}, logdir, ("triage",)) as second:
        svc = first | second
        submit(svc["intake"].url, incident__types=["arson"])
        [decision] = triaged(vigil_settings, 1)
        incident_id = decision["incident_id"]
        dora, sam, ann = (signed_in(svc["triage"].url, u) for u in ("dora", "sam", "ann"))
        detail = eventually(lambda: (r := dora.get(f"/v1/incidents/{incident_id}")).status_code == 200 and r.json(),
                            timeout=60, what="the incident in the queue")
        assert detail["priority"] == "P1" and detail["time_left_seconds"] > 0

        answers: dict[str, httpx.Response] = {}
        barrier = threading.Barrier(2)

        def acknowledge(name: str, client: httpx.Client) -> None:
            barrier.wait()
            answers[name] = client.post(f"/v1/incidents/{incident_id}/acknowledge",
                                        json={"version": detail["version"]})

        threads = [threading.Thread(target=acknowledge, args=(n, c)) for n, c in (("dora", dora), ("sam", sam))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        statuses = sorted(a.status_code for a in answers.values())
        assert statuses == [200, 409], {n: a.text for n, a in answers.items()}
        loser = next(a for a in answers.values() if a.status_code == 409)
        assert loser.headers["content-type"] == "application/problem+json"
        assert loser.json()["detail"].startswith("already acknowledged by ")

        analyst_view = ann.get(f"/v1/incidents/{incident_id}/personal")
        shown = sam.get(f"/v1/incidents/{incident_id}/personal")
        forged = ann.post(f"/v1/incidents/{incident_id}/close", json={"outcome": "crime_recorded"})
        queue = ann.get("/v1/incidents").json()
        regraded = sam.post(f"/v1/incidents/{incident_id}/regrade", json={
            "source": "2", "intelligence": "B", "handling": "C", "reason": "corroborated by a second witness"})
        openapi = sam.get("/openapi.json").json()
        audit, audit_refused = sam.get("/v1/audit/personal-data-views"), ann.get("/v1/audit/personal-data-views")

    winner = next(n for n, a in answers.items() if a.status_code == 200)
    assert {"dora": "Dora DI", "sam": "Sam"}[winner] in loser.json()["detail"]
    acks = incident_events(vigil_settings, 3, "vigil.incident.acknowledged.v1", until=1.0)
    assert len(acks) == 1
    assert acks[0][1]["acknowledged_by"] == {"dora": dora_id(env), "sam": user_id(env, "sam")}[winner]
    assert analyst_view.status_code == 403 and forged.status_code == 403
    assert shown.status_code == 200 and shown.json()["name"] == "Amina Test"
    assert shown.headers["cache-control"] == "no-store"
    assert [q["state"] for q in queue] == ["acknowledged"]
    engine = sa.create_engine(env["TRIAGE_DATABASE_URL"])
    with engine.connect() as conn:
        views = conn.execute(sa.text("SELECT user_id, outcome FROM personal_data_views")).all()
    engine.dispose()
    assert views == [(user_id(env, "sam"), "shown")]
    assert regraded.status_code == 200, regraded.text
    assert regraded.json()["grading"] == {"source": "2", "intelligence": "B", "handling": "C"}
    [(_, regrade, _)] = incident_events(vigil_settings, 4, "vigil.incident.regraded.v1")
    assert regrade["previous"] == {"source": "2", "intelligence": "A", "handling": "P"}
    assert {"/v1/incidents", "/v1/incidents/{incident_id}", "/v1/incidents/{incident_id}/acknowledge",
            "/v1/tension", "/v1/session"} <= set(openapi["paths"])
    assert audit_refused.status_code == 403
    assert [(a["display_name"], a["incident_id"], a["outcome"]) for a in audit.json()] == [
        ("Sam", incident_id, "shown")]


def user_id(env: dict[str, str], username: str) -> str:
    engine = sa.create_engine(env["TRIAGE_DATABASE_URL"])
    with engine.connect() as conn:
        found = conn.execute(sa.text("SELECT user_id FROM staff_users WHERE username = :u"), {"u": username}).scalar()
    engine.dispose()
    return str(found)


def dora_id(env: dict[str, str]) -> str:
    return user_id(env, "dora")


def test_heightened_tension_makes_every_hate_crime_need_the_duty_inspector_until_lifted(
        vigil_settings: VigilSettings, new_database: Callable[[str], str], logdir: Path) -> None:
    env = stack_env(vigil_settings, new_database) | OLD_RULESET
    staff(env, "sam", "supervisor")
    staff(env, "olly", "triage_officer")
    staff(env, "ada", "admin")
    plain = {"incident__types": ["verbal_abuse"], "incident__location": STREET, "reporter__anonymous": True,
             "reporter__email": None, "reporter__name": None}
    with running(env, logdir, ("intake", "triage")) as svc:
        sam, olly = signed_in(svc["triage"].url, "sam"), signed_in(svc["triage"].url, "olly")
        ada = signed_in(svc["triage"].url, "ada")
        new_user = {"username": "vic", "display_name": "Vic", "password": PASSWORD, "roles": ["supervisor"]}
        made, not_admin = ada.post("/v1/users", json=new_user), olly.post("/v1/users", json=new_user)
        weak = ada.post("/v1/users", json=new_user | {"username": "val", "password": "short"})
        assert made.status_code == 201 and not_admin.status_code == 403
        assert weak.status_code == 422 and weak.json()["errors"][0]["field"] == "password"
        assert signed_in(svc["triage"].url, "vic").get("/v1/session").json()["roles"] == ["supervisor"]
        submit(svc["intake"].url, **{**plain, "incident__location": {**STREET, "place_name": "Cable Street"}})
        before = triaged(vigil_settings, 1)[0]
        refused = olly.post("/v1/tension", json={"area": "E23000001", "reason": "Attack on a mosque abroad"})
        declared = sam.post("/v1/tension", json={"area": "E23000001", "reason": "Attack on a mosque abroad"})
        assert declared.status_code == 201, declared.text
        swept_up = triaged(vigil_settings, 2)[1]
        submit(svc["intake"].url, **plain)
        during = triaged(vigil_settings, 3)[2]
        elsewhere = {**plain, "incident__location": {**STREET, "area": "W15000004", "postcode": "SA1 1AA"}}
        submit(svc["intake"].url, **elsewhere)
        other_area = triaged(vigil_settings, 4)[3]
        lifted = sam.post(f"/v1/tension/{declared.json()['tension_id']}/lift", json={"reason": "calmer"})
        assert lifted.status_code == 200, lifted.text
        submit(svc["intake"].url, **{**plain, "incident__location": {**STREET, "place_name": "Brick Lane"}})
        after = triaged(vigil_settings, 5)[4]

    assert refused.status_code == 403
    assert before["priority"] == "P3" and not before["needs_duty_inspector"]
    assert swept_up["incident_id"] == before["incident_id"] and swept_up["retriage"] is True
    assert [m["code"] for m in swept_up["matched"]] == ["heightened_tension"] and swept_up["needs_duty_inspector"]
    assert [m["code"] for m in during["matched"]] == ["heightened_tension"] and during["needs_duty_inspector"]
    assert during["priority"] == "P2" and during["area"] == "E23000001"
    assert other_area["matched"] == [] and other_area["priority"] == "P3"
    assert [m["code"] for m in after["matched"]] == ["cluster"], "the third report here; tension no longer applies"
    tension = [(t, d, r) for t, d, r in incident_events(vigil_settings, 8) if "heightened_tension" in t]
    assert [t for t, _, _ in tension] == ["vigil.incident.heightened_tension_declared.v1",
                                          "vigil.incident.heightened_tension_lifted.v1"]
    assert all(r.key == b"E23000001" for _, _, r in tension)
    assert tension[0][1]["declared_by"] == user_id(env, "sam") and tension[0][1]["reason"]
