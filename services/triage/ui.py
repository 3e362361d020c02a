"""The staff pages: sign-in, the queue, an incident, heightened tension. Server-rendered, roles checked here.

The pages post ordinary forms carrying the session's CSRF token; every action goes through the
same use cases as the JSON API, so a forged button meets the same refusal.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from services.triage import views
from services.triage.access import Action, NotPermitted, Staff
from services.triage.api import COOKIE, incident_detail, set_session_cookie, triage_of
from services.triage.application import UnknownIncident
from services.triage.auth import BadCredentials, TooManyAttempts, csrf_matches
from services.triage.incident import AlreadyDone, IncidentError, Level, Outcome
from shared.areas import default_registry
from shared.clock import utc
from shared.events.incidents import NATIONAL, Priority
from shared.events.reports import Grading

if TYPE_CHECKING:
    from services.triage.main import Triage

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


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


def signed_in(request: Request) -> Staff | None:
    return triage_of(request).auth.resolve(request.cookies.get(COOKIE))


def to_login(request: Request) -> RedirectResponse:
    return RedirectResponse("/login?" + urlencode({"next": request.url.path}), status_code=303)


def refuse(request: Request, staff: Staff, message: str, status: int = 403) -> HTMLResponse:
    return render(request, "error.html", staff, status=status, message=message)


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/queue", status_code=303)


@router.get("/login")
def login_page(request: Request, next: str = "/queue") -> Response:
    return render(request, "login.html", None, next=_safe_next(next))


@router.post("/login")
def login(request: Request, username: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
          next: Annotated[str, Form()] = "/queue") -> Response:
    triage = triage_of(request)
    try:
        signed = triage.auth.sign_in(username, password)
    except BadCredentials:
        return render(request, "login.html", None, status=401, next=_safe_next(next), username=username,
                      error="Wrong username or password.")
    except TooManyAttempts as e:
        return render(request, "login.html", None, status=429, next=_safe_next(next), username=username,
                      error=_sentence(e))
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(response, signed.token, triage)
    return response


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith(("//", "/\\")) else "/queue"


@router.post("/logout")
def logout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    staff = signed_in(request)
    if staff is not None and csrf_matches(staff, csrf_token):
        triage_of(request).auth.sign_out(request.cookies.get(COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/queue")
def queue_page(request: Request, area: str = "", priority: str = "", state: str = "") -> Response:
    staff = signed_in(request)
    if staff is None:
        return to_login(request)
    filters = {"area": area, "priority": priority, "state": state}
    return render(request, "queue.html", staff, rows=_rows(request, filters), filters=filters,
                  priorities=list(Priority), query=urlencode({k: v for k, v in filters.items() if v}),
                  refresh_ms=int(triage_of(request).settings.queue_refresh_seconds * 1000))


@router.get("/queue/rows")
def queue_rows(request: Request, area: str = "", priority: str = "", state: str = "") -> Response:
    staff = signed_in(request)
    if staff is None:
        return Response(status_code=401)
    return render(request, "_rows.html", staff, rows=_rows(request, {"area": area, "priority": priority,
                                                                      "state": state}))


def _rows(request: Request, f: dict[str, str]) -> list[dict[str, Any]]:
    triage = triage_of(request)
    priority = f["priority"] if f["priority"] in set(Priority) else None
    with triage.db.sessions() as s:
        return views.queue(s, triage.clock.now(), f["area"] or None, priority, f["state"] or None)


@router.get("/incidents/{incident_id}")
def incident_page(request: Request, incident_id: str, msg: str = "") -> Response:
    staff = signed_in(request)
    if staff is None:
        return to_login(request)
    return _incident(request, staff, incident_id, notice=msg)


def _incident(request: Request, staff: Staff, incident_id: str, status: int = 200, notice: str = "",
              error: str = "", personal: dict[str, Any] | None = None, personal_outcome: str = "") -> Response:
    triage = triage_of(request)
    try:
        detail = incident_detail(triage, incident_id, staff)
    except UnknownIncident:
        return refuse(request, staff, "There is no such incident.", 404)
    with triage.db.transaction() as s:
        views.mark_viewing(s, incident_id, staff, triage.clock.now())
    return render(request, "incident.html", staff, status=status, i=detail, notice=notice, error=error,
                  personal=personal, personal_outcome=personal_outcome, outcomes=list(Outcome), levels=list(Level),
                  priorities=list(Priority), duty_inspectors=triage.auth.staff_with_role("duty_inspector"))


@router.post("/incidents/{incident_id}/personal")
def personal_page(request: Request, incident_id: str, csrf_token: Annotated[str, Form()] = "") -> Response:
    staff = signed_in(request)
    if staff is None:
        return to_login(request)
    if not csrf_matches(staff, csrf_token):
        return refuse(request, staff, "This form has expired. Go back, reload the page and try again.")
    if not staff.can(Action.view_personal):
        return refuse(request, staff, "Your role does not allow you to see the reporter's personal details.")
    triage = triage_of(request)
    try:
        outcome, data = triage.app.record_personal_view(triage.app.get(incident_id), staff)
    except UnknownIncident:
        return refuse(request, staff, "There is no such incident.", 404)
    return _incident(request, staff, incident_id, personal=data, personal_outcome=outcome)


ACTIONS = {"acknowledge", "assign", "override", "regrade", "request-cia", "record-cia", "close"}
DONE = {"acknowledge": "Acknowledged.", "assign": "Duty Inspector assigned.", "override": "Criteria overridden.",
        "regrade": "Grading changed.",
        "request-cia": "Community impact assessment requested.", "record-cia": "Community impact assessment recorded.",
        "close": "Incident closed."}


@router.post("/incidents/{incident_id}/{action}")
async def incident_action(request: Request, incident_id: str, action: str) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    return await run_in_threadpool(_incident_action, request, incident_id, action, form)


def _incident_action(request: Request, incident_id: str, action: str, form: dict[str, str]) -> Response:
    """Database work off the event loop; the form was read by the async route."""
    staff = signed_in(request)
    if staff is None:
        return to_login(request)
    if not csrf_matches(staff, form.get("csrf_token")):
        return refuse(request, staff, "This form has expired. Go back, reload the page and try again.")
    if action not in ACTIONS:
        return refuse(request, staff, "There is no such action.", 404)
    try:
        _run(triage_of(request), staff, incident_id, action, form)
    except NotPermitted as e:
        return refuse(request, staff, f"Refused: {e}.")
    except UnknownIncident:
        return refuse(request, staff, "There is no such incident.", 404)
    except AlreadyDone as e:
        return _incident(request, staff, incident_id, status=409, error=_sentence(e))
    except (IncidentError, ValueError) as e:
        return _incident(request, staff, incident_id, status=422, error=_sentence(e))
    return RedirectResponse(f"/incidents/{incident_id}?" + urlencode({"msg": DONE[action]}), status_code=303)


def _sentence(e: Exception) -> str:
    text = str(e).splitlines()[0] if str(e) else "that did not work"
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _run(triage: Triage, staff: Staff, incident_id: str, action: str, f: dict[str, str]) -> None:
    app, version = triage.app, int(f["version"]) if f.get("version", "").isdigit() else None
    if action == "acknowledge":
        app.acknowledge(incident_id, staff, version)
    elif action == "assign":
        app.assign(incident_id, staff, f.get("duty_inspector", ""), version)
    elif action == "override":
        app.override(incident_id, staff, Priority(f.get("priority", "")), f.get("needs_duty_inspector") == "yes",
                     f.get("reason", ""), version)
    elif action == "regrade":
        grading = Grading(source=f.get("source", ""), intelligence=f.get("intelligence", ""),
                          handling=f.get("handling", ""))
        app.regrade(incident_id, staff, grading, f.get("reason", ""), version)
    elif action == "request-cia":
        app.request_cia(incident_id, staff, _time(f.get("due_at")), version)
    elif action == "record-cia":
        app.record_cia(incident_id, staff, Level(f.get("community_tension", "")), Level(f.get("risk_of_disorder", "")),
                       f.get("communities", ""), f.get("notes", ""), f.get("actions", ""),
                       _time(f.get("next_review_at")), version)
    else:
        app.close(incident_id, staff, Outcome(f.get("outcome", "")), version)


def _time(value: str | None) -> datetime | None:
    """Form times are typed as UTC (datetime-local has no zone)."""
    return utc(datetime.fromisoformat(value)) if value else None


@router.get("/tension")
def tension_page(request: Request, msg: str = "") -> Response:
    staff = signed_in(request)
    if staff is None:
        return to_login(request)
    return _tension(request, staff, notice=msg)


def _tension(request: Request, staff: Staff, notice: str = "", error: str = "", status: int = 200) -> Response:
    triage = triage_of(request)
    with triage.db.snapshot() as s:
        now = triage.clock.now()
        declarations = triage.app.tension.current(s, now)
        proposals = triage.app.tension.proposals(s) if staff.can(Action.declare_tension) else []
        names = views.display_names(s)
    national = [d for d in declarations if d["area"] == NATIONAL and d["in_force"]]
    by_area = {d["area"]: d for d in declarations if d["in_force"]}
    return render(request, "tension.html", staff, status=status, declarations=declarations, proposals=proposals,
                  names=names, national=national, by_area=by_area, notice=notice, error=error)


@router.post("/tension")
async def tension_action(request: Request) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    return await run_in_threadpool(_tension_action, request, form)


def _tension_action(request: Request, f: dict[str, str]) -> Response:
    staff = signed_in(request)
    if staff is None:
        return to_login(request)
    if not csrf_matches(staff, f.get("csrf_token")):
        return refuse(request, staff, "This form has expired. Go back, reload the page and try again.")
    app, op = triage_of(request).app, f.get("op", "declare")
    try:
        if op == "declare":
            app.declare_tension(staff, f.get("area", ""), f.get("reason", ""), _time(f.get("starts_at")),
                                _time(f.get("ends_at")), f.get("proposal_id") or None)
            done = "Heightened tension declared."
        elif op == "lift":
            app.lift_tension(staff, f.get("tension_id", ""), f.get("reason", ""))
            done = "Heightened tension lifted."
        else:
            app.dismiss_proposal(staff, f.get("proposal_id", ""))
            done = "Proposal dismissed."
    except NotPermitted as e:
        return refuse(request, staff, f"Refused: {e}.")
    except AlreadyDone as e:
        return _tension(request, staff, error=_sentence(e), status=409)
    except (IncidentError, ValueError) as e:
        return _tension(request, staff, error=_sentence(e), status=422)
    return RedirectResponse("/tension?" + urlencode({"msg": done}), status_code=303)
