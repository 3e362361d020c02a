"""Issue #15 in notify and the partner feed, without a broker: errors recorded without addresses, erasure and
withdrawal in the ledger, referrals to support carrying only their fields, consent and regrades on the partner
feed. Notify runs on an embedded SQLite database with recording channels and intake's personal-data API as a
twin; the real SMTP server, HTTP receiver, Kafka and PostgreSQL are in tests/integration/test_notify_privacy.py."""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from services.assessment import tables as assessment_tables
from services.assessment.partner import Pseudonymiser, partner_events
from services.assessment.projection import ReportFacts
from services.assessment.worker import LiveProjection
from services.notify import tables
from services.notify.channels import (
    LogChannel,
    Message,
    PermanentFailure,
    SmtpChannel,
    SmtpConfig,
    TransientHTTPError,
    error_summary,
)
from services.notify.dispatch import Cancel, Dispatcher, Retry
from services.notify.ledger import FORGOTTEN, Forgotten, queue
from services.notify.main import Notify, build
from services.notify.messages import Templates
from services.notify.partners.service import receives
from services.notify.policy import Directory, Subscription, SupportOrganisation
from services.notify.reporters.referrals import REFERRAL_FIELDS, Outcome, Referrals, decide
from services.notify.settings import NotifySettings
from shared.areas import default_registry
from shared.clock import MovableClock
from shared.db import Database
from shared.events.base import Envelope, Event
from shared.events.incidents import Grading, IncidentRegraded
from shared.events.partner import PartnerIncidentErased, PartnerIncidentReported, PartnerIncidentRestricted
from shared.events.reports import ReportErased, ReportSubmitted, ReportWithdrawn
from shared.eventstore import EventStore
from shared.ids import new_id
from shared.migrate import upgrade
from shared.personal import ReportErased as Gone
from shared.settings import VigilSettings

T0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
MET, CAMDEN = "E23000001", "E09000007"
CANARY = "canary-7f3a@victim.example"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
PERSONAL = {"name": "Canary Name 7f3a", "email": CANARY, "phone": "+447700900777", "postcode": "E1 7F3A",
            "place_name": "Canary Mosque 7f3a", "description": "canary words 7f3a", "organisation": "Canary Org 7f3a"}


# ---- error redaction ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("error", "recorded"), [
    (smtplib.SMTPRecipientsRefused({CANARY: (550, f"5.1.1 <{CANARY}>: no such user".encode())}),
     "SMTPRecipientsRefused: 550"),
    (smtplib.SMTPDataError(451, f"4.3.0 <{CANARY}>: mailbox busy".encode()), "SMTPDataError: 451"),
    (smtplib.SMTPSenderRefused(553, b"sender refused", CANARY), "SMTPSenderRefused: 553"),
    (smtplib.SMTPServerDisconnected(f"lost talking about {CANARY}"), "SMTPServerDisconnected"),
    (httpx.HTTPStatusError(f"503 for {CANARY}", request=httpx.Request("POST", "http://gw.example/"),
                           response=httpx.Response(503)), "HTTPStatusError: 503"),
    (httpx.ConnectError(f"cannot reach {CANARY}"), "ConnectError"),
    (TransientHTTPError("webhook", 502), "TransientHTTPError: 502"),
    (ConnectionRefusedError(111, f"refused {CANARY}"), "ConnectionRefusedError"),
])
def test_an_error_is_recorded_as_its_class_and_protocol_code_never_its_message(error: Exception,
                                                                                recorded: str) -> None:
    assert CANARY in str(error) or "503" in str(error) or "502" in str(error)
    assert error_summary(error) == recorded


class _Refusing:
    """An open SMTP connection whose server refuses the recipient, as smtplib reports it."""

    def __init__(self, code: int) -> None:
        self.code = code

    def send_message(self, _email: Any) -> None:
        raise smtplib.SMTPRecipientsRefused({CANARY: (self.code, f"<{CANARY}>: refused".encode())})

    def close(self) -> None:
        return


