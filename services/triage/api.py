"""Triage's JSON API: everything the staff pages do, for scripts and other front ends.

Every route resolves the signed-in person from the session cookie and checks their role on the
server; state-changing calls also need the session's CSRF token in `X-CSRF-Token`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from services.triage.access import NotPermitted, Staff
from services.triage.accounts import AccountConflict, AccountFilter, InvalidUser, NewAccount, UnknownAccount
from services.triage.answers import (
    AccountOut,
    AccountRecordOut,
    CreatedAccountOut,
    DeclarationOut,
    DisabledAccountOut,
    HeldOut,
    IncidentOut,
    PasswordResetOut,
    PersonalDataViewOut,
    QueueItemOut,
    RulesetOut,
    StaffNameOut,
    TensionMapOut,
)
from services.triage.auth import BadCredentials, TooManyAttempts
from services.triage.deps import (
    COOKIE,
    AccountsDep,
    AuthDep,
    CurrentStaff,
    OversightDep,
    QueriesDep,
    SettingsDep,
    TensionDep,
    VigilDep,
    WorkflowDep,
    clear_session_cookie,
    client_address,
    set_session_cookie,
)
from services.triage.incident import AlreadyDone, IncidentError, InvalidCommand, UnknownIncident
from services.triage.oversight import ViewFilter
from services.triage.publishing import RulesetConflict
from services.triage.schemas import (
    AccountChange,
    Assign,
    Close,
    Declare,
    Introspect,
    IntrospectionOut,
    Lift,
    NewAreas,
    NewCentre,
    NewContact,
    NewPassword,
    NewRoles,
    NewUser,
    Override,
    RecordCia,
    Regrade,
    RequestCia,
    SessionOut,
    SignIn,
    Versioned,
)
from shared.clock import utc
from shared.events.incidents import Priority
from shared.personal import PersonalData
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
from shared.servicecalls import require_caller
from shared.staffaccess import INTROSPECT_PATH

STAFF_API: dict[int | str, dict[str, Any]] = {
    401: {"description": "not signed in (no session, or it ended); at sign-in, a wrong username or password"},
    403: {"description": "signed in, but with no role that allows this; or a change without the CSRF token"}}
CHANGE_REFUSED: dict[int | str, dict[str, Any]] = {
    409: {"description": "already done, no longer possible (closed, lifted), or changed since the version read"}}
router = APIRouter(responses=STAFF_API)


def session_body(staff: Staff) -> dict[str, Any]:
    return {"user_id": staff.user_id, "username": staff.username, "display_name": staff.display_name,
            "roles": sorted(staff.roles), "areas": sorted(staff.areas), "national": staff.national,
            "csrf_token": staff.csrf_token}


@router.post("/v1/session", tags=["session"], summary="Sign in; sets the session cookie", response_model=SessionOut,
             responses={429: {"description": "too many wrong passwords: wait `Retry-After` seconds"}})
def sign_in(body: SignIn, request: Request, auth: AuthDep, settings: SettingsDep,
            response: Response) -> dict[str, Any]:
    try:
        signed = auth.sign_in(body.username, body.password, client_address(request))
    except BadCredentials:
        raise Unauthorized("wrong username or password") from None
    except TooManyAttempts as e:
        raise TooManyRequests(str(e), headers={"Retry-After": str(e.retry_after)}) from None
    set_session_cookie(response, signed.token, settings)
    return session_body(signed.staff)


@router.get("/v1/session", tags=["session"], summary="Who is signed in, with the CSRF token",
            response_model=SessionOut)
def who(staff: CurrentStaff) -> dict[str, Any]:
    return session_body(staff)


@router.delete("/v1/session", tags=["session"], status_code=204, summary="Sign out")
def sign_out(request: Request, _staff: CurrentStaff, auth: AuthDep) -> Response:
    auth.sign_out(request.cookies.get(COOKIE))
    response = Response(status_code=204)
    clear_session_cookie(response)
    return response


def require_service(vigil: VigilDep, authorization: Annotated[str | None, Header()] = None) -> None:
    require_caller(vigil, authorization, {"intake", "notify", "assessment"})  # each checks its staff's sign-ins


@router.post(INTROSPECT_PATH, tags=["internal"], dependencies=[Depends(require_service)],
             response_model=IntrospectionOut, response_model_exclude_none=True,
             summary="Is this staff session signed in, and with which roles? For Vigil's services only",
             description="How notify and assessment check the staff who call them (ADR 0046), in the manner of "
                         "OAuth token introspection (RFC 7662): `active` false for an unknown, expired or "
                         "signed-out session. Using a session here counts as activity, as at triage itself.",
             responses={401: {"description": "no Vigil service's credential"},
                        403: {"description": "triage itself (it needs no introspection)"}})
def introspect(body: Introspect, auth: AuthDep) -> JSONResponse:
    staff = auth.resolve(body.token)
    answer = {"active": False} if staff is None else {"active": True, **session_body(staff)}
    return JSONResponse(answer, headers={"Cache-Control": "no-store"})


@router.get("/v1/incidents", tags=["incidents"], summary="The queue: by priority, then deadline",
            response_model=list[QueueItemOut])
def list_incidents(staff: CurrentStaff, queries: QueriesDep, area: str | None = None,
                   priority: Annotated[Priority | None, Query()] = None,
                   state: Annotated[str | None, Query(pattern="^(open|acknowledged|closed|all)$")] = None
                   ) -> list[dict[str, Any]]:
    return queries.queue(staff, area, priority.value if priority else None, state)


@router.get("/v1/held", tags=["incidents"], summary="Reports held for the reporting centre (caseworkers)",
            description="Reports whose reporter did not consent to sharing with the police: never in the queue; "
                        "`GET /v1/incidents/{id}` shows one to a caseworker and answers 404 to the police.",
            response_model=list[HeldOut])
def held(staff: CurrentStaff, queries: QueriesDep) -> list[dict[str, Any]]:
    return queries.held(staff)


@router.get("/v1/incidents/{incident_id}", tags=["incidents"], summary="An incident, its criteria and timeline",
            response_model=IncidentOut)
def get_incident(incident_id: str, staff: CurrentStaff, queries: QueriesDep) -> dict[str, Any]:
    return queries.incident(staff, incident_id)


@router.get("/v1/incidents/{incident_id}/personal", tags=["incidents"],
            summary="The reporter's personal data, from intake; each view is recorded", response_model=PersonalData,
            responses={410: {"description": "the reporter's personal data was erased"},
                       503: {"description": "intake could not be reached; try again"}})
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


@router.post("/v1/incidents/{incident_id}/acknowledge", tags=["actions"], summary="Acknowledge",
             responses=CHANGE_REFUSED, response_model=IncidentOut)
def acknowledge(incident_id: str, body: Versioned, staff: CurrentStaff, workflow: WorkflowDep,
                queries: QueriesDep) -> dict[str, Any]:
    workflow.acknowledge(incident_id, staff, body.version)
    return queries.incident(staff, incident_id)


@router.post("/v1/incidents/{incident_id}/assign", tags=["actions"], summary="Assign a Duty Inspector",
             responses=CHANGE_REFUSED, response_model=IncidentOut)
def assign(incident_id: str, body: Assign, staff: CurrentStaff, workflow: WorkflowDep,
           queries: QueriesDep) -> dict[str, Any]:
    workflow.assign(incident_id, staff, body.duty_inspector, body.version)
    return queries.incident(staff, incident_id)


@router.post("/v1/incidents/{incident_id}/override", tags=["actions"], summary="Override the criteria, with reason",
             responses=CHANGE_REFUSED, response_model=IncidentOut)
def override(incident_id: str, body: Override, staff: CurrentStaff, workflow: WorkflowDep,
             queries: QueriesDep) -> dict[str, Any]:
    workflow.override(incident_id, staff, body.priority, body.needs_duty_inspector, body.reason, body.version)
    return queries.incident(staff, incident_id)


@router.post("/v1/incidents/{incident_id}/regrade", tags=["actions"], summary="Change the 3x5x2 grading, with reason",
             responses=CHANGE_REFUSED, response_model=IncidentOut)
def regrade(incident_id: str, body: Regrade, staff: CurrentStaff, workflow: WorkflowDep,
            queries: QueriesDep) -> dict[str, Any]:
    workflow.regrade(incident_id, staff, body.grading(), body.reason, body.version)
    return queries.incident(staff, incident_id)


@router.post("/v1/incidents/{incident_id}/cia-requests", tags=["actions"],
             summary="Request a community impact assessment", responses=CHANGE_REFUSED, response_model=IncidentOut)
def request_cia(incident_id: str, body: RequestCia, staff: CurrentStaff, workflow: WorkflowDep,
                queries: QueriesDep) -> dict[str, Any]:
    workflow.request_cia(incident_id, staff, body.due_at, body.version)
    return queries.incident(staff, incident_id)


@router.post("/v1/incidents/{incident_id}/cia", tags=["actions"], summary="Record a community impact assessment",
             responses=CHANGE_REFUSED, response_model=IncidentOut)
def record_cia(incident_id: str, body: RecordCia, staff: CurrentStaff, workflow: WorkflowDep,
               queries: QueriesDep) -> dict[str, Any]:
    workflow.record_cia(incident_id, staff, body.community_tension, body.risk_of_disorder, body.communities,
                        body.notes, body.actions, body.next_review_at, body.version)
    return queries.incident(staff, incident_id)


@router.post("/v1/incidents/{incident_id}/close", tags=["actions"], summary="Close with an outcome",
             responses=CHANGE_REFUSED, response_model=IncidentOut)
def close(incident_id: str, body: Close, staff: CurrentStaff, workflow: WorkflowDep,
          queries: QueriesDep) -> dict[str, Any]:
    workflow.close(incident_id, staff, body.outcome, body.version)
    return queries.incident(staff, incident_id)


@router.get("/v1/duty-inspectors", tags=["incidents"], summary="Staff who can be assigned as Duty Inspector",
            response_model=list[StaffNameOut])
def duty_inspectors(staff: CurrentStaff, queries: QueriesDep) -> list[dict[str, str]]:
    return queries.duty_inspectors(staff)


@router.get("/v1/tension", tags=["tension"], summary="Heightened tension in force or planned, and proposals",
            response_model=TensionMapOut)
def tension(staff: CurrentStaff, queries: QueriesDep) -> dict[str, Any]:
    found = queries.tension_map(staff)
    return {"declarations": found.declarations, "proposals": found.proposals}


@router.post("/v1/tension", tags=["tension"], status_code=201, summary="Declare heightened tension (supervisors)",
             response_model=DeclarationOut)
def declare(body: Declare, staff: CurrentStaff, tension: TensionDep) -> dict[str, Any]:
    return tension.declare(staff, body.area, body.reason, body.starts_at, body.ends_at, body.proposal_id)


@router.post("/v1/tension/{tension_id}/lift", tags=["tension"], summary="Lift heightened tension (supervisors)",
             responses=CHANGE_REFUSED, response_model=DeclarationOut)
def lift(tension_id: str, body: Lift, staff: CurrentStaff, tension: TensionDep) -> dict[str, Any]:
    return tension.lift(staff, tension_id, body.reason)


@router.post("/v1/tension/proposals/{proposal_id}/dismiss", tags=["tension"], status_code=204,
             summary="Dismiss assessment's proposal (supervisors)", responses=CHANGE_REFUSED)
def dismiss(proposal_id: str, staff: CurrentStaff, tension: TensionDep) -> Response:
    tension.dismiss_proposal(staff, proposal_id)
    return Response(status_code=204)


@router.get("/v1/rulesets", tags=["rulesets"], summary="Published rulesets, newest (in force) first",
            response_model=list[RulesetOut])
def rulesets(staff: CurrentStaff, queries: QueriesDep) -> list[dict[str, Any]]:
    return queries.rulesets(staff)


@router.get("/v1/audit/personal-data-views", tags=["audit"],
            summary="Who looked at which reporter's personal details, newest first (supervisors, admins)",
            description="Filters combine; `X-Total-Count` counts every match, so a client can page with "
                        "`offset` and `limit`.", response_model=list[PersonalDataViewOut])
def personal_data_views(staff: CurrentStaff, oversight: OversightDep, response: Response,
                        incident_id: str | None = None, user_id: str | None = None,
                        reference: Annotated[str | None, Query(description="an incident's reference")] = None,
                        since: datetime | None = None, until: datetime | None = None,
                        offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
                        limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[dict[str, Any]]:
    wanted = ViewFilter(user_id, reference or incident_id, utc(since) if since else None,
                        utc(until) if until else None)
    found = oversight.personal_data_views(staff, wanted, offset, limit)
    response.headers["X-Total-Count"] = str(found.total)
    return found.rows


# --- staff accounts (admins) ----------------------------------------------------------------------

@contextmanager
def account_problems() -> Iterator[None]:
    """The accounts' refusals as the problems a client can act on."""
    try:
        yield
    except InvalidUser as e:
        raise Unprocessable(_sentence(e), errors=[{"field": e.field, "message": _sentence(e)}]) from e
    except UnknownAccount as e:
        raise NotFound(_sentence(e)) from e
    except AccountConflict as e:
        raise Conflict(_sentence(e)) from e


