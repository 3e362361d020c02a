"""Erase, then scan (issue #15): reports whose every personal field and every staff note holds a unique canary go
through the four services on a real broker and PostgreSQL, then a data protection officer erases them. Afterwards
no canary is readable in the raw bytes of any topic, in any table of any service's database, or in any log file
Vigil wrote; the keys are gone, intake answers 410, and partners were sent the erasure.

Two reports: one from the public form (triage's actions, a community impact assessment, the reporter told by
email, the partner feed, a referral to a support service by webhook) and one in a reporting centre's batch (its
own reference, kept from the police and held for the centre's caseworkers, the reporter told by SMS through the
gateway, a referral with their phone number).

What already left Vigil (an email delivered, an SMS posted to the gateway, a referral delivered) is out of its
reach and out of the scan; the test asserts that each went, so that every path really ran.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import sqlalchemy as sa
from kafka import KafkaConsumer

from services.intake.centres import Centres
from services.notify.policy import Subscription, SupportOrganisation
from shared.clock import SystemClock
from shared.db import Database
from shared.settings import VigilSettings
from tests.factories import report_body
from tests.integration.stack import running, stack_env
from tests.integration.test_notify_flow import staff_directory
from tests.integration.test_triage_flow import incident_events, signed_in, staff
from tests.integration.test_triage_privacy import centre_caseworker
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
# the reporting centre's report: the reporter left a phone number only, so they are told by SMS
CENTRE = {"name": "Zqcentre Reportername", "phone": "07700 900918", "organisation": "Zqcentre Organisation",
          "place_name": "Zqcentre Shop", "postcode": "E2 7QZ", "url": "https://example.org/zqcentre-url",
          "platform": "Zqcentre platform", "description": "Zqcentre description of what happened",
          "external_reference": "TM-ZQCENTRE-0001", "information": "Zqcentre follow-up information"}
CENTRE_ID = "tell-mama"
STAFF_WORDS = {"override": "Zqcanary override reason", "regrade": "Zqcanary regrade reason",
               "communities": "Zqcanary communities", "notes": "Zqcanary notes", "actions": "Zqcanary actions"}
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
CANARIES = [*PERSONAL.values(), "07700900917", "+447700900917", *CENTRE.values(), "07700900918", "+447700900918",
            *STAFF_WORDS.values()]
TRIAGED = "vigil.incident.triaged.v1"


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


def notify_directory(tmp_path: Path, partner: Receiver, support: Receiver) -> Path:
    """Notify's directory as a file: the test rota, a partner subscribed to the area's webhooks, and the area's
    support service taking referrals by webhook."""
    directory = staff_directory(rota_start=datetime.now(UTC)).model_copy(update={
        "partners": {"tell-partner": Subscription(url=partner.url, secret=SECRET)},
        "support": {"area-support": SupportOrganisation(name="Area Support", areas=["E23000001"], url=support.url,
                                                        secret=SECRET)}})
    path = tmp_path / "directory.json"
    path.write_text(json.dumps(directory.model_dump(mode="json")), encoding="utf-8")
    return path


def decided(settings: VigilSettings, *references: str) -> dict[str, dict[str, Any]]:
    """Triage's first decision on each report, by reference, once there is one for every reference."""
    def enough() -> dict[str, dict[str, Any]] | None:
        found = {d["reference"]: d for t, d, _ in incident_events(settings, 1) if t == TRIAGED and not d["retriage"]}
        return found if set(references) <= found.keys() else None

    return eventually(enough, 90, f"triage decisions on {references}")


def national(phone: str) -> str:
    """A UK number's digits after the 0 or +44, however it was written."""
    return phone.replace(" ", "").removeprefix("+44").removeprefix("0")


def texts_to(gateway: Receiver, phone: str) -> list[dict[str, Any]]:
    """What the SMS gateway was asked to send to `phone`."""
    return [b for b in (r.json() for r in gateway.accepted()) if national(b["to"]) == national(phone)]


def erased_at_notify(database_url: str, report_id: str) -> bool:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return bool(conn.execute(sa.text("SELECT erased FROM reporters WHERE report_id = :r"),
                                     {"r": report_id}).scalar())
    finally:
        engine.dispose()


def centre_key(env: dict[str, str]) -> str:
    db = Database(env["INTAKE_DATABASE_URL"])
    try:
        return Centres(db, SystemClock()).issue(CENTRE_ID, "erase-then-scan").api_key
    finally:
        db.dispose()


