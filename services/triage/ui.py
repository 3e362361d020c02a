"""The staff pages: sign-in, the queue, an incident, heightened tension. Server-rendered, roles checked here.

The pages post ordinary forms carrying the session's CSRF token; each form is parsed into the JSON API's
body model and goes through the same use cases, so a forged button meets the same refusal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel

from services.triage.access import Action, NotPermitted, Staff
from services.triage.auth import BadCredentials, TooManyAttempts, csrf_matches
from services.triage.deps import (
    COOKIE,
    AuthDep,
    PageStaff,
    QueriesDep,
    SettingsDep,
    TensionDep,
    WorkflowDep,
    clear_session_cookie,
    set_session_cookie,
)
from services.triage.forms import FormDep, FormInvalid
from services.triage.incident import AlreadyDone, IncidentError, Level, Outcome, UnknownIncident
from services.triage.queries import Queries
from services.triage.schemas import (
    Assign,
    Close,
    Declare,
    Lift,
    Override,
    RecordCia,
    Regrade,
    RequestCia,
    SignIn,
    Versioned,
)
from services.triage.workflow import Workflow
from shared.areas import default_registry
from shared.clock import utc
from shared.events.incidents import NATIONAL, Priority

B = TypeVar("B", bound=BaseModel)
router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
EXPIRED = "This form has expired. Go back, reload the page and try again."


def _left(seconds: int | None) -> str:
    if seconds is None:
        return ""
    sign, seconds = ("overdue " if seconds < 0 else ""), abs(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return sign + (f"{h}h {m:02d}m" if h else f"{m}m {s:02d}s")


def _when(value: datetime | str | None) -> str:
    if isinstance(value, str):
        value = utc(datetime.fromisoformat(value))
    return value.strftime("%d %b %Y %H:%M:%S UTC") if value else ""


templates.env.filters["left"] = _left
templates.env.filters["when"] = _when
templates.env.filters["words"] = lambda v: str(v or "").replace("_", " ")


def render(request: Request, name: str, staff: Staff | None, status: int = 200, **context: Any) -> HTMLResponse:
    areas = default_registry().all()
    response = templates.TemplateResponse(request, name, {
        "staff": staff, "Action": Action, "areas": areas, "area_names": {a.code: a.name for a in areas},
        **context}, status_code=status)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cache-Control"] = "no-store"
    return response


def to_login(request: Request) -> RedirectResponse:
    return RedirectResponse("/login?" + urlencode({"next": request.url.path}), status_code=303)


def refuse(request: Request, staff: Staff, message: str, status: int = 403) -> HTMLResponse:
    return render(request, "error.html", staff, status=status, message=message)


def _sentence(e: Exception) -> str:
    text = str(e).splitlines()[0] if str(e) else "that did not work"
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else "/queue"


# --- signing in and out ---------------------------------------------------------------------------

@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/queue", status_code=303)


@router.get("/login")
def login_page(request: Request, next: str = "/queue") -> Response:
    return render(request, "login.html", None, next=_safe_next(next))


@router.post("/login")
def login(request: Request, form: FormDep, auth: AuthDep, settings: SettingsDep) -> Response:
    target, username = _safe_next(form.fields.get("next", "/queue")), form.get("username")
    try:
        body = form.parse(SignIn)
        signed = auth.sign_in(body.username, body.password)
    except (FormInvalid, BadCredentials):
        return render(request, "login.html", None, status=401, next=target, username=username,
                      error="Wrong username or password.")
    except TooManyAttempts as e:
        return render(request, "login.html", None, status=429, next=target, username=username, error=_sentence(e))
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, signed.token, settings)
    return response


@router.post("/logout")
def logout(request: Request, staff: PageStaff, form: FormDep, auth: AuthDep) -> Response:
    if staff is not None and csrf_matches(staff, form.get("csrf_token")):
        auth.sign_out(request.cookies.get(COOKIE))
    response = RedirectResponse("/login", status_code=303)
    clear_session_cookie(response)
    return response


# --- the queue ------------------------------------------------------------------------------------

@router.get("/queue")
def queue_page(request: Request, staff: PageStaff, queries: QueriesDep, settings: SettingsDep, area: str = "",
               priority: str = "", state: str = "") -> Response:
    if staff is None:
        return to_login(request)
    filters = {"area": area, "priority": priority, "state": state}
    return render(request, "queue.html", staff, rows=_rows(queries, staff, filters), filters=filters,
                  priorities=list(Priority), query=urlencode({k: v for k, v in filters.items() if v}),
                  refresh_ms=int(settings.queue_refresh_seconds * 1000))


@router.get("/queue/rows")
def queue_rows(request: Request, staff: PageStaff, queries: QueriesDep, area: str = "", priority: str = "",
               state: str = "") -> Response:
    if staff is None:
        return Response(status_code=401)
    return render(request, "_rows.html", staff, rows=_rows(queries, staff, {"area": area, "priority": priority,
                                                                             "state": state}))


def _rows(queries: Queries, staff: Staff, f: dict[str, str]) -> list[dict[str, Any]]:
    priority = f["priority"] if f["priority"] in set(Priority) else None
    return queries.queue(staff, f["area"] or None, priority, f["state"] or None)


# --- an incident ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class IncidentPage:
    """What an incident's page reads (the incident, the Duty Inspectors) and does (marks who is looking)."""

    request: Request
    queries: Queries
    workflow: Workflow

    def show(self, staff: Staff, incident_id: str, status: int = 200, notice: str = "", error: str = "",
             personal: dict[str, Any] | None = None, personal_outcome: str = "") -> Response:
        try:
            detail = self.queries.incident(staff, incident_id)
        except UnknownIncident:
            return refuse(self.request, staff, "There is no such incident.", 404)
        self.workflow.viewing(incident_id, staff)
        return render(self.request, "incident.html", staff, status=status, i=detail, notice=notice, error=error,
                      personal=personal, personal_outcome=personal_outcome, outcomes=list(Outcome),
                      levels=list(Level), priorities=list(Priority),
                      duty_inspectors=self.queries.duty_inspectors(staff))


