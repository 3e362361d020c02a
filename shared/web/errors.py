"""The HTML error pages a browser is shown instead of problem+json: GOV.UK's wording, Vigil's layout.

A service passes its ErrorPages to shared.service (or install_problem_handlers): staff services the
default, the public service `ErrorPages(public=True, quick_exit_url=...)`, so a frightened visitor who
mistypes an address still has the quick exit and the 999 line. A 401 offers sign-in at triage and comes
back to the page the person was on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import HTMLResponse

from shared.web.site import StaffSite, Viewer
from shared.web.templates import page_templates


@dataclass(frozen=True)
class ErrorText:
    title: str
    paragraphs: tuple[str, ...] = ()
    home_link: str = "Go to the start page"


NOT_FOUND = ErrorText("Page not found", ("If you typed the web address, check it is correct.",
                                         "If you pasted the web address, check you copied the entire address."))
UNAVAILABLE = ErrorText("Sorry, the service is unavailable", ("Try again later.",))
STAFF_TEXTS: Mapping[int, ErrorText] = {
    401: ErrorText("You need to sign in again", ("You have been signed out, or your session has ended.",
                                                 "Sign in to carry on from the page you were on.")),
    403: ErrorText("You do not have permission to do this",
                   ("Ask a supervisor or an administrator if you think you should.",)),
    404: NOT_FOUND,
    405: NOT_FOUND,
    429: ErrorText("Sorry, there have been too many attempts", ("Wait a few minutes, then try again.",)),
    500: ErrorText("Sorry, there is a problem with the service", ("Try again later.",)),
    502: UNAVAILABLE,
    503: UNAVAILABLE,
    504: UNAVAILABLE,
}
PUBLIC_TEXTS: Mapping[int, ErrorText] = {
    **STAFF_TEXTS,
    401: ErrorText("Sorry, you cannot see this page", ("Go back to the start page and try again.",)),
    403: ErrorText("Sorry, you cannot see this page", ("Go back to the start page and try again.",)),
}
OTHER_CLIENT_ERROR = ErrorText("Sorry, there is a problem", ("Go back and try again.",))


@dataclass(frozen=True)
class PageLanguage:
    """The visitor's language on a public service: `lang` and `dir` of the page and its gettext."""

    lang: str = "en"
    dir: str = "ltr"
    gettext: Callable[[str], str] = field(default=lambda text: text)


@dataclass(frozen=True)
class ErrorPages:
    public: bool = False
    quick_exit_url: str = "https://www.bbc.co.uk/weather"
    home_url: str | None = None  # default: "/" on a public service, the staff home page otherwise
    service_name: str | None = None  # in the header; default the staff site's ("Vigil")
    language: Callable[[Request], PageLanguage] | None = None
    templates: Jinja2Templates | None = None
    site: StaffSite = field(default_factory=StaffSite)

    @cached_property
    def _own_templates(self) -> Jinja2Templates:
        return page_templates(site=self.site)

    def text(self, status: int) -> ErrorText:
        texts = PUBLIC_TEXTS if self.public else STAFF_TEXTS
        return texts.get(status) or (texts[500] if status >= 500 else OTHER_CLIENT_ERROR)

    def render(self, request: Request, status: int, detail: str = "", headers: Mapping[str, str] | None = None,
               return_to: str | None = None) -> HTMLResponse:
        templates = self.templates or self._own_templates
        context = self.context(request, status, detail, return_to)
        response = templates.TemplateResponse(request, "vigil/error.html", context, status_code=status,
                                              headers=dict(headers or {}))
        response.headers["Cache-Control"] = "no-store"
        if request.headers.get("hx-request"):
            _steer_htmx(response, context["sign_in_url"])
        return response

    def context(self, request: Request, status: int, detail: str, return_to: str | None) -> dict[str, Any]:
        language = self.language(request) if self.language else PageLanguage()
        viewer = getattr(request.state, "viewer", None)
        signing_in = status == 401 and not self.public
        return {
            "error": self.text(status), "detail": _worth_showing(status, detail), "site": self.site,
            "public": self.public, "quick_exit_url": self.quick_exit_url,
            "service_name": language.gettext(self.service_name) if self.service_name else None,
            "home_url": self.home_url or ("/" if self.public else self.site.home_url),
            "sign_in_url": self.site.sign_in_url(self.return_to(request, return_to)) if signing_in else None,
            "viewer": viewer if isinstance(viewer, Viewer) and not signing_in else None,
            "lang": language.lang, "dir": language.dir, "_": language.gettext,
        }

    def return_to(self, request: Request, given: str | None) -> str | None:
        """Where sign-in should bring the person back: the page they were on, as triage can accept it."""
        target = given or request.headers.get("hx-current-url")
        if not target and request.method in ("GET", "HEAD"):
            target = str(request.url)
        if not target:
            return None
        here = f"{request.url.scheme}://{request.url.netloc}"
        resolved = urlsplit(target if "://" in target else here + target)
        if f"{resolved.scheme}://{resolved.netloc}" == _origin_of(self.site.triage_url):
            return resolved.path + (f"?{resolved.query}" if resolved.query else "")
        return resolved.geturl()


def _steer_htmx(response: HTMLResponse, sign_in_url: str | None) -> None:
    """A partial update that fails leaves the page as it is; one refused for want of a session goes to
    sign-in, and back to the page once signed in."""
    if sign_in_url:
        response.headers["HX-Redirect"] = sign_in_url
    else:
        response.headers["HX-Reswap"] = "none"


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _worth_showing(status: int, detail: str) -> str:
    if status >= 500 or status == 401 or not detail:
        return ""
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    return "" if detail.strip().lower() == phrase.lower() else detail