def _smtp_refusing(code: int) -> SmtpChannel:
    channel = SmtpChannel(SmtpConfig())
    channel._local.smtp = _Refusing(code)
    return channel


def test_a_refused_recipient_gives_up_at_5xx_and_is_retried_at_4xx_and_neither_names_the_address() -> None:
    message = Message("k1", "email", CANARY, "subject", "text")
    with pytest.raises(PermanentFailure) as permanent:
        _smtp_refusing(550).send(message)
    assert str(permanent.value) == "SMTPRecipientsRefused: 550" and permanent.value.__cause__ is None
    with pytest.raises(smtplib.SMTPRecipientsRefused) as greylisted:
        _smtp_refusing(450).send(message)
    assert error_summary(greylisted.value) == "SMTPRecipientsRefused: 450"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'notify.db'}"
    upgrade("notify", url)
    database = Database(url)
    yield database
    database.dispose()


class _Busy(LogChannel):
    """A mail server that keeps answering 451, quoting the recipient."""

    name = "email"

    def send(self, message: Message) -> None:
        raise smtplib.SMTPDataError(451, f"4.2.0 <{message.to}>: mailbox busy, try later".encode())


def test_a_failing_send_leaves_no_address_in_the_ledger_the_events_or_the_log(
        db: Database, caplog: pytest.LogCaptureFixture) -> None:
    clock = MovableClock(T0)
    with db.transaction() as s:
        queue(s, clock, key="k1", incident_id=None, purpose="reporter_receipt", channel="email",
              recipient_role="reporter", recipient="reporter:r1", report_id="r1", payload={"template": "x"})
    dispatcher = Dispatcher(db, EventStore(tables.metadata, "/vigil/notify", clock), clock, "email", _Busy(),
                            lambda row: Message(str(row["idempotency_key"]), "email", CANARY), Retry(2, 1, 1, 30))
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            dispatcher.dispatch_due()
            clock.advance(timedelta(seconds=5))
    everything = _dump(db)
    assert "SMTPDataError: 451" in everything and "gave_up" in everything
    assert "mailbox busy" not in everything and CANARY not in everything
    logged = " ".join(str(r.__dict__) for r in caplog.records)
    assert "SMTPDataError: 451" in logged and CANARY not in logged


def _dump(db: Database) -> str:
    """Every row of every notify table, as text: what a dump of the database would show."""
    with db.sessions() as s:
        return "\n".join(" ".join(str(v) for v in row) for table in tables.metadata.sorted_tables
                         for row in s.execute(select(table)).all())


# ---- erasure and withdrawal -------------------------------------------------------------------------------------

class _Recorder(LogChannel):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name

    def send(self, message: Message) -> None:
        self.sent.append(message)


class _Intake:
    """Intake's personal-data API: the report's details until it is erased, then 410."""

    def __init__(self) -> None:
        self.erased: set[str] = set()
        self.purposes: list[str] = []  # why notify asked, each time

    def get(self, report_id: str, purpose: str, on_behalf_of: str | None = None) -> dict[str, Any]:
        self.purposes.append(purpose)
        if report_id in self.erased:
            raise Gone(report_id)
        return dict(PERSONAL)


def _directory(support: dict[str, Any] | None = None) -> Directory:
    return Directory.model_validate({
        "people": {"di": {"name": "DI", "email": "di@police.example"}, "n": {"name": "N", "email": "n@police.example"}},
        "teams": {"t": ["n"]},
        "policies": {"p": {"levels": [{"targets": ["on_call"], "delay_minutes": 15}]}},
        "areas": {"default": {"rota": {"start": T0.isoformat(), "people": ["di"]}, "policy": "p",
                              "neighbourhood_team": "t", "community_liaison": "t"}},
        "support": support if support is not None else {
            "camden-support": {"name": "Camden Support", "areas": [CAMDEN], "url": "http://camden.example/hook",
                               "secret": SECRET},
            "met-support": {"name": "Met Support", "areas": [MET], "email": "referrals@support.example"},
            "national": {"name": "National Helpline", "email": "help@national.example"}},
    })