@router.get("/incidents/{incident_id}")
def incident_page(request: Request, incident_id: str, staff: PageStaff, queries: QueriesDep,
                  workflow: WorkflowDep, msg: str = "") -> Response:
    if staff is None:
        return to_login(request)
    return IncidentPage(request, queries, workflow).show(staff, incident_id, notice=msg)


@router.post("/incidents/{incident_id}/personal")
def personal_page(request: Request, incident_id: str, staff: PageStaff, form: FormDep, queries: QueriesDep,
                  workflow: WorkflowDep) -> Response:
    if staff is None:
        return to_login(request)
    if not csrf_matches(staff, form.get("csrf_token")):
        return refuse(request, staff, EXPIRED)
    if not staff.can(Action.view_personal):
        return refuse(request, staff, "Your role does not allow you to see the reporter's personal details.")
    try:
        outcome, data = workflow.record_personal_view(incident_id, staff)
    except UnknownIncident:
        return refuse(request, staff, "There is no such incident.", 404)
    return IncidentPage(request, queries, workflow).show(staff, incident_id, personal=data, personal_outcome=outcome)


@dataclass(frozen=True)
class FormAction(Generic[B]):
    """One of an incident's forms: the API body it is parsed into, the use case it runs, and what to say after."""

    body: type[B]
    run: Callable[[Workflow, str, Staff, B], object]
    done: str


def _acknowledge(w: Workflow, incident_id: str, staff: Staff, b: Versioned) -> object:
    return w.acknowledge(incident_id, staff, b.version)


def _assign(w: Workflow, incident_id: str, staff: Staff, b: Assign) -> object:
    return w.assign(incident_id, staff, b.duty_inspector, b.version)


def _override(w: Workflow, incident_id: str, staff: Staff, b: Override) -> object:
    return w.override(incident_id, staff, b.priority, b.needs_duty_inspector, b.reason, b.version)


def _regrade(w: Workflow, incident_id: str, staff: Staff, b: Regrade) -> object:
    return w.regrade(incident_id, staff, b.grading(), b.reason, b.version)


def _request_cia(w: Workflow, incident_id: str, staff: Staff, b: RequestCia) -> object:
    return w.request_cia(incident_id, staff, b.due_at, b.version)


