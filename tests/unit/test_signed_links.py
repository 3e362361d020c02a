"""Signed links: only the service that made a link, for its purpose, before it expires, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from itsdangerous import URLSafeSerializer
from sqlalchemy import MetaData

from shared.clock import MovableClock
from shared.db import Database
from shared.signedlinks import LinkRefused, Refusal, SignedLinks, UsedLinks, used_links_table

SECRET = "a secret long enough for links"
START = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)
LIFETIMES = {"acknowledge": timedelta(hours=2), "record_visit": timedelta(minutes=30)}


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(START)


@pytest.fixture
def links(clock: MovableClock) -> SignedLinks:
    return SignedLinks(SECRET, "notify", LIFETIMES, clock)


def refusal(links: SignedLinks, token: str, purpose: str = "acknowledge") -> Refusal:
    with pytest.raises(LinkRefused) as refused:
        links.check(token, purpose)
    return refused.value.refusal


def test_a_link_carries_its_purpose_recipient_object_and_expiry(links: SignedLinks) -> None:
    token, issued = links.issue("acknowledge", "di-north", "incident-1")
    checked = links.check(token, "acknowledge")
    assert checked == issued
    assert (checked.recipient, checked.subject) == ("di-north", "incident-1")
    assert checked.expires_at == START + timedelta(hours=2)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_the_same_link_id_can_be_given_so_a_resent_message_carries_the_same_link(links: SignedLinks) -> None:
    _, first = links.issue("acknowledge", "di-north", "incident-1", link_id="delivery-1")
    _, again = links.issue("acknowledge", "di-north", "incident-1", link_id="delivery-1")
    assert first.link_id == again.link_id == "delivery-1"


def test_a_changed_recipient_object_expiry_or_purpose_breaks_the_signature(links: SignedLinks) -> None:
    token, issued = links.issue("acknowledge", "di-north", "incident-1")
    signature = token.rsplit(".", 1)[1]
    claims = issued.as_payload()
    unsigned = URLSafeSerializer("whoever forged it")
    for field, value in (("to", "di-south"), ("on", "incident-2"), ("exp", claims["exp"] + 86400),
                         ("p", "record_visit")):
        forged = unsigned.dumps({**claims, field: value}).rsplit(".", 1)[0]
        assert refusal(links, f"{forged}.{signature}") == Refusal.tampered


def test_a_cut_short_or_altered_token_is_refused_as_tampered(links: SignedLinks) -> None:
    token, _ = links.issue("acknowledge", "di-north", "incident-1")
    assert refusal(links, token[:-3]) == Refusal.tampered
    payload, signature = token.rsplit(".", 1)
    changed = ("B" if signature[0] == "A" else "A") + signature[1:]  # not the last: its low bits are padding
    assert refusal(links, f"{payload}.{changed}") == Refusal.tampered
    assert refusal(links, "not-a-token") == Refusal.tampered
    assert refusal(links, "") == Refusal.tampered


def test_another_services_or_another_secrets_link_is_refused(clock: MovableClock, links: SignedLinks) -> None:
    token, _ = links.issue("acknowledge", "di-north", "incident-1")
    assert refusal(SignedLinks(SECRET, "tasking", LIFETIMES, clock), token) == Refusal.tampered
    assert refusal(SignedLinks("another secret, long enough", "notify", LIFETIMES, clock), token) == Refusal.tampered


def test_a_link_for_another_purpose_is_refused_but_its_claims_are_known(links: SignedLinks) -> None:
    token, issued = links.issue("record_visit", "pc-evans", "task-9")
    with pytest.raises(LinkRefused) as refused:
        links.check(token, "acknowledge")
    assert refused.value.refusal == Refusal.wrong_purpose and refused.value.claims == issued


def test_a_link_expires_when_the_clock_reaches_its_expiry(clock: MovableClock, links: SignedLinks) -> None:
    token, issued = links.issue("record_visit", "pc-evans", "task-9")
    clock.advance(timedelta(minutes=29, seconds=59))
    assert links.check(token, "record_visit") == issued
    clock.advance(timedelta(seconds=1))
    with pytest.raises(LinkRefused) as refused:
        links.check(token, "record_visit")
    assert refused.value.refusal == Refusal.expired and refused.value.claims == issued


def test_each_purpose_needs_a_lifetime_and_the_secret_a_length(clock: MovableClock, links: SignedLinks) -> None:
    with pytest.raises(ValueError, match="no lifetime"):
        links.issue("delete_everything", "di-north", "incident-1")
    with pytest.raises(ValueError, match="16 characters"):
        SignedLinks("short", "notify", LIFETIMES, clock)


def test_a_link_used_twice_acts_once_and_a_rolled_back_use_does_not_count(tmp_path: Path,
                                                                          links: SignedLinks) -> None:
    metadata = MetaData()
    used = UsedLinks(used_links_table(metadata))
    db = Database(f"sqlite:///{tmp_path / 'links.db'}")
    metadata.create_all(db.engine)
    token, _ = links.issue("acknowledge", "di-north", "incident-1")
    claims = links.check(token, "acknowledge")
    with pytest.raises(RuntimeError), db.transaction() as s:
        used.claim(s, claims, START)
        raise RuntimeError("the action failed")
    with db.sessions() as s:
        assert used.used_at(s, claims.link_id) is None
    with db.transaction() as s:
        used.claim(s, claims, START + timedelta(minutes=1))
    with pytest.raises(LinkRefused) as replayed, db.transaction() as s:
        used.claim(s, links.check(token, "acknowledge"), START + timedelta(minutes=2))
    assert replayed.value.refusal == Refusal.used
    with db.sessions() as s:
        assert used.used_at(s, claims.link_id) == START + timedelta(minutes=1)
    db.dispose()
