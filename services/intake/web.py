"""The public form: server-rendered, works without JavaScript, in the visitor's language.

The form posts to the same use case as the API. Errors come back next to their fields in
the visitor's language; the confirmation is rendered in the POST's answer (no reference in
a URL), and a hidden idempotency key makes a resubmitted form give the same reference.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from itsdangerous import BadSignature, URLSafeTimedSerializer
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError

from services.intake import forms
from services.intake.application import IdempotencyConflict, SubmitReport, Submitter
from services.intake.domain import ReportRejected
from services.intake.i18n import Catalogues
from services.intake.ratelimit import retry_after
from services.intake.settings import IntakeSettings
from shared.events.reports import Channel

if TYPE_CHECKING:
    from fastapi import FastAPI

    from services.intake.main import Intake

HERE = Path(__file__).parent
LANG_COOKIE = "vigil_lang"
CSRF_COOKIE = "vigil_csrf"
CSRF_MAX_AGE = 4 * 3600
web_router = APIRouter(include_in_schema=False)


class Web:
    """Templates, catalogues and the CSRF signer, built once at start-up."""

    def __init__(self, intake: Intake, settings: IntakeSettings) -> None:
        self.intake = intake
        self.settings = settings
        self.catalogues = Catalogues(HERE / "locale", [s.strip() for s in settings.languages.split(",")],
                                     settings.default_language)
        self.env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape())
        secret = intake.vigil.master_key.get_secret_value() + ":csrf"
        self.signer = URLSafeTimedSerializer(secret, salt="vigil-intake-form")
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


def web_of(request: Request) -> Web:
    web: Web = request.app.state.intake.web
    return web


WebDep = Annotated[Web, Depends(web_of)]


def chosen_language(request: Request, web: Web) -> str:
    remembered = request.cookies.get(LANG_COOKIE)
    if remembered in web.catalogues.names:
        return remembered
    return web.catalogues.negotiate(request.headers.get("accept-language", ""))


@web_router.get("/", response_class=HTMLResponse)
def home(request: Request, web: WebDep) -> Response:
    return RedirectResponse(f"/{chosen_language(request, web)}/", status_code=303)


@web_router.get("/{lang}/", response_class=HTMLResponse)
def form_page(lang: str, request: Request, web: WebDep) -> Response:
    if lang not in web.catalogues.names:
        return RedirectResponse(f"/{chosen_language(request, web)}/", status_code=303)
    return show_form(web, request, lang, forms.FormValues.empty(), {})


def show_form(web: Web, request: Request, lang: str, values: forms.FormValues, errors: dict[str, str],
              status: int = 200) -> HTMLResponse:
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = web.render("form.html", lang, status=status, v=values, errors=errors,
                          summary=forms.error_summary(errors), options=forms.options(web.intake.areas),
                          csrf_token=web.signer.dumps(csrf), idempotency_key=values.idempotency_key
                          or secrets.token_urlsafe(16))
    response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict", secure=web.secure_cookies,
                        max_age=CSRF_MAX_AGE)
    return response


def csrf_ok(web: Web, request: Request, token: str) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE)
    try:
        signed = web.signer.loads(token, max_age=CSRF_MAX_AGE)
    except BadSignature:
        return False
    return bool(cookie) and secrets.compare_digest(str(signed), str(cookie))


@web_router.post("/{lang}/", response_class=HTMLResponse)
async def submit_form(lang: str, request: Request, web: WebDep) -> Response:
    if lang not in web.catalogues.names:
        return RedirectResponse(f"/{chosen_language(request, web)}/", status_code=303)
    data = await request.form()
    values = forms.FormValues.from_form(data)  # type: ignore[arg-type]
    if not csrf_ok(web, request, str(data.get("csrf", ""))):
        return show_form(web, request, lang, values, {"form": "csrf"}, status=403)
    limited = rate_limited(web, request)
    if limited:
        return limited
    return await submit_values(web, request, lang, values)


def rate_limited(web: Web, request: Request) -> Response | None:
    from services.intake.api import client_address

    if not web.settings.rate_limit_enabled:
        return None
    wait = web.intake.limiter.take(client_address(request, web.settings))
    if not wait:
        return None
    response = web.render("busy.html", request.path_params.get("lang", "en"), status=429)
    response.headers["Retry-After"] = retry_after(wait)
    return response


async def submit_values(web: Web, request: Request, lang: str, values: forms.FormValues) -> HTMLResponse:
    errors: dict[str, str] = {}
    try:
        report = values.to_report(lang)
        receipt = await web.intake.app.submit_async(SubmitReport(
            report=report, submitter=Submitter(channel=Channel.web), idempotency_key=values.idempotency_key or None))
    except forms.FormProblems as e:
        errors = e.errors
    except ValidationError as e:
        errors = forms.early_problems(values, web.intake.areas, web.intake.clock.now()) | \
            forms.errors_from_validation(e)
    except ReportRejected as e:
        errors = forms.errors_from_rejection(e)
    except IdempotencyConflict:
        errors = {"form": "resubmitted"}
        values = values.model_copy(update={"idempotency_key": ""})
    if errors:
        return show_form(web, request, lang, values, errors, status=422)
    return web.render("confirmation.html", lang, reference=receipt.reference, token=receipt.follow_up_token,
                      warnings=receipt.warnings, contact=bool(values.email or values.phone) and values.consent_contact)
