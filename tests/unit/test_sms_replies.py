"""Answering an alert from the message: SMS reply codes, the gateway's signature, what an answer does, and the
signed links in alert emails as notify makes and serves them.

Notify's side only, on SQLite with triage replaced by an in-memory twin that records what it was asked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from services.notify import tables
from services.notify.chase.store import ChaseStore
from services.notify.links import (
    ACKNOWLEDGE,
    ESCALATE,
    PAGER_REPLY,
    BadSignature,
    PagerAnswers,
    Recorded,
    Refused,
    SmsReply,
    TriageRefused,
    TriageUnavailable,
    install_pager_links,
    parse_reply,
    phone_key,
    sign_inbound,
    verify_inbound,
)
from services.notify.messages import Templates
from services.notify.policy import Directory
from services.notify.rendering import MessageRenderer
from services.notify.settings import NotifySettings
from services.notify.staff import StaffContacts
from shared.areas import default_registry
from shared.clock import MovableClock
from shared.db import Database
from shared.signedlinks import Refusal, SignedLinks
from shared.web.site import StaffSite

NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
SECRET = "gateway and notify share this"
INCIDENT = "0b6c9c39-5d0e-4f57-8d0f-2f0bb7a2d001"
TOLERANCE = timedelta(minutes=5)


# ---- parsing and the signature (pure) ---------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("ACK 4821", SmsReply(ACKNOWLEDGE, "4821")), ("ack4821", SmsReply(ACKNOWLEDGE, "4821")),
    ("  Ack #4821. ", SmsReply(ACKNOWLEDGE, "4821")), ("acknowledge 4821", SmsReply(ACKNOWLEDGE, "4821")),
    ("ESC 4821", SmsReply(ESCALATE, "4821")), ("esc-4821!", SmsReply(ESCALATE, "4821")),
    ("Escalate 0042", SmsReply(ESCALATE, "0042")),
])
def test_a_reply_names_an_action_and_the_alerts_code(text: str, expected: SmsReply) -> None:
    assert parse_reply(text) == expected


@pytest.mark.parametrize("text", ["", "ACK", "4821", "ACK 482", "ACK 48211", "YES 4821", "ACK 4821 ESC 4822",
                                  "STOP", "ack 4821 please call me"])
def test_anything_else_is_not_understood(text: str) -> None:
    assert parse_reply(text) is None


def signed(body: bytes, at: datetime = NOW, secret: str = SECRET) -> tuple[str, str]:
    timestamp = str(int(at.timestamp()))
    return timestamp, sign_inbound(secret, timestamp, body)


def test_the_gateways_signature_covers_the_timestamp_and_the_raw_body() -> None:
    body = b'{"id":"m1","from":"+447700900001","text":"ACK 4821"}'
    timestamp, signature = signed(body)
    verify_inbound(SECRET, timestamp, signature, body, NOW, TOLERANCE)
    refused = [
        (SECRET, timestamp, signature, body.replace(b"ACK", b"ESC")),  # the body changed
        (SECRET, str(int(timestamp) + 1), signature, body),  # the timestamp changed
        ("another secret entirely", timestamp, signature, body),
        (SECRET, timestamp, signature.upper(), body),
        (SECRET, timestamp, "", body), (SECRET, None, signature, body), (SECRET, "yesterday", signature, body),
        (None, timestamp, signature, body),  # no secret configured: nothing is believed
    ]
    for secret, ts, sig, raw in refused:
        with pytest.raises(BadSignature):
            verify_inbound(secret, ts, sig, raw, NOW, TOLERANCE)


def test_a_replayed_post_older_than_five_minutes_is_refused_and_so_is_one_from_the_future() -> None:
    body = b'{"id":"m1","from":"+447700900001","text":"ACK 4821"}'
    timestamp, signature = signed(body)
    verify_inbound(SECRET, timestamp, signature, body, NOW + TOLERANCE, TOLERANCE)
    with pytest.raises(BadSignature, match="too old"):
        verify_inbound(SECRET, timestamp, signature, body, NOW + TOLERANCE + timedelta(seconds=1), TOLERANCE)
    with pytest.raises(BadSignature, match="too old"):
        verify_inbound(SECRET, timestamp, signature, body, NOW - TOLERANCE - timedelta(seconds=1), TOLERANCE)


def test_a_number_is_the_same_however_it_is_written() -> None:
    assert phone_key("+44 7700 900001") == phone_key("00447700900001") == phone_key("+44-7700-900-001")
    assert phone_key("+447700900001") != phone_key("+447700900002")


# ---- what a reply does (SQLite, triage's twin) ------------------------------------------------------------

@dataclass
class TriageTwin:
    """Records what notify asked; acknowledges once, as triage would, and can be made to fail."""

    asked: list[dict[str, object]] = field(default_factory=list)
    acknowledged: set[str] = field(default_factory=set)
    down: bool = False

    def answer(self, action: str, incident_id: str, username: str, link_id: str, via: str, level: int) -> Recorded:
        if self.down:
            raise TriageUnavailable("connection refused")
        self.asked.append({"action": action, "incident_id": incident_id, "username": username, "link_id": link_id,
                           "via": via, "level": level})
        if action == ACKNOWLEDGE and incident_id in self.acknowledged:
            raise TriageRefused(409, "already acknowledged by Insp. North at 03:01:00 UTC")
        if action == ACKNOWLEDGE:
            self.acknowledged.add(incident_id)
        return Recorded("HC7K2M9QXD", "Insp. North", NOW, 1 if action == ESCALATE else 0)


def directory() -> Directory:
    return Directory.model_validate({
        "people": {"di-north": {"name": "Insp. North", "email": "north@police.example", "phone": "+447700900001",
                                "channels": ["email", "sms"]},
                   "di-south": {"name": "Insp. South", "phone": "+447700900002", "channels": ["sms"]}},
        "teams": {"nt": ["di-south"]},
        "policies": {"p": {"levels": [{"targets": ["on_call"]}, {"targets": ["person:di-south"]}]}},
        "areas": {"default": {"rota": {"start": "2026-12-01T07:00:00Z", "people": ["di-north"]}, "policy": "p",
                              "neighbourhood_team": "nt", "community_liaison": "nt"}},
    })


@dataclass
class Pager:
    answers: PagerAnswers
    triage: TriageTwin
    clock: MovableClock
    db: Database

    def reply(self, text: str, sender: str = "+44 7700 900001", message_id: str = "m1",
              at: datetime | None = None) -> dict[str, object]:
        body = json.dumps({"id": message_id, "from": sender, "to": "Vigil", "text": text}).encode()
        return self.answers.receive_sms(body, *signed(body, at or self.clock.now()))

    def replies_queued(self) -> list[dict[str, object]]:
        d = tables.deliveries
        with self.db.sessions() as s:
            rows = s.execute(select(d.c.recipient, d.c.channel, d.c.payload).where(d.c.purpose == PAGER_REPLY))
            return [{"to": r.recipient, "channel": r.channel, **json.loads(r.payload)["context"]} for r in rows]


@pytest.fixture
def pager(tmp_path: Path) -> Iterator[Pager]:
    url = f"sqlite:///{tmp_path / 'notify.db'}"
    db, clock, triage = Database(url), MovableClock(NOW), TriageTwin()
    tables.metadata.create_all(db.engine)
    with db.transaction() as s:
        s.execute(tables.chases.insert().values(
            incident_id=INCIDENT, reference="HC7K2M9QXD", area="E23000001", priority="P1", matched="[]",
            state="paging", page="L1.0.0", started_at=NOW, updated_at=NOW, ack_deadline=NOW + timedelta(minutes=15)))
    people = directory()
    settings = NotifySettings(database_url=url, sms_inbound_secret=SECRET)
    links = SignedLinks("a link secret for the tests", "notify", {ACKNOWLEDGE: timedelta(hours=2),
                                                                  ESCALATE: timedelta(hours=2)}, clock)
    staff = StaffContacts(people, default_registry(), "http://triage.test", ("email", "sms", "log"))
    yield Pager(PagerAnswers(db, clock, links, triage, ChaseStore(clock), people, staff, "http://notify.test",
                             settings), triage, clock, db)
    db.dispose()


def test_a_reply_with_the_alerts_code_acknowledges_for_the_person_it_was_sent_to(pager: Pager) -> None:
    code = pager.answers.sms_code("di-north", INCIDENT)
    assert pager.reply(f"ACK {code}") == {"outcome": "acknowledged", "reference": "HC7K2M9QXD"}
    [asked] = pager.triage.asked
    assert asked | {"link_id": None} == {"action": ACKNOWLEDGE, "incident_id": INCIDENT, "username": "di-north",
                                         "link_id": None, "via": "sms reply", "level": 0}
    [told] = pager.replies_queued()
    assert told["to"] == "person:di-north" and told["channel"] == "sms" and told["outcome"] == "acknowledged"


def test_the_code_stays_the_same_for_one_alert_and_differs_between_alerts(pager: Pager) -> None:
    code = pager.answers.sms_code("di-north", INCIDENT)
    assert pager.answers.sms_code("di-north", INCIDENT) == code
    assert pager.answers.sms_code("di-north", "another-incident") != code
    assert len(code) == 4 and code.isdigit()


def test_a_reply_from_another_number_acts_on_nothing_and_is_not_answered(pager: Pager) -> None:
    code = pager.answers.sms_code("di-north", INCIDENT)
    assert pager.reply(f"ACK {code}", sender="+447700900999") == {"outcome": "unknown_sender"}
    assert pager.triage.asked == [] and pager.replies_queued() == []


def test_another_persons_code_is_not_theirs_to_use(pager: Pager) -> None:
    code = pager.answers.sms_code("di-north", INCIDENT)
    assert pager.reply(f"ACK {code}", sender="+447700900002") == {"outcome": "unknown_code"}
    assert pager.triage.asked == []
    [told] = pager.replies_queued()
    assert told["to"] == "person:di-south" and told["code"] == code


def test_a_code_expires_after_the_latest_alert_that_quoted_it(pager: Pager) -> None:
    code = pager.answers.sms_code("di-north", INCIDENT)
    pager.clock.advance(timedelta(hours=1, minutes=50))
    assert pager.answers.sms_code("di-north", INCIDENT) == code  # a re-sent alert keeps the code alive
    pager.clock.advance(timedelta(hours=1, minutes=50))
    assert pager.reply(f"ESC {code}", message_id="m2")["outcome"] == "escalated"
    pager.clock.advance(timedelta(minutes=11))
    assert pager.reply(f"ACK {code}", message_id="m3")["outcome"] == "expired"
    assert [a["action"] for a in pager.triage.asked] == [ESCALATE]


def test_an_escalation_asks_for_the_level_after_the_one_the_chase_has_reached(pager: Pager) -> None:
    code = pager.answers.sms_code("di-north", INCIDENT)
    assert pager.reply(f"esc {code}")["outcome"] == "escalated"
    assert pager.triage.asked[0]["level"] == 1


def test_each_action_acts_once_per_alert_even_when_replied_twice(pager: Pager) -> None:
    code = pager.answers.sms_code("di-north", INCIDENT)
    assert pager.reply(f"ESC {code}", message_id="m1")["outcome"] == "escalated"
    assert pager.reply(f"ESC {code}", message_id="m2")["outcome"] == "already_used"
    assert pager.reply(f"ESC {code}", message_id="m1")["outcome"] == "already_used"  # the gateway's retry
    assert len(pager.triage.asked) == 1


def test_what_triage_refuses_is_told_back_and_when_triage_is_down_the_reply_can_be_sent_again(
        pager: Pager) -> None:
    code = pager.answers.sms_code("di-north", INCIDENT)
    pager.triage.acknowledged.add(INCIDENT)  # acknowledged on triage's pages meanwhile
    assert pager.reply(f"ACK {code}")["outcome"] == "refused"
    assert "already acknowledged by Insp. North" in str(pager.replies_queued()[0]["detail"])
    pager.triage.down = True
    with pytest.raises(TriageUnavailable):
        pager.reply(f"ESC {code}", message_id="m2")
    pager.triage.down = False
    assert pager.reply(f"ESC {code}", message_id="m2")["outcome"] == "escalated"


def test_a_reply_not_understood_is_answered_with_how_to_reply(pager: Pager) -> None:
    assert pager.reply("who is this?") == {"outcome": "not_understood"}
    [told] = pager.replies_queued()
    text = Templates().render(PAGER_REPLY, "en", {k: v for k, v in told.items() if k not in ("to", "channel")}).sms
    assert "Reply ACK 1234 to acknowledge or ESC 1234 to escalate" in text


def test_the_alert_sms_quotes_the_code_to_reply_with() -> None:
    sms = Templates().render("duty_inspector_alert", "en", {
        "reference": "HC7K2M9QXD", "priority": "P1", "area": "E23000001", "area_name": "Metropolitan Police",
        "deadline": "03:15 06 Dec 2026 (UK time)", "matched": [], "link": "http://triage.test/incidents/x",
        "page": {"level": 0, "loop": 0, "repeat": 0}, "reply_code": "4821"}).sms
    assert "Reply ACK 4821 to acknowledge, ESC 4821 to escalate." in sms


# ---- the links in alert emails ----------------------------------------------------------------------------

def alert_row(channel: str = "email", key: str = "delivery-1") -> dict[str, object]:
    context = {"reference": "HC7K2M9QXD", "priority": "P1", "area": "E23000001", "area_name": "Metropolitan Police",
               "deadline": "03:15 06 Dec 2026 (UK time)", "matched": ["arson: arson"],
               "link": f"http://triage.test/incidents/{INCIDENT}", "page": {"level": 0, "loop": 0, "repeat": 0}}
    return {"recipient": "person:di-north", "channel": channel, "idempotency_key": key, "incident_id": INCIDENT,
            "payload": json.dumps({"template": "duty_inspector_alert", "context": context})}


def link_tokens(text: str) -> dict[str, str]:
    found = re.findall(r"http://notify\.test/([ae])/(\S+)", text)
    return {ACKNOWLEDGE if path == "a" else ESCALATE: token for path, token in found}


def test_an_alert_email_carries_an_acknowledge_and_an_escalate_link_for_its_recipient(pager: Pager) -> None:
    render = MessageRenderer(directory(), Templates(), None, pager.answers)
    email = render(alert_row())
    tokens = link_tokens(email.text)
    assert set(tokens) == {ACKNOWLEDGE, ESCALATE}
    html = email.html or ""
    assert f'href="http://notify.test/a/{tokens[ACKNOWLEDGE]}"' in html and ">Escalate now</a>" in html
    claims = pager.answers.links.check(tokens[ACKNOWLEDGE], ACKNOWLEDGE)
    assert (claims.recipient, claims.subject) == ("di-north", INCIDENT)
    again = link_tokens(render(alert_row()).text)  # a retried send: the same links, so they act once between them
    assert pager.answers.links.check(again[ACKNOWLEDGE], ACKNOWLEDGE).link_id == claims.link_id
    assert "Reply ACK" in render(alert_row("sms")).text and "/a/" not in render(alert_row("sms")).text


def test_a_link_acts_once_for_its_recipient_and_says_so_the_second_time(pager: Pager) -> None:
    token = link_tokens(MessageRenderer(directory(), Templates(), None, pager.answers)(alert_row()).text)
    view = pager.answers.look(token[ACKNOWLEDGE], ACKNOWLEDGE)
    assert view.reference == "HC7K2M9QXD" and view.person_name == "Insp. North" and pager.triage.asked == []
    answered = pager.answers.answer_link(token[ACKNOWLEDGE], ACKNOWLEDGE)
    assert answered.recorded.by_name == "Insp. North"
    assert [(a["username"], a["via"]) for a in pager.triage.asked] == [("di-north", "email link")]
    for again in (pager.answers.look, pager.answers.answer_link):
        with pytest.raises(Refused) as refused:
            again(token[ACKNOWLEDGE], ACKNOWLEDGE)
        assert refused.value.refusal == Refusal.used and refused.value.used_at == NOW
    assert len(pager.triage.asked) == 1


def test_a_link_that_triage_could_not_record_still_works_afterwards(pager: Pager) -> None:
    token = link_tokens(MessageRenderer(directory(), Templates(), None, pager.answers)(alert_row()).text)
    pager.triage.down = True
    with pytest.raises(Refused) as refused:
        pager.answers.answer_link(token[ESCALATE], ESCALATE)
    assert refused.value.unavailable
    pager.triage.down = False
    assert pager.answers.answer_link(token[ESCALATE], ESCALATE).recorded.escalation_level == 1
    assert pager.triage.asked[0]["level"] == 1


def test_a_link_for_one_action_cannot_do_the_other_and_an_old_one_does_nothing(pager: Pager) -> None:
    token = link_tokens(MessageRenderer(directory(), Templates(), None, pager.answers)(alert_row()).text)
    with pytest.raises(Refused) as wrong:
        pager.answers.answer_link(token[ESCALATE], ACKNOWLEDGE)
    assert wrong.value.refusal == Refusal.wrong_purpose
    pager.clock.advance(timedelta(hours=2))
    with pytest.raises(Refused) as old:
        pager.answers.answer_link(token[ACKNOWLEDGE], ACKNOWLEDGE)
    assert old.value.refusal == Refusal.expired and pager.triage.asked == []


def test_the_pages_confirm_before_acting_and_explain_a_used_or_broken_link(pager: Pager) -> None:
    app = FastAPI()
    install_pager_links(app, pager.answers, StaffSite(triage_url="http://triage.test"))
    token = link_tokens(MessageRenderer(directory(), Templates(), None, pager.answers)(alert_row()).text)
    with TestClient(app) as browser:
        opened = browser.get(f"/a/{token[ACKNOWLEDGE]}")
        assert opened.status_code == 200 and "Acknowledge incident" in opened.text and 'method="post"' in opened.text
        assert opened.headers["referrer-policy"] == "no-referrer" and pager.triage.asked == []
        done = browser.post(f"/a/{token[ACKNOWLEDGE]}")
        assert done.status_code == 200 and "Incident acknowledged" in done.text
        used = browser.post(f"/a/{token[ACKNOWLEDGE]}")
        assert used.status_code == 410 and "This link has already been used" in used.text
        broken = browser.get(f"/a/{token[ACKNOWLEDGE][:-4]}")
        assert broken.status_code == 404 and "This link does not work" in broken.text
        assert "Traceback" not in broken.text and "http://triage.test/login" in broken.text
    assert len(pager.triage.asked) == 1
