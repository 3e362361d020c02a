"""What the public form's pages are made with: templates, the visitor's catalogues and the CSRF signer.

Built once at start-up by main.py; the form's routes reach it through `deps.PagesDep`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from babel.support import Translations
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from itsdangerous import URLSafeTimedSerializer
from markupsafe import Markup, escape

from services.intake.i18n import Catalogues
from services.intake.settings import IntakeSettings
from shared.web.errors import ErrorPages, PageLanguage
from shared.web.templates import page_environment

HERE = Path(__file__).parent
LANG_COOKIE = "vigil_lang"
# Every number the pages quote. Messages hold a placeholder for each (`%(emergency_number)s`), never
# the digits, so a translation cannot alter a number or leave it out of its isolate.
FIGURES = {"emergency_number": "999", "non_emergency_number": "101", "victim_support_number": "0808 168 9111",
           "anti_terrorist_hotline": "0800 789 321",
           "child_age": "18", "example_date": "21/11/2026", "example_phone": "07700 900123",
           "example_email": "name@example.com",
           "withdrawal_grace_days": "30"}  # the default; a deployment's own comes from its settings


def ltr(value: object) -> Markup:
    """A number, reference or address kept left to right inside right-to-left text.

    Digits and the spaces between them take the direction of the text around them, so in Arabic
    "0808 168 9111" would be drawn "9111 168 0808"; the isolate stops that.
    """
    return Markup('<bdi dir="ltr">{}</bdi>').format(value)


class Translator:
    """The templates' `_`: a message in the visitor's language with each placeholder filled and isolated."""

    def __init__(self, translations: Translations, figures: Mapping[str, object] = FIGURES) -> None:
        self.translations = translations
        self.figures = figures

    def __call__(self, message: str, **values: object) -> str:
        text = self.translations.gettext(message)
        if "%(" not in message:
            return text
        return escape(text) % {name: ltr(value) for name, value in {**self.figures, **values}.items()}


class Pages:
    def __init__(self, settings: IntakeSettings, master_key: str) -> None:
        self.settings = settings
        self.catalogues = Catalogues(HERE / "locale", [s.strip() for s in settings.languages.split(",")],
                                     settings.default_language)
        self.env = page_environment([HERE / "templates"])  # Vigil's layout and the GOV.UK Frontend macros
        self.signer = URLSafeTimedSerializer(master_key + ":csrf", salt="vigil-intake-form")
        self.secure_cookies = settings.public_base_url.startswith("https://")
        self.figures = {**FIGURES, "withdrawal_grace_days": str(settings.retention_withdrawn_days)}

    def error_language(self, request: Request) -> PageLanguage:
        """An error page speaks the visitor's language: the page's path (/ar/...), else their cookie."""
        first = request.url.path.strip("/").split("/", 1)[0]
        lang = first if first in self.catalogues.names else request.cookies.get(LANG_COOKIE, "")
        lang = lang if lang in self.catalogues.names else self.settings.default_language
        return PageLanguage(lang, self.catalogues.direction(lang), Translator(self.catalogues.get(lang)))

    def error_pages(self) -> ErrorPages:
        """Public error pages keep the quick exit: a frightened visitor must never be stranded."""
        return ErrorPages(public=True, quick_exit_url=self.settings.quick_exit_url,
                          service_name="Report a hate crime or hate incident", language=self.error_language)

    def mount_static(self, app: FastAPI) -> None:
        app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    def render(self, name: str, lang: str, status: int = 200, **context: Any) -> HTMLResponse:
        template = self.env.get_template(name)
        html = template.render(lang=lang, dir=self.catalogues.direction(lang), languages=self.catalogues.names,
                               settings=self.settings, _=Translator(self.catalogues.get(lang), self.figures),
                               **context)
        response = HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, httponly=True, samesite="strict",
                            secure=self.secure_cookies)
        return response
