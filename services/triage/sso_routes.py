"""Single sign-on's pages (ADR 0060): the start, which sends the browser to the force's provider, and the callback
it comes back to. Every way a sign-in can fail ends on a readable page with the right status and a log line that
names no one; nothing here answers 5xx but an unreachable provider (503, or 502 for its own error).

After the callback the browser is sent on by a page of triage's own, not a redirect: the session cookie is
SameSite=Strict, and a browser does not send it on a redirect chain that began at the provider's site.
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from services.triage.access import Staff
from services.triage.accounts import AccountConflict, InvalidUser, UnknownAccount
from services.triage.auth import NotLinked
from services.triage.deps import (
    AccountsDep,
    AuthDep,
    CurrentStaff,
    SettingsDep,
    SsoDep,
    client_address,
    set_session_cookie,
)
from services.triage.identities import REFUSALS
from services.triage.settings import TriageSettings
from services.triage.sso import BEGUN_FOR, STATE_COOKIE, SingleSignOn, SsoExpired, SsoRefused, SsoUnavailable
from services.triage.ui import home_of, render, safe_next
from shared.problems import Conflict, NotFound, Unprocessable

router = APIRouter()
log = logging.getLogger(__name__)
START = "/login/oidc"
ASK_ADMIN = "Ask your Vigil administrator to check your account."
UNAVAILABLE = "Your organisation's sign-in service cannot be reached just now. Try again in a few minutes, or "
EXPIRED = "This sign-in has expired or was not started in this browser. Start again from the sign-in page."
CANCELLED = "You did not finish signing in with your organisation's account."
NOT_COMPLETED = "Your organisation's sign-in could not be completed. Start again from the sign-in page."


def _sso(sso: SsoDep) -> SingleSignOn:
    if sso is None:
        raise NotFound("single sign-on is not configured")
    return sso


Sso = Annotated[SingleSignOn, Depends(_sso)]


def problem(request: Request, status: int, title: str, message: str) -> Response:
    return render(request, "sso_problem.html", None, status=status, page_title=title, title=title, message=message)


def unavailable(request: Request, sso: SingleSignOn) -> Response:
    fallback = "sign in with your Vigil password." if sso.passwords else "ask your Vigil administrator."
    return problem(request, 503, "Sign-in not available", UNAVAILABLE + fallback)


@router.get(START, include_in_schema=False)
def start(request: Request, sso: Sso, settings: SettingsDep, next: str = "") -> Response:
    try:
        begun = sso.begin(safe_next(next))
    except SsoUnavailable as e:
        log.warning("single sign-on not begun: %s", e)
        return unavailable(request, sso)
    response = RedirectResponse(begun.url, status_code=303)
    response.set_cookie(STATE_COOKIE, begun.state, max_age=int(BEGUN_FOR.total_seconds()), path=START,
                        httponly=True, samesite="lax", secure=settings.secure_cookies)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get(START + "/callback", include_in_schema=False)
def callback(request: Request, sso: Sso, auth: AuthDep, settings: SettingsDep, state: str = "", code: str = "",
             error: str = "", iss: str = "") -> Response:
    response = _signed_in(request, sso, auth, settings, state, code, error, iss)
    response.delete_cookie(STATE_COOKIE, path=START)
    return response


def _signed_in(request: Request, sso: SingleSignOn, auth: AuthDep, settings: TriageSettings, state: str, code: str,
               error: str, iss: str) -> Response:
    if error:
        log.info("single sign-on ended at the provider: %s", error[:64])
        if error in ("access_denied", "login_required", "consent_required", "interaction_required"):
            return problem(request, 403, "Not signed in", CANCELLED)
        return problem(request, 502, "Not signed in", NOT_COMPLETED)
    try:
        completed = sso.complete(state, request.cookies.get(STATE_COOKIE), code, iss)
        signed = auth.sign_in_with(completed.identity, client_address(request))
    except SsoExpired as e:
        log.info("single sign-on refused: %s", e)
        return problem(request, 400, "Sign-in expired", EXPIRED)
    except SsoUnavailable as e:
        log.warning("single sign-on not completed: %s", e)
        return unavailable(request, sso)
    except SsoRefused as e:
        log.warning("single sign-on refused: %s", e)
        return problem(request, 400, "Not signed in", NOT_COMPLETED)
    except NotLinked as e:
        log.info("single sign-on identity signs in to no account: %s", e.refusal.value)
        return problem(request, 403, "No Vigil account", f"{REFUSALS[e.refusal]} {ASK_ADMIN}")
    target = completed.next_url or home_of(signed.staff)
    response = render(request, "sso_continue.html", None, page_title="Signing in", target=target)
    set_session_cookie(response, signed.token, settings)
    return response


# --- the administrator's JSON API --------------------------------------------------------------------

@router.delete("/v1/users/{user_id}/sso-link", status_code=204, tags=["users"], response_class=Response,
               summary="Remove an account's single sign-on link")
def clear_link(staff: CurrentStaff, accounts: AccountsDep, user_id: str, reason: str | None = None) -> Response:
    """The organisation account linked to this Vigil account no longer signs in to it (recorded as
    `vigil.staff.sso_link_cleared.v1`). Needs the administrator role."""
    _clear(staff, accounts, user_id, reason)
    return Response(status_code=204)


def _clear(staff: Staff, accounts: AccountsDep, user_id: str, reason: str | None) -> None:
    try:
        accounts.clear_sso_link(staff, user_id, reason)
    except UnknownAccount:
        raise NotFound("there is no such account") from None
    except AccountConflict as e:
        raise Conflict(str(e)) from None
    except InvalidUser as e:
        raise Unprocessable(str(e)) from None