@pytest.fixture
def notify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Notify]:
    url = f"sqlite:///{tmp_path / 'notify.db'}"
    upgrade("notify", url)
    channels = {"log": LogChannel(), "email": _Recorder("email"), "webhook": _Recorder("webhook")}
    n = build(vigil=VigilSettings(environment="test"), settings=NotifySettings(database_url=url),
              clock=MovableClock(T0), channels=channels, directory=_directory())
    intake = _Intake()
    monkeypatch.setattr(n.personal, "get", intake.get)
    n.intake = intake  # type: ignore[attr-defined]
    yield n
    n.db.dispose()


def submitted(report_id: str = "r1", area: str = MET, district: str | None = None, language: str = "ar",
              **consent: bool) -> ReportSubmitted:
    return ReportSubmitted.model_validate({
        "report_id": report_id, "reference": f"REF-{report_id}", "submitted_at": T0.isoformat(), "channel": "web",
        "reporter": {"role": "victim", "anonymous": False, "has_contact": True, "preferred_language": language},
        "consent": {"contact": True, "refer_to_support": True, "share_with_partners": True, **consent},
        "incident": {"occurred_at": T0.isoformat(), "types": ["verbal_abuse", "threat"],
                     "targeted_characteristics": ["religion"],
                     "location": {"area": area, "district": district, "place_type": "street"}},
        "grading": {"source": "2", "intelligence": "A", "handling": "P"}, "fingerprints": {}})


def _handle(notify: Notify, event: Event, key: str) -> None:
    env = Envelope(id=new_id(), type=event.TYPE, source="/vigil/test", subject=key, time=notify.clock.now(),
                   sequence=1, key=key, topic=event.TOPIC, data=event.model_dump(mode="json"))
    consumer = next(c for c in notify.consumers if c.name.endswith(event.TOPIC.split(".")[1]))
    assert consumer.handle(env)


def _send_due(notify: Notify) -> None:
    while any(d.dispatch_due() for d in notify.dispatchers.values()):
        pass


def _deliveries(notify: Notify) -> dict[str, dict[str, Any]]:
    with notify.db.sessions() as s:
        return {str(r["purpose"]): dict(r) for r in s.execute(select(tables.deliveries)).mappings()}


def _event_types(notify: Notify) -> list[str]:
    log = tables.metadata.tables["event_log"]
    with notify.db.sessions() as s:
        return list(s.execute(select(log.c.type).order_by(log.c.seq)).scalars())


def test_erasure_withdraws_what_is_queued_and_keeps_only_the_proof_of_what_was_sent(notify: Notify) -> None:
    _handle(notify, submitted(), "r1")
    notify.dispatchers["reporter"].dispatch_due()  # the receipt goes; the referral waits
    with notify.db.transaction() as s:  # as a row written before #15 kept a server's words
        s.execute(tables.deliveries.update().where(tables.deliveries.c.purpose == "reporter_receipt")
                  .values(last_error=f"SMTPDataError: (451, b'<{CANARY}> busy')"))
    assert "REF-r1" in _dump(notify.db) and CANARY in _dump(notify.db)

    notify.intake.erased.add("r1")  # type: ignore[attr-defined]
    _handle(notify, ReportErased(report_id="r1", erased_at=T0, requested_by="dpo", reason="Article 17"), "r1")
    _send_due(notify)

    rows = _deliveries(notify)
    assert (rows["reporter_receipt"]["status"], rows["support_referral"]["status"]) == ("sent", "cancelled")
    assert {r["payload"] for r in rows.values()} == {FORGOTTEN} and {r["last_error"] for r in rows.values()} == {None}
    assert rows["reporter_receipt"]["sent_at"] is not None, "the proof that a receipt went stays"
    dump = _dump(notify.db)
    assert CANARY not in dump and "verbal_abuse" not in dump
    with notify.db.sessions() as s:
        reporter = s.execute(select(tables.reporters)).mappings().one()
    assert reporter["erased"] and reporter["language"] == "und"
    assert _event_types(notify).count("vigil.notification.cancelled.v1") == 1
    assert [m.to for m in notify.channels["email"].sent] == [CANARY], "the receipt only, never the referral"  # type: ignore


