"""One way in: what intake's routes may reach, as typed dependencies (as full-stack-fastapi-template's deps.py).

main.py builds the parts once and puts them on `app.state`; a route names the part it needs
(`IntakeDep`, `PagesDep`, `SubmitterDep`, ...) and never sees the composition root, so no route
module imports main.py. The hot route calls `parts_of` and `submitter` itself, without dependency
solving (ADR 0016).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from services.intake.application import IntakeApp, Submitter
from services.intake.audit import PrivacyLog
from services.intake.centres import Centres
from services.intake.erasure import DataProtection
from services.intake.pages import Pages
from services.intake.ratelimit import RateLimiter, retry_after
from services.intake.settings import IntakeSettings
from services.intake.withdrawal import Withdrawals
from shared.areas import AreaRegistry
from shared.clock import Clock
from shared.edge import client_address as behind_proxies
from shared.events.reports import Channel
from shared.problems import TooManyRequests, Unauthorized
from shared.servicecalls import require_caller
from shared.settings import VigilSettings
from shared.staffaccess import Caller, Role, requires


@dataclass(frozen=True)
class IntakeParts:
    """Everything a route may use, and nothing else of the composition root."""

    app: IntakeApp
    settings: IntakeSettings
    vigil: VigilSettings
    centres: Centres
    limiter: RateLimiter
    centre_limiter: RateLimiter
    pages: Pages
    areas: AreaRegistry
    clock: Clock
    protection: DataProtection
    withdrawals: Withdrawals
    privacy_log: PrivacyLog


def parts_of(request: Request) -> IntakeParts:
    parts: IntakeParts = request.app.state.intake
    return parts


# Plain accessors are async so that FastAPI calls them inline instead of on a worker thread.
async def intake_app(request: Request) -> IntakeApp:
    return parts_of(request).app


async def pages(request: Request) -> Pages:
    return parts_of(request).pages


async def areas(request: Request) -> AreaRegistry:
    return parts_of(request).areas


async def clock(request: Request) -> Clock:
    return parts_of(request).clock


async def protection(request: Request) -> DataProtection:
    return parts_of(request).protection


async def withdrawals(request: Request) -> Withdrawals:
    return parts_of(request).withdrawals


async def privacy_log(request: Request) -> PrivacyLog:
    return parts_of(request).privacy_log


IntakeDep = Annotated[IntakeApp, Depends(intake_app)]
ProtectionDep = Annotated[DataProtection, Depends(protection)]
WithdrawalsDep = Annotated[Withdrawals, Depends(withdrawals)]
PrivacyLogDep = Annotated[PrivacyLog, Depends(privacy_log)]
# Erasure, holds and the privacy log: the data protection officer and admins, signed in at triage (ADR 0046).
Officer = Annotated[Caller, requires(Role.data_protection_officer.value, Role.admin.value)]
PagesDep = Annotated[Pages, Depends(pages)]
AreasDep = Annotated[AreaRegistry, Depends(areas)]
ClockDep = Annotated[Clock, Depends(clock)]

# -- who is calling ---------------------------------------------------------------------------

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False,
                              description="a reporting centre's key (vigil intake-key create)")
bearer = HTTPBearer(auto_error=False, description="the follow-up token returned at submission")
TokenDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def client_address(request: Request) -> str:
    """The address a rate-limit bucket is kept for: the peer's, or behind VIGIL_TRUSTED_PROXIES the client's
    they name (shared/edge.py). INTAKE_TRUST_FORWARDED_FOR is retired: `vigil` refuses to start with it."""
    peer = request.client.host if request.client else None
    address = behind_proxies(peer, request.headers.get("x-forwarded-for"), parts_of(request).vigil.proxy_networks())
    return address or "unknown"


def check_rate(settings: IntakeSettings, limiter: RateLimiter, key: str) -> None:
    if not settings.rate_limit_enabled:
        return
    wait = limiter.take(key)
    if wait:
        raise TooManyRequests("too many requests from this address; please wait and try again",
                              headers={"Retry-After": retry_after(wait)})


async def submitter(request: Request, api_key: Annotated[str | None, Depends(api_key_header)]) -> Submitter:
    """Public callers are limited per address; a centre, once its key checks out, per key."""
    parts = parts_of(request)
    if api_key is None:
        address = client_address(request)
        check_rate(parts.settings, parts.limiter, address)
        return Submitter(channel=Channel.api, address=address)
    who = await run_in_threadpool(parts.centres.authenticate, api_key)
    if who is None:
        check_rate(parts.settings, parts.limiter, client_address(request))
        raise Unauthorized("this API key is not valid", headers={"WWW-Authenticate": "ApiKey"})
    check_rate(parts.settings, parts.centre_limiter, f"centre:{who.centre_id}")
    return who


SubmitterDep = Annotated[Submitter, Depends(submitter)]


def public_limit(request: Request) -> None:
    parts = parts_of(request)
    check_rate(parts.settings, parts.limiter, client_address(request))


def public_wait(request: Request) -> float:
    """Seconds this address must wait before its next request, 0 if it may go on (for pages, which answer
    a busy page instead of a problem)."""
    parts = parts_of(request)
    if not parts.settings.rate_limit_enabled:
        return 0.0
    return parts.limiter.take(client_address(request))


PERSONAL_DATA_READERS = frozenset({"triage", "notify"})


def personal_data_reader(request: Request, authorization: Annotated[str | None, Header()] = None) -> str:
    """The service reading a report's personal data: triage (a member of staff's view) or notify (messages to the
    reporter, referrals). Assessment and the rest are refused (403)."""
    return require_caller(parts_of(request).vigil, authorization, PERSONAL_DATA_READERS)


PersonalDataReader = Annotated[str, Depends(personal_data_reader)]


def staff_text_caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> str:
    """The service sealing or opening what staff wrote about a report: triage alone (ADR 0055)."""
    return require_caller(parts_of(request).vigil, authorization, {"triage"})


StaffTextCaller = Annotated[str, Depends(staff_text_caller)]
