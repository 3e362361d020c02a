"""Notify's use cases on an embedded SQLite database: events handled through the inbox, timers on a moved clock,
and a recording channel in place of SMTP (the real channels are tested against real servers elsewhere)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from services.notify import tables
from services.notify.channels import LogChannel, Message
from services.notify.main import Notify, build
from services.notify.policy import Directory
from services.notify.reporters.service import ReporterMessage
from services.notify.settings import NotifySettings
from shared.clock import MovableClock
from shared.events.base import Envelope, Event
from shared.events.incidents import (
    CommunityImpactAssessmentRequested,
    CriteriaOverridden,
    IncidentEscalated,
    IncidentTriaged,
    MatchedRule,
    Priority,
)
from shared.events.reports import ReportErased
from shared.ids import new_id
from shared.migrate import upgrade
from shared.settings import VigilSettings

T0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
MET = "E23000001"


class Recorder(LogChannel):
    name = "email"

    def to(self) -> list[str]:
        return [m.to for m in self.sent]

    def send(self, message: Message) -> None:
        self.sent.append(message)


def _directory() -> Directory:
    return Directory.model_validate({
        "people": {"di-1": {"name": "A", "email": "di1@x.example"}, "di-2": {"name": "B", "email": "di2@x.example"},
                   "supt": {"name": "S", "email": "supt@x.example"}, "snt": {"name": "N", "email": "snt@x.example"},
                   "clo": {"name": "C", "email": "clo@x.example"}},
        "teams": {"nt": ["snt"], "cl": ["clo"]},
        "policies": {"p": {"resend_every_minutes": 5, "loops": 0,
                           "levels": [{"targets": ["on_call"], "delay_minutes": 15},
                                      {"targets": ["person:supt"], "delay_minutes": 15}]}},
        "areas": {"default": {"rota": {"start": T0.isoformat(), "shift_hours": 12, "people": ["di-1", "di-2"]},
                              "policy": "p", "neighbourhood_team": "nt", "community_liaison": "cl"}},
    })


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[Notify]:
    url = f"sqlite:///{tmp_path / 'notify.db'}"
    upgrade("notify", url)
    n = build(vigil=VigilSettings(environment="test"), settings=NotifySettings(database_url=url),
              clock=MovableClock(T0), channels={"log": LogChannel(), "email": Recorder()}, directory=_directory())
    yield n
    n.db.dispose()


def _handle(notify: Notify, event: Event, key: str) -> None:
    env = Envelope(id=new_id(), type=event.TYPE, source="/vigil/test", subject=key, time=notify.clock.now(),
                   sequence=1, key=key, topic=event.TOPIC, data=event.model_dump(mode="json"))
    consumer = next(c for c in notify.consumers if c.name.endswith(event.TOPIC.split(".")[1]))
    assert consumer.handle(env)


def _settle(notify: Notify, advance: timedelta = timedelta(0)) -> list[str]:
    """Move the clock, fire what is due, send what is queued; returns who got email since the start."""
    notify.clock.advance(advance)  # type: ignore[attr-defined]
    while notify.timers.fire_due() or any(d.dispatch_due() for d in notify.dispatchers.values()):
        pass
    return notify.channels["email"].to()  # type: ignore[attr-defined]


def _triaged(incident_id: str) -> IncidentTriaged:
    return IncidentTriaged(incident_id=incident_id, report_id=incident_id, reference="REF1", area=MET, triaged_at=T0,
                           matched=[MatchedRule(code="arson", explanation="arson")], critical=False,
                           needs_duty_inspector=True, priority=Priority.P1, ack_deadline=T0 + timedelta(minutes=15),
                           ruleset_version="t")


def test_triages_missed_deadline_escalates_at_once_and_the_old_schedule_stands_aside(notify: Notify) -> None:
    _handle(notify, _triaged("i1"), "i1")
    assert _settle(notify) == ["di1@x.example"]
    _handle(notify, IncidentEscalated(incident_id="i1", area=MET, priority=Priority.P1, level=1, reason="missed",
                                      escalated_at=T0), "i1")
    assert _settle(notify) == ["di1@x.example", "supt@x.example"]
    # The level-1 re-send planned for +5 minutes is stale now; level 2 re-sends instead.
    assert _settle(notify, timedelta(minutes=5)) == ["di1@x.example", "supt@x.example", "supt@x.example"]


def test_an_override_that_removes_the_need_stands_the_chase_down(notify: Notify) -> None:
    _handle(notify, _triaged("i2"), "i2")
    _handle(notify, CriteriaOverridden(incident_id="i2", area=MET, previous_priority=Priority.P1,
                                       priority=Priority.P3, previous_needs_duty_inspector=True,
                                       needs_duty_inspector=False, reason="duplicate report", overridden_by="sup",
                                       overridden_at=T0), "i2")
    assert _settle(notify, timedelta(hours=1)) == []
    with notify.db.sessions() as s:
        assert s.execute(select(tables.chases.c.state)).scalar() == "stood_down"
        assert set(s.execute(select(tables.deliveries.c.status)).scalars()) == {"cancelled"}


def test_a_rota_override_pages_the_stand_in(notify: Notify) -> None:
    with notify.db.transaction() as s:
        s.execute(tables.rota_overrides.insert().values(
            override_id="o1", area=MET, person_id="di-2", starts_at=T0 - timedelta(hours=1),
            ends_at=T0 + timedelta(hours=1), created_at=T0))
    _handle(notify, _triaged("i3"), "i3")
    assert _settle(notify) == ["di2@x.example"]


def test_an_exhausted_policy_is_an_event_for_staff(notify: Notify) -> None:
    _handle(notify, _triaged("i4"), "i4")
    sent = _settle(notify, timedelta(minutes=31))
    assert sent.count("di1@x.example") == 3 and sent.count("supt@x.example") == 3
    with notify.db.sessions() as s:
        types = list(s.execute(select(tables.metadata.tables["event_log"].c.type)).scalars())
        assert s.execute(select(tables.chases.c.state)).scalar() == "exhausted"
    assert types.count("vigil.notification.escalation_exhausted.v1") == 1


def test_a_requested_assessment_is_due_when_triage_says_and_reminded_before(notify: Notify) -> None:
    due = T0 + timedelta(hours=2)
    _handle(notify, CommunityImpactAssessmentRequested(area=MET, requested_by="sup", requested_at=T0, due_at=due),
            MET)
    assert sorted(_settle(notify)) == ["clo@x.example", "snt@x.example"]
    assert len(_settle(notify, timedelta(minutes=59))) == 2
    assert len(_settle(notify, timedelta(minutes=1))) == 4  # the first reminder, an hour before the due time


def test_erasure_withdraws_a_receipt_not_yet_sent(notify: Notify) -> None:
    with notify.db.transaction() as s:
        s.execute(tables.reporters.insert().values(report_id="r1", reference="REF", language="ar",
                                                   contact_consent=True, has_contact=True, erased=False,
                                                   created_at=T0))
        assert notify.reporters.tell(s, "r1", ReporterMessage.receipt, cause="r1", incident_id=None)
    _handle(notify, ReportErased(report_id="r1", erased_at=T0, requested_by="dpo"), "r1")
    with notify.db.sessions() as s:
        assert s.execute(select(tables.deliveries.c.status)).scalar() == "cancelled"
