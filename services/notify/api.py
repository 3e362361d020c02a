"""Notify's HTTP face for staff: the delivery list and give-ups (no personal data), chases,
community impact assessment prompts, and the rota (who is on call; overrides).

Every change goes through an application service that records who made it, when and why as an event;
the services' refusals become problem+json here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.notify.assessments.model import AssessmentState
from services.notify.chase.rota import Override, UnknownOverride, UnknownPerson
from services.notify.deps import AssessmentsDep, ChasesDep, LedgerDep, Manager, Reader, RotaDep
from services.notify.ledger import DeliveryError, DeliveryStatus, LedgerService, UnknownDelivery
from services.notify.schemas import (
    AssessmentPromptOut,
    ChaseOut,
    DeliveryOut,
    OnCallOut,
    OverrideIn,
    OverrideRemovedOut,
    OverrideSetOut,
    ResolvedOut,
    RetriedOut,
    StaffNote,
)
from shared.problems import Conflict, NotFound, Problem, Unprocessable
from shared.staffaccess import STAFF_ONLY, Caller

router = APIRouter(responses=STAFF_ONLY)

LISTED = ("notification_id", "idempotency_key", "incident_id", "purpose", "channel", "recipient_role",
          "status", "attempts", "created_at", "updated_at", "sent_at", "resolved_at")
CHASE_FIELDS = ("incident_id", "reference", "area", "priority", "ack_deadline", "started_at", "acknowledged_at",
                "acknowledged_by")


def _listed(row: dict[str, Any]) -> dict[str, Any]:
    item = {c: row[c] for c in LISTED}
    # The error's kind only: a server's message can quote an address.
    item["error_kind"] = str(row["last_error"]).split(":", 1)[0][:80] if row["last_error"] else None
    return item


DELIVERY_PROBLEMS: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such notification (or not in the caller's areas)"},
    409: {"description": "not in a state that allows this"}}


def _problem(e: DeliveryError) -> Problem:
    return NotFound(str(e)) if isinstance(e, UnknownDelivery) else Conflict(str(e))


@router.get("/v1/notifications", tags=["notifications"], summary="Dispatches, failures and give-ups",
            description="To an account limited to some areas: only deliveries about incidents in them.",
            response_model=list[DeliveryOut])
def list_notifications(caller: Reader, ledger: LedgerDep, status: DeliveryStatus | None = None,
                       purpose: str | None = None, incident_id: str | None = None,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 500) -> list[dict[str, Any]]:
    return [_listed(r) for r in ledger.listed(status, purpose, incident_id, limit, caller.areas)]


@router.get("/v1/notifications/give-ups", tags=["notifications"],
            summary="Deliveries that gave up and no one has dealt with yet", response_model=list[DeliveryOut])
def give_ups(caller: Reader, ledger: LedgerDep) -> list[dict[str, Any]]:
    return [_listed(r) for r in ledger.give_ups(caller.areas)]


def _theirs(ledger: LedgerService, notification_id: str, caller: Caller) -> None:
    """A delivery outside the caller's areas answers as an unknown one does."""
    if caller.areas and ledger.find(notification_id, caller.areas) is None:
        raise NotFound(str(UnknownDelivery("no such notification")))


@router.post("/v1/notifications/{notification_id}/retry", tags=["notifications"],
             summary="Send a delivery that gave up once more (after the cause was fixed)", responses=DELIVERY_PROBLEMS,
             response_model=RetriedOut)
def retry(notification_id: str, caller: Manager, ledger: LedgerDep, body: StaffNote | None = None) -> dict[str, Any]:
    _theirs(ledger, notification_id, caller)
    try:
        ledger.retry(notification_id, caller.name, body.reason if body else None)
    except DeliveryError as e:
        raise _problem(e) from e
    return {"notification_id": notification_id, "status": DeliveryStatus.pending.value}


@router.post("/v1/notifications/{notification_id}/resolve", tags=["notifications"],
             summary="Mark a give-up as dealt with (e.g. the person was phoned)", responses=DELIVERY_PROBLEMS,
             response_model=ResolvedOut)