def test_a_give_up_of_an_erased_report_cannot_be_sent_again(notify: Notify) -> None:
    _handle(notify, submitted(refer_to_support=False), "r1")
    with notify.db.transaction() as s:
        s.execute(tables.deliveries.update().values(status="gave_up", attempts=5))
    _handle(notify, ReportErased(report_id="r1", erased_at=T0, requested_by="dpo"), "r1")
    [receipt] = _deliveries(notify).values()
    with pytest.raises(Forgotten):
        notify.ledger.retry(str(receipt["notification_id"]), by="sup")
    assert _deliveries(notify)["reporter_receipt"]["status"] == "gave_up"


def test_withdrawal_stops_every_message_still_queued_for_the_report(notify: Notify) -> None:
    _handle(notify, submitted(), "r1")
    with notify.db.transaction() as s:
        queue(s, notify.clock, key="alert", incident_id="r1", purpose="duty_inspector_alert", channel="email",
              recipient_role="duty_inspector", recipient="person:di", report_id="r1", payload={"template": "x"})
        queue(s, notify.clock, key="cia", incident_id="r1", purpose="cia_prompt", channel="email",
              recipient_role="community_impact", recipient="person:n", payload={"template": "x"})
    _handle(notify, ReportWithdrawn(report_id="r1", withdrawn_at=T0), "r1")
    _send_due(notify)
    assert {r["status"] for r in _deliveries(notify).values()} == {"cancelled"}
    assert all(c.sent == [] for c in notify.channels.values())  # type: ignore[attr-defined]


# ---- referrals --------------------------------------------------------------------------------------------------

def test_a_referral_goes_to_the_organisation_for_the_district_before_the_force_before_anywhere() -> None:
    directory = _directory()
    assert directory.support_for(MET, CAMDEN) == "camden-support"
    assert directory.support_for(MET, "E09000001") == "met-support"
    assert directory.support_for("W15000004") == "national"
    assert _directory({}).support_for(MET) is None


@pytest.mark.parametrize("org", [{"name": "Both", "email": "a@b.example", "url": "http://x", "secret": SECRET},
                                 {"name": "Neither"}, {"name": "Unsigned", "url": "http://x"}])
def test_a_support_organisation_takes_referrals_one_way_and_signs_its_webhooks(org: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="support organisation"):
        SupportOrganisation.model_validate(org)


@pytest.mark.parametrize(("consent", "has_contact", "support", "channels", "outcome"), [
    ({"refer_to_support": False}, True, None, ("email",), None),
    ({"contact": False}, False, None, ("email",), Outcome.no_contact_consent),
    ({}, False, None, ("email",), Outcome.no_contact),
    ({}, True, {}, ("email",), Outcome.no_organisation),
    ({}, True, None, ("log",), Outcome.channel_off),
    ({}, True, None, ("email",), Outcome.made),
])
def test_a_referral_needs_the_request_consent_a_contact_an_organisation_and_its_channel(
        consent: dict[str, bool], has_contact: bool, support: dict[str, Any] | None, channels: tuple[str, ...],
        outcome: Outcome | None) -> None:
    e = submitted(**consent)
    e = e.model_copy(update={"reporter": e.reporter.model_copy(update={"has_contact": has_contact})})
    decision = decide(e, _directory(support), channels)
    assert (decision.outcome if decision else None) == outcome


