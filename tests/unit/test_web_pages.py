"""The pages' ground floor: the layout, the assets Vigil serves itself, the CSP, and /docs in development only."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.testclient import TestClient
from starlette.routing import Mount

from shared.settings import VigilSettings
from shared.web.assets import CACHE_FOR_A_YEAR, DesignSystemFiles, asset_url, asset_version
from shared.web.site import StaffSite, Viewer
from shared.web.templates import page_environment, page_templates

SITE = StaffSite(triage_url="https://triage.test", notify_url="https://notify.test",
                 assessment_url="https://analysis.test")


def staff_page(**context: object) -> str:
    env = page_environment(site=SITE)
    return env.from_string('{% extends "vigil/layout.html" %}{% block content %}<h1>Queue</h1>{% endblock %}'
                           ).render(**context)


def test_the_layout_has_no_crown_and_starts_with_the_skip_link() -> None:
    page = staff_page()
    body = page.split("<body", 1)[1]
    assert body.index("govuk-skip-link") < body.index("<header")
    assert "crown" not in page.lower() and "govuk-logo" not in page and "GOV.UK" not in page
    assert 'class="govuk-generic-header"' in page
    assert "<script>" not in page and "style=" not in page, "no inline script or style: the CSP allows neither"


def test_the_navigation_shows_each_person_the_links_for_their_roles_and_marks_where_they_are() -> None:
    officer = staff_page(viewer=Viewer("Olly Officer", frozenset({"triage_officer"}), "t"), nav_current="queue")
    assert 'href="https://triage.test/queue"' in officer and 'aria-current="page"' in officer
    assert "https://notify.test/" not in officer and "https://analysis.test/" not in officer  # both refuse them
    assert "https://triage.test/admin" not in officer
    inspector = staff_page(viewer=Viewer("Dee Inspector", frozenset({"duty_inspector"}), "t"), nav_current="queue")
    assert "https://notify.test/" in inspector and "https://analysis.test/" in inspector
    analyst = staff_page(viewer=Viewer("Ana Analyst", frozenset({"analyst"})))
    assert "https://analysis.test/" in analyst and "https://triage.test/incidents" not in analyst
    assert staff_page().count("govuk-service-navigation__link") == 0, "nobody signed in, no navigation"


def test_the_identity_bar_names_the_person_and_their_roles_and_signs_out_at_triage() -> None:
    page = staff_page(viewer=Viewer("Sam Supervisor", frozenset({"supervisor", "admin"}), "csrf-9"))
    assert "moj-identity-bar" in page and "Sam Supervisor" in page
    assert "Administrator, Supervisor" in page
    assert 'action="https://triage.test/logout"' in page and 'name="csrf_token" value="csrf-9"' in page
    assert '<meta name="csrf-token" content="csrf-9">' in page


def test_a_public_page_has_the_quick_exit_and_neither_staff_navigation_nor_htmx() -> None:
    page = staff_page(public=True, quick_exit_url="https://www.bbc.co.uk/weather", lang="ur", dir="rtl")
    assert '<html lang="ur" dir="rtl"' in page
    assert 'href="https://www.bbc.co.uk/weather"' in page and "Leave this site quickly" in page
    assert "htmx" not in page and "moj-identity-bar" not in page


def test_the_moj_macros_render_with_times_in_london() -> None:
    env = page_environment(site=SITE)
    html = env.from_string(
        '{% from "vigil/moj.html" import mojTimeline, mojBadge, mojAlert, mojSubNavigation %}'
        '{{ mojTimeline({"items": [{"label": {"text": "Acknowledged"}, "text": "by phone",'
        ' "datetime": {"timestamp": when}}]}) }}{{ mojBadge({"text": "P1", "classes": "moj-badge--red"}) }}'
        '{{ mojAlert({"variant": "success", "title": "Done", "text": "Closed"}) }}'
        '{{ mojSubNavigation({"label": "Incident", "items": [{"text": "Timeline", "href": "#t", "active": true}]}) }}'
    ).render(when="2026-07-06T14:05:00+00:00")
    assert "15:05 BST, Mon 6 Jul 2026" in html and 'datetime="2026-07-06T14:05:00+00:00"' in html
    assert 'class="moj-badge moj-badge--red"' in html and "moj-alert--success" in html
    assert 'aria-current="page" href="#t"' in html


def test_assets_are_served_from_a_versioned_prefix_for_a_year_and_only_page_assets(tmp_path: Path) -> None:
    (tmp_path / "page.css").write_text("body{}")
    (tmp_path / "source.scss").write_text("$x: 1;")
    (tmp_path / "index.html").write_text("<script>alert(1)</script>")
    app = FastAPI(routes=[Mount("/files", DesignSystemFiles(directory=tmp_path))])
    with TestClient(app) as client:
        css = client.get("/files/page.css")
        assert css.status_code == 200 and css.headers["cache-control"] == CACHE_FOR_A_YEAR
        assert client.get("/files/source.scss").status_code == 404
        assert client.get("/files/index.html").status_code == 404
        assert client.get("/files/../pyproject.toml").status_code == 404
    assert asset_url("htmx/htmx.min.js") == f"/assets/{asset_version()}/htmx/htmx.min.js"


def page_app(environment: Literal["development", "test", "production"]) -> FastAPI:
    from shared.service import http_app

    settings = VigilSettings.model_construct(environment=environment)  # production's secrets are beside the point
    app = http_app("tiny", "Tiny", "a tiny service", settings)
    templates = page_templates(site=SITE)

    @app.get("/page")
    def page(request: Request) -> HTMLResponse:
        return templates.TemplateResponse(request, "vigil/error.html", {"error": {"title": "Hello"}})

    @app.get("/own-policy")
    def own_policy() -> HTMLResponse:
        return HTMLResponse("<p>mine</p>", headers={"Content-Security-Policy": "default-src 'none'"})

    @app.get("/data")
    def data() -> JSONResponse:
        return JSONResponse({"ok": True})

    return app


def test_every_html_answer_gets_the_pages_policy_unless_it_has_its_own() -> None:
    with TestClient(page_app("test")) as client:
        policy = client.get("/page").headers["content-security-policy"]
        assert "script-src 'self';" in policy and "unsafe-inline" not in policy
        assert "form-action 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert client.get("/own-policy").headers["content-security-policy"] == "default-src 'none'"
        assert "content-security-policy" not in client.get("/data").headers


def test_api_docs_are_vigils_own_swagger_ui_in_development_only() -> None:
    with TestClient(page_app("development")) as client:
        docs = client.get("/docs")
        assert docs.status_code == 200
        assert "cdn" not in docs.text.lower() and "<script>" not in docs.text
        assert f"/assets/{asset_version()}/swagger-ui/swagger-ui-bundle.js" in docs.text
        assert docs.headers["content-security-policy"].startswith("default-src 'none'; script-src 'self';")
        assert client.get("/redoc").status_code == 404
    for environment in ("test", "production"):
        with TestClient(page_app(environment)) as client:
            assert client.get("/docs").status_code == 404
            assert client.get("/openapi.json").status_code == 200