def _sentence(e: Exception) -> str:
    text = str(e)
    return text[:1].upper() + text[1:]


@router.get("/v1/users", tags=["users"], summary="Staff accounts, by name (admins)", response_model=list[AccountOut])
def users(staff: CurrentStaff, accounts: AccountsDep,
          q: Annotated[str, Query(description="part of a name or username")] = "",
          role: str = "", area: Annotated[str, Query(description='a force area code, or "national"')] = "",
          enabled: bool | None = None) -> list[dict[str, Any]]:
    return [a.as_json() for a in accounts.all(staff, AccountFilter(q, role, area, enabled))]


@router.post("/v1/users", tags=["users"], status_code=201, summary="Create a staff account (admins)",
             description="Without `password` Vigil makes a temporary one and answers it once, as "
                         "`temporary_password`; only its hash is kept.", response_model=CreatedAccountOut)
def create_user(body: NewUser, staff: CurrentStaff, accounts: AccountsDep) -> JSONResponse:
    with account_problems():
        created = accounts.create(staff, NewAccount(body.username, body.display_name, body.roles, body.areas,
                                                    body.email, body.phone, body.password, body.centre))
        account = accounts.get(staff, created.user_id)
    answer = account.as_json() | ({"temporary_password": created.temporary_password}
                                  if created.temporary_password else {})
    return JSONResponse(jsonable_encoder(answer), status_code=201, headers={"Cache-Control": "no-store"})


