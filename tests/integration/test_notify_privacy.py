"""Issue #15 in notify and the partner feed on real Kafka and PostgreSQL, with intake and assessment as real
processes, a real SMTP server and real HTTP receivers: a report kept from partners never reaches them, a regrade
to handling code C withdraws the item from partners not allowed C, a referral carries only its fields, an error
names no address, and after erasure nothing of the reporter is left in notify's database."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import MetaData, create_engine, func, select

from infra.procs import free_port
from services.assessment import tables as assessment_tables
from services.assessment.partner import Pseudonymiser
from services.cli import main as vigil
from services.notify import tables
from services.notify.ledger import FORGOTTEN
from services.notify.main import Notify
from services.notify.policy import Directory, Subscription, SupportOrganisation
from services.notify.reporters.referrals import REFERRAL_FIELDS
from shared.clock import MovableClock
from shared.events.incidents import Grading, IncidentRegraded
from shared.migrate import upgrade
from shared.settings import VigilSettings
from shared.topics import NOTIFICATIONS, PARTNER, REPORTS
from tests.factories import report_body
from tests.integration.stack import running
from tests.integration.test_notify_flow import (
    envelope,
    notify_settings,
    publish,
    running_notify,
    staff_directory,
)
from tests.support.http_receiver import Receiver, http_receiver
from tests.support.kafka_reader import headers_of, read_topic
from tests.support.smtp import Mailbox, smtp_server, wait_for_mail
from tests.support.waiting import eventually

MET, GMP = "E23000001", "E23000005"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def canary() -> str:
    return f"c4n4ry{uuid.uuid4().hex[:8]}"


def canary_report(token: str, area: str = MET, **consent: bool) -> dict[str, Any]:
    """A report whose every personal field that can hold text holds the canary."""
    body = report_body(**{"reporter__name": f"{token} Name", "reporter__email": f"{token}@victim.example",
                          "reporter__phone": "+447700900777", "incident__location__area": area,
                          "incident__location__place_name": f"{token} Mosque",
                          "incident__description": f"{token} words about what happened",
                          "reporter__preferred_language": "ur"})
    body["consent"].update(consent)
    return body


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as box:
        yield box


def _intake_env(vigil_settings: VigilSettings, new_database: Callable[[str], str]) -> dict[str, str]:
    intake_db = new_database("intake")
    upgrade("intake", intake_db)
    return {"VIGIL_ENVIRONMENT": "test", "VIGIL_KAFKA_BOOTSTRAP": vigil_settings.kafka_bootstrap,
            "VIGIL_TOPIC_PREFIX": vigil_settings.topic_prefix,
            "VIGIL_TOPIC_PARTITIONS": str(vigil_settings.topic_partitions), "INTAKE_DATABASE_URL": intake_db}


def _submit(intake_url: str, body: dict[str, Any]) -> str:
    answer = httpx.post(f"{intake_url}/v1/reports", json=body, timeout=10)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["reference"])


def _report_ids(vigil_settings: VigilSettings, expect: int) -> dict[str, str]:
    """Reference to report id, as intake published them."""
    records = read_topic(vigil_settings.kafka_bootstrap, f"{vigil_settings.topic_prefix}{REPORTS}", expect=expect)
    submitted = [json.loads(r.value) for r in records if headers_of(r)["ce_type"] == b"vigil.report.submitted.v1"]
    return {d["reference"]: d["report_id"] for d in submitted}


# ---- consent and regrades on the partner feed ------------------------------------------------------------------

def test_a_report_kept_from_partners_never_reaches_the_partner_topic_or_a_webhook_and_a_regrade_restricts(
        vigil_settings: VigilSettings, new_database: Callable[[str], str], logdir: Path, mailbox: Mailbox) -> None:
    env = _intake_env(vigil_settings, new_database)
    assessment_db = new_database("assessment")
    upgrade("assessment", assessment_db)
    env["ASSESSMENT_DATABASE_URL"] = assessment_db
    start = datetime.now(UTC)
    with running(env, logdir, ("intake", "assessment")) as svc, \
            http_receiver(secret=SECRET) as plain, http_receiver(secret=SECRET) as allowed_c:
        directory = staff_directory(rota_start=start).model_copy(update={"partners": {
            "plain": Subscription(url=plain.url, secret=SECRET),
            "allowed-c": Subscription(url=allowed_c.url, secret=SECRET, handling_c=True)}})
        settings = notify_settings(new_database, mailbox, channels=["webhook", "log"])
        with running_notify(vigil_settings, settings, MovableClock(start), directory):
            kept = _submit(svc["intake"].url, canary_report(canary(), share_with_partners=False))
            shared = _submit(svc["intake"].url, canary_report(canary(), share_with_partners=True))
            ids = eventually(lambda: len(found := _report_ids(vigil_settings, 2)) == 2 and found,
                             what="both reports on the reports topic")
            pseudonym = Pseudonymiser(vigil_settings.fingerprint_key.get_secret_value())
            kept_id, shared_id = pseudonym(ids[kept]), pseudonym(ids[shared])

            eventually(lambda: _folded(assessment_db) == 2, 60, "both reports folded")
            eventually(lambda: _items(plain, shared_id) and _items(allowed_c, shared_id), 60, "the shared item")

            publish(vigil_settings, envelope(IncidentRegraded(
                incident_id=ids[shared], area=MET, previous=Grading(source="2", intelligence="A", handling="P"),
                grading=Grading(source="2", intelligence="A", handling="C"), reason="sensitive source",
                regraded_by="sup", regraded_at=datetime.now(UTC)), ids[shared]))
            eventually(lambda: "vigil.partner.incident_restricted.v1" in _types(plain), 60, "the restriction")
            eventually(lambda: len(_items(allowed_c, shared_id)) == 2, 60, "the regraded item")

    records = read_topic(vigil_settings.kafka_bootstrap, f"{vigil_settings.topic_prefix}{PARTNER}", expect=3)
    assert {r.key.decode() for r in records} == {shared_id}, "a report kept from partners reached the topic"
    for receiver in (plain, allowed_c):
        assert all(r.verified for r in receiver.all())
        assert kept_id not in " ".join(r.body.decode() for r in receiver.all())
    assert _types(plain) == ["vigil.partner.incident_reported.v1", "vigil.partner.incident_restricted.v1"]
    assert [i["data"]["grading"] for i in _items(allowed_c, shared_id)] == ["2AP", "2AC"]
    assert "vigil.partner.incident_restricted.v1" not in _types(allowed_c)


def _folded(assessment_db: str) -> int:
    """The reports of MET in assessment's projection (its staff API is for people signed in at triage, which
    this deployment does not run)."""
    engine = create_engine(assessment_db)
    try:
        with engine.connect() as c:
            reports = assessment_tables.reports
            return int(c.execute(select(func.count()).where(reports.c.area == MET)).scalar_one())
    finally:
        engine.dispose()


def _types(receiver: Receiver) -> list[str]:
    return [r.json()["type"] for r in receiver.accepted()]


def _items(receiver: Receiver, pseudonymous_id: str) -> list[dict[str, Any]]:
    return [b for b in (r.json() for r in receiver.accepted())
            if b["type"] == "vigil.partner.incident_reported.v1" and b["data"]["pseudonymous_id"] == pseudonymous_id]


# ---- referrals --------------------------------------------------------------------------------------------------

def _support_directory(start: datetime, hook: Receiver) -> Directory:
    return staff_directory(rota_start=start).model_copy(update={"support": {
        "met-support": SupportOrganisation(name="Met Support", areas=[MET], url=hook.url, secret=SECRET),
        "gm-support": SupportOrganisation(name="GM Support", areas=[GMP], email="referrals@gm-support.example")}})


def test_a_referral_reaches_the_areas_support_organisation_with_only_what_a_referral_needs(
        vigil_settings: VigilSettings, new_database: Callable[[str], str], logdir: Path, mailbox: Mailbox) -> None:
    start = datetime.now(UTC)
    met_token, gmp_token = canary(), canary()
    with running(_intake_env(vigil_settings, new_database), logdir, ("intake",)) as svc, \
            http_receiver(secret=SECRET) as hook:
        local = vigil_settings.model_copy(update={"intake_internal_url": svc["intake"].url})
        settings = notify_settings(new_database, mailbox, channels=["email", "webhook", "log"])
        with running_notify(local, settings, MovableClock(start), _support_directory(start, hook)):
            met = _submit(svc["intake"].url, canary_report(met_token, refer_to_support=True))
            gmp = _submit(svc["intake"].url, canary_report(gmp_token, GMP, refer_to_support=True))
            [request] = eventually(lambda: hook.accepted(), 60, "the referral webhook")
            [email] = wait_for_mail(mailbox, "referrals@gm-support.example", timeout=60)
            [receipt] = wait_for_mail(mailbox, f"{met_token}@victim.example", timeout=60)
            # notify's relay publishes what it recorded on its own time: wait for both referrals while it runs
            events = eventually(lambda: _notifications_with(vigil_settings, {REFERRAL_SENT}, 2), 60,
                                "both referrals on the topic")

    body = request.json()
    assert request.verified is True and body["type"] == "support_referral"
    assert sorted(body["data"]) == sorted(REFERRAL_FIELDS)
    assert body["data"]["contact"] == {"method": "email", "email": f"{met_token}@victim.example",
                                       "name": f"{met_token} Name"}
    assert (body["data"]["reference"], body["data"]["area"], body["data"]["language"]) == (met, MET, "ur")
    assert body["data"]["types"] == ["graffiti"]
    for kept_back in (f"{met_token} Mosque", f"{met_token} words", "+447700900777", "E1 6AN", "religion"):
        assert kept_back not in request.body.decode(), kept_back

    text = email.part("plain")
    assert gmp in str(email.message["Subject"]) and f"Contact by email: {gmp_token}@victim.example" in text
    for kept_back in (f"{gmp_token} Mosque", f"{gmp_token} words", "+447700900777", "E1 6AN", "religion"):
        assert kept_back not in text, kept_back
    assert "Met Support" in receipt.part("plain"), "the receipt says who the reporter was referred to"

    sent = [json.loads(r.value) for r in events if headers_of(r)["ce_type"] == REFERRAL_SENT]
    assert sorted(e["organisation"] for e in sent) == ["gm-support", "met-support"]
    for record in events:
        assert met_token not in record.value.decode() and gmp_token not in record.value.decode()


REFERRAL_SENT = b"vigil.notification.referral_sent.v1"
FAILURES = {b"vigil.notification.delivery_failed.v1", b"vigil.notification.gave_up.v1"}


def _notifications_with(settings: VigilSettings, types: set[bytes], count: int) -> list[Any] | None:
    """Every record on the notifications topic so far, once `count` of them are of `types`: notify's relay
    publishes on its own time, so a test waits for what it asserts while notify still runs."""
    events = read_topic(settings.kafka_bootstrap, f"{settings.topic_prefix}{NOTIFICATIONS}", expect=1, timeout=5)
    return events if sum(headers_of(r)["ce_type"] in types for r in events) >= count else None


# ---- errors and erasure -----------------------------------------------------------------------------------------

class _Greylisting:
    """A mail server that turns the reporter's address away for now, quoting it, as real servers do."""

    def __init__(self, token: str) -> None:
        self.token = token

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.token in address:
            return f"450 4.2.0 <{address}>: Recipient address rejected: greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


