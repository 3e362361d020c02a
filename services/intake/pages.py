"""What the public form's pages are made with: templates, the visitor's catalogues and the CSRF signer.

Built once at start-up by main.py; the form's routes reach it through `deps.PagesDep`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from itsdangerous import URLSafeTimedSerializer
from jinja2 import Environment, FileSystemLoader, select_autoescape

from services.intake.i18n import Catalogues
from services.intake.settings import IntakeSettings

HERE = Path(__file__).parent
LANG_COOKIE = "vigil_lang"


class Pages:
    def __init__(self, settings: IntakeSettings, master_key: str) -> None:
        self.settings = settings
        self.catalogues = Catalogues(HERE / "locale", [s.strip() for s in settings.languages.split(",")],
                                     settings.default_language)
        self.env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape())
        self.signer = URLSafeTimedSerializer(master_key + ":csrf", salt="vigil-intake-form")
        self.secure_cookies = settings.public_base_url.startswith("https://")

    def mount_static(self, app: FastAPI) -> None:
        app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    def render(self, name: str, lang: str, status: int = 200, **context: Any) -> HTMLResponse:
        translations = self.catalogues.get(lang)
        template = self.env.get_template(name)
        html = template.render(lang=lang, dir=self.catalogues.direction(lang), languages=self.catalogues.names,
                               settings=self.settings, _=translations.gettext, **context)
        response = HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, httponly=True, samesite="strict",
                            secure=self.secure_cookies)
        return response
