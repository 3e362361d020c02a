"""The design system as Vigil serves it, in Chromium: error pages, a staff page and /docs at desktop and phone
widths, with axe, no sideways scrolling, and nothing refused by the pages' Content-Security-Policy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from playwright.sync_api import Page, expect

from infra.assets import ensure_assets
from shared.problems import NotFound, Unauthorized
from shared.service import http_app
from shared.settings import VigilSettings
from shared.web.errors import ErrorPages
from shared.web.site import StaffSite, Viewer
from shared.web.templates import page_templates
from tests.browser.pages import looks_right
from tests.support.asgi import serving

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
STAFF_PAGE = """{% extends "vigil/layout.html" %}
{% from "vigil/moj.html" import mojSubNavigation, mojBadge, mojTimeline, mojAlert %}
{% block content %}
<h1 class="govuk-heading-l">Incident <span class="vigil-reference">AC3D4F6G7H</span></h1>
{{ mojAlert({"variant": "success", "title": "Acknowledged", "text": "The incident was acknowledged."}) }}
{{ mojSubNavigation({"label": "Incident", "items": [{"text": "Timeline", "href": "#timeline", "active": true},
                                                    {"text": "Actions", "href": "#actions"}]}) }}
<div class="vigil-table-scroll" tabindex="0" role="region" aria-label="Queue">
<table class="govuk-table">
  <caption class="govuk-table__caption govuk-table__caption--m">Queue</caption>
  <thead class="govuk-table__head"><tr class="govuk-table__row">
    {% for h in ["Reference", "Priority", "Type", "Area", "Received", "Time left", "Assigned to"] %}
    <th scope="col" class="govuk-table__header">{{ h }}</th>{% endfor %}</tr></thead>
  <tbody class="govuk-table__body"><tr class="govuk-table__row">
    <td class="govuk-table__cell">AC3D4F6G7H</td><td class="govuk-table__cell">{{ mojBadge({"text": "P1"}) }}</td>
    <td class="govuk-table__cell">{{ "place_of_worship" | humanise }}</td>
    <td class="govuk-table__cell">Greater Manchester Police</td>
    <td class="govuk-table__cell">{{ received | london_time }}</td><td class="govuk-table__cell">14m 05s</td>
    <td class="govuk-table__cell">Dora Inspector</td></tr></tbody>
</table>
</div>
<p class="govuk-body" lang="ar" dir="rtl">{{ "اتصل بدعم الضحايا على 0808 168 9111" | bidi_isolate }}</p>
<div id="timeline">
{{ mojTimeline({"items": [{"label": {"text": "Acknowledged"}, "byline": {"text": "Dora Inspector"},
                           "text": "Called the reporter back.", "datetime": {"timestamp": received}}]}) }}
</div>
{% endblock %}
"""


def settings() -> VigilSettings:
    return VigilSettings.model_construct(environment="development")


def staff_app(base: Path, site: StaffSite) -> FastAPI:
    app = http_app("tiny", "Tiny staff service", "A tiny service for the design system's tests.", settings(),
                   error_pages=ErrorPages(site=site))
    (base / "page.html").write_text(STAFF_PAGE)
    templates = page_templates(base, site=site)

    @app.get("/page", include_in_schema=False)
    def page(request: Request) -> HTMLResponse:
        viewer = Viewer("Dora Inspector", frozenset({"duty_inspector", "supervisor"}), "csrf")
        return templates.TemplateResponse(request, "page.html", {"viewer": viewer, "nav_current": "incidents",
                                                                 "received": "2026-07-06T14:05:00Z"})

    @app.get("/v1/incidents/{reference}", summary="One incident")
    def incident(reference: str) -> dict[str, str]:
        raise NotFound(f"no incident {reference}")

    @app.get("/queue", include_in_schema=False)
    def queue() -> None:
        raise Unauthorized("sign in first")

    @app.get("/boom", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("boom")

    return app


def public_app() -> FastAPI:
    pages = ErrorPages(public=True, quick_exit_url="/left-quickly")
    return http_app("tinypublic", "Tiny public service", "A public one.", settings(), error_pages=pages)


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    ensure_assets()
    site = StaffSite(triage_url="http://127.0.0.1:1")
    with serving(staff_app(tmp_path_factory.mktemp("pages"), site), name="tiny-staff") as staff, \
            serving(public_app(), name="tiny-public") as public:
        yield {"staff": staff, "public": public}


@pytest.mark.parametrize(("path", "status", "heading"), [
    ("/nowhere", 404, "Page not found"),
    ("/v1/incidents/AC3D4F6G7H", 404, "Page not found"),
    ("/queue", 401, "You need to sign in again"),
    ("/boom", 500, "Sorry, there is a problem with the service"),
])
def test_a_staff_error_page_is_a_styled_accessible_page(sized: Page, sites: dict[str, str], path: str,
                                                        status: int, heading: str) -> None:
    answer = sized.goto(sites["staff"] + path)
    assert answer is not None and answer.status == status
    expect(sized.get_by_role("heading", level=1)).to_have_text(heading)
    assert sized.evaluate("getComputedStyle(document.querySelector('h1')).fontFamily").startswith("system-ui")
    looks_right(sized)


def test_sign_in_again_returns_to_the_page_the_person_was_on(sized: Page, sites: dict[str, str]) -> None:
    sized.goto(sites["staff"] + "/queue?page=2")
    link = sized.get_by_role("button", name="Sign in")
    assert link.get_attribute("href") == \
        f"http://127.0.0.1:1/login?next={sites['staff'].replace(':', '%3A').replace('/', '%2F')}%2Fqueue%3Fpage%3D2"


def test_a_public_error_page_keeps_the_quick_exit(sized: Page, sites: dict[str, str]) -> None:
    answer = sized.goto(sites["public"] + "/nowhere")
    assert answer is not None and answer.status == 404
    expect(sized.get_by_role("heading", level=1)).to_have_text("Page not found")
    looks_right(sized)
    sized.get_by_role("button", name="Leave this site quickly").click()
    sized.wait_for_url("**/left-quickly")


def test_a_staff_page_in_the_layout_works_on_a_desktop_and_a_phone(sized: Page, sites: dict[str, str]) -> None:
    sized.goto(sites["staff"] + "/page")
    expect(sized.get_by_text("Dora Inspector").first).to_be_visible()
    assert "15:05 BST, Mon 6 Jul 2026" in sized.locator("table").inner_text()
    if sized.viewport_size and sized.viewport_size["width"] < 640:
        menu = sized.get_by_role("button", name="Menu")
        expect(menu).to_be_visible()  # GOV.UK Frontend's script ran: the navigation folds into a menu
        menu.click()
    expect(sized.get_by_role("link", name="Incidents")).to_have_attribute("aria-current", "page")
    number = sized.locator("p[lang=ar] bdi")
    assert number.inner_text() == "0808 168 9111"
    looks_right(sized)


def test_api_docs_are_served_from_vigils_own_swagger_ui(sized: Page, sites: dict[str, str]) -> None:
    sized.route("**/*", lambda route: route.abort() if not route.request.url.startswith(sites["staff"])
                else route.continue_())  # no CDN: anything from elsewhere would fail
    sized.goto(sites["staff"] + "/docs")
    expect(sized.get_by_role("heading", name="Tiny staff service")).to_be_visible()
    expect(sized.get_by_text("/v1/incidents/{reference}")).to_be_visible()
    looks_right(sized)
    sized.locator(".opblock-summary-control").first.click()
    sized.get_by_role("button", name="Try it out").click()
    expect(sized.get_by_role("button", name="Execute")).to_be_visible()
    looks_right(sized)
