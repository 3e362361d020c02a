"""What every public page's POST passes through: the visitor's language, a CSRF check and the rate limit.

The CSRF token is a random value in a SameSite=Strict cookie, echoed signed in a hidden field; a page that
shows a form sets both (`issue_csrf`), a POST that changes something checks them (`csrf_ok`). A visitor
over the rate limit gets the busy page, in their language, not a problem.
"""

from __future__ import annotations

import secrets

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from itsdangerous import BadSignature

from services.intake.deps import public_wait
from services.intake.pages import LANG_COOKIE, Pages
from services.intake.ratelimit import retry_after

CSRF_COOKIE = "vigil_csrf"
CSRF_MAX_AGE = 4 * 3600


def chosen_language(request: Request, pages: Pages) -> str:
    remembered = request.cookies.get(LANG_COOKIE)
    if remembered in pages.catalogues.names:
        return remembered
    return pages.catalogues.negotiate(request.headers.get("accept-language", ""))


def csrf_value(request: Request) -> str:
    """The visitor's CSRF cookie, or a new value for `issue_csrf` to set."""
    return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)


def issue_csrf(pages: Pages, response: HTMLResponse, value: str) -> HTMLResponse:
    response.set_cookie(CSRF_COOKIE, value, httponly=True, samesite="strict", secure=pages.secure_cookies,
                        max_age=CSRF_MAX_AGE)
    return response


def csrf_ok(pages: Pages, request: Request, token: str) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE)
    try:
        signed = pages.signer.loads(token, max_age=CSRF_MAX_AGE)
    except BadSignature:
        return False
    return bool(cookie) and secrets.compare_digest(str(signed), str(cookie))


def rate_limited(pages: Pages, request: Request) -> Response | None:
    wait = public_wait(request)
    if not wait:
        return None
    response = pages.render("busy.html", request.path_params.get("lang", "en"), status=429)
    response.headers["Retry-After"] = retry_after(wait)
    return response
