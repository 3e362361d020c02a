"""Counter-terrorism signposting: the confirmation page, the follow-up page and the reporter's receipt give the
Anti-Terrorist Hotline and GOV.UK's terrorism reporting page in every language of the form, the number kept left to
right in Arabic and Urdu."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from services.intake.application import StatusView
from services.intake.domain import Status
from services.notify.messages import REPORTER_LANGUAGES, Templates
from tests.unit.test_intake_rtl import rendered, unisolated_digits

HOTLINE = "0800 789 321"
GOV_UK = "https://www.gov.uk/report-terrorism"
LRI, PDI = "\u2066", "\u2069"
RTL = {"ar", "ur"}


def confirmation(lang: str) -> str:
    return rendered("confirmation.html", lang, reference="ACD3479XYZ", token="q1W2e3R4t5Y6-u7_I8o9", warnings=[],
                    contact=True)


def follow_up(lang: str) -> str:
    view = StatusView(reference="ACD3479XYZ", status=Status.received, received_at="", updated_at="", updates=0)
    return rendered("follow_up.html", lang, view=view, token="t", status_text="Closed", withdrawn=False,
                    received="", updated="", erase_after="", csrf_token="c", error="", notice="", information="")


@pytest.mark.parametrize("lang", REPORTER_LANGUAGES)
@pytest.mark.parametrize("page", [confirmation, follow_up])
def test_the_pages_give_the_hotline_isolated_and_the_gov_uk_reporting_page(page: Callable[[str], str],
                                                                          lang: str) -> None:
    html = page(lang)
    assert f'<bdi dir="ltr">{HOTLINE}</bdi>' in html
    assert f'href="{GOV_UK}"' in html and 'id="terrorism"' in html
    assert ("Reporting terrorism" in html) == (lang == "en"), "the heading is in the page's language"
    if lang in RTL:
        assert unisolated_digits(html) == []


@pytest.mark.parametrize("lang", REPORTER_LANGUAGES)
def test_the_receipt_gives_the_hotline_and_the_gov_uk_page_in_its_language(lang: str) -> None:
    r = Templates().render("reporter_receipt", lang, {"reference": "REF123"})
    assert r.language == lang
    for part in (r.text, r.html):
        assert HOTLINE in part and GOV_UK in part
    assert HOTLINE in r.sms
    assert ("Anti-Terrorist Hotline on" in r.text) == (lang == "en"), "the signposting is translated"


@pytest.mark.parametrize("lang", REPORTER_LANGUAGES)
def test_the_hotline_is_isolated_left_to_right_in_right_to_left_receipts_only(lang: str) -> None:
    r = Templates().render("reporter_receipt", lang, {"reference": "REF123"})
    isolated = f"{LRI}{HOTLINE}{PDI}"
    for plain in (r.text, r.sms):
        assert (isolated in plain) == (lang in RTL)
        assert (LRI in plain) == (lang in RTL)
