"""Suspected flood groups in the JSON API: a supervisor looks, confirms a campaign or abuse, or splits members out.

Refusals are the workflow's (problem+json from `api.install_error_mapping`): another role 403, an unknown group
404, a missing reason or a stranger to the group 422, a group already confirmed or emptied 409.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from services.triage.api import CHANGE_REFUSED, STAFF_API
from services.triage.deps import CurrentStaff, WorkflowDep
from services.triage.grouping import GroupReview
from services.triage.groups import GroupState
from shared.events.incidents import Priority

router = APIRouter(tags=["groups"], responses={**STAFF_API, **CHANGE_REFUSED})


def _review(workflow: WorkflowDep) -> GroupReview:
    return GroupReview(workflow.db, workflow.incidents, workflow.clock, workflow.policy)


ReviewDep = Annotated[GroupReview, Depends(_review)]


class ConfirmGroup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500, description="why this is one campaign or abuse")


class SplitGroup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500, description="why these are separate incidents")
    incident_ids: list[str] = Field(default_factory=list, max_length=1000,
                                    description="the members to take out; none: every member")


class GroupListedOut(BaseModel):
    """A group as the list shows it (times as `Z`, as before the answers were typed)."""

    group_id: str
    area: str
    state: GroupState
    paged_by: str | None = Field(description="the member whose page stands for the group")
    members: int = Field(description="how many")
    formed_at: datetime
    last_member_at: datetime


class MemberOut(BaseModel):
    incident_id: str
    reference: str
    priority: Priority
    needs_duty_inspector: bool
    state: str = Field(description="open, acknowledged or closed")
    triaged_at: datetime


class GroupOut(BaseModel):
    """A group, its evidence and its members in the order they joined."""

    group_id: str
    area: str
    state: GroupState
    basis: str = Field(description='what the members share: "source" or "contact"')
    evidence: str
    paged_by: str | None = Field(description="the member whose page stands for the group")
    ruleset_version: str
    formed_at: datetime
    updated_at: datetime
    confirmed_by: str | None = Field(description="user id of the supervisor who confirmed it")
    reason: str | None = Field(description="why it was confirmed")
    version: int
    size: int
    members: list[MemberOut]


@router.get("/v1/groups", summary="Suspected flood groups, latest first (supervisors)",
            response_model=list[GroupListedOut])
def groups(staff: CurrentStaff, review: ReviewDep, state: GroupState | None = None) -> list[dict[str, Any]]:
    return review.listing(staff, state.value if state else None)


@router.get("/v1/groups/{group_id}", summary="A suspected flood group and its members (supervisors)",
            response_model=GroupOut)
def group(group_id: str, staff: CurrentStaff, review: ReviewDep) -> dict[str, Any]:
    return review.view(staff, group_id)


@router.post("/v1/groups/{group_id}/confirm", summary="Confirm one campaign or abuse from one source (supervisors)",
             response_model=GroupOut)
def confirm(group_id: str, body: ConfirmGroup, staff: CurrentStaff, review: ReviewDep) -> dict[str, Any]:
    review.confirm(staff, group_id, body.reason)
    return review.view(staff, group_id)


@router.post("/v1/groups/{group_id}/split",
             summary="Take members out of the group: each is its own incident again, paged if needed (supervisors)",
             response_model=GroupOut)
def split(group_id: str, body: SplitGroup, staff: CurrentStaff, review: ReviewDep) -> dict[str, Any]:
    review.split(staff, group_id, body.incident_ids, body.reason)
    return review.view(staff, group_id)
