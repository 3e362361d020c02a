"""The public form: server-rendered, works without JavaScript, in the visitor's language.

The form posts to the same use case as the API. Errors come back next to their fields in
the visitor's language; the confirmation is rendered in the POST's answer (no reference in
a URL), and a hidden idempotency key makes a resubmitted form give the same reference.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature
from pydantic import ValidationError

from services.intake import forms
from services.intake.application import IdempotencyConflict, IntakeApp, Receipt, SubmitReport, Submitter
from services.intake.deps import AreasDep, ClockDep, IntakeDep, PagesDep, public_wait
from services.intake.domain import ReportRejected
from services.intake.pages import LANG_COOKIE, Pages
from services.intake.ratelimit import retry_after
from shared.areas import AreaRegistry
from shared.clock import Clock
from shared.events.reports import Channel

CSRF_COOKIE = "vigil_csrf"
CSRF_MAX_AGE = 4 * 3600
web_router = APIRouter(include_in_schema=False)


def chosen_language(request: Request, pages: Pages) -> str:
    remembered = request.cookies.get(LANG_COOKIE)
    if remembered in pages.catalogues.names:
        return remembered
    return pages.catalogues.negotiate(request.headers.get("accept-language", ""))


@web_router.get("/", response_class=HTMLResponse)
def home(request: Request, pages: PagesDep) -> Response:
    return RedirectResponse(f"/{chosen_language(request, pages)}/", status_code=303)


@web_router.get("/{lang}/", response_class=HTMLResponse)
def form_page(lang: str, request: Request, pages: PagesDep, areas: AreasDep) -> Response:
    if lang not in pages.catalogues.names:
        return RedirectResponse(f"/{chosen_language(request, pages)}/", status_code=303)
    return show_form(pages, areas, request, lang, forms.FormValues.empty(), {})


def show_form(pages: Pages, areas: AreaRegistry, request: Request, lang: str, values: forms.FormValues,
              errors: dict[str, str], status: int = 200) -> HTMLResponse:
    csrf = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = pages.render("form.html", lang, status=status, v=values, errors=errors,
                            summary=forms.error_summary(errors), options=forms.options(areas),
                            csrf_token=pages.signer.dumps(csrf), idempotency_key=values.idempotency_key
                            or secrets.token_urlsafe(16))
    response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="strict", secure=pages.secure_cookies,
                        max_age=CSRF_MAX_AGE)
    return response


def csrf_ok(pages: Pages, request: Request, token: str) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE)
    try:
        signed = pages.signer.loads(token, max_age=CSRF_MAX_AGE)
    except BadSignature:
        return False
    return bool(cookie) and secrets.compare_digest(str(signed), str(cookie))


@web_router.post("/{lang}/", response_class=HTMLResponse)
async def submit_form(lang: str, request: Request, pages: PagesDep, app: IntakeDep, areas: AreasDep,
                      clock: ClockDep) -> Response:
    if lang not in pages.catalogues.names:
        return RedirectResponse(f"/{chosen_language(request, pages)}/", status_code=303)
    data = await request.form()
    values = forms.FormValues.from_form(data)  # type: ignore[arg-type]
    if not csrf_ok(pages, request, str(data.get("csrf", ""))):
        return show_form(pages, areas, request, lang, values, {"form": "csrf"}, status=403)
    limited = rate_limited(pages, request)
    if limited:
        return limited
    errors, values, receipt = await submitted(app, areas, clock, lang, values)
    if receipt is None:
        return show_form(pages, areas, request, lang, values, errors, status=422)
    return pages.render("confirmation.html", lang, reference=receipt.reference, token=receipt.follow_up_token,
                        warnings=receipt.warnings,
                        contact=bool(values.email or values.phone) and values.consent_contact)


def rate_limited(pages: Pages, request: Request) -> Response | None:
    wait = public_wait(request)
    if not wait:
        return None
    response = pages.render("busy.html", request.path_params.get("lang", "en"), status=429)
    response.headers["Retry-After"] = retry_after(wait)
    return response


async def submitted(app: IntakeApp, areas: AreaRegistry, clock: Clock, lang: str, values: forms.FormValues) -> \
        tuple[dict[str, str], forms.FormValues, Receipt | None]:
    """The receipt, or the problems to show next to their fields (and the values to show them with)."""
    try:
        report = values.to_report(lang)
        receipt = await app.submit_async(SubmitReport(
            report=report, submitter=Submitter(channel=Channel.web), idempotency_key=values.idempotency_key or None))
    except forms.FormProblems as e:
        return e.errors, values, None
    except ValidationError as e:
        return forms.early_problems(values, areas, clock.now()) | forms.errors_from_validation(e), values, None
    except ReportRejected as e:
        return forms.errors_from_rejection(e), values, None
    except IdempotencyConflict:
        return {"form": "resubmitted"}, values.model_copy(update={"idempotency_key": ""}), None
    return {}, values, receipt
