"""The bodies of triage's commands: the JSON API validates requests into them, the staff pages their forms."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from services.triage.incident import Level, Outcome
from shared.clock import utc
from shared.events.incidents import Priority
from shared.events.reports import Grading

# A time without a zone is taken to be UTC (a form's datetime-local has none).
UtcDateTime = Annotated[datetime, AfterValidator(utc)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignIn(_Body):
    username: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=200)


class Introspect(_Body):
    token: str = Field(min_length=1, max_length=200)


class NewUser(_Body):
    username: str = Field(min_length=2, max_length=80)
    display_name: str = Field(min_length=1, max_length=120)
    password: str | None = Field(None, min_length=1, max_length=200,
                                 description="leave out to have Vigil make a temporary one, answered once")
    roles: list[str] = Field(min_length=1, description="staff roles (shared.staffaccess.Role)")
    areas: list[str] = Field([], description="police force area codes; none means national")
    email: str | None = Field(None, max_length=254, description="for notifications")
    phone: str | None = Field(None, max_length=32, description="for notifications (SMS)")
    centre: str | None = Field(None, max_length=64, description=(
        "a caseworker's reporting centre, as intake knows it; left out: the deployment's default centre"))


class AccountChange(_Body):
    reason: str = Field("", max_length=500, description="why, for the account's history")


class NewRoles(AccountChange):
    roles: list[str] = Field(min_length=1)


class NewAreas(AccountChange):
    areas: list[str] = Field([], description="police force area codes; none means national")


class NewCentre(AccountChange):
    centre: str | None = Field(None, max_length=64, description=(
        "a caseworker's reporting centre, as intake knows it; empty or left out: the deployment's default centre"))


class NewContact(_Body):
    email: str | None = Field(None, max_length=254, description="empty or left out: none")
    phone: str | None = Field(None, max_length=32, description="empty or left out: none")


class NewPassword(_Body):
    password: str | None = Field(None, min_length=1, max_length=200,
                                 description="leave out to have Vigil make a temporary one, answered once")


class Versioned(_Body):
    version: int | None = Field(None, description="the incident version you acted on; a later one gives 409")


class Assign(Versioned):
    duty_inspector: str = Field(description="user id of a member of staff with the duty_inspector role")


class Override(Versioned):
    priority: Priority
    needs_duty_inspector: bool
    reason: str = Field(min_length=1, max_length=500)


class Regrade(Versioned):
    source: str = Field(pattern="^[123]$", description="1 reliable, 2 untested, 3 not reliable")
    intelligence: str = Field(pattern="^[A-E]$", description="A known directly ... E suspected to be false")
    handling: str = Field(pattern="^[PC]$", description="P sharing permitted, C sharing with conditions")
    reason: str = Field(min_length=1, max_length=500)

    def grading(self) -> Grading:
        return Grading(source=self.source, intelligence=self.intelligence, handling=self.handling)


class RequestCia(Versioned):
    due_at: UtcDateTime | None = None


class RecordCia(Versioned):
    community_tension: Level
    risk_of_disorder: Level
    communities: str = Field("", max_length=2000)
    notes: str = Field("", max_length=10000)
    actions: str = Field("", max_length=5000)
    next_review_at: UtcDateTime | None = None


class Close(Versioned):
    outcome: Outcome


class Declare(_Body):
    area: str = Field(description='a police force area code, or "national"')
    reason: str = Field(min_length=1, max_length=500)
    starts_at: UtcDateTime | None = None
    ends_at: UtcDateTime | None = None
    proposal_id: str | None = None


class Lift(_Body):
    reason: str = Field("", max_length=500)


# -- answers --------------------------------------------------------------------------------------


class SessionOut(BaseModel):
    """Who is signed in: what `GET /v1/session` answers, and introspection for an active session."""

    user_id: str
    username: str
    display_name: str
    roles: list[str]
    areas: list[str] = Field(description="the force areas the account is limited to; empty: national")
    national: bool
    csrf_token: str = Field(description="send as X-CSRF-Token on changes made with the cookie")


class IntrospectionOut(BaseModel):
    """`active` false (and nothing else) for an unknown, expired or signed-out session."""

    active: bool
    user_id: str | None = None
    username: str | None = None
    display_name: str | None = None
    roles: list[str] | None = None
    areas: list[str] | None = None
    national: bool | None = None
    csrf_token: str | None = None


class StaffContactOut(BaseModel):
    """A staff account as notify's rota needs it: disabled accounts too, as disabled."""

    username: str
    display_name: str
    roles: list[str]
    areas: list[str] = Field(description="empty: national")
    enabled: bool
    email: str | None
    phone: str | None


class AnsweredOut(BaseModel):
    """An alert answered from the message: the incident as it now stands, and who answered."""

    incident_id: str
    reference: str
    state: str
    by: str
    by_name: str
    acknowledged_at: datetime | None
    escalation_level: int
    at: datetime | None
