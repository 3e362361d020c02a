"""Staff accounts as administrators keep them, and the console's pages, on an SQLite file without Kafka:
each change is one event without contact values or passwords, disabling ends sessions, the last administrator
stays, sign-ins keep only a coarse network, the audit filters and pages, the pages refuse the wrong role, and a
caseworker's reporting centre changes after the account is made."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from services.triage import tables
from services.triage.access import Staff
from services.triage.accounts import (
    AccountConflict,
    AccountFilter,
    CommandLine,
    InvalidUser,
    NewAccount,
    StaffAccounts,
    centre_left_by,
    valid_centre,
)
from services.triage.admin import history_item
from services.triage.auth import BadCredentials, coarse_network
from services.triage.main import Triage, build, create_app
from services.triage.oversight import Oversight, ViewFilter
from services.triage.settings import TriageSettings
from shared.clock import MovableClock
from shared.events.base import Envelope, Event
from shared.events.staff import (
    StaffAccountCreated,
    StaffAccountDisabled,
    StaffCentreChanged,
    StaffContactDetailsChanged,
    StaffRolesChanged,
)
from shared.migrate import upgrade
from shared.settings import VigilSettings

START = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
PASSWORD = "a long enough password"
OPERATOR = CommandLine("root")
HTML = {"accept": "text/html"}


@pytest.fixture
def triage(tmp_path: Path) -> Triage:
    url = f"sqlite:///{tmp_path / 'triage.db'}"
    upgrade("triage", url)
    triage = build(VigilSettings(), TriageSettings(database_url=url), MovableClock(START))
    triage.auth.create_user("ada", "Ada Admin", PASSWORD, ["admin"])
    return triage


@pytest.fixture
def accounts(triage: Triage) -> StaffAccounts:
    return triage.auth.accounts


def admin(triage: Triage) -> Staff:
    return triage.auth.sign_in("ada", PASSWORD).staff


def dora(accounts: StaffAccounts, **changes: Any) -> str:
    new = NewAccount("dora", "Dora Inspector", ["duty_inspector"], ["E23000001"], "dora@example.org",
                     "07700 900123", PASSWORD)
    return accounts.create(OPERATOR, replace(new, **changes)).user_id


def test_an_account_is_created_with_its_areas_and_contacts_and_the_event_names_neither_value(
        triage: Triage, accounts: StaffAccounts) -> None:
    user_id = dora(accounts)
    account, _, history = accounts.record(OPERATOR, user_id)
    assert (account.areas, account.email, account.phone) == (["E23000001"], "dora@example.org", "07700 900123")
    [event] = [env.event() for env in history]
    assert isinstance(event, StaffAccountCreated) and event.changed_by == "cli:root"
    assert [c.value for c in event.contact_channels] == ["email", "phone"]
    assert "dora@example.org" not in history[0].model_dump_json() and "07700" not in history[0].model_dump_json()
    assert history[0].key == user_id and history[0].topic == "vigil.staff.v1"


def test_without_a_password_a_temporary_one_is_made_that_signs_in(accounts: StaffAccounts, triage: Triage) -> None:
    created = accounts.create(OPERATOR, NewAccount("sam", "Sam", ["supervisor"], []))
    assert created.temporary_password and len(created.temporary_password) == 19
    assert triage.auth.sign_in("sam", created.temporary_password).staff.username == "sam"
    assert accounts.get(OPERATOR, created.user_id).national


def test_disabling_ends_every_session_at_once_and_records_how_many(triage: Triage, accounts: StaffAccounts) -> None:
    user_id = dora(accounts)
    sessions = [triage.auth.sign_in("dora", PASSWORD).token for _ in range(2)]
    assert accounts.disable(admin(triage), user_id, "left") == 2
    assert [triage.auth.resolve(t) for t in sessions] == [None, None]
    with pytest.raises(BadCredentials):
        triage.auth.sign_in("dora", PASSWORD)
    event = accounts.record(OPERATOR, user_id)[2][-1].event()
    assert isinstance(event, StaffAccountDisabled) and (event.reason, event.sessions_ended) == ("left", 2)
    accounts.enable(OPERATOR, user_id)
    assert triage.auth.sign_in("dora", PASSWORD).staff.username == "dora"


def test_the_last_administrator_cannot_be_disabled_or_lose_the_role_and_nobody_disables_themselves(
        triage: Triage, accounts: StaffAccounts) -> None:
    ada_id = admin(triage).user_id
    with pytest.raises(AccountConflict, match="only enabled administrator"):
        accounts.disable(OPERATOR, ada_id)
    with pytest.raises(AccountConflict, match="only enabled administrator"):
        accounts.set_roles(OPERATOR, ada_id, ["analyst"])
    second = dora(accounts, username="bea", roles=["admin"])
    with pytest.raises(AccountConflict, match="your own account"):
        accounts.disable(admin(triage), ada_id)
    assert accounts.set_roles(OPERATOR, ada_id, ["analyst"]) is True
    assert accounts.get(OPERATOR, second).enabled


def test_a_change_to_nothing_records_nothing(accounts: StaffAccounts) -> None:
    user_id = dora(accounts)
    assert accounts.set_roles(OPERATOR, user_id, ["duty_inspector"]) is False
    assert accounts.set_areas(OPERATOR, user_id, ["e23000001"]) is False
    assert accounts.set_contact(OPERATOR, user_id, "dora@example.org", " 07700  900123 ") is False
    assert len(accounts.record(OPERATOR, user_id)[2]) == 1


def test_contact_changes_say_which_detail_changed_not_what_it_became(accounts: StaffAccounts) -> None:
    user_id = dora(accounts)
    assert accounts.set_contact(OPERATOR, user_id, "", "+44 7700 900999") is True
    envelope = accounts.record(OPERATOR, user_id)[2][-1]
    event = envelope.event()
    assert isinstance(event, StaffContactDetailsChanged)
    assert [c.value for c in event.changed] == ["email", "phone"] and [c.value for c in event.contact_channels] == \
        ["phone"]
    assert "900999" not in envelope.model_dump_json()


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"roles": ["chief"]}, "roles", "unknown role chief"),
    ({"roles": []}, "roles", "at least one role"),
    ({"areas": ["E23000001", "X1"]}, "areas", "unknown area code X1"),
    ({"email": "dora"}, "email", "not an email address"),
    ({"phone": "ring me"}, "phone", "not a phone number"),
    ({"username": "Dora Smith"}, "username", "lower-case"),
    ({"password": "short"}, "password", "at least 12"),
])
def test_bad_input_names_the_field_and_says_what_is_wrong(accounts: StaffAccounts, changes: dict[str, object],
                                                          field: str, words: str) -> None:
    with pytest.raises(InvalidUser, match=words) as caught:
        dora(accounts, **changes)
    assert caught.value.field == field


def test_a_reset_password_ends_the_sessions_and_is_never_recorded(triage: Triage, accounts: StaffAccounts) -> None:
    user_id = dora(accounts)
    token = triage.auth.sign_in("dora", PASSWORD).token
    temporary = accounts.reset_password(OPERATOR, user_id)
    assert temporary and triage.auth.resolve(token) is None
    with pytest.raises(BadCredentials):
        triage.auth.sign_in("dora", PASSWORD)
    assert triage.auth.sign_in("dora", temporary)
    assert temporary not in accounts.record(OPERATOR, user_id)[2][-1].model_dump_json()


@pytest.mark.parametrize(("address", "kept"), [
    ("203.0.113.77", "203.0.113.0/24"), ("2001:db8:1:2:3::9", "2001:db8:1::/48"), ("testclient", None), (None, None)])
def test_a_sign_in_keeps_only_the_network_it_came_from(address: str | None, kept: str | None) -> None:
    assert coarse_network(address) == kept


def test_only_the_latest_sign_ins_are_kept(triage: Triage, accounts: StaffAccounts) -> None:
    user_id = dora(accounts)
    clock = triage.clock
    assert isinstance(clock, MovableClock)
    for i in range(25):
        clock.advance(timedelta(minutes=1))
        triage.auth.sign_in("dora", PASSWORD, f"198.51.100.{i}")
    _, sign_ins, _ = accounts.record(OPERATOR, user_id)
    assert len(sign_ins) == 20 and sign_ins[0].signed_in_at == clock.now()
    assert {s.network for s in sign_ins} == {"198.51.100.0/24"}
    clock.advance(timedelta(days=91))
    triage.auth.sign_in("dora", PASSWORD)
    assert len(accounts.record(OPERATOR, user_id)[1]) == 1


def test_accounts_filter_by_text_role_area_and_state(accounts: StaffAccounts) -> None:
    user_id = dora(accounts)
    accounts.disable(OPERATOR, user_id)
    listed = accounts.all(OPERATOR)
    assert [a.username for a in listed] == ["ada", "dora"]
    assert [a.username for a in accounts.all(OPERATOR, AccountFilter(text="INSPECTOR"))] == ["dora"]
    assert [a.username for a in accounts.all(OPERATOR, AccountFilter(area="national"))] == ["ada"]
    assert [a.username for a in accounts.all(OPERATOR, AccountFilter(role="duty_inspector", enabled=False))] == \
        ["dora"]
    assert accounts.all(OPERATOR, AccountFilter(area="E23000001", enabled=True)) == []


def test_the_audit_filters_by_person_incident_and_time_and_pages(triage: Triage) -> None:
    with triage.db.transaction() as s:
        s.execute(insert(tables.incidents), [{
            "incident_id": f"i-{n}", "reference": f"REF{n}", "area": "E23000001", "priority": "P2", "critical": True,
            "state": "open", "triaged_at": START} for n in range(2)])
        s.execute(insert(tables.personal_data_views), [{
            "incident_id": f"i-{n % 2}", "report_id": f"r-{n % 2}", "user_id": "u-1" if n < 5 else "u-2",
            "viewed_at": START + timedelta(hours=n), "outcome": "shown"} for n in range(8)])
    staff, oversight = admin(triage), Oversight(triage.db, triage.clock, triage.rulesets.store)
    everything = oversight.personal_data_views(staff, ViewFilter(), 0, 3)
    assert everything.total == 8 and everything.rows[0]["viewed_at"] == START + timedelta(hours=7)
    assert oversight.personal_data_views(staff, ViewFilter(user_id="u-2"), 0, 50).total == 3
    assert oversight.personal_data_views(staff, ViewFilter(incident="ref1"), 0, 50).total == 4
    assert oversight.personal_data_views(staff, ViewFilter(incident="REF1"), 0, 50).rows[0]["reference"] == "REF1"
    window = ViewFilter(since=START + timedelta(hours=2), until=START + timedelta(hours=4))
    assert [r["viewed_at"].hour for r in oversight.personal_data_views(staff, window, 0, 50).rows] == [12, 11]
    assert len(oversight.personal_data_views(staff, ViewFilter(), 6, 3).rows) == 2


# --- the pages ----------------------------------------------------------------------------------

@pytest.fixture
def pages(triage: Triage) -> Iterator[TestClient]:
    with TestClient(create_app(triage, with_worker=False), follow_redirects=False) as client:
        yield client


def signed_in(pages: TestClient, username: str) -> str:
    answer = pages.post("/v1/session", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["csrf_token"])


def test_only_administrators_see_the_accounts_and_supervisors_the_audit(pages: TestClient,
                                                                       accounts: StaffAccounts) -> None:
    dora(accounts, username="sue", roles=["supervisor"])
    assert pages.get("/admin/accounts", headers=HTML).status_code == 401
    signed_in(pages, "sue")
    refused = pages.get("/admin/accounts", headers=HTML)
    assert refused.status_code == 403 and "You do not have permission" in refused.text
    assert pages.get("/admin", headers=HTML).headers["location"] == "/admin/audit"
    audit = pages.get("/admin/audit", headers=HTML)
    assert audit.status_code == 200 and "Staff accounts" not in audit.text
    assert pages.get("/admin/rulesets", headers=HTML).status_code == 200


def test_a_form_without_the_sessions_token_changes_nothing(pages: TestClient, accounts: StaffAccounts) -> None:
    user_id = dora(accounts)
    signed_in(pages, "ada")
    forged = pages.post(f"/admin/accounts/{user_id}/disable", data={"csrf_token": "guess"}, headers=HTML)
    assert forged.status_code == 403 and accounts.get(OPERATOR, user_id).enabled


def test_disabling_from_the_page_asks_first_then_signs_the_person_out(pages: TestClient, triage: Triage,
                                                                     accounts: StaffAccounts) -> None:
    user_id = dora(accounts)
    token = triage.auth.sign_in("dora", PASSWORD).token
    csrf = signed_in(pages, "ada")
    confirm = pages.get(f"/admin/accounts/{user_id}/disable", headers=HTML)
    assert "Are you sure you want to disable this account?" in confirm.text and accounts.get(OPERATOR, user_id).enabled
    done = pages.post(f"/admin/accounts/{user_id}/disable", data={"csrf_token": csrf, "reason": "left"}, headers=HTML)
    assert done.status_code == 303 and done.headers["location"].endswith("?done=disabled")
    assert triage.auth.resolve(token) is None
    page = pages.get(done.headers["location"], headers=HTML)
    assert "Account disabled" in page.text and "Reason: left" in page.text and "1 session ended." in page.text


def test_the_success_banner_shows_only_its_own_sentences(pages: TestClient, accounts: StaffAccounts) -> None:
    user_id = dora(accounts)
    signed_in(pages, "ada")
    page = pages.get(f"/admin/accounts/{user_id}", params={"done": "<script>alert(1)</script>"}, headers=HTML)
    assert page.status_code == 200 and "alert(1)" not in page.text and "govuk-notification-banner" not in page.text


def test_a_refused_form_keeps_what_was_typed_and_names_each_problem(pages: TestClient) -> None:
    csrf = signed_in(pages, "ada")
    answer = pages.post("/admin/accounts/new", data={"csrf_token": csrf, "display_name": "Sam", "username": "sam",
                                                     "email": "not-an-address", "roles": ["analyst"],
                                                     "areas": ["national", "E23000001"]}, headers=HTML)
    assert answer.status_code == 422
    assert "Choose national or particular force areas, not both" in answer.text
    assert 'value="not-an-address"' in answer.text and 'href="#areas"' in answer.text


def test_creating_from_the_page_shows_the_temporary_password_once(pages: TestClient, triage: Triage) -> None:
    csrf = signed_in(pages, "ada")
    answer = pages.post("/admin/accounts/new", data={
        "csrf_token": csrf, "display_name": "Sam Supervisor", "username": "sam", "roles": ["supervisor", "analyst"],
        "areas": ["E23000001", "W15000004"], "email": "sam@example.org"}, headers=HTML)
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    temporary = answer.text.split('id="temporary-password">')[1].split("<")[0]
    assert triage.auth.sign_in("sam", temporary).staff.roles == frozenset({"supervisor", "analyst"})
    account = triage.auth.accounts.named(OPERATOR, "sam")
    assert account.areas == ["E23000001", "W15000004"]
    assert temporary not in pages.get(f"/admin/accounts/{account.user_id}", headers=HTML).text


def test_a_caseworker_is_created_from_the_page_with_their_centre_and_a_centre_on_another_role_is_refused(
        pages: TestClient, triage: Triage) -> None:
    csrf = signed_in(pages, "ada")
    made = pages.post("/admin/accounts/new", data={
        "csrf_token": csrf, "display_name": "Tina Caseworker", "username": "tina", "roles": ["caseworker"],
        "areas": ["national"], "centre": "tell-mama"}, headers=HTML)
    assert made.status_code == 200, made.text
    account = triage.auth.accounts.named(OPERATOR, "tina")
    assert account.centre == "tell-mama"
    shown = pages.get(f"/admin/accounts/{account.user_id}", headers=HTML).text
    assert '<span class="vigil-reference" id="centre">tell-mama</span>' in shown
    refused = pages.post("/admin/accounts/new", data={
        "csrf_token": csrf, "display_name": "Sam", "username": "sam", "roles": ["analyst"], "areas": ["national"],
        "centre": "tell-mama"}, headers=HTML)
    assert refused.status_code == 422 and 'href="#centre"' in refused.text
    assert "Only a caseworker works for a reporting centre" in refused.text


# --- a caseworker's reporting centre, changed after the account is made ----------------------------
# Only a caseworker has one, an id in lower case; taking the caseworker role away clears it, recorded.

@pytest.mark.parametrize(("centre", "roles", "kept"), [
    ("tell-mama", ["caseworker"], "tell-mama"),
    ("  Tell-Mama ", ["caseworker", "analyst"], "tell-mama"),
    ("galop.hate_crime", ["caseworker"], "galop.hate_crime"),
    ("", ["caseworker"], None),
    (None, ["analyst"], None),
    ("  ", ["analyst"], None),
])
def test_a_centre_is_a_caseworker_s_lower_case_id_and_empty_means_the_default(
        centre: str | None, roles: list[str], kept: str | None) -> None:
    assert valid_centre(centre, roles) == kept


@pytest.mark.parametrize(("centre", "roles", "words"), [
    ("tell-mama", ["analyst"], "only a caseworker"),
    ("tell mama", ["caseworker"], "lower-case letters"),
    ("-tell", ["caseworker"], "lower-case letters"),
    ("x" * 65, ["caseworker"], "at most 64"),
    ("tell/mama", ["caseworker"], "lower-case letters"),
])
def test_a_bad_centre_names_the_field_and_says_why(centre: str, roles: list[str], words: str) -> None:
    with pytest.raises(InvalidUser) as refused:
        valid_centre(centre, roles)
    assert refused.value.field == "centre" and words in str(refused.value)


@pytest.mark.parametrize(("centre", "roles", "left"), [
    ("tell-mama", ["analyst"], "tell-mama"),
    ("tell-mama", ["caseworker"], None),
    ("tell-mama", ["caseworker", "analyst"], None),
    (None, ["analyst"], None),
])
def test_an_account_leaves_its_centre_only_when_it_stops_being_a_caseworker(
        centre: str | None, roles: list[str], left: str | None) -> None:
    assert centre_left_by(centre, roles) == left


def tina(accounts: StaffAccounts, centre: str | None = "tell-mama") -> str:
    return accounts.create(OPERATOR, NewAccount("tina", "Tina Caseworker", ["caseworker"], [], password=PASSWORD,
                                                centre=centre)).user_id


def changes(accounts: StaffAccounts, user_id: str) -> list[Event]:
    return [env.event() for env in accounts.record(OPERATOR, user_id)[2]][1:]


def test_a_change_of_centre_is_one_event_with_both_centres_and_the_reason(accounts: StaffAccounts) -> None:
    user_id = tina(accounts)
    assert accounts.set_centre(OPERATOR, user_id, "Galop", "moved to Galop's team") is True
    assert accounts.get(OPERATOR, user_id).centre == "galop"
    [event] = changes(accounts, user_id)
    assert isinstance(event, StaffCentreChanged)
    assert (event.previous_centre, event.centre, event.reason, event.changed_by) == \
        ("tell-mama", "galop", "moved to Galop's team", "cli:root")
    assert accounts.set_centre(OPERATOR, user_id, "galop") is False, "the same centre again changes nothing"
    assert accounts.set_centre(OPERATOR, user_id, "") is True
    assert accounts.get(OPERATOR, user_id).centre is None
    assert [(e.previous_centre, e.centre) for e in changes(accounts, user_id)
            if isinstance(e, StaffCentreChanged)] == [("tell-mama", "galop"), ("galop", None)]


def test_a_bad_centre_or_a_centre_for_another_role_changes_nothing(accounts: StaffAccounts) -> None:
    user_id = tina(accounts)
    analyst = accounts.create(OPERATOR, NewAccount("sam", "Sam", ["analyst"], [], password=PASSWORD)).user_id
    for who, centre in ((user_id, "Tell Mama!"), (analyst, "tell-mama")):
        with pytest.raises(InvalidUser) as refused:
            accounts.set_centre(OPERATOR, who, centre)
        assert refused.value.field == "centre"
    assert accounts.set_centre(OPERATOR, analyst, "") is False, "no centre to clear"
    assert accounts.get(OPERATOR, user_id).centre == "tell-mama"
    assert changes(accounts, user_id) == [] and changes(accounts, analyst) == []


def test_taking_the_caseworker_role_away_clears_the_centre_as_a_change_of_its_own(accounts: StaffAccounts) -> None:
    user_id = tina(accounts)
    assert accounts.set_roles(OPERATOR, user_id, ["caseworker", "analyst"]) is True
    assert accounts.get(OPERATOR, user_id).centre == "tell-mama", "still a caseworker: the centre stays"
    accounts.set_roles(OPERATOR, user_id, ["analyst"], "left the centre")
    assert accounts.get(OPERATOR, user_id).centre is None
    roles, cleared = changes(accounts, user_id)[1:]
    assert isinstance(roles, StaffRolesChanged) and isinstance(cleared, StaffCentreChanged)
    assert (cleared.previous_centre, cleared.centre, cleared.reason) == ("tell-mama", None, "left the centre")
    accounts.set_roles(OPERATOR, user_id, ["caseworker"])
    assert accounts.get(OPERATOR, user_id).centre is None, "a caseworker again starts at the default centre"
    assert len(changes(accounts, user_id)) == 4, "no centre to clear, no second centre event"


def test_the_history_says_which_centre_it_was_and_became() -> None:
    event = StaffCentreChanged(account_id="u1", changed_by="cli:root", changed_at=START, reason="moved",
                               centre=None, previous_centre="tell-mama")
    env = Envelope(id="e1", type=event.TYPE, source="/test", subject="u1", time=START, sequence=1, key="u1",
                   topic=event.TOPIC, data=event.model_dump(mode="json"))
    item = history_item(env, {})
    assert item["label"]["text"] == "Reporting centre changed"
    assert item["text"] == "tell-mama → the default centre. Reason: moved"
    assert item["byline"]["text"] == "root (command line)"


def test_the_account_page_changes_the_centre_and_a_bad_id_is_shown_beside_the_field(
        pages: TestClient, accounts: StaffAccounts) -> None:
    user_id = tina(accounts)
    csrf = signed_in(pages, "ada")
    here = f"/admin/accounts/{user_id}"
    assert f'href="{here}/centre"' in pages.get(here, headers=HTML).text
    form = pages.get(f"{here}/centre", headers=HTML)
    assert form.status_code == 200 and 'value="tell-mama"' in form.text
    refused = pages.post(f"{here}/centre", data={"csrf_token": csrf, "centre": "Tell Mama!"}, headers=HTML)
    assert refused.status_code == 422 and 'href="#centre"' in refused.text and 'value="Tell Mama!"' in refused.text
    assert "lower-case letters" in refused.text
    done = pages.post(f"{here}/centre", data={"csrf_token": csrf, "centre": "galop", "reason": "moved"},
                      headers=HTML)
    assert done.status_code == 303 and done.headers["location"] == f"{here}?done=centre"
    shown = pages.get(done.headers["location"], headers=HTML).text
    assert '<span class="vigil-reference" id="centre">galop</span>' in shown
    assert "Reporting centre changed" in shown and "tell-mama → galop. Reason: moved" in shown
    forged = pages.post(f"{here}/centre", data={"csrf_token": "guess", "centre": "tell-mama"}, headers=HTML)
    assert forged.status_code == 403 and accounts.get(OPERATOR, user_id).centre == "galop"
