"""How a route gets what it needs: typed `Annotated` dependencies over what main.py provides on app.state.

Routes name the part they use (`WorkflowDep`, `QueriesDep`, ...) and who is asking (`CurrentStaff` for the
JSON API, `PageStaff` for the staff pages), never the composition root, so main.py alone imports routers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Request, Response, Security
from fastapi.security import APIKeyCookie, APIKeyHeader

from services.triage.access import Staff
from services.triage.accounts import StaffAccounts
from services.triage.auth import Auth, csrf_matches, is_poll
from services.triage.oversight import Oversight
from services.triage.queries import Queries
from services.triage.settings import TriageSettings
from services.triage.sso import SingleSignOn
from services.triage.tension import Tension
from services.triage.workflow import Workflow
from shared.edge import client_address as behind_proxies
from shared.problems import Forbidden, Unauthorized
from shared.settings import VigilSettings
from shared.staffaccess import SESSION_COOKIE

COOKIE = SESSION_COOKIE  # notify and assessment read it too (shared/staffaccess.py)
SAFE = {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True)
class Provided:
    """The parts of the service that routes may use, as main.py built them."""

    vigil: VigilSettings
    settings: TriageSettings
    auth: Auth
    workflow: Workflow
    tension: Tension
    queries: Queries
    sso: SingleSignOn | None = None  # staff single sign-on, when configured (ADR 0060)


def provide(app: FastAPI, provided: Provided) -> None:
    app.state.triage = provided


def _provided(request: Request) -> Provided:
    provided: Provided = request.app.state.triage
    return provided


def _vigil(request: Request) -> VigilSettings:
    return _provided(request).vigil


def _settings(request: Request) -> TriageSettings:
    return _provided(request).settings


def _auth(request: Request) -> Auth:
    return _provided(request).auth


def _workflow(request: Request) -> Workflow:
    return _provided(request).workflow


def _tension(request: Request) -> Tension:
    return _provided(request).tension


def _queries(request: Request) -> Queries:
    return _provided(request).queries


def _sso(request: Request) -> SingleSignOn | None:
    return _provided(request).sso


VigilDep = Annotated[VigilSettings, Depends(_vigil)]
SsoDep = Annotated[SingleSignOn | None, Depends(_sso)]
SettingsDep = Annotated[TriageSettings, Depends(_settings)]
AuthDep = Annotated[Auth, Depends(_auth)]
WorkflowDep = Annotated[Workflow, Depends(_workflow)]
TensionDep = Annotated[Tension, Depends(_tension)]
QueriesDep = Annotated[Queries, Depends(_queries)]

session_cookie = APIKeyCookie(name=COOKIE, auto_error=False, description="the session set by POST /v1/session")
csrf_header = APIKeyHeader(name="X-CSRF-Token", auto_error=False,
                           description="the session's CSRF token (from POST or GET /v1/session); needed on changes")


def current_staff(request: Request, auth: AuthDep, token: Annotated[str | None, Security(session_cookie)] = None,
                  csrf: Annotated[str | None, Security(csrf_header)] = None) -> Staff:
    """The JSON API's caller: signed in, and on a change carrying the session's CSRF token."""
    staff = auth.resolve(token, activity=not is_poll(request.headers))
    if staff is None:
        raise Unauthorized("sign in first (POST /v1/session)", headers={"WWW-Authenticate": "Cookie"})
    if request.method not in SAFE and not csrf_matches(staff, csrf):
        raise Forbidden("missing or wrong CSRF token: send X-CSRF-Token as given by GET /v1/session")
    return staff


def page_staff(request: Request, auth: AuthDep) -> Staff | None:
    """Who is looking at a staff page, if anyone is signed in: the page decides where a stranger goes."""
    return auth.resolve(request.cookies.get(COOKIE), activity=not is_poll(request.headers))


CurrentStaff = Annotated[Staff, Depends(current_staff)]
PageStaff = Annotated[Staff | None, Depends(page_staff)]


def set_session_cookie(response: Response, token: str, settings: TriageSettings) -> None:
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=settings.secure_cookies,
                        max_age=settings.session_max_hours * 3600, path="/")


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/")


# --- administration (accounts.py, oversight.py) ----------------------------------------------------

def _accounts(request: Request) -> StaffAccounts:
    return _provided(request).auth.accounts


def _oversight(request: Request) -> Oversight:
    queries = _provided(request).queries
    return Oversight(queries.db, queries.clock, queries.ruleset_store)


AccountsDep = Annotated[StaffAccounts, Depends(_accounts)]
OversightDep = Annotated[Oversight, Depends(_oversight)]


def client_address(request: Request) -> str | None:
    """The caller's address, behind VIGIL_TRUSTED_PROXIES only (shared/edge.py); auth.py keeps only its coarse
    network."""
    peer = request.client.host if request.client else None
    return behind_proxies(peer, request.headers.get("x-forwarded-for"), _vigil(request).proxy_networks())
