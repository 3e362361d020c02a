"""Triage's report memory rebuilds to the same rows; staff sessions expire; one answer for bad credentials.

These run on an SQLite file (the embedded default), not an in-memory twin.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from services.triage import passwords, staff_store, tables
from services.triage.auth import BadCredentials, InvalidUser, TooManyAttempts
from services.triage.main import Triage, build
from services.triage.rules import RULESETS
from services.triage.settings import TriageSettings
from shared.clock import MovableClock
from shared.events.base import Envelope, Event
from shared.events.reports import ReportAmended, ReportErased, ReportSubmitted
from shared.migrate import upgrade
from shared.settings import VigilSettings

START = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


@pytest.fixture
def triage(tmp_path: Path) -> Triage:
    url = f"sqlite:///{tmp_path / 'triage.db'}"
    upgrade("triage", url)
    old_default = str(RULESETS / "default-2026.11.1.yaml")  # its `cluster` counts three in a force area
    return build(VigilSettings(), TriageSettings(database_url=url, ruleset_file=old_default), MovableClock(START))


def submitted(n: int, contact: str | None = "c-hash", minutes: int = 0) -> ReportSubmitted:
    return ReportSubmitted.model_validate({
        "report_id": f"r-{n}", "reference": f"VGL-{n}", "submitted_at": START + timedelta(minutes=minutes),
        "channel": "web", "reporter": {"role": "victim", "anonymous": False}, "consent": {},
        "incident": {"occurred_at": START, "types": ["verbal_abuse"], "targeted_characteristics": ["race"],
                     "location": {"area": "E23000001", "place_type": "street"}},
        "grading": {"source": "2", "intelligence": "A", "handling": "P"},
        "fingerprints": {"contact": contact, "place": f"p-hash-{n}"}})


def envelope(event: Event, n: int) -> Envelope:
    return Envelope(id=f"e-{n}", type=event.TYPE, source="/t", subject="s", time=START, sequence=1, key="k",
                    topic=event.TOPIC, data=event.model_dump(mode="json"))


def memory_rows(triage: Triage) -> list[dict[str, Any]]:
    with triage.db.sessions() as s:
        return [dict(r) for r in s.execute(select(tables.report_memory).order_by(
            tables.report_memory.c.report_id)).mappings()]


def test_the_report_memory_rebuilds_from_the_events_to_the_same_rows(triage: Triage) -> None:
    incident = submitted(1).incident.model_copy(update={"weapon": True})
    events: list[Event] = [submitted(1), submitted(2, minutes=5), submitted(3, contact=None, minutes=9),
                           ReportAmended(report_id="r-1", amended_at=START + timedelta(hours=1), incident=incident),
                           ReportErased(report_id="r-2", erased_at=START + timedelta(hours=2), requested_by="r")]
    envelopes = [envelope(e, i) for i, e in enumerate(events)]
    for env in envelopes:
        with triage.db.transaction() as s:
            triage.decisions.on_report_event(s, env)
    live = memory_rows(triage)
    assert triage.decisions.rebuild_memory(envelopes) == 5
    assert memory_rows(triage) == live
    by_id = {r["report_id"]: r for r in live}
    assert "r-2" not in by_id, "erasure drops the report's facts and match keys"
    assert '"weapon":true' in by_id["r-1"]["facts"].replace(" ", "")
    assert triage.workflow.get("r-2").matched[0].code == "repeat_victimisation"
    assert [m.code for m in triage.workflow.get("r-3").matched] == ["cluster"]
    assert triage.workflow.get("r-1").matched[0].code == "violence", "the amendment re-triaged the first report"


def test_sessions_end_after_the_idle_time_and_the_maximum(triage: Triage) -> None:
    clock = triage.clock
    assert isinstance(clock, MovableClock)
    triage.auth.create_user("dora", "Dora", "a long enough password", ["duty_inspector"])
    signed = triage.auth.sign_in("Dora", "a long enough password")
    assert triage.auth.resolve(signed.token) is not None
    clock.advance(timedelta(minutes=29))
    assert triage.auth.resolve(signed.token) is not None
    clock.advance(timedelta(minutes=30))
    assert triage.auth.resolve(signed.token) is None
    busy = triage.auth.sign_in("dora", "a long enough password")
    for _ in range(12 * 3):
        clock.advance(timedelta(minutes=20))
        triage.auth.resolve(busy.token)
    assert triage.auth.resolve(busy.token) is None


def test_wrong_password_and_unknown_user_get_the_same_refusal(triage: Triage) -> None:
    triage.auth.create_user("dora", "Dora", "a long enough password", ["duty_inspector"])
    with pytest.raises(BadCredentials):
        triage.auth.sign_in("dora", "wrong password!!")
    with pytest.raises(BadCredentials):
        triage.auth.sign_in("nobody", "a long enough password")
    with triage.db.sessions() as s:
        stored = s.execute(select(tables.staff_users.c.password_hash)).scalar_one()
        token_hash = s.execute(select(tables.staff_sessions.c.token_hash)).scalar()
    assert stored.startswith("$argon2id$") and token_hash is None


def test_a_password_hashed_with_weaker_settings_is_hashed_again_at_sign_in(triage: Triage) -> None:
    """The rehash goes in the transaction that opens the session and records the sign-in."""
    user_id = triage.auth.create_user("dora", "Dora", "a long enough password", ["duty_inspector"])
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024).hash("a long enough password")
    with triage.db.transaction() as s:
        staff_store.set_password_hash(s, user_id, weak)
    triage.auth.sign_in("dora", "a long enough password")
    with triage.db.sessions() as s:
        stored = s.execute(select(tables.staff_users.c.password_hash)).scalar_one()
        methods = list(s.execute(select(tables.staff_sign_ins.c.method)).scalars())
    assert stored != weak and not passwords.needs_rehash(stored) and passwords.matches(stored, "a long enough password")
    assert methods == ["password"]


def test_repeated_wrong_passwords_slow_down_sign_in_for_a_while(triage: Triage) -> None:
    clock = triage.clock
    assert isinstance(clock, MovableClock)
    triage.auth.create_user("dora", "Dora", "a long enough password", ["duty_inspector"])
    for _ in range(5):
        with pytest.raises(BadCredentials):
            triage.auth.sign_in("dora", "guess")
    with pytest.raises(TooManyAttempts):
        triage.auth.sign_in("dora", "a long enough password")
    clock.advance(timedelta(minutes=15))
    assert triage.auth.sign_in("dora", "a long enough password").staff.username == "dora"


@pytest.mark.parametrize(("username", "password", "roles", "field"), [
    ("Dora Smith", "a long enough password", ["duty_inspector"], "username"),
    ("dora", "short", ["duty_inspector"], "password"),
    ("dora", "a long enough password", ["chief"], "roles"),
])
def test_creating_a_user_names_what_is_wrong(triage: Triage, username: str, password: str, roles: list[str],
                                            field: str) -> None:
    with pytest.raises(InvalidUser) as caught:
        triage.auth.create_user(username, "Dora", password, roles)
    assert caught.value.field == field
