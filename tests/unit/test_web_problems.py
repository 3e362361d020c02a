"""Problems answered as people and programs want them: an HTML page for a browser, problem+json for an API client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from shared.problems import Forbidden, NotFound, Unauthorized, install_problem_handlers, prefers_html
from shared.web.errors import ErrorPages, PageLanguage
from shared.web.site import StaffSite, Viewer

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
SITE = StaffSite(triage_url="http://testserver", notify_url="http://notify.test", assessment_url="http://a.test")
QUICK_EXIT = "https://www.bbc.co.uk/weather"


@pytest.mark.parametrize(("accept", "html"), [
    (BROWSER, True),
    ("text/html", True),  # htmx asks so
    ("*/*", False),  # curl, httpx, fetch()
    (None, False),
    ("", False),
    ("application/json", False),
    ("application/problem+json, text/html;q=0.5", False),
    ("text/html;q=0.5, application/json;q=0.9", False),
    ("text/*, application/json;q=0.5", True),
    ("text/html;q=0, */*", False),
    ("text/html;q=bogus, application/json", False),
])
def test_html_is_chosen_only_when_the_client_ranks_it_above_json(accept: str | None, html: bool) -> None:
    assert prefers_html(accept) is html


class Thing(BaseModel):
    name: str


def tiny_app(pages: ErrorPages) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app, pages)

    @app.get("/incidents/{ref}")
    def incident(ref: str) -> None:
        raise NotFound(f"no incident {ref}")

    @app.get("/queue")
    def queue() -> None:
        raise Unauthorized("sign in first", headers={"WWW-Authenticate": "Cookie"})

    @app.post("/incidents/{ref}/close")
    def close(ref: str) -> None:
        raise Unauthorized("sign in first", return_to=f"/incidents/{ref}")

    @app.get("/admin")
    def admin() -> None:
        raise Forbidden("your role does not allow this (manage users)")

    @app.post("/things")
    def things(thing: Thing) -> Thing:
        return thing

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("the password is hunter2")

    return app


@pytest.fixture
def staff() -> Iterator[TestClient]:
    with TestClient(tiny_app(ErrorPages(site=SITE)), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def public() -> Iterator[TestClient]:
    pages = ErrorPages(public=True, quick_exit_url=QUICK_EXIT, site=SITE)
    with TestClient(tiny_app(pages), raise_server_exceptions=False) as client:
        yield client


def test_a_browser_gets_a_page_not_found_page_and_an_api_client_a_problem(staff: TestClient) -> None:
    page = staff.get("/nowhere", headers={"Accept": BROWSER})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "<h1 class=\"govuk-heading-l\">Page not found</h1>" in page.text
    assert page.headers["cache-control"] == "no-store"
    problem = staff.get("/nowhere")
    assert problem.status_code == 404 and problem.headers["content-type"] == "application/problem+json"
    assert problem.json() == {"type": "about:blank", "title": "Not Found", "status": 404, "detail": "Not Found",
                              "instance": "/nowhere"}


def test_the_problems_own_sentence_is_shown_with_its_reference_isolated(staff: TestClient) -> None:
    page = staff.get("/incidents/AC3D4F6G7H", headers={"Accept": BROWSER})
    assert 'no incident <bdi dir="ltr">AC3D4F6G7H</bdi>' in page.text
    assert staff.get("/incidents/AC3D4F6G7H").json()["detail"] == "no incident AC3D4F6G7H"


def test_a_refusal_says_so_in_plain_english(staff: TestClient) -> None:
    page = staff.get("/admin", headers={"Accept": BROWSER})
    assert page.status_code == 403 and "You do not have permission to do this" in page.text
    assert "manage users" in page.text


def test_a_signed_out_browser_is_offered_sign_in_that_returns_to_the_page(staff: TestClient) -> None:
    page = staff.get("/queue?area=E23000001", headers={"Accept": BROWSER})
    assert page.status_code == 401 and page.headers["www-authenticate"] == "Cookie"
    assert "You need to sign in again" in page.text
    assert 'href="http://testserver/login?next=%2Fqueue%3Farea%3DE23000001"' in page.text


def test_an_action_refused_for_want_of_a_session_returns_to_the_page_it_came_from(staff: TestClient) -> None:
    page = staff.post("/incidents/AC3D4F6G7H/close", headers={"Accept": BROWSER})
    assert 'href="http://testserver/login?next=%2Fincidents%2FAC3D4F6G7H"' in page.text
    problem = staff.post("/incidents/AC3D4F6G7H/close")
    assert problem.status_code == 401 and "return_to" not in problem.json()


def test_a_page_on_another_service_comes_back_by_its_full_address() -> None:
    pages = ErrorPages(site=StaffSite(triage_url="http://triage.test"))
    with TestClient(tiny_app(pages), base_url="http://notify.test") as client:
        page = client.get("/queue", headers={"Accept": BROWSER})
    assert 'href="http://triage.test/login?next=http%3A%2F%2Fnotify.test%2Fqueue"' in page.text


def test_a_partial_update_without_a_session_sends_the_page_to_sign_in(staff: TestClient) -> None:
    answer = staff.get("/queue", headers={"Accept": "text/html", "HX-Request": "true",
                                          "HX-Current-URL": "http://testserver/queue?page=2"})
    assert answer.headers["hx-redirect"] == "http://testserver/login?next=%2Fqueue%3Fpage%3D2"


def test_a_partial_update_that_fails_otherwise_leaves_the_page_alone(staff: TestClient) -> None:
    answer = staff.get("/incidents/X", headers={"Accept": "text/html", "HX-Request": "true"})
    assert answer.status_code == 404 and answer.headers["hx-reswap"] == "none"


def test_invalid_input_is_a_page_for_a_browser_and_named_fields_for_an_api_client(staff: TestClient) -> None:
    page = staff.post("/things", json={}, headers={"Accept": BROWSER})
    assert page.status_code == 422 and "Sorry, there is a problem" in page.text
    problem = staff.post("/things", json={})
    assert problem.status_code == 422 and problem.json()["errors"][0]["field"] == "name"


def test_an_unexpected_error_is_a_sorry_page_with_the_security_headers_and_a_problem_for_apis(
        staff: TestClient) -> None:
    page = staff.get("/boom", headers={"Accept": BROWSER})
    assert page.status_code == 500 and "Sorry, there is a problem with the service" in page.text
    assert "hunter2" not in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff" and page.headers["x-frame-options"] == "DENY"
    problem = staff.get("/boom")
    assert problem.status_code == 500 and problem.headers["content-type"] == "application/problem+json"
    assert "hunter2" not in problem.text


def test_a_public_error_page_has_the_quick_exit_and_the_999_line_and_no_staff_furniture(
        public: TestClient) -> None:
    page = public.get("/nowhere", headers={"Accept": BROWSER})
    assert page.status_code == 404 and "Page not found" in page.text
    assert f'href="{QUICK_EXIT}"' in page.text and "govuk-exit-this-page" in page.text
    assert 'call <bdi dir="ltr">999</bdi>' in page.text
    assert "Sign out" not in page.text and "Staff pages" not in page.text
    assert "htmx" not in page.text


def test_a_public_refusal_does_not_talk_about_signing_in(public: TestClient) -> None:
    page = public.get("/queue", headers={"Accept": BROWSER})
    assert page.status_code == 401 and "Sorry, you cannot see this page" in page.text
    assert "login" not in page.text


def test_a_public_error_page_is_in_the_visitors_language_and_direction() -> None:
    arabic = {"Page not found": "الصفحة غير موجودة"}
    pages = ErrorPages(public=True, site=SITE,
                       language=lambda request: PageLanguage("ar", "rtl", lambda text: arabic.get(text, text)))
    with TestClient(tiny_app(pages)) as client:
        page = client.get("/nowhere", headers={"Accept": BROWSER})
    assert '<html lang="ar" dir="rtl"' in page.text and "الصفحة غير موجودة" in page.text


def test_a_staff_error_page_shows_who_is_signed_in_when_the_service_said() -> None:
    app = tiny_app(ErrorPages(site=SITE))

    @app.middleware("http")
    async def sign_in(request, call_next):  # type: ignore[no-untyped-def]
        request.state.viewer = Viewer("Dora Inspector", frozenset({"duty_inspector"}), "csrf-1")
        return await call_next(request)

    with TestClient(app) as client:
        page = client.get("/incidents/X", headers={"Accept": BROWSER})
    assert "Dora Inspector" in page.text and "Duty inspector" in page.text
    assert 'action="http://testserver/logout"' in page.text and 'value="csrf-1"' in page.text


def test_a_public_service_names_itself_in_the_header_and_title() -> None:
    pages = ErrorPages(public=True, service_name="Report a hate crime", site=SITE)
    with TestClient(tiny_app(pages)) as client:
        page = client.get("/nowhere", headers={"Accept": BROWSER})
    assert "<title>Page not found – Report a hate crime</title>" in page.text
    assert 'class="govuk-generic-header__homepage-link">\n        Report a hate crime' in page.text
