"""Templates per language from gettext catalogues, and SMS length handling."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from services.notify.assessments.model import CIA_QUESTIONS
from services.notify.channels import fit_sms
from services.notify.messages import LOCALE, REPORTER_LANGUAGES, Templates, language_of, load_translations


@pytest.mark.parametrize(("language", "expected"), [
    ("ar", "رقمك المرجعي هو REF123"), ("tr", "Referans numaranız REF123"), ("ur", "آپ کا حوالہ نمبر REF123"),
    ("en", "Your reference is REF123"),
])
def test_reporter_receipt_is_in_the_reporters_language_with_signposting(language: str, expected: str) -> None:
    r = Templates().render("reporter_receipt", language, {"reference": "REF123"})
    assert r.language == language
    assert expected in r.text
    assert "999" in r.text and "101" in r.text and "08 08 16 89 111" in r.text
    assert "REF123" in r.subject and "REF123" in r.sms


def test_every_reporter_language_translates_every_reporter_string() -> None:
    english = Templates().render("reporter_receipt", "en", {"reference": "R"}).text.splitlines()
    for language in REPORTER_LANGUAGES[1:]:
        text = Templates().render("reporter_receipt", language, {"reference": "R"}).text
        assert not set(english) & set(text.splitlines()) - {""}, f"{language} has untranslated lines"


def test_right_to_left_languages_get_an_rtl_html_document() -> None:
    assert 'dir="rtl"' in Templates().render("reporter_receipt", "ur", {"reference": "R"}).html
    assert 'dir="ltr"' in Templates().render("reporter_receipt", "tr", {"reference": "R"}).html


def test_regional_tags_use_their_language_and_unknown_ones_fall_back_to_english() -> None:
    assert language_of("ar-EG") == "ar"
    assert language_of("cy") == "en"
    assert language_of(None) == "en"


def test_html_escapes_what_it_is_given() -> None:
    r = Templates().render("reporter_receipt", "en", {"reference": "<b>X</b>"})
    assert "<b>X</b>" not in r.html and "&lt;b&gt;X&lt;/b&gt;" in r.html


def test_catalogues_compile_from_po_when_no_mo_exists(tmp_path: Path) -> None:
    shutil.copytree(LOCALE / "tr", tmp_path / "tr")
    for mo in tmp_path.rglob("*.mo"):
        mo.unlink()
    translations = load_translations("tr", tmp_path)
    assert translations.gettext("Open") == "Aç"


def test_cia_prompt_asks_every_question_with_the_due_time() -> None:
    r = Templates().render("cia_prompt", "en", {
        "stage": "prompt", "area": "E23000001", "area_name": "Metropolitan Police", "reference": "REF1",
        "priority": "P1", "level": None, "due": "17:00 21 Nov 2026 (UK time)", "questions": CIA_QUESTIONS,
        "link": "http://staff/assessments/1"})
    assert "community impact assessment" in r.subject and "17:00 21 Nov 2026" in r.subject
    for _key, question in CIA_QUESTIONS:
        assert question in r.text
    assert "REF1" in r.text and "http://staff/assessments/1" in r.text


def test_short_gsm_text_is_one_part() -> None:
    sms = fit_sms("Report received. Reference ACD34.")
    assert (sms.encoding, sms.parts, sms.truncated) == ("gsm7", 1, False)


def test_extended_gsm_characters_count_twice() -> None:
    assert fit_sms("€" * 80).parts == 1
    assert fit_sms("€" * 81).parts == 2


def test_arabic_is_ucs2_and_long_text_is_cut_to_the_part_limit_with_an_ellipsis() -> None:
    sms = fit_sms("ب" * 500, max_parts=3)
    assert sms.encoding == "ucs2" and sms.truncated
    assert sms.parts == 3 and len(sms.text) == 67 * 3 and sms.text.endswith("…")


def test_gsm_text_over_the_limit_is_cut_to_one_part_when_only_one_is_allowed() -> None:
    sms = fit_sms("x" * 200, max_parts=1)
    assert sms.parts == 1 and len(sms.text) == 160 and sms.text.endswith("...")
