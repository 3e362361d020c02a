"""Triage's JSON API: everything the staff pages do, for scripts and other front ends.

Every route resolves the signed-in person from the session cookie and checks their role on the
server; state-changing calls also need the session's CSRF token in `X-CSRF-Token`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from services.triage.access import Action, NotPermitted, Staff
from services.triage.auth import BadCredentials, InvalidUser, TooManyAttempts
from services.triage.deps import (
    COOKIE,
    AuthDep,
    CurrentStaff,
    QueriesDep,
    SettingsDep,
    TensionDep,
    VigilDep,
    WorkflowDep,
    clear_session_cookie,
    set_session_cookie,
)
from services.triage.incident import AlreadyDone, IncidentError, InvalidCommand, UnknownIncident
from services.triage.publishing import RulesetConflict
from services.triage.schemas import (
    Assign,
    Close,
    Declare,
    Introspect,
    Lift,
    NewUser,
    Override,
    RecordCia,
    Regrade,
    RequestCia,
    SignIn,
    Versioned,
)
from shared.events.incidents import Priority
from shared.problems import (
    Conflict,
    Gone,
    NotFound,
    Problem,
    TooManyRequests,
    Unauthorized,
    Unavailable,
    Unprocessable,
    problem_response,
)
from shared.staffaccess import INTROSPECT_PATH, require_service_credential

router = APIRouter()


def session_body(staff: Staff) -> dict[str, Any]:
    return {"user_id": staff.user_id, "username": staff.username, "display_name": staff.display_name,
            "roles": sorted(staff.roles), "csrf_token": staff.csrf_token}


@router.post("/v1/session", tags=["session"], summary="Sign in; sets the session cookie")
def sign_in(body: SignIn, auth: AuthDep, settings: SettingsDep, response: Response) -> dict[str, Any]:
    try:
        signed = auth.sign_in(body.username, body.password)
    except BadCredentials:
        raise Unauthorized("wrong username or password") from None
    except TooManyAttempts as e:
        raise TooManyRequests(str(e), headers={"Retry-After": str(e.retry_after)}) from None
    set_session_cookie(response, signed.token, settings)
    return session_body(signed.staff)


@router.get("/v1/session", tags=["session"], summary="Who is signed in, with the CSRF token")
def who(staff: CurrentStaff) -> dict[str, Any]:
    return session_body(staff)


@router.delete("/v1/session", tags=["session"], status_code=204, summary="Sign out")
def sign_out(request: Request, _staff: CurrentStaff, auth: AuthDep) -> Response:
    auth.sign_out(request.cookies.get(COOKIE))
    response = Response(status_code=204)
    clear_session_cookie(response)
    return response


def require_service(vigil: VigilDep, authorization: Annotated[str | None, Header()] = None) -> None:
    require_service_credential(vigil, authorization)


@router.post(INTROSPECT_PATH, tags=["internal"], dependencies=[Depends(require_service)],
             summary="Is this staff session signed in, and with which roles? For Vigil's services only",
             description="How notify and assessment check the staff who call them (ADR 0046), in the manner of "
                         "OAuth token introspection (RFC 7662): `active` false for an unknown, expired or "
                         "signed-out session. Using a session here counts as activity, as at triage itself.",
             responses={401: {"description": "no service credential"}})
def introspect(body: Introspect, auth: AuthDep) -> JSONResponse:
    staff = auth.resolve(body.token)
    answer = {"active": False} if staff is None else {"active": True, **session_body(staff)}
    return JSONResponse(answer, headers={"Cache-Control": "no-store"})


@router.get("/v1/incidents", tags=["incidents"], summary="The queue: by priority, then deadline")
def list_incidents(staff: CurrentStaff, queries: QueriesDep, area: str | None = None,
                   priority: Annotated[Priority | None, Query()] = None,
                   state: Annotated[str | None, Query(pattern="^(open|acknowledged|closed|all)$")] = None
                   ) -> list[dict[str, Any]]:
    return queries.queue(staff, area, priority.value if priority else None, state)


@router.get("/v1/incidents/{incident_id}", tags=["incidents"], summary="An incident, its criteria and timeline")
def get_incident(incident_id: str, staff: CurrentStaff, queries: QueriesDep) -> dict[str, Any]:
    return queries.incident(staff, incident_id)


@router.get("/v1/incidents/{incident_id}/personal", tags=["incidents"],
            summary="The reporter's personal data, from intake; each view is recorded")
def personal(incident_id: str, staff: CurrentStaff, workflow: WorkflowDep) -> JSONResponse:
    outcome, data = workflow.record_personal_view(incident_id, staff)
    if outcome == "erased":
        raise Gone("the reporter's personal data was erased")
    if outcome == "unavailable":
        raise Unavailable("intake could not be reached; try again")
    return JSONResponse(data, headers={"Cache-Control": "no-store"})


@router.post("/v1/incidents/{incident_id}/viewing", tags=["incidents"], status_code=204,
             summary="I am looking at this incident (shown to colleagues as 'being viewed by')")
def viewing(incident_id: str, staff: CurrentStaff, workflow: WorkflowDep) -> Response:
    workflow.viewing(incident_id, staff)
    return Response(status_code=204)


@router.post("/v1/incidents/{incident_id}/acknowledge", tags=["actions"], summary="Acknowledge")
def acknowledge(incident_id: str, body: Versioned, staff: CurrentStaff, workflow: WorkflowDep,
                queries: QueriesDep) -> dict[str, Any]:
    workflow.acknowledge(incident_id, staff, body.version)
    return queries.incident(staff, incident_id)


@router.post("/v1/incidents/{incident_id}/assign", tags=["actions"], summary="Assign a Duty Inspector")
def assign(incident_id: str, body: Assign, staff: CurrentStaff, workflow: WorkflowDep,
           queries: QueriesDep) -> dict[str, Any]:
    workflow.assign(incident_id, staff, body.duty_inspector, body.version)
    return queries.incident(staff, incident_id)


@router.post("/v1/incidents/{incident_id}/override", tags=["actions"], summary="Override the criteria, with reason")
def override(incident_id: str, body: Override, staff: CurrentStaff, workflow: WorkflowDep,
             queries: QueriesDep) -> dict[str, Any]:
    workflow.override(incident_id, staff, body.priority, body.needs_duty_inspector, body.reason, body.version)
    return queries.incident(staff, incident_id)


@router.post("/v1/incidents/{incident_id}/regrade", tags=["actions"], summary="Change the 3x5x2 grading, with reason")
def regrade(incident_id: str, body: Regrade, staff: CurrentStaff, workflow: WorkflowDep,
            queries: QueriesDep) -> dict[str, Any]:
    workflow.regrade(incident_id, staff, body.grading(), body.reason, body.version)
    return queries.incident(staff, incident_id)


@router.post("/v1/incidents/{incident_id}/cia-requests", tags=["actions"],
             summary="Request a community impact assessment")
def request_cia(incident_id: str, body: RequestCia, staff: CurrentStaff, workflow: WorkflowDep,
                queries: QueriesDep) -> dict[str, Any]:
    workflow.request_cia(incident_id, staff, body.due_at, body.version)
    return queries.incident(staff, incident_id)


@router.post("/v1/incidents/{incident_id}/cia", tags=["actions"], summary="Record a community impact assessment")
def record_cia(incident_id: str, body: RecordCia, staff: CurrentStaff, workflow: WorkflowDep,
               queries: QueriesDep) -> dict[str, Any]:
    workflow.record_cia(incident_id, staff, body.community_tension, body.risk_of_disorder, body.communities,
                        body.notes, body.actions, body.next_review_at, body.version)
    return queries.incident(staff, incident_id)


@router.post("/v1/incidents/{incident_id}/close", tags=["actions"], summary="Close with an outcome")
def close(incident_id: str, body: Close, staff: CurrentStaff, workflow: WorkflowDep,
          queries: QueriesDep) -> dict[str, Any]:
    workflow.close(incident_id, staff, body.outcome, body.version)
    return queries.incident(staff, incident_id)


@router.get("/v1/duty-inspectors", tags=["incidents"], summary="Staff who can be assigned as Duty Inspector")
def duty_inspectors(staff: CurrentStaff, queries: QueriesDep) -> list[dict[str, str]]:
    return queries.duty_inspectors(staff)


@router.get("/v1/tension", tags=["tension"], summary="Heightened tension in force or planned, and proposals")
def tension(staff: CurrentStaff, queries: QueriesDep) -> dict[str, Any]:
    found = queries.tension_map(staff)
    return {"declarations": found.declarations, "proposals": found.proposals}


@router.post("/v1/tension", tags=["tension"], status_code=201, summary="Declare heightened tension (supervisors)")
def declare(body: Declare, staff: CurrentStaff, tension: TensionDep) -> dict[str, Any]:
    return tension.declare(staff, body.area, body.reason, body.starts_at, body.ends_at, body.proposal_id)


@router.post("/v1/tension/{tension_id}/lift", tags=["tension"], summary="Lift heightened tension (supervisors)")
def lift(tension_id: str, body: Lift, staff: CurrentStaff, tension: TensionDep) -> dict[str, Any]:
    return tension.lift(staff, tension_id, body.reason)


@router.post("/v1/tension/proposals/{proposal_id}/dismiss", tags=["tension"], status_code=204,
             summary="Dismiss assessment's proposal (supervisors)")
def dismiss(proposal_id: str, staff: CurrentStaff, tension: TensionDep) -> Response:
    tension.dismiss_proposal(staff, proposal_id)
    return Response(status_code=204)


@router.get("/v1/rulesets", tags=["rulesets"], summary="Published rulesets, newest (in force) first")
def rulesets(staff: CurrentStaff, queries: QueriesDep) -> list[dict[str, Any]]:
    return queries.rulesets(staff)


@router.get("/v1/audit/personal-data-views", tags=["audit"],
            summary="Who looked at which reporter's personal details, newest first (supervisors, admins)")
def personal_data_views(staff: CurrentStaff, queries: QueriesDep, incident_id: str | None = None,
                        limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[dict[str, Any]]:
    return queries.personal_data_views(staff, incident_id, limit)


@router.get("/v1/users", tags=["users"], summary="Staff accounts (admins)")
def users(staff: CurrentStaff, queries: QueriesDep) -> list[dict[str, Any]]:
    return queries.accounts(staff)


@router.post("/v1/users", tags=["users"], status_code=201, summary="Create a staff account (admins)")
def create_user(body: NewUser, staff: CurrentStaff, auth: AuthDep) -> dict[str, Any]:
    staff.require(Action.manage_users)
    try:
        user_id = auth.create_user(body.username, body.display_name, body.password, body.roles)
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
