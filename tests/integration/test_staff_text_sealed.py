"""What staff write about a report travels and is kept only sealed with the report's key (ADR 0055), over intake and
triage as real processes on a real broker and PostgreSQL.

Override and regrade reasons and a community impact assessment's notes are sealed by intake for triage: the
incidents topic and triage's event log hold none of it readable, the incident page shows it while the key exists,
and once a data protection officer erases the report the key is gone: the page says "[erased]" and intake will
open nothing more. Intake opens staff text for triage only, and never the reporter's own sealed data that way.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from shared.events.reports import Sealed
from shared.personal import ReportErased
from shared.servicecalls import service_headers
from shared.settings import VigilSettings
from shared.stafftext import StaffTextClient
from tests.factories import report_body
from tests.integration.stack import running, stack_env
from tests.integration.test_triage_flow import signed_in, staff, triaged
from tests.support.kafka_reader import read_topic
from tests.support.waiting import eventually

OVERRIDE, REGRADE = "CANARY-override-5b1e", "CANARY-regrade-77c2"
NOTES, ACTIONS, COMMUNITIES = "CANARY-notes-0d9a", "CANARY-actions-41f3", "CANARY-communities-a62b"
CANARIES = (OVERRIDE, REGRADE, NOTES, ACTIONS, COMMUNITIES)
ROOT = Path(__file__).resolve().parents[2]


def readable(raw: bytes) -> list[str]:
    return [c for c in CANARIES if c.encode() in raw]


def topic_bytes(settings: VigilSettings) -> bytes:
    records = read_topic(settings.kafka_bootstrap, f"{settings.topic_prefix}vigil.incidents.v1", expect=1, until=1.0)
    return b"".join(r.value + b"".join(v for _, v in r.headers) for r in records)


def event_log(database_url: str) -> list[dict[str, Any]]:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.text("SELECT type, data FROM event_log"))]
    finally:
        engine.dispose()


def reasons(page: dict[str, Any]) -> str:
    return " ".join(str(t.get("detail")) for t in page["timeline"])


def test_reasons_and_notes_travel_sealed_show_while_the_key_exists_and_are_shredded_by_erasure(
        vigil_settings: VigilSettings, new_database: Callable[[str], str], logdir: Path) -> None:
    env = stack_env(vigil_settings, new_database)
    staff(env, "sam", "supervisor")
    with running(env, logdir, ("intake", "triage")) as svc:
        sent = httpx.post(f"{svc['intake'].url}/v1/reports", json=report_body(), timeout=10)
        assert sent.status_code == 202, sent.text
        [decision] = triaged(vigil_settings, 1)
        incident_id = decision["incident_id"]
        sam = signed_in(svc["triage"].url, "sam")
        steps = [sam.post(f"/v1/incidents/{incident_id}/override", json={
                     "priority": "P1", "needs_duty_inspector": True, "reason": OVERRIDE}),
                 sam.post(f"/v1/incidents/{incident_id}/regrade", json={
                     "source": "1", "intelligence": "B", "handling": "C", "reason": REGRADE}),
                 sam.post(f"/v1/incidents/{incident_id}/cia-requests", json={}),
                 sam.post(f"/v1/incidents/{incident_id}/cia", json={
                     "community_tension": "moderate", "risk_of_disorder": "low", "communities": COMMUNITIES,
                     "notes": NOTES, "actions": ACTIONS})]
        assert [r.status_code for r in steps] == [200] * 4, [r.text for r in steps]
        shown = sam.get(f"/v1/incidents/{incident_id}").json()
        assert OVERRIDE in reasons(shown) and REGRADE in reasons(shown)

        # nothing staff wrote is readable on the topic or in triage's event log; what carries it is sealed
        published = eventually(lambda: (raw := topic_bytes(vigil_settings)).count(b"community_impact_assessment_"
                                                                                  b"completed") and raw, 60,
                               "the assessment on the topic")
        assert readable(published) == []
        logged = event_log(env["TRIAGE_DATABASE_URL"])
        assert readable(str(logged).encode()) == []
        carrying = [r for r in logged if r["type"] in ("vigil.incident.criteria_overridden.v1",
                                                       "vigil.incident.regraded.v1",
                                                       "vigil.incident.community_impact_assessment_completed.v1")]
        assert len(carrying) == 3 and all(_data(r)["sealed"]["alg"] == "AES-256-GCM" for r in carrying)
        assert [_data(r).get("reason") for r in carrying] == ["", "", None]

        # intake opens staff text for triage alone, and the reporter's own sealed data never this way
        report_id = decision["report_id"]
        opener = StaffTextClient(svc["intake"].url, service_headers(vigil_settings, "triage"))
        notify = StaffTextClient(svc["intake"].url, service_headers(vigil_settings, "notify"))
        fake = Sealed(nonce="AAAAAAAAAAAAAAAA", ciphertext="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        refused = notify.client.post(f"{svc['intake'].url}/internal/v1/reports/{report_id}/staff-text:open",
                                     json={"sealed": [fake.model_dump()]}, headers=notify.headers)
        assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
        personal = sealed_personal_data(vigil_settings, report_id)
        wrong = opener.client.post(f"{svc['intake'].url}/internal/v1/reports/{report_id}/staff-text:open",
                                   json={"sealed": [personal]}, headers=opener.headers)
        assert wrong.status_code == 422, wrong.text

        # erasure (`vigil erase`, as the officer would): the key goes, and with it every copy of what staff wrote
        erased = subprocess.run([sys.executable, "-m", "services.cli", "erase", sent.json()["reference"], "--reason",
                                 "Article 17 request, ticket DP-9", "--by", "dana"], cwd=ROOT, capture_output=True,
                                text=True, timeout=120, env={**os.environ, **env})
        assert erased.returncode == 0, erased.stderr + erased.stdout
        after = eventually(lambda: (page := sam.get(f"/v1/incidents/{incident_id}").json())["erased_at"] and page,
                           60, "triage to hear of the erasure")
        assert OVERRIDE not in reasons(after) and REGRADE not in reasons(after) and "[erased]" in reasons(after)
        sealed_values = [Sealed.model_validate(d["sealed"]) for d in (_data(r) for r in carrying)]
        with pytest.raises(ReportErased):
            opener.open(report_id, sealed_values)
        opener.close()
        notify.close()


def _data(row: dict[str, Any]) -> dict[str, Any]:
    data = row["data"]
    return data if isinstance(data, dict) else dict(json.loads(data))


def sealed_personal_data(settings: VigilSettings, report_id: str) -> dict[str, Any]:
    """The reporter's sealed data as intake published it on vigil.reports.v1."""
    records = read_topic(settings.kafka_bootstrap, f"{settings.topic_prefix}vigil.reports.v1", expect=1)
    [submitted] = [json.loads(r.value) for r in records if r.key == report_id.encode()]
    personal: dict[str, Any] = submitted["personal"]
    return personal


def test_a_report_intake_does_not_know_is_404_and_no_credential_is_401(
        vigil_settings: VigilSettings, new_database: Callable[[str], str], logdir: Path) -> None:
    env = stack_env(vigil_settings, new_database)
    with running(env, logdir, ("intake",)) as svc:
        unknown = StaffTextClient(svc["intake"].url, service_headers(vigil_settings, "triage"))
        with pytest.raises(LookupError):
            unknown.seal(str(uuid.uuid4()), {"reason": "x"})
        bare = httpx.post(f"{svc['intake'].url}/internal/v1/reports/{uuid.uuid4()}/staff-text:seal",
                          json={"fields": {"reason": "x"}}, timeout=10)
        assert bare.status_code == 401
        unknown.close()