def _record_cia(w: Workflow, incident_id: str, staff: Staff, b: RecordCia) -> object:
    return w.record_cia(incident_id, staff, b.community_tension, b.risk_of_disorder, b.communities, b.notes,
                        b.actions, b.next_review_at, b.version)


def _close(w: Workflow, incident_id: str, staff: Staff, b: Close) -> object:
    return w.close(incident_id, staff, b.outcome, b.version)


ACTIONS: dict[str, FormAction[Any]] = {
    "acknowledge": FormAction(Versioned, _acknowledge, "Acknowledged."),
    "assign": FormAction(Assign, _assign, "Duty Inspector assigned."),
    "override": FormAction(Override, _override, "Criteria overridden."),
    "regrade": FormAction(Regrade, _regrade, "Grading changed."),
    "request-cia": FormAction(RequestCia, _request_cia, "Community impact assessment requested."),
    "record-cia": FormAction(RecordCia, _record_cia, "Community impact assessment recorded."),
    "close": FormAction(Close, _close, "Incident closed."),
}


@router.post("/incidents/{incident_id}/{action}")
def incident_action(request: Request, incident_id: str, action: str, staff: PageStaff, form: FormDep,
                    queries: QueriesDep, workflow: WorkflowDep) -> Response:
    if staff is None:
        return to_login(request)
    if not csrf_matches(staff, form.get("csrf_token")):
        return refuse(request, staff, EXPIRED)
    chosen = ACTIONS.get(action)
    if chosen is None:
        return refuse(request, staff, "There is no such action.", 404)
    page = IncidentPage(request, queries, workflow)
    try:
        chosen.run(workflow, incident_id, staff, form.parse(chosen.body))
    except NotPermitted as e:
        return refuse(request, staff, f"Refused: {e}.")
    except UnknownIncident:
        return refuse(request, staff, "There is no such incident.", 404)
    except AlreadyDone as e:
        return page.show(staff, incident_id, status=409, error=_sentence(e))
    except (IncidentError, ValueError) as e:
        return page.show(staff, incident_id, status=422, error=_sentence(e))
    return RedirectResponse(f"/incidents/{incident_id}?" + urlencode({"msg": chosen.done}), status_code=303)


# --- heightened tension ---------------------------------------------------------------------------

@router.get("/tension")
def tension_page(request: Request, staff: PageStaff, queries: QueriesDep, msg: str = "") -> Response:
    if staff is None:
        return to_login(request)
    return _tension(request, staff, queries, notice=msg)


def _tension(request: Request, staff: Staff, queries: Queries, notice: str = "", error: str = "",
             status: int = 200) -> Response:
    found = queries.tension_map(staff)
    national = [d for d in found.declarations if d["area"] == NATIONAL and d["in_force"]]
    by_area = {d["area"]: d for d in found.declarations if d["in_force"]}
    return render(request, "tension.html", staff, status=status, declarations=found.declarations,
                  proposals=found.proposals, names=found.names, national=national, by_area=by_area, notice=notice,
                  error=error)


@router.post("/tension")
def tension_action(request: Request, staff: PageStaff, form: FormDep, tension: TensionDep,
                   queries: QueriesDep) -> Response:
    if staff is None:
        return to_login(request)
    if not csrf_matches(staff, form.get("csrf_token")):
        return refuse(request, staff, EXPIRED)
    op = form.fields.get("op", "declare")
    try:
        if op == "declare":
            declared = form.parse(Declare)
            tension.declare(staff, declared.area, declared.reason, declared.starts_at, declared.ends_at,
                            declared.proposal_id)
            done = "Heightened tension declared."
        elif op == "lift":
            tension.lift(staff, form.get("tension_id"), form.parse(Lift).reason)
            done = "Heightened tension lifted."
        else:
            tension.dismiss_proposal(staff, form.get("proposal_id"))
            done = "Proposal dismissed."
    except NotPermitted as e:
        return refuse(request, staff, f"Refused: {e}.")
    except AlreadyDone as e:
        return _tension(request, staff, queries, error=_sentence(e), status=409)
    except (IncidentError, ValueError) as e:
        return _tension(request, staff, queries, error=_sentence(e), status=422)
    return RedirectResponse("/tension?" + urlencode({"msg": done}), status_code=303)
