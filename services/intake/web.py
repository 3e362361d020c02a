"""The public form: server-rendered, works without JavaScript, in the visitor's language.

The form posts to the same use case as the API. Errors come back next to their fields in
the visitor's language; the confirmation is rendered in the POST's answer (no reference in
a URL), and a hidden idempotency key makes a resubmitted form give the same reference.
"""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from services.intake import forms
from services.intake.application import IdempotencyConflict, IntakeApp, Receipt, SubmitReport, Submitter
from services.intake.deps import AreasDep, ClockDep, IntakeDep, PagesDep, client_address
from services.intake.domain import ReportRejected, resolve_area
from services.intake.page_guards import chosen_language, csrf_ok, csrf_value, issue_csrf, rate_limited
from services.intake.pages import Pages
from shared.areas import AreaRegistry
from shared.clock import Clock
from shared.events.reports import Channel

web_router = APIRouter(include_in_schema=False)


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
    csrf = csrf_value(request)
    response = pages.render("form.html", lang, status=status, v=values, errors=errors,
                            summary=forms.error_summary(errors), options=forms.options(areas),
                            csrf_token=pages.signer.dumps(csrf), idempotency_key=values.idempotency_key
                            or secrets.token_urlsafe(16))
    return issue_csrf(pages, response, csrf)


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
    address = client_address(request)
    errors, values, receipt = await submitted(app, areas, clock, lang, values, address)
    if receipt is None:
        return show_form(pages, areas, request, lang, values, errors, status=422)
    kept_from_police = not values.consent_share_with_police
    force = areas.get(resolve_area(values.area or None, values.postcode or None, areas)[0] or "")
    return pages.render("confirmation.html", lang, reference=receipt.reference, token=receipt.follow_up_token,
                        warnings=receipt.warnings,
                        contact=bool(values.email or values.phone) and values.consent_contact,
                        kept_from_police=kept_from_police, police_force=force.name if force else None)


async def submitted(app: IntakeApp, areas: AreaRegistry, clock: Clock, lang: str, values: forms.FormValues,
                    address: str | None = None) -> \
        tuple[dict[str, str], forms.FormValues, Receipt | None]:
    """The receipt, or the problems to show next to their fields (and the values to show them with)."""
    try:
        report = values.to_report(lang)
        receipt = await app.submit_async(SubmitReport(
            report=report, submitter=Submitter(channel=Channel.web, address=address),
            idempotency_key=values.idempotency_key or None))
    except forms.FormProblems as e:
        return e.errors, values, None
    except ValidationError as e:
        return forms.early_problems(values, areas, clock.now()) | forms.errors_from_validation(e), values, None
    except ReportRejected as e:
        return forms.errors_from_rejection(e), values, None
    except IdempotencyConflict:
        return {"form": "resubmitted"}, values.model_copy(update={"idempotency_key": ""}), None
    return {}, values, receipt