@contextmanager
def greylisting_smtp(token: str) -> Iterator[int]:
    controller = Controller(_Greylisting(token), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()


def test_a_failed_send_names_no_address_and_after_erasure_notify_holds_nothing_of_the_reporter(
        vigil_settings: VigilSettings, new_database: Callable[[str], str], logdir: Path, mailbox: Mailbox,
        monkeypatch: pytest.MonkeyPatch) -> None:
    token = canary()
    start = datetime.now(UTC)
    clock = MovableClock(start)
    env = _intake_env(vigil_settings, new_database)
    with running(env, logdir, ("intake",)) as svc, greylisting_smtp(token) as smtp_port, \
            http_receiver(secret=SECRET) as hook:
        local = vigil_settings.model_copy(update={"intake_internal_url": svc["intake"].url})
        settings = notify_settings(new_database, mailbox, channels=["email", "webhook", "log"], smtp_port=smtp_port,
                                   max_attempts=2)
        with running_notify(local, settings, clock, _support_directory(start, hook)) as notify:
            reference = _submit(svc["intake"].url, canary_report(token, refer_to_support=True))
            eventually(lambda: hook.accepted(), 60, "the referral")  # it left Vigil: out of erasure's reach
            eventually(lambda: _receipt(notify)["last_error"], 60, "the first refused attempt")
            clock.advance(timedelta(seconds=10))  # past the backoff
            gave_up = eventually(lambda: (r := _receipt(notify))["status"] == "gave_up" and r, 60, "the give-up")
            assert gave_up["last_error"] == "SMTPRecipientsRefused: 450"

            monkeypatch.setenv("INTAKE_DATABASE_URL", env["INTAKE_DATABASE_URL"])
            assert vigil(["erase", reference, "--reason", "Article 17 request, ticket DP-15", "--by", "dana"]) == 0
            eventually(lambda: _erased(notify), 60, "the erasure to reach notify")
            dump = _dump(settings.database_url)
            rows = [r for r in _rows(notify) if r["report_id"]]
            records = eventually(lambda: _notifications_with(vigil_settings, FAILURES, 3), 60, "the three failures")

    assert token not in dump, "notify kept something of the erased reporter"
    assert {r["payload"] for r in rows} == {FORGOTTEN} and {r["status"] for r in rows} == {"sent", "gave_up"}
    failures = [json.loads(r.value) for r in records if headers_of(r)["ce_type"] in FAILURES]
    assert len(failures) == 3
    assert {f.get("error") or f.get("last_error") for f in failures} == {"SMTPRecipientsRefused: 450"}
    for record in records:
        assert token not in record.value.decode() and b"victim.example" not in record.value


def _rows(notify: Notify) -> list[dict[str, Any]]:
    with notify.db.sessions() as s:
        return [dict(r) for r in s.execute(select(tables.deliveries)).mappings()]


def _receipt(notify: Notify) -> dict[str, Any]:
    return next(r for r in _rows(notify) if r["purpose"] == "reporter_receipt")


def _erased(notify: Notify) -> bool:
    with notify.db.sessions() as s:
        return bool(s.execute(select(tables.reporters.c.erased)).scalar())


def _dump(database_url: str) -> str:
    """Every row of every table in notify's database, found by reflection (not only the tables notify's code
    names), as text."""
    engine = create_engine(database_url)
    try:
        found = MetaData()
        found.reflect(engine)
        with engine.connect() as c:
            return "\n".join(" ".join(str(v) for v in row) for table in found.sorted_tables
                             for row in c.execute(select(table)).all())
    finally:
        engine.dispose()
