"""Triage's internal routes for Vigil's own services: a Duty Inspector's answer to an alert, given from the
message itself (a signed link in the email, a code in an SMS reply) and relayed by notify; and the staff
accounts notify's rota names, with the contact details to page them at (asked at send time, never copied).

Notify checked the link or the reply and who it was for; triage checks the account is still there, enabled
and allowed to take a critical incident on, then records the same event its own Acknowledge button does, for
that account, saying how it came (`via`). Only notify's credential may call (docs/notify.md, "Answering
from the message").
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Response
from pydantic import BaseModel, ConfigDict, Field

from services.triage.access import Action, Staff
from services.triage.deps import VigilDep, WorkflowDep
from services.triage.incident import Incident
from services.triage.schemas import AnsweredOut, StaffContactOut
from services.triage.staff_store import AccountDetails, account_details, active_account
from services.triage.workflow import Workflow
from shared.problems import Forbidden, NotFound
from shared.servicecalls import require_caller

log = logging.getLogger(__name__)


def _notify_only(vigil: VigilDep, authorization: Annotated[str | None, Header()] = None) -> None:
    require_caller(vigil, authorization, {"notify"})


router = APIRouter(prefix="/internal/v1", tags=["internal"], dependencies=[Depends(_notify_only)], responses={
    401: {"description": "no Vigil service's credential"},
    403: {"description": "a service other than notify; or no enabled account by that name, or not one that may "
                        "take a critical incident on"},
    404: {"description": "no such incident, or no account by that username"},
    409: {"description": "already acknowledged (by whom, when) or closed"}})


class AnswerFromMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=120, description="the staff account the alert was sent to")
    link_id: str = Field(min_length=1, max_length=64, description="the signed link's id, or the SMS reply's")
    via: Literal["email link", "sms reply"]
    level: int = Field(0, ge=0, le=20, description="escalations: at least this level (where notify's chase is)")


@router.post("/incidents/{incident_id}/acknowledgements", status_code=201,
             summary="Acknowledge for a staff account, from the alert itself (for notify)", response_model=AnsweredOut)
def acknowledge(incident_id: str, body: AnswerFromMessage, workflow: WorkflowDep) -> dict[str, Any]:
    staff = _answering(workflow, body.username)
    incident = workflow.acknowledge(incident_id, staff, via=body.via)
    log.info("acknowledged from the message", extra={"incident_id": incident_id, "link_id": body.link_id,
                                                      "via": body.via})
    return _answer(incident, staff)


@router.post("/incidents/{incident_id}/escalations", status_code=201,
             summary="Escalate now for a staff account, from the alert itself (for notify)", response_model=AnsweredOut)
def escalate(incident_id: str, body: AnswerFromMessage, workflow: WorkflowDep) -> dict[str, Any]:
    staff = _answering(workflow, body.username)
    incident = workflow.escalate(incident_id, staff, body.level, via=body.via)
    log.info("escalated from the message", extra={"incident_id": incident_id, "link_id": body.link_id,
                                                   "via": body.via, "level": incident.escalation_level})
    return _answer(incident, staff)


def _answering(workflow: Workflow, username: str) -> Staff:
    with workflow.db.sessions() as s:
        account = active_account(s, username.strip().lower())
    if account is None:
        raise Forbidden(f"there is no enabled Vigil account named {username}")
    staff = account.as_staff("")
    if not staff.can(Action.acknowledge_critical):
        raise Forbidden("only a duty inspector or a supervisor can answer a Duty Inspector's alert")
    return staff


def _answer(incident: Incident, staff: Staff) -> dict[str, Any]:
    return {"incident_id": incident.incident_id, "reference": incident.reference, "state": incident.state.value,
            "by": staff.username, "by_name": staff.display_name, "acknowledged_at": incident.acknowledged_at,
            "escalation_level": incident.escalation_level, "at": incident.updated_at}


@router.get("/staff/{username}/contact", summary="A staff account's contact details (for notify's rota)",
            response_model=StaffContactOut)
def staff_contact(username: str, workflow: WorkflowDep, response: Response) -> dict[str, Any]:
    """A disabled account is answered too, as disabled: notify says why it paged someone else."""
    response.headers["Cache-Control"] = "no-store"
    with workflow.db.sessions() as s:
        found = account_details(s, username=username.strip().lower())
    if not found:
        raise NotFound(f"there is no Vigil account named {username}")
    return _contact(found[0])


@router.get("/staff", summary="Staff accounts with their contact details, by role and area (for notify)",
            response_model=list[StaffContactOut])
def staff_list(workflow: WorkflowDep, response: Response, role: str = "", area: str = "") -> list[dict[str, Any]]:
    """`area`: accounts covering it, national ones included; disabled accounts are listed, as disabled."""
    response.headers["Cache-Control"] = "no-store"
    with workflow.db.sessions() as s:
        found = account_details(s)
    return [_contact(a) for a in found
            if (not role or role in a.roles) and (not area or a.national or area in a.areas)]


def _contact(account: AccountDetails) -> dict[str, Any]:
    return {"username": account.username, "display_name": account.display_name, "roles": account.roles,
            "areas": account.areas, "enabled": account.enabled, "email": account.email, "phone": account.phone}
