"""What notify's staff pages say, without a browser: on call now and next, policies in plain English, the
override form read in London time, the delivery list's filters and pages, and the services behind them on
SQLite (overrides removed with an event, the ledger paged with references)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from services.notify import tables
from services.notify.chase.rota import RotaService, RotaStore, UnknownOverride
from services.notify.ledger import DeliveryStatus, LedgerService, queue
from services.notify.pages import views
from services.notify.pages.forms import FormInvalid, SubmittedForm
from services.notify.pages.listing import PAGE_SIZE, LedgerFilters, pagination
from services.notify.policy import Directory, Duty, Rota, Window, duties, load_directory
from shared.areas import default_registry
from shared.clock import MovableClock
from shared.db import Database
from shared.events.notifications import RotaOverrideRemoved, RotaOverrideSet
from shared.eventstore import EventStore, row_to_envelope
from shared.migrate import upgrade
from shared.staffaccess import Caller

T0 = datetime(2026, 11, 21, 7, 0, tzinfo=UTC)
MET = "E23000001"
ROTA = Rota(start=T0, shift_hours=12, people=["di-1", "di-2"])


def _window(person: str, start: timedelta, end: timedelta, set_at: timedelta = timedelta(0)) -> Window:
    return Window(person, T0 + start, T0 + end, T0 + set_at)


def _directory() -> Directory:
    return Directory.model_validate({
        "people": {"di-1": {"name": "Insp. Adams"}, "di-2": {"name": "Insp. Begum"}, "supt": {"name": "Supt. Cole"},
                   "ch": {"name": "Ch. Insp. Dar"}, "snt": {"name": "Sgt Eze"}},
        "teams": {"nt": ["snt"], "duty-command": ["supt", "ch"]},
        "policies": {"standard": {"resend_every_minutes": 5, "loops": 1, "levels": [
            {"targets": ["on_call"], "delay_minutes": 15}, {"targets": ["person:supt"], "delay_minutes": 15},
            {"targets": ["team:duty-command"], "delay_minutes": 90}]},
            "quiet": {"resend_every_minutes": None, "loops": 0, "levels": [{"targets": ["on_call"],
                                                                           "delay_minutes": 60}]}},
        "areas": {"default": {"rota": {"start": T0.isoformat(), "people": ["di-1", "di-2"]}, "policy": "standard",
                              "neighbourhood_team": "nt", "community_liaison": "nt"},
                  "W15000004": {"rota": {"start": T0.isoformat(), "people": ["di-2"]}, "policy": "quiet",
                                "neighbourhood_team": "nt", "community_liaison": "nt"}},
    })


# --- on call now and next ---------------------------------------------------------------------------

def test_on_call_now_until_the_handover_then_the_next_person() -> None:
    now, nxt = duties(ROTA, [], T0 + timedelta(hours=3))
    assert now == Duty("di-1", None, T0 + timedelta(hours=12), by_override=False)
    assert nxt == Duty("di-2", T0 + timedelta(hours=12), T0 + timedelta(hours=24), by_override=False)


def test_an_override_in_force_is_on_call_until_it_ends_and_the_rota_follows() -> None:
    now, nxt = duties(ROTA, [_window("di-2", timedelta(hours=2), timedelta(hours=5))], T0 + timedelta(hours=3))
    assert now == Duty("di-2", None, T0 + timedelta(hours=5), by_override=True)
    assert nxt == Duty("di-1", T0 + timedelta(hours=5), T0 + timedelta(hours=12), by_override=False)


def test_an_override_naming_who_the_rota_names_next_runs_on_into_their_shift() -> None:
    window = _window("di-2", timedelta(hours=10), timedelta(hours=14))
    now, nxt = duties(ROTA, [window], T0 + timedelta(hours=1))
    assert now == Duty("di-1", None, T0 + timedelta(hours=10), by_override=False)
    assert nxt == Duty("di-2", T0 + timedelta(hours=10), T0 + timedelta(hours=24), by_override=True)


def test_the_later_of_two_overlapping_overrides_wins() -> None:
    windows = [_window("di-2", timedelta(0), timedelta(hours=6)),
               _window("supt", timedelta(hours=1), timedelta(hours=2), set_at=timedelta(minutes=5))]
    now, nxt = duties(ROTA, windows, T0 + timedelta(hours=1, minutes=30))
    assert (now.person_id, now.ends_at, nxt.person_id, nxt.ends_at) == (
        "supt", T0 + timedelta(hours=2), "di-2", T0 + timedelta(hours=6))


def test_one_person_on_the_rota_has_no_handover_to_show() -> None:
    alone = Rota(start=T0, shift_hours=12, people=["di-1"])
    assert duties(alone, [], T0) == [Duty("di-1", None, None, by_override=False)]


def test_handover_after_counts_shifts_from_the_rota_start_even_before_it() -> None:
    assert ROTA.handover_after(T0 + timedelta(hours=11, minutes=59)) == T0 + timedelta(hours=12)
    assert ROTA.handover_after(T0 + timedelta(hours=12)) == T0 + timedelta(hours=24)
    assert ROTA.handover_after(T0 - timedelta(hours=1)) == T0


# --- plain English --------------------------------------------------------------------------------

def test_durations_and_lists_read_as_english() -> None:
    assert [views.duration(m) for m in (0.5, 1, 15, 60, 90, 120)] == [
        "30 seconds", "1 minute", "15 minutes", "1 hour", "1 hour 30 minutes", "2 hours"]
    assert [views.in_words(x) for x in (["A"], ["A", "B"], ["A", "B", "C"])] == ["A", "A and B", "A, B and C"]


def test_escalation_policies_are_described_with_names_delays_and_loops() -> None:
    directory = _directory()
    standard, quiet = views.policies(directory, views.Names(directory, default_registry()))
    assert (standard.title, standard.used_by) == ("Standard policy", "all other areas")
    assert standard.levels == [
        "The Duty Inspector on call for the area. If nobody acknowledges within 15 minutes, level 2 is paged.",
        "Supt. Cole. If nobody acknowledges within 15 minutes, level 3 is paged.",
        "The duty command team (Supt. Cole and Ch. Insp. Dar). If nobody acknowledges within 1 hour 30 minutes, "
        "level 1 is paged again."]
    assert standard.resending == "Each level is paged again every 5 minutes until someone acknowledges."
    assert "runs once more" in standard.afterwards
    assert (quiet.title, quiet.used_by, quiet.afterwards) == ("Quiet policy", "Dyfed-Powys", "")
    assert views.policies(load_directory(), views.Names(load_directory(), default_registry()))[0].used_by == \
        "all areas"
    assert quiet.levels[-1].endswith("within 1 hour, the chase stops and is recorded as unanswered.")
    assert quiet.resending.startswith("A level is paged once")


def test_no_snake_case_reaches_the_page_for_the_shipped_directory() -> None:
    directory = load_directory()
    names = views.Names(directory, default_registry())
    text = " ".join(" ".join([p.title, p.used_by, *p.levels, p.resending, p.afterwards])
                    for p in views.policies(directory, names))
    assert "_" not in text and "on_call" not in text and "person:" not in text


def test_deliveries_name_people_purposes_channels_and_statuses_in_words() -> None:
    names = views.Names(_directory(), default_registry())
    row = {"notification_id": "n1", "created_at": T0, "updated_at": T0, "purpose": "duty_inspector_alert",
           "recipient": "person:di-1", "channel": "sms", "status": "pending", "attempts": 2,
           "last_error": "SMTPServerDisconnected: to di1@police.example", "resolved_at": None,
           "incident_id": "i1", "reference": "AB12CD34"}
    shown = views.delivery(row, names)
    assert (shown.what, shown.to, shown.channel, shown.status, shown.error) == (
        "Duty Inspector alert", "Insp. Adams", "Text message", "Failed, will try again", "SMTPServerDisconnected")
    gave_up = views.delivery({**row, "status": "gave_up", "purpose": "cia_reminder",
                              "recipient": "reporter:r1"}, names)
    assert (gave_up.what, gave_up.to, gave_up.status, gave_up.can_act) == (
        "Community impact assessment reminder", "the reporter", "Gave up", True)
    dealt_with = views.delivery({**row, "status": "gave_up", "resolved_at": T0}, names)
    assert (dealt_with.status, dealt_with.can_act) == ("Gave up, dealt with", False)


# --- the delivery list's filters and pages ----------------------------------------------------------

def test_filters_read_leniently_and_round_trip_through_the_url() -> None:
    assert LedgerFilters.read("gave_up", "email", "3") == LedgerFilters(DeliveryStatus.gave_up, "email", 3)
    assert LedgerFilters.read("<script>", "pigeon", "-1") == LedgerFilters()
    assert LedgerFilters.read(None, None, "0").page == 1
    filters = LedgerFilters(DeliveryStatus.sent, "sms", 2)
    assert filters.url() == "/?status=sent&channel=sms&page=2#sent"
    assert filters.url("attention", done="retried", page=1) == "/?done=retried&status=sent&channel=sms#attention"
    assert LedgerFilters().url("overrides") == "/#overrides"


def test_pagination_shows_first_last_and_neighbours_with_gaps() -> None:
    assert pagination(LedgerFilters(), PAGE_SIZE) is None
    options = pagination(LedgerFilters(page=5), PAGE_SIZE * 10)
    assert options is not None
    shown = [i.get("number") for i in options["items"]]
    assert shown == [1, None, 4, 5, 6, None, 10]
    assert options["previous"]["href"] == "/?page=4#sent" and options["next"]["href"] == "/?page=6#sent"
    last = pagination(LedgerFilters(page=10), PAGE_SIZE * 10)
    assert last is not None and "next" not in last


# --- the override form ------------------------------------------------------------------------------

def _form(**fields: str) -> SubmittedForm:
    base = {"csrf_token": "t", "area": MET, "person_id": "di-2", "starts_at": "2026-07-06T14:00",
            "ends_at": "2026-07-06T22:00", "reason": "shift swap"}
    return SubmittedForm({**base, **fields})


def test_the_override_form_reads_london_time_into_the_apis_body() -> None:
    new = _form().new_override(default_registry(), {"di-1", "di-2"}, datetime(2026, 7, 6, 12, tzinfo=UTC))
    assert new.area == MET
    assert (new.body.person_id, new.body.reason) == ("di-2", "shift swap")
    assert (new.body.starts_at, new.body.ends_at) == (datetime(2026, 7, 6, 13, tzinfo=UTC),
                                                      datetime(2026, 7, 6, 21, tzinfo=UTC)), "BST is UTC+1"


def test_the_override_form_says_every_problem_at_once() -> None:
    with pytest.raises(FormInvalid) as refused:
        _form(area="nowhere", person_id="", starts_at="", ends_at="soon", reason="").new_override(
            default_registry(), {"di-1"}, T0)
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("area", "Select the area"), ("person_id", "Select who will be on call"),
        ("starts_at", "Enter when the override starts"),
        ("ends_at", "Enter when the override ends as a real date and time"),
        ("reason", "Enter why someone else is on call")]


def test_the_override_form_refuses_an_end_before_the_start_or_in_the_past() -> None:
    now = datetime(2026, 7, 6, 12, tzinfo=UTC)
    for fields, message in [({"ends_at": "2026-07-06T13:00"}, "The end must be after the start"),
                            ({"starts_at": "2026-07-06T09:00", "ends_at": "2026-07-06T12:30"},
                             "The end must be in the future")]:
        with pytest.raises(FormInvalid) as refused:
            _form(**fields).new_override(default_registry(), {"di-2"}, now)
        assert [(e.field, e.message) for e in refused.value.errors] == [("ends_at", message)]


def test_a_form_needs_the_sessions_own_csrf_token() -> None:
    sue = Caller("sue", frozenset({"supervisor"}), csrf_token="right")
    assert SubmittedForm({"csrf_token": "right"}).csrf_matches(sue)
    assert not SubmittedForm({"csrf_token": "wrong"}).csrf_matches(sue)
    assert not SubmittedForm({}).csrf_matches(Caller("sue", frozenset(), csrf_token=""))


# --- the services behind the pages, on SQLite -------------------------------------------------------

@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    url = f"sqlite:///{tmp_path / 'notify.db'}"
    upgrade("notify", url)
    database = Database(url)
    yield database
    database.dispose()


def _types(db: Database) -> list[str]:
    log = tables.metadata.tables["event_log"]
    with db.sessions() as s:
        return [row_to_envelope(r).type for r in s.execute(select(log).order_by(log.c.seq)).mappings()]


def test_an_override_removed_is_an_event_and_the_rota_applies_again(db: Database) -> None:
    clock = MovableClock(T0)
    rota = RotaService(db, RotaStore(), EventStore(tables.metadata, "/vigil/notify", clock), clock, _directory())
    set_ = rota.set_override(MET, "di-2", T0, T0 + timedelta(hours=4), "sue", "swap")
    [shown] = rota.overrides()
    assert (shown.override_id, shown.set_by, shown.reason) == (set_.override_id, "sue", "swap")
    assert [a.area for a in rota.board()] == [MET, "W15000004", "default"]
    assert rota.on_call(MET).person_id == "di-2"

    with pytest.raises(UnknownOverride):
        rota.remove_override(set_.override_id, "sue", area="W15000004")
    removed = rota.remove_override(set_.override_id, "sue", "  di-1   is back ")
    assert (removed.area, removed.person_id, removed.removed_by, removed.removed_at, removed.reason) == (
        MET, "di-2", "sue", T0, "di-1 is back")
    assert rota.on_call(MET).person_id == "di-1" and rota.overrides() == []
    with pytest.raises(UnknownOverride):
        rota.remove_override(set_.override_id, "sue")
    assert _types(db) == [RotaOverrideSet.TYPE, RotaOverrideRemoved.TYPE]


def test_an_ended_override_leaves_the_list(db: Database) -> None:
    clock = MovableClock(T0)
    rota = RotaService(db, RotaStore(), EventStore(tables.metadata, "/vigil/notify", clock), clock, _directory())
    rota.set_override(MET, "di-2", T0, T0 + timedelta(hours=1), "sue")
    clock.advance(timedelta(hours=1))
    assert rota.overrides() == [] and [a.area for a in rota.board()] == ["W15000004", "default"]


def test_the_ledger_pages_newest_first_with_filters_and_references(db: Database) -> None:
    clock = MovableClock(T0)
    ledger = LedgerService(db, EventStore(tables.metadata, "/vigil/notify", clock), clock)
    with db.transaction() as s:
        for i in range(30):
            clock.advance(timedelta(seconds=1))
            queue(s, clock, key=f"k{i:02}", incident_id="i1", purpose="duty_inspector_alert",
                  channel="email" if i % 2 else "sms", recipient_role="duty_inspector", recipient="person:di-1",
                  payload={})
        s.execute(tables.chases.insert().values(
            incident_id="i1", reference="AB12CD34", area=MET, priority="P1", matched="[]", state="paging", page="-",
            started_at=T0, updated_at=T0))
        d = tables.deliveries
        s.execute(d.update().where(d.c.idempotency_key == "k03").values(last_error="ConnectionRefusedError: x"))
        s.execute(d.update().where(d.c.idempotency_key == "k05").values(status="gave_up", last_error="refused"))

    first = ledger.recent(limit=PAGE_SIZE)
    assert first.total == 30 and len(first.rows) == PAGE_SIZE
    assert first.rows[0]["idempotency_key"] == "k29" and first.rows[0]["reference"] == "AB12CD34"
    assert [r["idempotency_key"] for r in ledger.recent(offset=PAGE_SIZE).rows] == ["k04", "k03", "k02", "k01",
                                                                                    "k00"]
    email = ledger.recent(channel="email")
    assert email.total == 15 and {r["channel"] for r in email.rows} == {"email"}
    assert [r["idempotency_key"] for r in ledger.recent(DeliveryStatus.failed).rows] == ["k03"]
    assert [r["idempotency_key"] for r in ledger.recent(DeliveryStatus.gave_up, "email").rows] == ["k05"]
    assert ledger.recent(DeliveryStatus.gave_up, "sms").total == 0
    found = ledger.find(str(email.rows[0]["notification_id"]))
    assert found is not None and found["reference"] == "AB12CD34" and ledger.find("nope") is None
