"""Erase, then scan (issue #15): a report whose every personal field and every staff note holds a unique canary goes
through the four services on a real broker and PostgreSQL (triage's actions, a community impact assessment,
notify's messages, the partner feed), then a data protection officer erases it. Afterwards no canary is readable
in the raw bytes of any topic, in any table of any service's database, or in any log file Vigil wrote; the key is
gone, intake answers 410, and partners were sent the erasure.

What already left Vigil (an email delivered) is out of its reach and out of the scan.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from kafka import KafkaConsumer

from services.notify.policy import Subscription
from shared.settings import VigilSettings
from tests.factories import report_body
from tests.integration.stack import running, stack_env
from tests.integration.test_notify_flow import staff_directory
from tests.integration.test_triage_flow import signed_in, staff, triaged
from tests.support.http_receiver import Receiver, http_receiver
from tests.support.kafka_reader import read_topic
from tests.support.smtp import Mailbox, smtp_server, wait_for_mail
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
PERSONAL = {"name": "Zqcanaryname Vellow", "email": "zq.canary.mail@example.org", "phone": "07700 900917",
            "organisation": "Zqcanary Organisation", "place_name": "Zqcanary Place", "postcode": "E1 7QX",
            "url": "https://example.org/zqcanary-url", "platform": "Zqcanary platform",
            "description": "Zqcanary description of what happened",
            "information": "Zqcanary follow-up information"}
STAFF_WORDS = {"override": "Zqcanary override reason", "regrade": "Zqcanary regrade reason",
               "communities": "Zqcanary communities", "notes": "Zqcanary notes", "actions": "Zqcanary actions"}
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
CANARIES = [*PERSONAL.values(), "07700900917", "+447700900917", *STAFF_WORDS.values()]


def readable(raw: bytes) -> list[str]:
    lowered = raw.lower()
    return [c for c in CANARIES if c.lower().encode() in lowered]


def webhooks(receiver: Receiver, event_type: str) -> list[dict[str, Any]]:
    return [b for b in (r.json() for r in receiver.accepted()) if b["type"] == event_type]


def every_topic(settings: VigilSettings) -> dict[str, bytes]:
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    try:
        names = sorted(t for t in consumer.topics() if t.startswith(settings.topic_prefix))
    finally:
        consumer.close()
    out = {}
    for name in names:
        records = read_topic(settings.kafka_bootstrap, name, expect=0, timeout=10, until=0.5)
        out[name] = b"".join((r.key or b"") + (r.value or b"") + b"".join(v for _, v in r.headers) for r in records)
    return out


def every_table(database_url: str) -> dict[str, bytes]:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            names = sa.inspect(conn).get_table_names()
            return {name: repr(conn.execute(sa.text(f'SELECT * FROM "{name}"')).all()).encode()  # noqa: S608
                    for name in names}
    finally:
        engine.dispose()


def notify_directory(tmp_path: Path, partner: Receiver) -> Path:
    """Notify's directory as a file: the test rota, and a partner subscribed to the area's webhooks."""
    directory = staff_directory(rota_start=datetime.now(UTC)).model_copy(update={"partners": {
        "tell-partner": Subscription(url=partner.url, secret=SECRET)}})
    path = tmp_path / "directory.json"
    path.write_text(json.dumps(directory.model_dump(mode="json")), encoding="utf-8")
    return path


def test_after_erasure_no_canary_is_readable_in_any_topic_table_or_log(
        vigil_settings: VigilSettings, new_database: Callable[[str], str], logdir: Path, tmp_path: Path) -> None:
    with smtp_server() as mailbox, http_receiver(secret=SECRET) as partner:
        scan_after_erasure(vigil_settings, new_database, logdir, tmp_path, mailbox, partner)


def scan_after_erasure(vigil_settings: VigilSettings, new_database: Callable[[str], str], logdir: Path,
                       tmp_path: Path, mailbox: Mailbox, partner: Receiver) -> None:
    env = stack_env(vigil_settings, new_database) | {
        "NOTIFY_DIRECTORY_FILE": str(notify_directory(tmp_path, partner)), "NOTIFY_SMTP_HOST": mailbox.host,
        "NOTIFY_SMTP_PORT": str(mailbox.port), "NOTIFY_CHANNELS": '["email", "webhook", "log"]'}
    staff(env, "sam", "supervisor")
    body = report_body(reporter__name=PERSONAL["name"], reporter__email=PERSONAL["email"],
                       reporter__phone=PERSONAL["phone"], reporter__organisation=PERSONAL["organisation"],
                       incident__location={"area": "E23000001", "postcode": PERSONAL["postcode"],
                                           "place_type": "place_of_worship", "place_name": PERSONAL["place_name"]},
                       incident__online={"platform": PERSONAL["platform"], "url": PERSONAL["url"]},
                       incident__description=PERSONAL["description"])
    with running(env, logdir) as svc:
        sent = httpx.post(f"{svc['intake'].url}/v1/reports", json=body, timeout=10)
        assert sent.status_code == 202, sent.text
        reference, token = sent.json()["reference"], sent.json()["follow_up_token"]
        reporter = {"Authorization": f"Bearer {token}"}
        added = httpx.post(f"{svc['intake'].url}/v1/reports/{reference}/updates", headers=reporter, timeout=10,
                           json={"information": PERSONAL["information"]})
        assert added.status_code == 202, added.text
        [decision] = triaged(vigil_settings, 1)
        incident_id, report_id = decision["incident_id"], decision["report_id"]
        sam = signed_in(svc["triage"].url, "sam")
        steps = [sam.post(f"/v1/incidents/{incident_id}/acknowledge", json={}),
                 sam.post(f"/v1/incidents/{incident_id}/override", json={
                     "priority": "P1", "needs_duty_inspector": True, "reason": STAFF_WORDS["override"]}),
                 sam.post(f"/v1/incidents/{incident_id}/regrade", json={
                     "source": "1", "intelligence": "B", "handling": "P", "reason": STAFF_WORDS["regrade"]}),
                 sam.post(f"/v1/incidents/{incident_id}/cia-requests", json={}),
                 sam.post(f"/v1/incidents/{incident_id}/cia", json={
                     "community_tension": "moderate", "risk_of_disorder": "low",
                     "communities": STAFF_WORDS["communities"], "notes": STAFF_WORDS["notes"],
                     "actions": STAFF_WORDS["actions"]})]
        assert [r.status_code for r in steps] == [200] * 5, [r.text for r in steps]
        assert sam.get(f"/v1/incidents/{incident_id}/personal").json()["name"] == PERSONAL["name"]
        # the receipt and a progress update: they left Vigil, out of its reach and of the scan
        told_reporter = wait_for_mail(mailbox, PERSONAL["email"], count=2, timeout=60)
        assert all(reference in m.part("plain") for m in told_reporter)
        eventually(lambda: len(webhooks(partner, "vigil.partner.incident_reported.v1")) >= 3, 60,
                   "the item and its updates at the partner")

        # the scan sees what is there: before erasure the assessment's notes sit in triage's table for its pages
        # (ADR 0055), and the topics hold nothing readable even now
        before = every_table(env["TRIAGE_DATABASE_URL"])["community_impact_assessments"]
        assert readable(before) == [STAFF_WORDS["communities"], STAFF_WORDS["notes"], STAFF_WORDS["actions"]]
        assert {t: hits for t, raw in every_topic(vigil_settings).items() if (hits := readable(raw))} == {}

        erased = subprocess.run([sys.executable, "-m", "services.cli", "erase", reference, "--reason",
                                 "Article 17 request, ticket DP-11", "--by", "dana"], cwd=ROOT, capture_output=True,
                                text=True, timeout=120, env={**os.environ, **env})
        assert erased.returncode == 0, erased.stderr + erased.stdout
        [told] = eventually(lambda: webhooks(partner, "vigil.partner.incident_erased.v1"), 60,
                            "the partner to be sent the erasure")
        assert told["data"]["pseudonymous_id"] == webhooks(partner, "vigil.partner.incident_reported.v1")[0][
            "data"]["pseudonymous_id"]
        eventually(lambda: sam.get(f"/v1/incidents/{incident_id}").json()["erased_at"], 60, "triage to erase")
        assert httpx.get(f"{svc['intake'].url}/v1/reports/{reference}", headers=reporter, timeout=10
                         ).status_code == 410
        assert sam.get(f"/v1/incidents/{incident_id}/personal").json().get("name") is None

    found: dict[str, list[str]] = {}
    for topic, raw in every_topic(vigil_settings).items():
        found |= {f"topic {topic}": hits for hits in [readable(raw)] if hits}
    for service in ("intake", "triage", "notify", "assessment"):
        tables = every_table(env[f"{service.upper()}_DATABASE_URL"])
        found |= {f"{service}.{table}": hits for table, raw in tables.items() if (hits := readable(raw))}
        if service == "intake":
            keys = sa.create_engine(env["INTAKE_DATABASE_URL"])
            with keys.connect() as conn:
                assert conn.execute(sa.text("SELECT count(*) FROM report_keys WHERE report_id = :r"),
                                    {"r": report_id}).scalar() == 0, "the report's key is gone"
            keys.dispose()
    logs = sorted(logdir.rglob("*.log"))
    assert logs, "the services wrote logs"
    found |= {f"log {p.name}": hits for p in logs if (hits := readable(p.read_bytes()))}
    assert found == {}, json.dumps(found, indent=1)