def resolve(notification_id: str, caller: Manager, ledger: LedgerDep, body: StaffNote | None = None) -> dict[str, Any]:
    _theirs(ledger, notification_id, caller)
    try:
        ledger.resolve(notification_id, caller.name, body.reason if body else None)
    except DeliveryError as e:
        raise _problem(e) from e
    return {"notification_id": notification_id, "resolved": True}


@router.get("/v1/chases/{incident_id}",
            tags=["chases"], summary="Where the Duty Inspector chase of an incident is",
            responses={404: {"description": "no chase for this incident (or not in the caller's areas)"}},
            response_model=ChaseOut)
def chase(incident_id: str, caller: Reader, chases: ChasesDep) -> dict[str, Any]:
    found = chases.find(incident_id)
    if found is None or not caller.covers(found.area):
        raise NotFound("no chase for this incident")
    return {**{k: getattr(found, k) for k in CHASE_FIELDS}, "state": found.state.value,
            "page": found.page.label if found.page else "-"}


@router.get("/v1/assessments", tags=["assessments"], summary="Community impact assessment prompts",
            response_model=list[AssessmentPromptOut])
def assessments(caller: Reader, prompts: AssessmentsDep, state: AssessmentState | None = None,
                area: str | None = None) -> list[dict[str, Any]]:
    return [a for a in prompts.listed(state, area) if caller.covers(a["area"])]


AREA_PROBLEMS: dict[int | str, dict[str, Any]] = {404: {"description": "an area not in the caller's areas"}}


def _their_area(caller: Caller, area: str) -> None:
    if not caller.covers(area):
        raise NotFound(f"there is no area {area} in your areas")


@router.get("/v1/rota/{area}",
            tags=["rota"], summary="Who is on call for an area, and its escalation policy", responses=AREA_PROBLEMS,
            response_model=OnCallOut)
def on_call(area: str, caller: Reader, rota: RotaDep, at: datetime | None = None) -> dict[str, Any]:
    _their_area(caller, area)
    now = rota.on_call(area, at)
    return {"area": now.area, "at": now.at, "on_call": now.person_id, "override": now.by_override,
            "policy": now.policy.model_dump(), "overrides": [_override(o) for o in rota.overrides(area)]}


def _override(o: Override) -> dict[str, Any]:
    return {"override_id": o.override_id, "person_id": o.person_id, "starts_at": o.starts_at, "ends_at": o.ends_at,
            "set_by": o.set_by, "set_at": o.set_at, "reason": o.reason}


@router.put("/v1/rota/{area}/overrides", tags=["rota"], status_code=201,
            summary="Put someone else on call for an area for a while (swap, sickness)", responses=AREA_PROBLEMS,
            response_model=OverrideSetOut)
def add_override(area: str, body: OverrideIn, caller: Manager, rota: RotaDep) -> dict[str, Any]:
    _their_area(caller, area)
    try:
        event = rota.set_override(area, body.person_id, body.starts_at, body.ends_at, caller.name, body.reason)
    except UnknownPerson as e:
        raise Unprocessable("unknown person", errors=[{"field": "person_id", "pointer": "/person_id",
                                                      "message": "not in the directory", "code": "unknown"}]) from e
    return {"override_id": event.override_id, "area": area, "person_id": body.person_id,
            "starts_at": body.starts_at, "ends_at": body.ends_at}


@router.delete("/v1/rota/{area}/overrides/{override_id}", tags=["rota"],
               summary="Take an override off before it ends: the area's rota applies again at once",
               responses={404: {"description": "no such override for this area, or an area not in the caller's"}},
               response_model=OverrideRemovedOut)
def remove_override(area: str, override_id: str, caller: Manager, rota: RotaDep,
                    body: StaffNote | None = None) -> dict[str, Any]:
    _their_area(caller, area)
    try:
        rota.remove_override(override_id, caller.name, body.reason if body else None, area=area)
    except UnknownOverride as e:
        raise NotFound("no such override for this area (removed already?)") from e
    return {"override_id": override_id, "area": area, "removed": True}
