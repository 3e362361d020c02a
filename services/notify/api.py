"""Notify's HTTP face for staff: the delivery list and give-ups (no personal data), chases,
community impact assessment prompts, and the rota (who is on call; overrides)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select

from services.notify import tables
from services.notify.dispatch import wake_after_commit
from shared.clock import utc
from shared.ids import new_id
from shared.problems import Conflict, NotFound, Unprocessable
from shared.staffaccess import STAFF_ONLY, Role, requires

router = APIRouter(responses=STAFF_ONLY)
# Roles, checked on the server for every route (DESIGN.md; ADR 0046). Staff sign in at triage.
VIEW = requires(Role.duty_inspector, Role.supervisor, Role.admin)
MANAGE = requires(Role.supervisor, Role.admin)  # retries, resolutions and who is on call

LISTED = ("notification_id", "idempotency_key", "incident_id", "purpose", "channel", "recipient_role",
          "status", "attempts", "created_at", "updated_at", "sent_at", "resolved_at")
Status = Literal["pending", "sent", "failed", "gave_up", "cancelled"]


def notify_core(request: Request) -> Any:
    return request.app.state.notify


Core = Annotated[Any, Depends(notify_core)]


def _listed(row: Any) -> dict[str, Any]:
    item = {c: row[c] for c in LISTED}
    # The error's kind only: a server's message can quote an address.
    item["error_kind"] = str(row["last_error"]).split(":", 1)[0][:80] if row["last_error"] else None
    return item


@router.get("/v1/notifications", dependencies=[VIEW],
            tags=["notifications"], summary="Dispatches, failures and give-ups")
def list_notifications(core: Core, status: Status | None = None, purpose: str | None = None,
                       incident_id: str | None = None,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 500) -> list[dict[str, Any]]:
    d = tables.deliveries
    query = select(d).order_by(d.c.created_at.desc(), d.c.idempotency_key).limit(limit)
    if status:
        query = query.where(d.c.status == status)
    if purpose:
        query = query.where(d.c.purpose == purpose)
    if incident_id:
        query = query.where(d.c.incident_id == incident_id)
    with core.db.sessions() as s:
        return [_listed(r) for r in s.execute(query).mappings()]


@router.get("/v1/notifications/give-ups", dependencies=[VIEW], tags=["notifications"],
            summary="Deliveries that gave up and no one has dealt with yet")
def give_ups(core: Core) -> list[dict[str, Any]]:
    d = tables.deliveries
    with core.db.sessions() as s:
        rows = s.execute(select(d).where(d.c.status == "gave_up", d.c.resolved_at.is_(None))
                         .order_by(d.c.updated_at.desc())).mappings()
        return [_listed(r) for r in rows]


def _delivery(s: Any, notification_id: str) -> Any:
    row = s.execute(select(tables.deliveries).where(
        tables.deliveries.c.notification_id == notification_id)).mappings().first()
    if row is None:
        raise NotFound("no such notification")
    return row


@router.post("/v1/notifications/{notification_id}/retry", dependencies=[MANAGE], tags=["notifications"],
             summary="Send a delivery that gave up once more (after the cause was fixed)")
def retry(notification_id: str, core: Core) -> dict[str, Any]:
    d = tables.deliveries
    with core.db.transaction() as s:
        row = _delivery(s, notification_id)
        if row["status"] != "gave_up":
            raise Conflict(f"only a delivery that gave up can be retried; this one is {row['status']}")
        now = core.clock.now()
        s.execute(d.update().where(d.c.notification_id == notification_id).values(
            status="pending", attempts=0, next_attempt_at=now, updated_at=now, resolved_at=now))
        wake_after_commit(s, str(row["channel"]))
    return {"notification_id": notification_id, "status": "pending"}


@router.post("/v1/notifications/{notification_id}/resolve", dependencies=[MANAGE], tags=["notifications"],
             summary="Mark a give-up as dealt with (e.g. the person was phoned)")
def resolve(notification_id: str, core: Core) -> dict[str, Any]:
    with core.db.transaction() as s:
        row = _delivery(s, notification_id)
        if row["status"] != "gave_up":
            raise Conflict(f"only a delivery that gave up can be resolved; this one is {row['status']}")
        s.execute(tables.deliveries.update().where(tables.deliveries.c.notification_id == notification_id)
                  .values(resolved_at=core.clock.now()))
    return {"notification_id": notification_id, "resolved": True}


@router.get("/v1/chases/{incident_id}", dependencies=[VIEW],
            tags=["chases"], summary="Where the Duty Inspector chase of an incident is")
def chase(incident_id: str, core: Core) -> dict[str, Any]:
    c = tables.chases
    with core.db.sessions() as s:
        row = s.execute(select(c).where(c.c.incident_id == incident_id)).mappings().first()
    if row is None:
        raise NotFound("no chase for this incident")
    return {k: row[k] for k in ("incident_id", "reference", "area", "priority", "state", "page", "ack_deadline",
                                "started_at", "acknowledged_at", "acknowledged_by")}


@router.get("/v1/assessments", dependencies=[VIEW], tags=["assessments"], summary="Community impact assessment prompts")
def assessments(core: Core, state: Literal["open", "completed"] | None = None,
                area: str | None = None) -> list[dict[str, Any]]:
    a = tables.assessments
    query = select(a).order_by(a.c.due_at)
    if state:
        query = query.where(a.c.state == state)
    if area:
        query = query.where(a.c.area == area)
    with core.db.sessions() as s:
        return [dict(r) for r in s.execute(query).mappings()]


@router.get("/v1/rota/{area}", dependencies=[VIEW],
            tags=["rota"], summary="Who is on call for an area, and its escalation policy")
def on_call(area: str, core: Core, at: datetime | None = None) -> dict[str, Any]:
    when = utc(at) if at else core.clock.now()
    with core.db.sessions() as s:
        override = core.app.rota_override(s, area, when)
    directory = core.directory
    return {"area": area, "at": when, "on_call": directory.on_call(area, when, override),
            "override": override is not None,
            "policy": directory.policy_for(area).model_dump()}


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_id: str = Field(min_length=1, max_length=80)
    starts_at: datetime
    ends_at: datetime

    @model_validator(mode="after")
    def _ordered(self) -> OverrideIn:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("starts_at and ends_at need a time zone (e.g. Z)")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


@router.put("/v1/rota/{area}/overrides", dependencies=[MANAGE], tags=["rota"], status_code=201,
            summary="Put someone else on call for an area for a while (swap, sickness)")
def add_override(area: str, body: OverrideIn, core: Core) -> dict[str, Any]:
    if body.person_id not in core.directory.people:
        raise Unprocessable("unknown person", errors=[{"field": "person_id", "pointer": "/person_id",
                                                      "message": "not in the directory", "code": "unknown"}])
    override_id = new_id()
    with core.db.transaction() as s:
        s.execute(tables.rota_overrides.insert().values(
            override_id=override_id, area=area, person_id=body.person_id, starts_at=utc(body.starts_at),
            ends_at=utc(body.ends_at), created_at=core.clock.now()))
    return {"override_id": override_id, "area": area, "person_id": body.person_id,
            "starts_at": body.starts_at, "ends_at": body.ends_at}
