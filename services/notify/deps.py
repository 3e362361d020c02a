"""The one way notify's routes reach the service: typed dependencies over what main.py put on `app.state`.

Routes name what they need (`LedgerDep`, `Manager`, ...) and never the composition root, so main.py can
import the routers without an import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from services.notify.assessments.service import AssessmentService
from services.notify.chase.rota import RotaService
from services.notify.chase.service import ChaseService
from services.notify.ledger import LedgerService
from shared.staffaccess import Caller, Role, requires

STATE = "notify_services"


@dataclass(frozen=True)
class NotifyServices:
    """What the HTTP face may use, set on `app.state` by main.py (the staff access check sits beside it)."""

    ledger: LedgerService
    chases: ChaseService
    assessments: AssessmentService
    rota: RotaService


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


LedgerDep = Annotated[LedgerService, Depends(ledger)]
ChasesDep = Annotated[ChaseService, Depends(chases)]
AssessmentsDep = Annotated[AssessmentService, Depends(assessments)]
RotaDep = Annotated[RotaService, Depends(rota)]

# Roles, checked on the server for every route (docs/design.md; ADR 0046). Staff sign in at triage.
VIEW = requires(Role.duty_inspector, Role.supervisor, Role.admin)
MANAGE = requires(Role.supervisor, Role.admin)  # retries, resolutions and who is on call
Manager = Annotated[Caller, MANAGE]