@router.get("/v1/users/{user_id}", tags=["users"], summary="One account, its recent sign-ins and its history",
            response_model=AccountRecordOut)
def user(user_id: str, staff: CurrentStaff, accounts: AccountsDep) -> dict[str, Any]:
    with account_problems():
        account, sign_ins, history = accounts.record(staff, user_id)
    return account.as_json() | {
        "sign_ins": [{"signed_in_at": r.signed_in_at, "network": r.network} for r in sign_ins],
        "history": [{"type": env.type, "at": env.time, **env.event().model_dump(mode="json")} for env in history]}


@router.post("/v1/users/{user_id}/disable", tags=["users"],
             summary="Disable an account: its sessions end at once, other services refuse it within their cache's "
                     "lifetime", response_model=DisabledAccountOut)
def disable_user(user_id: str, staff: CurrentStaff, accounts: AccountsDep,
                 body: AccountChange | None = None) -> dict[str, Any]:
    with account_problems():
        ended = accounts.disable(staff, user_id, body.reason if body else None)
        return accounts.get(staff, user_id).as_json() | {"sessions_ended": ended}


@router.post("/v1/users/{user_id}/enable", tags=["users"], summary="Enable a disabled account",
             response_model=AccountOut)
def enable_user(user_id: str, staff: CurrentStaff, accounts: AccountsDep,
                body: AccountChange | None = None) -> dict[str, Any]:
    with account_problems():
        accounts.enable(staff, user_id, body.reason if body else None)
        return accounts.get(staff, user_id).as_json()


