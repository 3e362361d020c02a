"""One report through all four services over a real broker and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
from kafka.consumer.fetcher import ConsumerRecord
from prometheus_client.parser import text_string_to_metric_families

from shared.settings import VigilSettings
from shared.staffaccess import SESSION_COOKIE
from tests.factories import report_body
from tests.integration.stack import running, stack_env
from tests.integration.test_triage_flow import signed_in, staff
from tests.support.kafka_reader import headers_of, read_topic
from tests.support.waiting import eventually


def of_type(records: list[ConsumerRecord], ce_type: str) -> ConsumerRecord:
    matching = [r for r in records if headers_of(r)["ce_type"] == ce_type.encode()]
    assert len(matching) == 1, f"expected one {ce_type}, got {len(matching)} of {len(records)} records"
    return matching[0]


def samples(exposition: str) -> dict[tuple[str, str, str], float]:
    """Prometheus samples by (name, consumer or relay, event type)."""
    return {(s.name, s.labels.get("consumer") or s.labels.get("relay", ""), s.labels.get("type", "")): s.value
            for family in text_string_to_metric_families(exposition) for s in family.samples}


PERSONAL = ["Amina Test", "amina@example.org", "E1 6AN", "East London Mosque", "Offensive graffiti"]


def test_a_report_flows_from_intake_through_triage_and_notify_to_assessment(
        vigil_settings: VigilSettings, new_database: Callable[[str], str], logdir: Path) -> None:
    env = stack_env(vigil_settings, new_database)
    topic = vigil_settings.topic_prefix
    body = report_body(incident__types=["physical_assault"], incident__injuries="minor",
                       incident__targeted_characteristics=["religion"])
    with running(env, logdir) as svc:
        answer = httpx.post(f"{svc['intake'].url}/v1/reports", json=body, timeout=10)
        assert answer.status_code == 202, answer.text
        reference = answer.json()["reference"]
        assert answer.json()["status_url"].endswith(f"/v1/reports/{reference}")

        # the report, and in time the records of who read its personal data (notify, for the receipt)
        report = of_type(read_topic(vigil_settings.kafka_bootstrap, f"{topic}vigil.reports.v1", expect=1),
                         "vigil.report.submitted.v1")
        h = headers_of(report)
        assert h["ce_type"] == b"vigil.report.submitted.v1"
        assert h["ce_specversion"] == b"1.0"
        assert h["ce_source"] == b"/vigil/intake"
        assert h["content-type"] == b"application/json"
        assert h["ce_sequence"] == b"1"
        assert h["traceparent"].startswith(b"00-")
        data = json.loads(report.value)
        assert report.key.decode() == data["report_id"] == h["ce_subject"].decode()
        assert data["reference"] == reference
        assert data["incident"]["location"]["area"] == "E23000001"
        assert data["grading"] == {"source": "2", "intelligence": "A", "handling": "P"}
        # Intake matches contacts itself and publishes only results (issue 15): no contact hash travels.
        assert not data["fingerprints"].get("contact") and data["fingerprints"]["place"]
        assert data["earlier_reports_same_contact"] == []
        for value in PERSONAL:
            assert value.encode() not in report.value, f"{value!r} travelled in plain text"

        incident = of_type(read_topic(vigil_settings.kafka_bootstrap, f"{topic}vigil.incidents.v1", expect=1),
                           "vigil.incident.triaged.v1")
        decision = json.loads(incident.value)
        assert headers_of(incident)["ce_type"] == b"vigil.incident.triaged.v1"
        assert incident.key == report.key
        assert decision["critical"] is True and decision["needs_duty_inspector"] is True
        assert {m["code"] for m in decision["matched"]} == {"violence", "place_of_worship"}
        assert decision["priority"] == "P2" and decision["ruleset_version"]
        trace_id = h["traceparent"].split(b"-")[1]
        assert headers_of(incident)["traceparent"].split(b"-")[1] == trace_id, "trace did not follow the report"

        def alert_dispatched() -> list[dict[str, object]]:
            records = read_topic(vigil_settings.kafka_bootstrap, f"{topic}vigil.notifications.v1", expect=1)
            return [d for r in records if headers_of(r)["ce_type"] == b"vigil.notification.dispatched.v1"
                    and (d := json.loads(r.value))["recipient_role"] == "duty_inspector"]

        [dispatched] = eventually(alert_dispatched, 60, "the Duty Inspector alert to be dispatched")
        assert dispatched["incident_id"] == decision["incident_id"]
        assert dispatched["purpose"] == "duty_inspector_alert"
        # A supervisor who is also an analyst signs in once, at triage; notify and assessment ask triage.
        staff(env, "sue", "supervisor", "analyst")
        session = {SESSION_COOKIE: signed_in(svc["triage"].url, "sue").cookies[SESSION_COOKIE]}
        assert httpx.get(f"{svc['notify'].url}/v1/notifications", timeout=5).status_code == 401
        listed = httpx.get(f"{svc['notify'].url}/v1/notifications", params={"purpose": "duty_inspector_alert"},
                           cookies=session, timeout=5).json()
        assert [(n["incident_id"], n["status"]) for n in listed] == [(decision["incident_id"], "sent")]

        area = eventually(lambda: (r := httpx.get(f"{svc['assessment'].url}/v1/areas/E23000001", cookies=session,
                                                  timeout=5).json())["reports"] == 1 and r,
                          what="the projection to count the report")
        assert area["name"] == "Metropolitan Police"
        metrics = samples(httpx.get(f"{svc['triage'].url}/metrics", timeout=5).text)
        assert metrics[("vigil_events_processed_total", "triage-reports", "vigil.report.submitted.v1")] == 1
        assert metrics[("vigil_outbox_published_total", "triage", "")] >= 1
        assert any(name == "vigil_consumer_lag" for name, *_ in metrics)


def test_bad_report_gets_problem_json_naming_each_field(vigil_settings: VigilSettings,
                                                       new_database: Callable[[str], str], logdir: Path) -> None:
    env = stack_env(vigil_settings, new_database)
    body = report_body(incident__types=[], incident__location={"area": "E23000001", "place_type": "castle"})
    body["surprise"] = True
    with running(env, logdir, ("intake",)) as svc:
        answer = httpx.post(f"{svc['intake'].url}/v1/reports", json=body, timeout=10)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in answer.json()["errors"]}
    assert {"incident.types", "incident.location.place_type", "surprise"} <= fields