def centre_batch() -> dict[str, Any]:
    """A reporting centre's batch: one report kept from the police, its reporter reachable by phone only, asking
    to be referred to support."""
    return {"reports": [report_body(
        reporter={"role": "third_party", "anonymous": False, "name": CENTRE["name"], "phone": CENTRE["phone"],
                  "organisation": CENTRE["organisation"], "preferred_language": "en"},
        consent={"contact": True, "share_with_police": False, "share_with_partners": False, "refer_to_support": True},
        incident__location={"area": "E23000001", "postcode": CENTRE["postcode"], "place_type": "shop",
                            "place_name": CENTRE["place_name"]},
        incident__online={"platform": CENTRE["platform"], "url": CENTRE["url"]},
        incident__description=CENTRE["description"], external_reference=CENTRE["external_reference"])]}


class Receivers(NamedTuple):
    partner: Receiver  # a partner's webhook endpoint
    support: Receiver  # the support service's referral endpoint
    gateway: Receiver  # the SMS gateway


def test_after_erasure_no_canary_is_readable_in_any_topic_table_or_log(
        vigil_settings: VigilSettings, new_database: Callable[[str], str], logdir: Path, tmp_path: Path) -> None:
    with smtp_server() as mailbox, http_receiver(secret=SECRET) as partner, \
            http_receiver(secret=SECRET) as support, http_receiver(path="/messages") as gateway:
        receivers = Receivers(partner, support, gateway)
        scan_after_erasure(vigil_settings, new_database, logdir, tmp_path, mailbox, receivers)