@router.put("/v1/users/{user_id}/roles", tags=["users"], summary="Set an account's roles", response_model=AccountOut)
def set_roles(user_id: str, body: NewRoles, staff: CurrentStaff, accounts: AccountsDep) -> dict[str, Any]:
    with account_problems():
        accounts.set_roles(staff, user_id, body.roles, body.reason)
        return accounts.get(staff, user_id).as_json()


@router.put("/v1/users/{user_id}/areas", tags=["users"], summary="Set an account's areas (none: national)",
            response_model=AccountOut)
def set_areas(user_id: str, body: NewAreas, staff: CurrentStaff, accounts: AccountsDep) -> dict[str, Any]:
    with account_problems():
        accounts.set_areas(staff, user_id, body.areas, body.reason)
        return accounts.get(staff, user_id).as_json()


@router.put("/v1/users/{user_id}/centre", tags=["users"],
            summary="Set a caseworker's reporting centre (empty: the default centre); from their next request",
            response_model=AccountOut)
def set_centre(user_id: str, body: NewCentre, staff: CurrentStaff, accounts: AccountsDep) -> dict[str, Any]:
    with account_problems():
        accounts.set_centre(staff, user_id, body.centre, body.reason)
        return accounts.get(staff, user_id).as_json()


@router.put("/v1/users/{user_id}/contact", tags=["users"], summary="Set an account's email and phone",
            response_model=AccountOut)
def set_contact(user_id: str, body: NewContact, staff: CurrentStaff, accounts: AccountsDep) -> dict[str, Any]:
    with account_problems():
        accounts.set_contact(staff, user_id, body.email, body.phone)
        return accounts.get(staff, user_id).as_json()


@router.post("/v1/users/{user_id}/password", tags=["users"],
             summary="Reset a password: the one given, or a temporary one answered once; sessions end",
             response_model=PasswordResetOut)
def reset_password(user_id: str, staff: CurrentStaff, accounts: AccountsDep,
                   body: NewPassword | None = None) -> JSONResponse:
    with account_problems():
        temporary = accounts.reset_password(staff, user_id, body.password if body else None)
    answer = {"user_id": user_id} | ({"temporary_password": temporary} if temporary else {})
    return JSONResponse(answer, headers={"Cache-Control": "no-store"})


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
