"""Who is calling a staff API outside triage: a member of staff signed in at triage.

Staff sign in once, at triage (ADR 0023). Notify and assessment do not keep users or sessions of their
own: they ask triage about the session a request carries (`POST /internal/v1/sessions/introspect`,
in the manner of OAuth token introspection, RFC 7662) and check the roles it answers with, on the
server, for every route (docs/design.md, "Privacy and access"). An answer is kept for `ttl` seconds, so a
page of requests costs one question; a sign-out reaches the other services within that time. Staff routes
are for people: a Vigil service's credential (ADR 0057, `shared/servicecalls.py`) is refused on them (403),
whatever the route; services call one another on `/internal/...` routes, each naming its callers.

The session travels as triage's cookie (browsers send it to every port of the host that set it, so the
services of one deployment share it) or as `Authorization: Bearer <session token>`. A change made with
the cookie must carry the session's CSRF token in `X-CSRF-Token`, as at triage.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

import httpx
from fastapi import Depends, Request, Security
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from shared.problems import Forbidden, Unauthorized, Unavailable
from shared.servicecalls import calling_service, service_headers
from shared.settings import VigilSettings

log = logging.getLogger(__name__)

SESSION_COOKIE = "vigil_staff"  # triage sets it (services/triage/deps.py)
INTROSPECT_PATH = "/internal/v1/sessions/introspect"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
STAFF_ONLY: dict[int | str, dict[str, Any]] = {
    401: {"description": "not signed in (no session, or it ended)"},
    403: {"description": "signed in, but none of the roles this needs; a change without the CSRF token; or a "
                         "Vigil service's credential (staff routes are for people)"},
    503: {"description": "triage could not be asked about the sign-in"}}

session_cookie = APIKeyCookie(name=SESSION_COOKIE, auto_error=False,
                              description="the staff session triage set at sign-in (POST /v1/session at triage)")
bearer = HTTPBearer(auto_error=False, description="a staff session token")
csrf_header = APIKeyHeader(name="X-CSRF-Token", auto_error=False,
                           description="the session's CSRF token (GET /v1/session at triage); needed on changes "
                                       "made with the cookie")


class Role(StrEnum):
    """The staff roles of docs/design.md; triage keeps the accounts, every service checks them."""

    triage_officer = "triage_officer"
    duty_inspector = "duty_inspector"
    supervisor = "supervisor"
    analyst = "analyst"
    admin = "admin"
    data_protection_officer = "data_protection_officer"
    caseworker = "caseworker"
    neighbourhood_officer = "neighbourhood_officer"
    site_lead = "site_lead"


@dataclass(frozen=True)
class Caller:
    name: str
    roles: frozenset[str]
    csrf_token: str = ""
    display_name: str = ""  # as pages show the person; `name` (the username) is what events record
    areas: frozenset[str] = frozenset()  # the force areas the account is limited to; empty: national

    def covers(self, area: str) -> bool:
        """Need to know: whether `area` is one of the caller's (a national account covers all)."""
        return not self.areas or area in self.areas


class StaffAccess:
    """`service`: the service asking triage (it calls with its own credential)."""

    def __init__(self, settings: VigilSettings, service: str, ttl: float = 15.0, timeout: float = 3.0,
                 client: httpx.Client | None = None) -> None:
        self.settings = settings
        self.headers = service_headers(settings, service)
        self.url = settings.triage_internal_url.rstrip("/") + INTROSPECT_PATH
        self.ttl = ttl
        self.client = client or httpx.Client(timeout=timeout)
        self._known: dict[str, tuple[float, Caller]] = {}
        self._lock = threading.Lock()

    def caller(self, session: str | None, bearer: str | None) -> Caller | None:
        """The signed-in member of staff, or None (no credential, or a session not active); 403 for a Vigil
        service's credential, which opens internal routes only."""
        service = calling_service(self.settings, bearer)
        if service is not None:
            raise Forbidden(f"staff routes need a signed-in member of staff, not a Vigil service's credential "
                            f"({service}'s): services call one another's /internal/ routes")
        token = bearer or session
        return self._staff(token) if token else None

    def _staff(self, token: str) -> Caller | None:
        key = hashlib.sha256(token.encode()).hexdigest()
        now = time.monotonic()
        with self._lock:
            known = self._known.get(key)
        if known is not None and known[0] > now:
            return known[1]
        staff = self._introspect(token)
        with self._lock:
            if len(self._known) > 10_000:
                self._known = {k: v for k, v in self._known.items() if v[0] > now}
            if staff is None:
                self._known.pop(key, None)
            else:  # only active sessions are kept: a sign-in is usable at once
                self._known[key] = (now + self.ttl, staff)
        return staff

    def _introspect(self, token: str) -> Caller | None:
        try:
            answer = self.client.post(self.url, json={"token": token}, headers=self.headers)
        except httpx.HTTPError as e:
            log.warning("triage did not answer a session check", extra={"error": type(e).__name__})
            raise Unavailable("cannot check your sign-in now: triage is not answering; try again shortly") from e
        if answer.status_code != 200:
            log.warning("triage refused a session check", extra={"status": answer.status_code})
            raise Unavailable("cannot check your sign-in now; try again shortly")
        body: dict[str, Any] = answer.json()
        if not body.get("active"):
            return None
        return Caller(str(body["username"]), frozenset(body.get("roles", [])),
                      csrf_token=str(body.get("csrf_token", "")), display_name=str(body.get("display_name") or ""),
                      areas=frozenset(body.get("areas") or ()))

    def check(self, request: Request, session: str | None, given: str | None, csrf: str | None,
              roles: frozenset[str]) -> Caller:
        """The signed-in member of staff, if in one of `roles`; 401, 403 (or 503 if triage cannot say) otherwise."""
        caller = self.caller(session, given)
        if caller is None:
            raise Unauthorized("sign in at triage first (POST /v1/session), then send its session cookie",
                               headers={"WWW-Authenticate": "Bearer"})
        if not caller.roles & roles:
            raise Forbidden(f"this needs one of the roles: {', '.join(sorted(roles))}")
        if (request.method not in SAFE_METHODS and given is None
                and not (csrf and hmac.compare_digest(csrf.encode(), caller.csrf_token.encode()))):
            raise Forbidden("missing or wrong CSRF token: send X-CSRF-Token as given by GET /v1/session at triage")
        return caller

    async def aclose(self) -> None:
        """At the HTTP app's shutdown (`ServiceCore.closers`)."""
        self.client.close()


def requires(*roles: str) -> Any:
    """`dependencies=[requires(...)]` for a route; the app keeps its StaffAccess in `app.state.staff_access`."""
    allowed = frozenset(roles)

    def dependency(request: Request, session: Annotated[str | None, Security(session_cookie)] = None,
                   credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None,
                   csrf: Annotated[str | None, Security(csrf_header)] = None) -> Caller:
        access: StaffAccess = request.app.state.staff_access
        return access.check(request, session, credentials.credentials if credentials else None, csrf, allowed)

    return Depends(dependency)
