"""The one way notify's routes reach the service: typed dependencies over what main.py put on `app.state`.

Routes name what they need (`LedgerDep`, `Manager`, ...) and never the composition root, so main.py can
import the routers without an import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Cookie, Depends, Request
from fastapi.templating import Jinja2Templates

from services.notify.assessments.service import AssessmentService
from services.notify.chase.rota import RotaService
from services.notify.chase.service import ChaseService
from services.notify.ledger import LedgerService
from services.notify.policy import Directory
from services.notify.staff_directory import StaffDirectory
from shared.areas import AreaRegistry
from shared.staffaccess import SESSION_COOKIE, Caller, Role, StaffAccess, requires
from shared.web.site import StaffSite

STATE = "notify_services"


@dataclass(frozen=True)
class Pages:
    """What the staff pages read besides the features: the directory's names, the areas, the site, the templates."""

    directory: Directory
    areas: AreaRegistry
    site: StaffSite
    templates: Jinja2Templates
    staff: StaffDirectory | None = None  # the rota's people by their staff display name


@dataclass(frozen=True)
class NotifyServices:
    """What the HTTP face may use, set on `app.state` by main.py (the staff access check sits beside it)."""

    ledger: LedgerService
    chases: ChaseService
    assessments: AssessmentService
    rota: RotaService
    pages: Pages


def notify_services(request: Request) -> NotifyServices:
    services: NotifyServices = getattr(request.app.state, STATE)
    return services


def ledger(request: Request) -> LedgerService:
    return notify_services(request).ledger


def chases(request: Request) -> ChaseService:
    return notify_services(request).chases


def assessments(request: Request) -> AssessmentService:
    return notify_services(request).assessments


def rota(request: Request) -> RotaService:
    return notify_services(request).rota


def pages(request: Request) -> Pages:
    return notify_services(request).pages


def page_caller(request: Request, session: Annotated[str | None, Cookie(alias=SESSION_COOKIE)] = None) -> Caller | None:
    """Who is looking at a page: the member of staff whose sign-in cookie it carries, if it is still active."""
    access: StaffAccess = request.app.state.staff_access
    return access.caller(session, None) if session else None


LedgerDep = Annotated[LedgerService, Depends(ledger)]
ChasesDep = Annotated[ChaseService, Depends(chases)]
AssessmentsDep = Annotated[AssessmentService, Depends(assessments)]
RotaDep = Annotated[RotaService, Depends(rota)]
PagesDep = Annotated[Pages, Depends(pages)]
PageCaller = Annotated[Caller | None, Depends(page_caller)]

# Roles, checked on the server for every route (docs/design.md; ADR 0046). Staff sign in at triage.
VIEWERS = frozenset({Role.duty_inspector.value, Role.supervisor.value, Role.admin.value})
MANAGERS = frozenset({Role.supervisor.value, Role.admin.value})  # retries, resolutions and who is on call
VIEW = requires(*VIEWERS)
MANAGE = requires(*MANAGERS)
Manager = Annotated[Caller, MANAGE]
Reader = Annotated[Caller, VIEW]  # `caller.areas`: what they may see (empty: national)
