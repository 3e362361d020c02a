"""/docs: Swagger UI from Vigil's own pinned copy, under a policy that allows only Vigil's files.

FastAPI's own page loads Swagger UI from a public CDN at a floating version, with inline script; on a
network without the internet it is blank, and it would run third-party code on the staff sign-in
origin. shared.service serves this page in development only.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from shared.web.policy import DOCS_POLICY
from shared.web.templates import page_templates

DOCS_PATH = "/docs"


def mount_api_docs(app: FastAPI, title: str) -> None:
    """Serve the OpenAPI document through Swagger UI at /docs (the app needs mount_design_system too)."""
    templates = page_templates()

    @app.get(DOCS_PATH, include_in_schema=False)
    def api_docs(request: Request) -> HTMLResponse:
        response = templates.TemplateResponse(request, "vigil/api-docs.html",
                                              {"title": title, "openapi_url": app.openapi_url})
        response.headers["Content-Security-Policy"] = DOCS_POLICY
        return response
