"""The filters every page shares: London time with its zone, codes as words, numbers isolated in RTL text."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

import pytest
from markupsafe import Markup

from shared.web.filters import bidi_isolate, from_london_input, humanise, london_input, london_time


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_a_winter_time_is_shown_in_gmt_in_the_one_format() -> None:
    assert london_time(at("2026-12-06T14:05")) == "14:05 GMT, Sun 6 Dec 2026"


def test_a_summer_time_is_shown_in_bst_an_hour_ahead_of_utc() -> None:
    assert london_time(at("2026-07-06T14:05")) == "15:05 BST, Mon 6 Jul 2026"


@pytest.mark.parametrize(("utc", "shown"), [
    ("2026-03-29T00:59", "00:59 GMT, Sun 29 Mar 2026"),  # last Sunday of March: clocks go forward at 01:00 UTC
    ("2026-03-29T01:00", "02:00 BST, Sun 29 Mar 2026"),
    ("2026-10-25T00:59", "01:59 BST, Sun 25 Oct 2026"),  # last Sunday of October: back at 01:00 UTC
    ("2026-10-25T01:00", "01:00 GMT, Sun 25 Oct 2026"),
    ("2026-12-31T23:59", "23:59 GMT, Thu 31 Dec 2026"),
    ("2027-01-01T00:00", "00:00 GMT, Fri 1 Jan 2027"),
])
def test_the_zone_changes_exactly_at_the_british_summer_time_boundaries(utc: str, shown: str) -> None:
    assert london_time(at(utc)) == shown


def test_times_come_as_aware_datetimes_iso_strings_or_naive_utc_and_nothing_shows_as_nothing() -> None:
    expected = "15:05 BST, Mon 6 Jul 2026"
    assert london_time("2026-07-06T14:05:00Z") == expected
    assert london_time("2026-07-06T16:05:00+02:00") == expected
    assert london_time(datetime(2026, 7, 6, 14, 5)) == expected  # noqa: DTZ001 -- a naive value is UTC
    assert london_time(None) == london_time("") == ""


def test_a_local_input_is_read_as_london_time_and_written_back_the_same() -> None:
    assert from_london_input("2026-07-01T09:30") == at("2026-07-01T08:30")
    assert from_london_input("2026-12-01T09:30") == at("2026-12-01T09:30")
    assert london_input(at("2026-07-01T08:30")) == "2026-07-01T09:30"
    assert london_input(from_london_input("2026-11-20T21:30")) == "2026-11-20T21:30"
    assert london_input(None) == ""


def test_the_october_hour_that_happens_twice_means_the_first_and_the_march_gap_moves_on() -> None:
    assert from_london_input("2026-10-25T01:30") == at("2026-10-25T00:30")
    assert london_time(from_london_input("2026-03-29T01:30")) == "02:30 BST, Sun 29 Mar 2026"


def test_a_local_input_with_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="no zone"):
        from_london_input("2026-07-01T09:30+01:00")


class Status(StrEnum):
    cia_requested = "cia_requested"


@pytest.mark.parametrize(("code", "label"), [
    ("duty_inspector", "Duty inspector"),
    ("place_of_worship", "Place of worship"),
    ("cia_requested", "CIA requested"),
    ("sms", "SMS"),
    ("incident.acknowledged", "Incident acknowledged"),
    ("anti-muslim", "Anti muslim"),
    ("already fine", "Already fine"),
    (Status.cia_requested, "CIA requested"),
    ("", ""),
    (None, ""),
])
def test_a_code_is_shown_as_a_plain_english_label(code: object, label: str) -> None:
    assert humanise(code) == label


def test_a_phone_number_in_arabic_text_is_isolated_left_to_right() -> None:
    shown = bidi_isolate("اتصل بدعم الضحايا على 0808 168 9111.")
    assert shown == 'اتصل بدعم الضحايا على <bdi dir="ltr">0808 168 9111</bdi>.'
    assert isinstance(shown, Markup)


@pytest.mark.parametrize("token", ["AC3D4F6G7H", "E23000001", "+44 20 7946 0000", "2026-11-20", "21:30", "101"])
def test_each_reference_code_or_number_is_isolated_whole(token: str) -> None:
    assert bidi_isolate(f"رقم {token} هنا") == f'رقم <bdi dir="ltr">{token}</bdi> هنا'


def test_numbers_apart_are_isolated_apart_and_words_are_left_alone() -> None:
    assert bidi_isolate("Call 999 or 101") == 'Call <bdi dir="ltr">999</bdi> or <bdi dir="ltr">101</bdi>'
    assert bidi_isolate("no numbers here") == "no numbers here"


def test_plain_text_is_escaped_and_character_references_are_not_split() -> None:
    assert bidi_isolate("O'Brien <b>12</b>") == 'O&#39;Brien &lt;b&gt;<bdi dir="ltr">12</bdi>&lt;/b&gt;'


def test_safe_markup_is_changed_between_tags_only() -> None:
    link = Markup('<a href="tel:08081689111" data-n="5">0808 168 9111</a>')
    assert bidi_isolate(link) == '<a href="tel:08081689111" data-n="5"><bdi dir="ltr">0808 168 9111</bdi></a>'
    assert bidi_isolate(None) == ""