def test_a_referral_by_webhook_is_signed_and_carries_only_what_a_referral_needs(notify: Notify) -> None:
    _handle(notify, submitted(district=CAMDEN), "r1")
    _send_due(notify)
    [referral] = notify.channels["webhook"].sent  # type: ignore[attr-defined]
    assert (referral.to, referral.secret) == ("http://camden.example/hook", SECRET)
    data = referral.payload["data"]
    assert tuple(data) == REFERRAL_FIELDS and referral.payload["type"] == "support_referral"
    assert data["contact"] == {"method": "email", "email": CANARY, "name": PERSONAL["name"]}
    assert (data["reference"], data["area"], data["types"], data["language"]) == (
        "REF-r1", MET, ["verbal_abuse", "threat"], "ar")
    text = str(referral.payload)
    for kept_back in ("postcode", "place_name", "description", "organisation", "phone"):
        assert str(PERSONAL[kept_back]) not in text, kept_back
    assert "vigil.notification.referral_sent.v1" in _event_types(notify)
    with notify.db.sessions() as s:
        stored = s.execute(select(tables.deliveries.c.payload).where(
            tables.deliveries.c.purpose == "support_referral")).scalar_one()
    assert CANARY not in stored and PERSONAL["name"] not in stored, "the ledger kept who was referred"


def test_a_referral_by_email_names_the_reporter_and_how_to_reach_them_and_nothing_more(notify: Notify) -> None:
    _handle(notify, submitted(), "r1")
    _send_due(notify)
    email = next(m for m in notify.channels["email"].sent if m.to == "referrals@support.example")  # type: ignore
    assert "REF-r1" in email.subject and f"Contact by email: {CANARY}" in email.text
    assert "Arabic (ar)" in email.text and "verbal abuse, threat" in email.text and "Metropolitan" in email.text
    for kept_back in ("postcode", "place_name", "description", "organisation", "phone"):
        assert str(PERSONAL[kept_back]) not in email.text, kept_back
    assert "referral" in notify.intake.purposes  # type: ignore[attr-defined]


def test_an_erased_report_is_never_referred(notify: Notify) -> None:
    referrals = Referrals(_directory(), notify.personal, notify.clock, ("email",))
    notify.intake.erased.add("r1")  # type: ignore[attr-defined]
    row = {"recipient": "support:met-support", "report_id": "r1", "payload": "{}", "idempotency_key": "k",
           "notification_id": "n"}
    with pytest.raises(Cancel, match="erased"):
        referrals.render(row)


def test_without_contact_consent_no_referral_is_made_and_the_event_says_why(notify: Notify) -> None:
    _handle(notify, submitted(contact=False), "r1")
    assert "support_referral" not in _deliveries(notify)
    log = tables.metadata.tables["event_log"]
    with notify.db.sessions() as s:
        data = s.execute(select(log.c.data).where(log.c.type == "vigil.notification.referral_not_made.v1")).scalar()
    assert data is not None and '"no_contact_consent"' in data


@pytest.mark.parametrize(("outcome", "says"), [
    ("made", "We are passing your name and how to contact you to Met Support"),
    ("no_contact_consent", "we can only pass your details on if you agree to be contacted"),
    ("no_organisation", "we cannot refer you to one in your area"),
])
def test_the_receipt_says_whether_the_reporter_was_referred_and_if_not_why(outcome: str, says: str) -> None:
    r = Templates().render("reporter_receipt", "en", {"reference": "R",
                                                      "referral": {"outcome": outcome, "organisation": "Met Support"}})
    assert says in r.text and "08 08 16 89 111" in r.text
    assert ("Met Support" in r.sms) == (outcome == "made")


def test_the_receipt_names_the_referral_in_the_reporters_language(notify: Notify) -> None:
    _handle(notify, submitted(language="tr"), "r1")
    _send_due(notify)
    receipt = next(m for m in notify.channels["email"].sent if m.to == CANARY)  # type: ignore[attr-defined]
    assert "Met Support kuruluşuna iletiyoruz" in receipt.text


# ---- the partner feed -------------------------------------------------------------------------------------------

REPORT = ReportFacts(report_id="r1", reference="REF", area=MET, district=None, occurred_at=T0, submitted_at=T0,
                     updated_at=T0, sequence=1, types=("threat",), strands=("religion",), religion=None,
                     place_type="street", place_fp=None, injuries="none", weapon=False, ongoing=False,
                     vulnerable=False, repeat=False, grading="2AP", channel="web", role="victim")


