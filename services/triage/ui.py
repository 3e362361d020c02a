"""The staff pages: sign-in, the queue, an incident, heightened tension. Server-rendered, roles checked here.

The pages are GOV.UK Frontend and MOJ Frontend in Vigil's layout (shared.web, docs/pages.md). They post
ordinary forms carrying the session's CSRF token; each form is parsed into the JSON API's body model and
goes through the same use cases, so a forged button meets the same refusal. After a change the browser is
redirected (post/redirect/get) to a page that says what was done in a sentence chosen by a code, never
text from the URL. A session that ends mid-action sends the person to sign in and back to the page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Generic, TypeVar
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel

from services.triage import ui_views
from services.triage.access import Action, NotPermitted, Staff
from services.triage.auth import BadCredentials, PasswordsOff, TooManyAttempts, csrf_matches
from services.triage.deps import (
    COOKIE,
    AuthDep,
    PageStaff,
    QueriesDep,
    SettingsDep,
    SsoDep,
    TensionDep,
    WorkflowDep,
    clear_session_cookie,
    client_address,
    set_session_cookie,
)
from services.triage.forms import FormDep, FormInvalid, SubmittedForm
from services.triage.incident import AlreadyDone, IncidentError, Level, Outcome, UnknownIncident
from services.triage.queries import Queries, QueueFilter
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
from shared import personal
from shared.areas import default_registry
from shared.events.incidents import NATIONAL, Priority
from shared.events.reports import ReadPurpose
from shared.problems import Unauthorized
from shared.web.site import OPERATIONAL, StaffSite, Viewer
from shared.web.templates import page_templates

B = TypeVar("B", bound=BaseModel)
router = APIRouter(include_in_schema=False)
TEMPLATES = Path(__file__).resolve().parent / "templates"
EXPIRED = "This form has expired. Go back, reload the page and try again."
NO_INCIDENT = "There is no such incident."
HELD_TITLE = "Held for the reporting centre"
RECENT_VIEW = timedelta(minutes=15)  # how long a recorded view of personal details may be shown again
DONE = {
    "acknowledged": "Acknowledged.",
    "assigned": "Duty Inspector assigned.",
    "overridden": "Criteria overridden.",
    "regraded": "Grading changed.",
    "cia-requested": "Community impact assessment requested.",
    "cia-recorded": "Community impact assessment recorded.",
    "closed": "Incident closed.",
    "declared": "Heightened tension declared.",
    "lifted": "Heightened tension lifted.",
    "dismissed": "Proposal dismissed.",
}


@cache
def templates() -> Jinja2Templates:
    """Built on first use, after the process has its settings (the staff site's addresses)."""
    found = page_templates(TEMPLATES, site=site())
    found.env.globals.update(Action=Action, area_name=area_name, GRADING=ui_views.GRADING,
                             navigation_for=navigation_for)
    found.env.filters.update(label=ui_views.label, left=ui_views.time_left, readable=ui_views.readable)
    return found


@cache
def areas() -> list[tuple[str, str]]:
    return sorted(((a.code, a.name) for a in default_registry().all()), key=lambda a: a[1])


def areas_of(staff: Staff) -> list[tuple[str, str]]:
    """The areas a person's pages offer: their own, or every area for a national account."""
    return [a for a in areas() if staff.covers(a[0])]


def area_name(code: str) -> str:
    return "National" if code == NATIONAL else dict(areas()).get(code, code)


@cache
def site() -> StaffSite:
    """Where the other staff services are (env VIGIL_STAFF_*), read once the process has started."""
    return StaffSite()


def viewer_of(staff: Staff) -> Viewer:
    return Viewer(staff.display_name, staff.roles, staff.csrf_token)


def navigation_for(viewer: Viewer | None, current: str | None, staff: Staff | None) -> list[dict[str, object]]:
    """The staff site's navigation, with heightened tension (triage's own page) after the incidents."""
    items = site().navigation(viewer, current)
    if staff is not None and staff.can(Action.view_held):
        items = [*items, {"text": HELD_TITLE, "href": "/held", "current": current == "held"}]
    if staff is None or not staff.can(Action.view_queue) or any(str(i["href"]).endswith("/tension") for i in items):
        return items
    after = next((n + 1 for n, i in enumerate(items) if i["text"] == "Incidents"), min(1, len(items)))
    return [*items[:after], {"text": "Heightened tension", "href": "/tension", "current": current == "tension"},
            *items[after:]]


def render(request: Request, name: str, staff: Staff | None, status: int = 200, **context: Any) -> HTMLResponse:
    viewer = viewer_of(staff) if staff else None
    request.state.viewer = viewer  # the identity bar on shared error pages too
    response = templates().TemplateResponse(request, name, {"viewer": viewer, "staff": staff, **context},
                                            status_code=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def refuse(request: Request, staff: Staff, message: str, status: int = 403) -> HTMLResponse:
    return render(request, "error.html", staff, status=status, message=message, page_title="Not possible")


def sentence(e: Exception) -> str:
    text = str(e).splitlines()[0] if str(e) else "that did not work"
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


# --- signing in and out ---------------------------------------------------------------------------

def safe_next(target: str) -> str | None:
    """Where sign-in may send someone back: a path on this site, or a page of another staff service."""
    if not target or any(c in target for c in "\\\r\n\t\0") or len(target) > 2000:
        return None
    parts = urlsplit(target)
    if not parts.scheme and not parts.netloc:
        return target if target.startswith("/") and not target.startswith("//") else None
    if parts.scheme not in ("http", "https") or _origin(target) not in site().form_origins():
        return None
    if _origin(target) == _origin(site().triage_url):
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return target


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def home_of(staff: Staff) -> str:
    """Where someone lands when they did not ask for a page: analysts on analysis, caseworkers on the reports
    held for their centre, the rest on the queue."""
    if staff.can(Action.view_held) and not staff.roles & OPERATIONAL:
        return "/held"
    if staff.roles & OPERATIONAL or not staff.roles & {"analyst", "admin"}:
        return "/queue"
    return f"{site().assessment_url}/" if "analyst" in staff.roles else "/admin"


def to_login(request: Request) -> RedirectResponse:
    """Sign in, then back here: the page itself for a GET; for a form, the page the form belongs to."""
    back = request.url.path + (f"?{request.url.query}" if request.method == "GET" and request.url.query else "")
    return RedirectResponse("/login?" + urlencode({"next": back}), status_code=303)


@router.get("/")
def home(staff: PageStaff) -> RedirectResponse:
    return RedirectResponse(home_of(staff) if staff else "/login", status_code=303)


@router.get("/login")
def login_page(request: Request, sso: SsoDep, next: str = "") -> Response:
    return render(request, "login.html", None, page_title="Sign in", next=safe_next(next) or "", sso=sso)


@router.post("/login")
def login(request: Request, form: FormDep, auth: AuthDep, settings: SettingsDep, sso: SsoDep) -> Response:
    target, username = safe_next(form.get("next")), form.get("username")
    try:
        body = form.parse(SignIn)
        signed = auth.sign_in(body.username, body.password, client_address(request))
    except PasswordsOff as e:
        return render(request, "login.html", None, status=403, page_title="Sign in", next=target or "", sso=sso,
                      error=sentence(e), error_field="sso")
    except (FormInvalid, BadCredentials):
        return render(request, "login.html", None, status=401, page_title="Sign in", next=target or "", sso=sso,
                      username=username, error="Enter a correct username and password.", error_field="username")
    except TooManyAttempts as e:
        busy = render(request, "login.html", None, status=429, page_title="Sign in", next=target or "", sso=sso,
                      username=username, error=sentence(e), error_field="username")
        busy.headers["Retry-After"] = str(e.retry_after)
        return busy
    response = RedirectResponse(target or home_of(signed.staff), status_code=303)
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

@dataclass(frozen=True)
class Listing:
    """The queue (work not closed) or every incident: one page, two defaults."""

    key: str
    title: str
    path: str
    everything: bool


QUEUE = Listing("queue", "Queue", "/queue", everything=False)
EVERY_INCIDENT = Listing("incidents", "Incidents", "/incidents", everything=True)
PARAMS = {"search": "q", "priority": "priority", "status": "status", "area": "area",
          "needs_duty_inspector": "needs", "sort": "sort", "page": "page"}


def queue_filter(q: str = "", priority: str = "", status: str = "", area: str = "", needs: str = "",
                 sort: str = "", order: str = "", page: str = "") -> QueueFilter:
    return QueueFilter.of(q, priority, status, area, needs, sort, order, page)


FilterDep = Annotated[QueueFilter, Depends(queue_filter)]


def query_of(f: QueueFilter, **changes: Any) -> str:
    """The query string of `f` with `changes`, defaults left out, so links and the URL stay short."""
    f = replace(f, **changes)
    values = {PARAMS[k]: getattr(f, k) for k in PARAMS if getattr(f, k) not in ("", 1, "priority")}
    if f.descending:
        values["order"] = "desc"
    return urlencode(values)


def show_listing(request: Request, staff: Staff, queries: Queries, listing: Listing, wanted: QueueFilter,
                 template: str, refresh_seconds: float = 0) -> Response:
    asked = replace(wanted, status="all") if listing.everything and not wanted.status else wanted
    found = queries.queue_page(staff, asked)
    shown = replace(wanted, page=found.page)

    def link(**changes: Any) -> str:
        query = query_of(shown, **changes)
        return listing.path + (f"?{query}" if query else "")

    return render(request, template, staff, page_title=listing.title, nav_current=listing.key, listing=listing,
                  container_classes="vigil-width-container--wide",
                  f=shown, found=found, now=queries.clock.now(), ago=ui_views.ago, link=link,
                  pagination=ui_views.pagination(found.page, found.pages, lambda n: link(page=n)),
                  areas=areas_of(staff), priorities=[p.value for p in Priority],
                  updates_url="/queue/rows?" + urlencode({"listing": listing.key}) + "&" + query_of(shown),
                  refresh_ms=int(refresh_seconds * 1000))


def canonical(request: Request, listing: Listing, wanted: QueueFilter) -> RedirectResponse | None:
    """A search sends every field, empty ones too: the address is made short, so it can be shared."""
    query = query_of(wanted)
    if request.url.query == query:
        return None
    return RedirectResponse(listing.path + (f"?{query}" if query else ""), status_code=303)


@router.get("/queue")
def queue_page(request: Request, staff: PageStaff, queries: QueriesDep, settings: SettingsDep,
               wanted: FilterDep) -> Response:
    if staff is None:
        return to_login(request)
    if moved := canonical(request, QUEUE, wanted):
        return moved
    return show_listing(request, staff, queries, QUEUE, wanted, "queue.html", settings.queue_refresh_seconds)


@router.get("/incidents")
def incidents_page(request: Request, staff: PageStaff, queries: QueriesDep, settings: SettingsDep,
                   wanted: FilterDep) -> Response:
    if staff is None:
        return to_login(request)
    if moved := canonical(request, EVERY_INCIDENT, wanted):
        return moved
    return show_listing(request, staff, queries, EVERY_INCIDENT, wanted, "queue.html",
                        settings.queue_refresh_seconds)


@router.get("/queue/rows")
def queue_rows(request: Request, staff: PageStaff, queries: QueriesDep, wanted: FilterDep,
               listing: str = "") -> Response:
    """The parts of a queue page that change, for htmx to morph in place (focus stays where it is)."""
    if staff is None:
        raise Unauthorized("your session has ended: sign in again")
    chosen = EVERY_INCIDENT if listing == EVERY_INCIDENT.key else QUEUE
    return show_listing(request, staff, queries, chosen, wanted, "_queue_updates.html")


# --- an incident ----------------------------------------------------------------------------------

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
    "acknowledge": FormAction(Versioned, _acknowledge, "acknowledged"),
    "assign": FormAction(Assign, _assign, "assigned"),
    "override": FormAction(Override, _override, "overridden"),
    "regrade": FormAction(Regrade, _regrade, "regraded"),
    "request-cia": FormAction(RequestCia, _request_cia, "cia-requested"),
    "record-cia": FormAction(RecordCia, _record_cia, "cia-recorded"),
    "close": FormAction(Close, _close, "closed"),
}


@dataclass(frozen=True)
class IncidentScreen:
    """An incident's pages for one person: the overview, an action's own page, the personal details."""

    request: Request
    staff: Staff
    queries: Queries
    workflow: Workflow

    def overview(self, incident_id: str, status: int = 200, notice: str = "", error: str = "") -> Response:
        return self.show(incident_id, "incident/overview.html", status, notice=notice, error=error)

    def action_page(self, incident_id: str, action: str, status: int = 200, error: str = "", field: str = "",
                    values: dict[str, str] | None = None, template: str = "") -> Response:
        return self.show(incident_id, template or f"incident/{action}.html", status, action=action, error=error,
                         error_field=field, values=values or {}, step=ui_views.BY_ACTION[action])

    def personal(self, incident_id: str) -> Response:
        """The details of a view this person recorded a moment ago, or the button that records one."""
        last = self.queries.last_personal_view(self.staff, incident_id)
        if last is None or self.queries.clock.now() - last["viewed_at"] >= RECENT_VIEW:
            return self.show(incident_id, "incident/personal.html", last_view=None, outcome="", details=None)
        outcome, data = self.fetch_personal(incident_id) if last["outcome"] == "shown" else (last["outcome"], {})
        return self.show(incident_id, "incident/personal.html", last_view=last, outcome=outcome,
                         details=ui_views.personal_details(data))

    def fetch_personal(self, incident_id: str) -> tuple[str, dict[str, Any]]:
        """Read again for a view already recorded (a refresh), so it is recorded once."""
        intake = self.workflow.intake
        try:
            if intake is None:
                raise personal.PersonalDataUnavailable("no intake configured")
            report_id = self.workflow.get(incident_id, self.staff).report_id
            return "shown", intake.get(report_id, ReadPurpose.staff_view, self.staff.username)
        except personal.ReportErased:
            return "erased", {}
        except (personal.PersonalDataUnavailable, personal.UnknownReport):
            return "unavailable", {}

    def show(self, incident_id: str, template: str, status: int = 200, **context: Any) -> Response:
        try:
            record = self.queries.incident_record(self.staff, incident_id)
        except UnknownIncident:
            return refuse(self.request, self.staff, NO_INCIDENT, 404)
        if self.staff.can(Action.view_queue):
            self.workflow.viewing(incident_id, self.staff)
        i = record.detail
        if i["held_for_centre"]:
            context.setdefault("back_text", f"Back to {HELD_TITLE.lower()}")
            context.setdefault("back_href", "/held")
        primary = ui_views.primary_step(self.staff, i)
        return render(self.request, template, self.staff, status=status, page_title=f"Incident {i['reference']}",
                      nav_current="incidents", i=i, record=record, timeline=ui_views.timeline(record),
                      primary=primary, others=ui_views.other_steps(self.staff, i, primary),
                      received=i["timeline"][0]["at"] if i["timeline"] else None, **self.choices(), **context)

    def choices(self) -> dict[str, Any]:
        return {"outcomes": list(Outcome), "levels": list(Level), "priorities": [p.value for p in Priority],
                "duty_inspectors": self.queries.duty_inspectors(self.staff) if self.staff.can(Action.view_queue)
                else []}


@router.get("/incidents/{incident_id}")
def incident_page(request: Request, incident_id: str, staff: PageStaff, queries: QueriesDep,
                  workflow: WorkflowDep, done: str = "") -> Response:
    if staff is None:
        return to_login(request)
    return IncidentScreen(request, staff, queries, workflow).overview(incident_id, notice=DONE.get(done, ""))


@router.get("/held")
def held_page(request: Request, staff: PageStaff, queries: QueriesDep) -> Response:
    """Reports whose reporter kept them from the police: the reporting centre's caseworkers see them here."""
    if staff is None:
        return to_login(request)
    if not staff.can(Action.view_held):
        return refuse(request, staff, "Your role does not allow you to see reports held for the reporting centre.")
    return render(request, "held.html", staff, page_title=HELD_TITLE, nav_current="held", rows=queries.held(staff))


@router.get("/incidents/{incident_id}/personal")
def personal_page(request: Request, incident_id: str, staff: PageStaff, queries: QueriesDep,
                  workflow: WorkflowDep) -> Response:
    if staff is None:
        return to_login(request)
    if not staff.can(Action.view_personal):
        return refuse(request, staff, "Your role does not allow you to see the reporter's personal details.")
    return IncidentScreen(request, staff, queries, workflow).personal(incident_id)


@router.post("/incidents/{incident_id}/personal")
def show_personal(request: Request, incident_id: str, staff: PageStaff, form: FormDep,
                  workflow: WorkflowDep) -> Response:
    """Record the view, then show it on a page of its own (post/redirect/get): a refresh records nothing."""
    if staff is None:
        return to_login(request)
    if not csrf_matches(staff, form.get("csrf_token")):
        return refuse(request, staff, EXPIRED)
    if not staff.can(Action.view_personal):
        return refuse(request, staff, "Your role does not allow you to see the reporter's personal details.")
    try:
        workflow.record_personal_view(incident_id, staff)
    except UnknownIncident:
        return refuse(request, staff, NO_INCIDENT, 404)
    return RedirectResponse(f"/incidents/{incident_id}/personal", status_code=303)


@router.get("/incidents/{incident_id}/{action}")
def action_page(request: Request, incident_id: str, action: str, staff: PageStaff, queries: QueriesDep,
                workflow: WorkflowDep) -> Response:
    if staff is None:
        return to_login(request)
    step = ui_views.BY_ACTION.get(action)
    if step is None:
        return refuse(request, staff, "There is no such action.", 404)
    if action == "acknowledge":
        return RedirectResponse(f"/incidents/{incident_id}", status_code=303)
    if not staff.can(step.permission):
        return refuse(request, staff, f"Your role does not allow this ({step.text.lower()}).")
    return IncidentScreen(request, staff, queries, workflow).action_page(incident_id, action)


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
    screen = IncidentScreen(request, staff, queries, workflow)
    try:
        body = form.parse(chosen.body)
        if action == "close" and form.get("confirm") != "yes":
            return screen.action_page(incident_id, action, values=form.fields, template="incident/close-confirm.html")
        chosen.run(workflow, incident_id, staff, body)
    except NotPermitted as e:
        return refuse(request, staff, f"Refused: {e}.")
    except UnknownIncident:
        return refuse(request, staff, NO_INCIDENT, 404)
    except AlreadyDone as e:
        return screen.overview(incident_id, status=409, error=sentence(e))
    except (IncidentError, ValueError) as e:
        return _refused_form(screen, incident_id, action, form, e)
    return RedirectResponse(f"/incidents/{incident_id}?done={chosen.done}", status_code=303)


def _refused_form(screen: IncidentScreen, incident_id: str, action: str, form: SubmittedForm,
                  e: Exception) -> Response:
    """The form again, saying what to correct; acknowledging has no form of its own, so the overview."""
    if action == "acknowledge":
        return screen.overview(incident_id, status=422, error=sentence(e))
    return screen.action_page(incident_id, action, status=422, error=sentence(e), field=getattr(e, "field", ""),
                              values=form.fields)


# --- heightened tension ---------------------------------------------------------------------------

@router.get("/tension")
def tension_page(request: Request, staff: PageStaff, queries: QueriesDep, done: str = "") -> Response:
    if staff is None:
        return to_login(request)
    return _tension(request, staff, queries, notice=DONE.get(done, ""))


def _tension(request: Request, staff: Staff, queries: Queries, notice: str = "", error: str = "",
             status: int = 200, values: dict[str, str] | None = None) -> Response:
    found = queries.tension_map(staff)
    national = [d for d in found.declarations if d["area"] == NATIONAL and d["in_force"]]
    by_area = {d["area"]: d for d in found.declarations if d["in_force"]}
    return render(request, "tension.html", staff, status=status, page_title="Heightened tension",
                  nav_current="tension", declarations=found.declarations, proposals=found.proposals,
                  names=found.names, national=national, by_area=by_area, notice=notice, error=error,
                  areas=areas_of(staff), values=values or {})


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
        elif op == "lift":
            tension.lift(staff, form.get("tension_id"), form.parse(Lift).reason)
        else:
            tension.dismiss_proposal(staff, form.get("proposal_id"))
    except NotPermitted as e:
        return refuse(request, staff, f"Refused: {e}.")
    except AlreadyDone as e:
        return _tension(request, staff, queries, error=sentence(e), status=409)
    except (IncidentError, ValueError) as e:
        return _tension(request, staff, queries, error=sentence(e), status=422, values=form.fields)
    done = {"declare": "declared", "lift": "lifted"}.get(op, "dismissed")
    return RedirectResponse(f"/tension?done={done}", status_code=303)