def scan_after_erasure(vigil_settings: VigilSettings, new_database: Callable[[str], str], logdir: Path,
                       tmp_path: Path, mailbox: Mailbox, receivers: Receivers) -> None:
    partner, support, gateway = receivers
    env = stack_env(vigil_settings, new_database) | {
        "NOTIFY_DIRECTORY_FILE": str(notify_directory(tmp_path, partner, support)), "NOTIFY_SMTP_HOST": mailbox.host,
        "NOTIFY_SMTP_PORT": str(mailbox.port), "NOTIFY_CHANNELS": '["email", "sms", "webhook", "log"]',
        "NOTIFY_SMS_GATEWAY_URL": gateway.url}
    staff(env, "sam", "supervisor")
    centre_caseworker(env, "tina", CENTRE_ID)
    api_key = centre_key(env)
    body = report_body(reporter__name=PERSONAL["name"], reporter__email=PERSONAL["email"],
                       reporter__phone=PERSONAL["phone"], reporter__organisation=PERSONAL["organisation"],
                       incident__location={"area": "E23000001", "postcode": PERSONAL["postcode"],
                                           "place_type": "place_of_worship", "place_name": PERSONAL["place_name"]},
                       incident__online={"platform": PERSONAL["platform"], "url": PERSONAL["url"]},
                       incident__description=PERSONAL["description"], consent__refer_to_support=True)
    with running(env, logdir) as svc:
        sent = httpx.post(f"{svc['intake'].url}/v1/reports", json=body, timeout=10)
        assert sent.status_code == 202, sent.text
        reference, token = sent.json()["reference"], sent.json()["follow_up_token"]
        reporter = {"Authorization": f"Bearer {token}"}
        added = httpx.post(f"{svc['intake'].url}/v1/reports/{reference}/updates", headers=reporter, timeout=10,
                           json={"information": PERSONAL["information"]})
        assert added.status_code == 202, added.text
        batch = httpx.post(f"{svc['intake'].url}/v1/reports:batch", headers={"X-API-Key": api_key},
                           json=centre_batch(), timeout=10)
        assert batch.status_code == 200 and batch.json()["accepted"] == 1, batch.text
        [item] = batch.json()["results"]
        assert item["external_reference"] == CENTRE["external_reference"]
        centre_ref = item["accepted"]["reference"]
        centre_reporter = {"Authorization": f"Bearer {item['accepted']['follow_up_token']}"}
        added = httpx.post(f"{svc['intake'].url}/v1/reports/{centre_ref}/updates", headers=centre_reporter,
                           timeout=10, json={"information": CENTRE["information"]})
        assert added.status_code == 202, added.text
        decisions = decided(vigil_settings, reference, centre_ref)
        incident_id, report_id = decisions[reference]["incident_id"], decisions[reference]["report_id"]
        held, centre_report_id = decisions[centre_ref]["incident_id"], decisions[centre_ref]["report_id"]
        assert decisions[centre_ref]["held_for_centre"] is True
        sam, tina = signed_in(svc["triage"].url, "sam"), signed_in(svc["triage"].url, "tina")
        # the centre's report is its caseworkers': the police do not see it
        assert [i["incident_id"] for i in tina.get("/v1/held").json()] == [held]
        assert sam.get(f"/v1/incidents/{held}").status_code == 404
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
        # the centre's reporter told by SMS through the gateway, and both reporters referred to the area's support
        # service: these left Vigil too
        [text] = eventually(lambda: texts_to(gateway, CENTRE["phone"]), 60, "the receipt by SMS")
        assert centre_ref in text["text"] and readable(text["to"].encode()), "a phone canary left in the SMS"
        contacts = eventually(lambda: len(found := {r.json()["data"]["reference"]: r.json()["data"]["contact"]
                                                    for r in support.accepted()}) == 2 and found, 60, "both referrals")
        referrals = support.all()
        assert all(r.verified and r.json()["type"] == "support_referral" for r in referrals)
        assert contacts[reference]["email"] == PERSONAL["email"]
        assert national(contacts[centre_ref]["phone"]) == national(CENTRE["phone"])
        assert contacts[centre_ref]["name"] == CENTRE["name"] and "email" not in contacts[centre_ref]

        # the scan sees what is there: before erasure the assessment's notes sit in triage's table for its pages
        # (ADR 0055), and the topics hold nothing readable even now
        before = every_table(env["TRIAGE_DATABASE_URL"])["community_impact_assessments"]
        assert readable(before) == [STAFF_WORDS["communities"], STAFF_WORDS["notes"], STAFF_WORDS["actions"]]
        # and intake keeps a centre's own reference in clear, to answer a resent batch the same, until erasure
        assert readable(every_table(env["INTAKE_DATABASE_URL"])["reports"]) == [CENTRE["external_reference"]]
        assert {t: hits for t, raw in every_topic(vigil_settings).items() if (hits := readable(raw))} == {}

        for ref, ticket in ((reference, "DP-11"), (centre_ref, "DP-12")):
            erased = subprocess.run([sys.executable, "-m", "services.cli", "erase", ref, "--reason",
                                     f"Article 17 request, ticket {ticket}", "--by", "dana"], cwd=ROOT,
                                    capture_output=True, text=True, timeout=120, env={**os.environ, **env})
            assert erased.returncode == 0, erased.stderr + erased.stdout
        [told] = eventually(lambda: webhooks(partner, "vigil.partner.incident_erased.v1"), 60,
                            "the partner to be sent the erasure")
        assert told["data"]["pseudonymous_id"] == webhooks(partner, "vigil.partner.incident_reported.v1")[0][
            "data"]["pseudonymous_id"]
        eventually(lambda: sam.get(f"/v1/incidents/{incident_id}").json()["erased_at"], 60, "triage to erase")
        assert httpx.get(f"{svc['intake'].url}/v1/reports/{reference}", headers=reporter, timeout=10
                         ).status_code == 410
        assert sam.get(f"/v1/incidents/{incident_id}/personal").json().get("name") is None
        eventually(lambda: tina.get(f"/v1/incidents/{held}").json()["erased_at"], 60, "triage to erase the centre's")
        assert httpx.get(f"{svc['intake'].url}/v1/reports/{centre_ref}", headers=centre_reporter, timeout=10
                         ).status_code == 410
        eventually(lambda: all(erased_at_notify(env["NOTIFY_DATABASE_URL"], r) for r in (report_id, centre_report_id)),
                   60, "notify to forget both reporters")

    found: dict[str, list[str]] = {}
    for topic, raw in every_topic(vigil_settings).items():
        found |= {f"topic {topic}": hits for hits in [readable(raw)] if hits}
    for service in ("intake", "triage", "notify", "assessment"):
        tables = every_table(env[f"{service.upper()}_DATABASE_URL"])
        found |= {f"{service}.{table}": hits for table, raw in tables.items() if (hits := readable(raw))}
        if service == "intake":
            keys = sa.create_engine(env["INTAKE_DATABASE_URL"])
            with keys.connect() as conn:
                assert conn.execute(sa.text("SELECT count(*) FROM report_keys WHERE report_id IN (:a, :b)"),
                                    {"a": report_id, "b": centre_report_id}).scalar() == 0, "the reports' keys are gone"
            keys.dispose()
    logs = sorted(logdir.rglob("*.log"))
    assert logs, "the services wrote logs"
    found |= {f"log {p.name}": hits for p in logs if (hits := readable(p.read_bytes()))}
    assert found == {}, json.dumps(found, indent=1)