def test_a_regrade_to_c_tells_partners_not_allowed_c_to_delete_the_item_and_only_the_others_keep_it() -> None:
    regraded = replace(REPORT, grading="2AC")
    restricted, item = partner_events("p", REPORT, regraded, None, None, shown="2AP")
    assert isinstance(restricted, PartnerIncidentRestricted) and isinstance(item, PartnerIncidentReported)
    assert item.grading == "2AC" and item.conditions_apply
    plain = Subscription(url="http://p", secret=SECRET, areas=[MET])
    allowed_c = plain.model_copy(update={"handling_c": True})
    assert [receives(plain, restricted), receives(plain, item)] == [True, False]
    assert [receives(allowed_c, restricted), receives(allowed_c, item)] == [False, True]
    assert partner_events("p", regraded, regraded, None, None, shown="2AC")[0] == item, "once only"


def test_an_erasure_reaches_a_partner_that_took_only_items() -> None:
    items_only = Subscription(url="http://p", secret=SECRET, areas=[MET], event_types=[PartnerIncidentReported.TYPE])
    erased = PartnerIncidentErased(pseudonymous_id="p", area=MET, week="2026-W47", grading="2AP")
    assert receives(items_only, erased)
    assert not receives(items_only.model_copy(update={"areas": ["W15000004"]}), erased)


@pytest.fixture
def projection(tmp_path: Path) -> Iterator[tuple[LiveProjection, Database]]:
    url = f"sqlite:///{tmp_path / 'assessment.db'}"
    upgrade("assessment", url)
    database = Database(url)
    clock = MovableClock(T0)
    yield (LiveProjection(database, EventStore(assessment_tables.metadata, "/vigil/assessment", clock),
                          default_registry(), clock, pseudonymiser=Pseudonymiser("k")), database)
    database.dispose()


def _fold(projection: tuple[LiveProjection, Database], event: Event, key: str, sequence: int) -> None:
    live, database = projection
    env = Envelope(id=new_id(), type=event.TYPE, source="/vigil/test", subject=key, time=T0, sequence=sequence,
                   key=key, topic=event.TOPIC, data=event.model_dump(mode="json"))
    with database.transaction() as s:
        live.handle(s, env)


def _partner_types(database: Database) -> list[str]:
    log = assessment_tables.metadata.tables["event_log"]
    with database.sessions() as s:
        return list(s.execute(select(log.c.type).where(log.c.topic == "vigil.partner.v1").order_by(log.c.seq))
                    .scalars())


def test_a_report_kept_from_partners_never_reaches_the_partner_feed(
        projection: tuple[LiveProjection, Database]) -> None:
    _fold(projection, submitted("kept", share_with_partners=False), "kept", 1)
    _fold(projection, IncidentRegraded(incident_id="kept", area=MET, previous=None, grading=Grading(
        source="2", intelligence="A", handling="P"), reason="r", regraded_by="sup", regraded_at=T0), "kept", 2)
    _fold(projection, ReportErased(report_id="kept", erased_at=T0, requested_by="dpo"), "kept", 3)
    assert _partner_types(projection[1]) == []


def test_a_shared_report_is_restricted_by_a_regrade_and_erased_for_partners(
        projection: tuple[LiveProjection, Database]) -> None:
    _fold(projection, submitted("shared"), "shared", 1)
    _fold(projection, IncidentRegraded(incident_id="shared", area=MET, previous=None, grading=Grading(
        source="2", intelligence="A", handling="C"), reason="r", regraded_by="sup", regraded_at=T0), "shared", 2)
    _fold(projection, ReportErased(report_id="shared", erased_at=T0, requested_by="dpo"), "shared", 3)
    assert _partner_types(projection[1]) == [
        "vigil.partner.incident_reported.v1", "vigil.partner.incident_restricted.v1",
        "vigil.partner.incident_reported.v1", "vigil.partner.incident_erased.v1"]
