"""Vigil's services calling one another: each with a credential of its own, each internal route naming its callers.

Calling: `service_headers(settings, "notify")` is every header notify sends to another service's internal
route (today its credential, as `Authorization: Bearer`). Every call one service makes to another goes through
it, so a new call needs nothing else.

Answering: `require_caller(settings, authorization, {"notify", "triage"})` answers which service called, or
refuses: 401 for no credential or one that is no service's, 403 for a service the route does not accept. A
credential is recognised by its SHA-256 digest (`VIGIL_<SERVICE>_SERVICE_TOKEN_SHA256`): a service knows the
digests of the others, never their credentials, so none can pass for another (docs/security.md).
`calling_service` is the one place that says whose a credential is.
"""

from __future__ import annotations

import hmac
from collections.abc import Collection

from shared.problems import Forbidden, Unauthorized
from shared.settings import SERVICES, VigilSettings, token_digest


def service_headers(settings: VigilSettings, caller: str) -> dict[str, str]:
    """The headers with which `caller` (the service making the call) calls another Vigil service."""
    if caller not in SERVICES:
        raise ValueError(f"{caller!r} is not a Vigil service that calls others ({', '.join(SERVICES)})")
    return {"Authorization": f"Bearer {settings.service_token(caller)}"}


def calling_service(settings: VigilSettings, token: str | None) -> str | None:
    """Whose credential `token` is (a service's name), or None. Every digest is compared, in constant time."""
    if not token:
        return None
    given = token_digest(token).encode()
    found = None
    for service, digest in settings.service_token_digests().items():
        if hmac.compare_digest(given, digest.encode()):
            found = service
    return found


def bearer_token(authorization: str | None) -> str | None:
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip() or None
    return None


def require_caller(settings: VigilSettings, authorization: str | None, callers: Collection[str]) -> str:
    """For an internal route: the calling service, if it is one of `callers`; 401 or 403 otherwise."""
    service = calling_service(settings, bearer_token(authorization))
    if service is None:
        raise Unauthorized("a Vigil service's credential is required", headers={"WWW-Authenticate": "Bearer"})
    if service not in callers:
        raise Forbidden(f"this route is not for {service}: it answers {', '.join(sorted(callers))} only")
    return service
