"""Every number on the public pages is isolated, so Arabic and Urdu text cannot reorder its digits.

Digits take the direction of the text around them: unisolated, "0808 168 9111" is drawn
"9111 168 0808" in Arabic. Numbers live in `pages.FIGURES` and reach messages only as placeholders,
which `pages.Translator` fills inside `<bdi dir="ltr">`; these tests hold every catalogue and page to that.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po

from services.intake import forms
from services.intake.application import StatusView
from services.intake.domain import CONTACT_DISCARDED, Status
from services.intake.i18n import Catalogues
from services.intake.pages import FIGURES, Pages, Translator
from services.intake.settings import IntakeSettings
from shared.areas import default_registry

LOCALE = Path(forms.__file__).parent / "locale"
RTL = ["ar", "ur"]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
DIGIT = re.compile(r"\d")  # any script's digits, Arabic-Indic included
ISOLATE = re.compile("\u2066[^\u2069]*\u2069")  # LRI ... PDI, for text that is not HTML
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


def catalogue(lang: str | None) -> Catalog:
    path = LOCALE / "messages.pot" if lang is None else LOCALE / lang / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        return read_po(handle)


def message_ids() -> list[str]:
    return [str(m.id) for m in catalogue(None) if m.id]


class UnisolatedDigits(HTMLParser):
    """Text with a digit that is neither inside an element with dir="ltr" nor between LRI and PDI."""

    def __init__(self) -> None:
        super().__init__()
        self.isolated = [False]
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.isolated.append(self.isolated[-1] or dict(attrs).get("dir") == "ltr")

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID and len(self.isolated) > 1:
            self.isolated.pop()

    def handle_data(self, data: str) -> None:
        if not self.isolated[-1] and DIGIT.search(ISOLATE.sub("", data)):
            self.found.append(data.strip())


def unisolated_digits(html: str) -> list[str]:
    parser = UnisolatedDigits()
    parser.feed(html)
    parser.close()
    return parser.found


def pages() -> Pages:
    return Pages(IntakeSettings(languages="en,ar,tr,ur", default_language="en"), "unit-test-master-key")


def rendered(name: str, lang: str, **context: Any) -> str:
    return bytes(pages().render(name, lang, **context).body).decode()


def form(lang: str, errors: dict[str, str]) -> str:
    return rendered("form.html", lang, v=forms.FormValues.empty(), errors=errors, summary=forms.error_summary(errors),
                    options=forms.options(default_registry()), csrf_token="token", idempotency_key="key")


EVERY_FIELD_WRONG = {field: forms.message_for(field, "invalid") for field in forms.FIELD_ORDER} | {"form": "csrf"}
PAGES = {
    "the empty form": lambda lang: form(lang, {}),
    "the form with every error": lambda lang: form(lang, EVERY_FIELD_WRONG),
    "the confirmation": lambda lang: rendered("confirmation.html", lang, reference="ACD3479XYZ",
                                              token="q1W2e3R4t5Y6-u7_I8o9", warnings=[CONTACT_DISCARDED],
                                              contact=True),
    "the busy page": lambda lang: rendered("busy.html", lang),
    "the confirmation of a report kept from the police": lambda lang: rendered(
        "confirmation.html", lang, reference="ACD3479XYZ", token="q1W2e3R4t5Y6-u7_I8o9", warnings=[], contact=False,
        kept_from_police=True, police_force="Metropolitan Police"),
    "the follow-up page after a safeguarding override": lambda lang: rendered(
        "follow_up.html", lang, view=StatusView(reference="ACD3479XYZ", status=Status.with_the_police,
                                                received_at="", updated_at="", updates=2,
                                                safeguarding_override="threat_to_life",
                                                police_force="Metropolitan Police"),
        token="t", csrf_token="c", status_text="Closed", withdrawn=False, received="01/12/2026 09:00 GMT",
        updated="01/12/2026 10:00 GMT"),
}


@pytest.mark.parametrize("lang", [None, "en", "ar", "tr", "ur"])
def test_messages_hold_numbers_only_as_placeholders_with_a_figure_each(lang: str | None) -> None:
    for message in catalogue(lang):
        if not message.id:
            continue
        wanted = set(PLACEHOLDER.findall(str(message.id)))
        assert wanted <= set(FIGURES), f"{message.id!r} has no figure for {wanted - set(FIGURES)}"
        for text in filter(None, (str(message.id), str(message.string))):
            assert not DIGIT.search(PLACEHOLDER.sub("", text)), f"{lang}: {text!r} holds a number itself"
            assert set(PLACEHOLDER.findall(text)) == wanted, f"{lang}: {text!r} must keep the placeholders"


@pytest.mark.parametrize("lang", RTL)
def test_every_message_shows_its_numbers_isolated(lang: str) -> None:
    translate = Translator(Catalogues(LOCALE, [lang], lang).get(lang))
    shown = {message: str(translate(message)) for message in message_ids()}
    numbered = {message: text for message, text in shown.items() if DIGIT.search(text)}
    assert len(numbered) >= len(FIGURES), "the catalogue's numbers went missing"
    for message, text in numbered.items():
        assert unisolated_digits(text) == [], f"{lang}: {message!r} shows {text!r}"


@pytest.mark.parametrize("lang", RTL)
@pytest.mark.parametrize("page", PAGES)
def test_every_page_shows_its_numbers_and_references_left_to_right(lang: str, page: str) -> None:
    html = PAGES[page](lang)
    assert 'dir="rtl"' in html
    assert unisolated_digits(html) == [], f"{page} in {lang}"


@pytest.mark.parametrize("lang", RTL)
def test_the_helplines_and_the_reference_are_isolated_on_the_confirmation(lang: str) -> None:
    html = PAGES["the confirmation"](lang)
    for number in ("999", "101", "0808 168 9111"):
        assert f'<bdi dir="ltr">{number}</bdi>' in html
    assert re.search(r'id="reference" dir="ltr">ACD3479XYZ<', html)


@pytest.mark.parametrize("lang", RTL)
def test_numbers_and_addresses_are_typed_left_to_right(lang: str) -> None:
    html = form(lang, EVERY_FIELD_WRONG)
    for field in ("email", "phone", "postcode", "online_url"):
        assert re.search(rf'<input id="{field}"[^>]* dir="ltr"', html), field
    for field in ("name", "place_name"):
        assert re.search(rf'<input id="{field}"[^>]* dir="auto"', html), field
