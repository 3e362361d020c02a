"""Triage's JSON API: everything the staff pages do, for scripts and other front ends.

Every route resolves the signed-in person from the session cookie and checks their role on the
server; state-changing calls also need the session's CSRF token in `X-CSRF-Token`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, Response, Security
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyCookie, APIKeyHeader
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from services.triage import tables, views
from services.triage.access import Action, NotPermitted, Staff
from services.triage.application import UnknownIncident
from services.triage.auth import BadCredentials, InvalidUser, TooManyAttempts, csrf_matches
from services.triage.incident import AlreadyDone, IncidentError, InvalidCommand, Level, Outcome
from services.triage.stores import RulesetConflict
from shared.clock import utc
from shared.events.incidents import Priority
from shared.events.reports import Grading
from shared.problems import (
    Conflict,
    Forbidden,
    Gone,
    NotFound,
    Problem,
    TooManyRequests,
    Unauthorized,
    Unavailable,
    Unprocessable,
    problem_response,
)
from shared.staffaccess import INTROSPECT_PATH, SESSION_COOKIE, require_service_credential

if TYPE_CHECKING:
    from services.triage.main import Triage

COOKIE = SESSION_COOKIE  # notify and assessment read it too (shared/staffaccess.py)
SAFE = {"GET", "HEAD", "OPTIONS"}
router = APIRouter()


def triage_of(request: Request) -> Triage:
    triage: Triage = request.app.state.triage
    return triage


session_cookie = APIKeyCookie(name=COOKIE, auto_error=False, description="the session set by POST /v1/session")
csrf_header = APIKeyHeader(name="X-CSRF-Token", auto_error=False,
                           description="the session's CSRF token (from POST or GET /v1/session); needed on changes")


def current_staff(request: Request, token: Annotated[str | None, Security(session_cookie)] = None,
                  csrf: Annotated[str | None, Security(csrf_header)] = None) -> Staff:
    staff = triage_of(request).auth.resolve(token)
    if staff is None:
        raise Unauthorized("sign in first (POST /v1/session)", headers={"WWW-Authenticate": "Cookie"})
    if request.method not in SAFE and not csrf_matches(staff, csrf):
        raise Forbidden("missing or wrong CSRF token: send X-CSRF-Token as given by GET /v1/session")
    return staff


TriageDep = Annotated["Triage", Depends(triage_of)]
StaffDep = Annotated[Staff, Depends(current_staff)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignIn(_Body):
    username: str = Field(min_length=1, max_length=80)
    password: str = Field(min_length=1, max_length=200)


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


class RequestCia(Versioned):
    due_at: datetime | None = None


class RecordCia(Versioned):
    community_tension: Level
    risk_of_disorder: Level
    communities: str = Field("", max_length=2000)
    notes: str = Field("", max_length=10000)
    actions: str = Field("", max_length=5000)
    next_review_at: datetime | None = None


class Close(Versioned):
    outcome: Outcome


class Declare(_Body):
    area: str = Field(description='a police force area code, or "national"')
    reason: str = Field(min_length=1, max_length=500)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    proposal_id: str | None = None


class Lift(_Body):
    reason: str = Field("", max_length=500)


def session_body(staff: Staff) -> dict[str, Any]:
    return {"user_id": staff.user_id, "username": staff.username, "display_name": staff.display_name,
            "roles": sorted(staff.roles), "csrf_token": staff.csrf_token}


@router.post("/v1/session", tags=["session"], summary="Sign in; sets the session cookie")
def sign_in(body: SignIn, triage: TriageDep, response: Response) -> dict[str, Any]:
    try:
        signed = triage.auth.sign_in(body.username, body.password)
    except BadCredentials:
        raise Unauthorized("wrong username or password") from None
    except TooManyAttempts as e:
        raise TooManyRequests(str(e), headers={"Retry-After": str(e.retry_after)}) from None
    set_session_cookie(response, signed.token, triage)
    return session_body(signed.staff)


def set_session_cookie(response: Response, token: str, triage: Triage) -> None:
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=triage.settings.secure_cookies,
                        max_age=triage.settings.session_max_hours * 3600, path="/")


@router.get("/v1/session", tags=["session"], summary="Who is signed in, with the CSRF token")
def who(staff: StaffDep) -> dict[str, Any]:
    return session_body(staff)


@router.delete("/v1/session", tags=["session"], status_code=204, summary="Sign out")
def sign_out(request: Request, _staff: StaffDep, triage: TriageDep) -> Response:
    triage.auth.sign_out(request.cookies.get(COOKIE))
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/")
    return response


class Introspect(_Body):
    token: str = Field(min_length=1, max_length=200)


def require_service(request: Request, authorization: Annotated[str | None, Header()] = None) -> None:
    require_service_credential(triage_of(request).vigil, authorization)


@router.post(INTROSPECT_PATH, tags=["internal"], dependencies=[Depends(require_service)],
             summary="Is this staff session signed in, and with which roles? For Vigil's services only",
             description="How notify and assessment check the staff who call them (ADR 0046), in the manner of "
                         "OAuth token introspection (RFC 7662): `active` false for an unknown, expired or "
                         "signed-out session. Using a session here counts as activity, as at triage itself.",
             responses={401: {"description": "no service credential"}})
def introspect(body: Introspect, triage: TriageDep) -> JSONResponse:
    staff = triage.auth.resolve(body.token)
    answer = {"active": False} if staff is None else {"active": True, **session_body(staff)}
    return JSONResponse(answer, headers={"Cache-Control": "no-store"})


@router.get("/v1/incidents", tags=["incidents"], summary="The queue: by priority, then deadline")
def list_incidents(staff: StaffDep, triage: TriageDep, area: str | None = None,
                   priority: Annotated[Priority | None, Query()] = None,
                   state: Annotated[str | None, Query(pattern="^(open|acknowledged|closed|all)$")] = None
                   ) -> list[dict[str, Any]]:
    staff.require(Action.view_queue)
    with triage.db.sessions() as s:
        return views.queue(s, triage.clock.now(), area, priority.value if priority else None, state)


@router.get("/v1/incidents/{incident_id}", tags=["incidents"], summary="An incident, its criteria and timeline")
def get_incident(incident_id: str, staff: StaffDep, triage: TriageDep) -> dict[str, Any]:
    return incident_detail(triage, incident_id, staff)


def incident_detail(triage: Triage, incident_id: str, staff: Staff) -> dict[str, Any]:
    staff.require(Action.view_queue)
    app, now = triage.app, triage.clock.now()
    with triage.db.snapshot() as s:   # the incident, its timeline and who is looking, as of one moment
        incident, history = app.with_history(s, incident_id)
        facts = app.facts_of(incident.report_id, s)
        names = views.display_names(s)
        watching = views.viewers(s, now, [incident_id]).get(incident_id, [])
    return views.incident_view(incident, facts, history, names, watching, staff, now)


@router.get("/v1/incidents/{incident_id}/personal", tags=["incidents"],
            summary="The reporter's personal data, from intake; each view is recorded")
def personal(incident_id: str, staff: StaffDep, triage: TriageDep) -> JSONResponse:
    staff.require(Action.view_personal)
    outcome, data = triage.app.record_personal_view(triage.app.get(incident_id), staff)
    if outcome == "erased":
        raise Gone("the reporter's personal data was erased")
    if outcome == "unavailable":
        raise Unavailable("intake could not be reached; try again")
    return JSONResponse(data, headers={"Cache-Control": "no-store"})


@router.post("/v1/incidents/{incident_id}/viewing", tags=["incidents"], status_code=204,
             summary="I am looking at this incident (shown to colleagues as 'being viewed by')")
def viewing(incident_id: str, staff: StaffDep, triage: TriageDep) -> Response:
    staff.require(Action.view_queue)
    with triage.db.transaction() as s:
        views.mark_viewing(s, incident_id, staff, triage.clock.now())
    return Response(status_code=204)


@router.post("/v1/incidents/{incident_id}/acknowledge", tags=["actions"], summary="Acknowledge")
def acknowledge(incident_id: str, body: Versioned, staff: StaffDep, triage: TriageDep) -> dict[str, Any]:
    triage.app.acknowledge(incident_id, staff, body.version)
    return incident_detail(triage, incident_id, staff)


@router.post("/v1/incidents/{incident_id}/assign", tags=["actions"], summary="Assign a Duty Inspector")
def assign(incident_id: str, body: Assign, staff: StaffDep, triage: TriageDep) -> dict[str, Any]:
    triage.app.assign(incident_id, staff, body.duty_inspector, body.version)
    return incident_detail(triage, incident_id, staff)


@router.post("/v1/incidents/{incident_id}/override", tags=["actions"], summary="Override the criteria, with reason")
def override(incident_id: str, body: Override, staff: StaffDep, triage: TriageDep) -> dict[str, Any]:
    triage.app.override(incident_id, staff, body.priority, body.needs_duty_inspector, body.reason, body.version)
    return incident_detail(triage, incident_id, staff)


@router.post("/v1/incidents/{incident_id}/regrade", tags=["actions"], summary="Change the 3x5x2 grading, with reason")
def regrade(incident_id: str, body: Regrade, staff: StaffDep, triage: TriageDep) -> dict[str, Any]:
    grading = Grading(source=body.source, intelligence=body.intelligence, handling=body.handling)
    triage.app.regrade(incident_id, staff, grading, body.reason, body.version)
    return incident_detail(triage, incident_id, staff)


@router.post("/v1/incidents/{incident_id}/cia-requests", tags=["actions"],
             summary="Request a community impact assessment")
def request_cia(incident_id: str, body: RequestCia, staff: StaffDep, triage: TriageDep) -> dict[str, Any]:
    triage.app.request_cia(incident_id, staff, utc(body.due_at) if body.due_at else None, body.version)
    return incident_detail(triage, incident_id, staff)


@router.post("/v1/incidents/{incident_id}/cia", tags=["actions"], summary="Record a community impact assessment")
def record_cia(incident_id: str, body: RecordCia, staff: StaffDep, triage: TriageDep) -> dict[str, Any]:
    triage.app.record_cia(incident_id, staff, body.community_tension, body.risk_of_disorder, body.communities,
                          body.notes, body.actions, utc(body.next_review_at) if body.next_review_at else None,
                          body.version)
    return incident_detail(triage, incident_id, staff)


@router.post("/v1/incidents/{incident_id}/close", tags=["actions"], summary="Close with an outcome")
def close(incident_id: str, body: Close, staff: StaffDep, triage: TriageDep) -> dict[str, Any]:
    triage.app.close(incident_id, staff, body.outcome, body.version)
    return incident_detail(triage, incident_id, staff)


@router.get("/v1/duty-inspectors", tags=["incidents"], summary="Staff who can be assigned as Duty Inspector")
def duty_inspectors(staff: StaffDep, triage: TriageDep) -> list[dict[str, str]]:
    staff.require(Action.view_queue)
    return triage.auth.staff_with_role("duty_inspector")


@router.get("/v1/tension", tags=["tension"], summary="Heightened tension in force or planned, and proposals")
def tension(staff: StaffDep, triage: TriageDep) -> dict[str, Any]:
    staff.require(Action.view_queue)
    with triage.db.snapshot() as s:
        now = triage.clock.now()
        return {"declarations": triage.app.tension.current(s, now),
                "proposals": triage.app.tension.proposals(s) if staff.can(Action.declare_tension) else []}


@router.post("/v1/tension", tags=["tension"], status_code=201, summary="Declare heightened tension (supervisors)")
def declare(body: Declare, staff: StaffDep, triage: TriageDep) -> dict[str, Any]:
    return triage.app.declare_tension(staff, body.area, body.reason, utc(body.starts_at) if body.starts_at else None,
                                      utc(body.ends_at) if body.ends_at else None, body.proposal_id)


@router.post("/v1/tension/{tension_id}/lift", tags=["tension"], summary="Lift heightened tension (supervisors)")
def lift(tension_id: str, body: Lift, staff: StaffDep, triage: TriageDep) -> dict[str, Any]:
    return triage.app.lift_tension(staff, tension_id, body.reason)


@router.post("/v1/tension/proposals/{proposal_id}/dismiss", tags=["tension"], status_code=204,
             summary="Dismiss assessment's proposal (supervisors)")
def dismiss(proposal_id: str, staff: StaffDep, triage: TriageDep) -> Response:
    triage.app.dismiss_proposal(staff, proposal_id)
    return Response(status_code=204)


@router.get("/v1/rulesets", tags=["rulesets"], summary="Published rulesets, newest (in force) first")
def rulesets(staff: StaffDep, triage: TriageDep) -> list[dict[str, Any]]:
    staff.require(Action.view_queue)
    with triage.db.sessions() as s:
        return triage.app.rulesets.listing(s)


@router.get("/v1/audit/personal-data-views", tags=["audit"],
            summary="Who looked at which reporter's personal details, newest first (supervisors, admins)")
def personal_data_views(staff: StaffDep, triage: TriageDep, incident_id: str | None = None,
                        limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[dict[str, Any]]:
    staff.require(Action.view_audit)
    v = tables.personal_data_views
    q = select(v).order_by(v.c.viewed_at.desc(), v.c.id.desc()).limit(limit)
    if incident_id:
        q = q.where(v.c.incident_id == incident_id)
    with triage.db.sessions() as s:
        names = views.display_names(s)
        return [dict(r) | {"display_name": names.get(r["user_id"])} for r in s.execute(q).mappings()]


class NewUser(_Body):
    username: str = Field(min_length=2, max_length=80)
    display_name: str = Field(min_length=1, max_length=120)
    password: str = Field(min_length=1, max_length=200)
    roles: list[str] = Field(min_length=1)


@router.get("/v1/users", tags=["users"], summary="Staff accounts (admins)")
def users(staff: StaffDep, triage: TriageDep) -> list[dict[str, Any]]:
    staff.require(Action.manage_users)
    u = tables.staff_users
    with triage.db.sessions() as s:
        rows = s.execute(select(u.c.user_id, u.c.username, u.c.display_name, u.c.roles, u.c.active, u.c.created_at)
                         .order_by(u.c.username)).mappings()
        return [dict(r) | {"roles": r["roles"].split(",")} for r in rows]


@router.post("/v1/users", tags=["users"], status_code=201, summary="Create a staff account (admins)")
def create_user(body: NewUser, staff: StaffDep, triage: TriageDep) -> dict[str, Any]:
    staff.require(Action.manage_users)
    try:
        user_id = triage.auth.create_user(body.username, body.display_name, body.password, body.roles)
    except InvalidUser as e:
        raise Unprocessable(str(e), errors=[{"field": e.field, "message": str(e)}]) from e
    return {"user_id": user_id, "username": body.username.strip().lower(), "roles": sorted(set(body.roles))}


def install_error_mapping(app: FastAPI) -> None:
    """Domain refusals become problem+json with the status a client can act on."""

    @app.exception_handler(IncidentError)
    async def _incident(request: Request, exc: IncidentError) -> JSONResponse:
        if isinstance(exc, UnknownIncident):
            p: Problem = NotFound(str(exc))
        elif isinstance(exc, InvalidCommand):
            p = Unprocessable(str(exc), errors=[{"field": exc.field, "message": str(exc)}])
        elif isinstance(exc, AlreadyDone):
            p = Conflict(str(exc))
        else:
            p = Problem(str(exc))
        return problem_response(p.status, p.title, p.detail, instance=request.url.path, **p.extra)

    @app.exception_handler(NotPermitted)
    async def _forbidden(request: Request, exc: NotPermitted) -> JSONResponse:
        return problem_response(403, "Forbidden", str(exc), instance=request.url.path)

    @app.exception_handler(RulesetConflict)
    async def _ruleset(request: Request, exc: RulesetConflict) -> JSONResponse:
        return problem_response(409, "Conflict", str(exc), instance=request.url.path)
