"""Area-level community impact assessments on the web (area_cia.py): the JSON API under `/v1/areas/{area}/cias`
and the staff pages under `/areas/{area}/cias`, reached from the heightened tension page.

The pages post ordinary forms carrying the session's CSRF token and redirect after a change (post/redirect/get)
to a page that says what was done in a sentence chosen by a code. An area that is not the person's, and an
assessment of another area, answer 404 as an unknown one does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from services.triage.access import Action, NotPermitted, Staff
from services.triage.area_cia import AreaCias, NewAction
from services.triage.auth import csrf_matches
from services.triage.deps import CurrentStaff, PageStaff
from services.triage.forms import FormDep, SubmittedForm
from services.triage.incident import AlreadyDone, IncidentError, InvalidCommand, Level, UnknownIncident
from services.triage.schemas import UtcDateTime
from services.triage.ui import EXPIRED, area_name, refuse, render, sentence, to_login
from shared.answers import Instant
from shared.web.filters import from_london_input

api = APIRouter(tags=["area community impact assessments"])
pages = APIRouter(include_in_schema=False)
SLOTS = 3  # action rows on a page's form; the API takes up to the aggregate's limit
DONE = {"recorded": "Community impact assessment recorded.", "reviewed": "Review recorded.",
        "closed": "Community impact assessment closed.", "done": "Action marked done."}
NO_CIA = "There is no such community impact assessment among your areas."


def _cias(request: Request) -> AreaCias:
    cias: AreaCias = request.app.state.area_cias
    return cias


AreaCiasDep = Annotated[AreaCias, Depends(_cias)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ActionBody(_Body):
    description: str = Field(min_length=1, max_length=1000, description="what is to be done (kept by triage only)")
    owner: str = Field(min_length=1, max_length=80, description="the staff username who owns it")
    due_at: UtcDateTime = Field(description="when it falls due; notify chases the owner from then until done")


class AssessBody(_Body):
    community_tension: Level
    risk_of_disorder: Level
    notes: str = Field("", max_length=10000)
    next_review_at: UtcDateTime | None = None
    actions: list[ActionBody] = Field([], max_length=20)

    def new_actions(self) -> list[NewAction]:
        return [NewAction(a.description, a.owner, a.due_at) for a in self.actions]


class CloseBody(_Body):
    reason: str = Field(min_length=1, max_length=500)


# -- answers (times as `datetime.isoformat()` writes them) ------------------------------------------

class CiaListedOut(BaseModel):
    """An assessment as the area's list shows it: its latest levels."""

    cia_id: str
    area: str
    state: str = Field(description="open or closed")
    community_tension: Level
    risk_of_disorder: Level
    next_review_at: Instant | None
    open_actions: int
    recorded_by: str = Field(description="user id")
    recorded_at: Instant
    updated_at: Instant
    closed_at: Instant | None


class AreaCiasOut(BaseModel):
    area: str
    cias: list[CiaListedOut] = Field(description="open ones first, then the latest recorded")


class AssessmentOut(BaseModel):
    """The first assessment (`n` 0) or a review (1, 2, ...)."""

    n: int
    community_tension: Level
    risk_of_disorder: Level
    next_review_at: Instant | None
    by: str = Field(description="user id")
    at: Instant
    notes: str


class CiaActionOut(BaseModel):
    action_id: str
    description: str
    owner: str = Field(description="the staff username who owns it")
    due_at: Instant
    done: bool
    done_at: Instant | None
    done_by: str | None = Field(description="user id")
    set_by_review: int = Field(description="the assessment (`n`) that set it")


class AreaCiaOut(BaseModel):
    """An assessment with its reviews and actions."""

    cia_id: str
    area: str
    state: str = Field(description="open or closed")
    closed_at: Instant | None
    closed_by: str | None = Field(description="user id")
    close_reason: str | None
    assessments: list[AssessmentOut]
    actions: list[CiaActionOut]


# --- the JSON API ------------------------------------------------------------------------------------

@api.get("/v1/areas/{area}/cias", summary="The area's community impact assessments, open ones first",
         response_model=AreaCiasOut)
def list_cias(area: str, staff: CurrentStaff, cias: AreaCiasDep) -> dict[str, Any]:
    return {"area": area, "cias": cias.listed(staff, area)}


@api.post("/v1/areas/{area}/cias", status_code=201, summary="Record a community impact assessment of an area",
          response_model=AreaCiaOut)
def record(area: str, body: AssessBody, staff: CurrentStaff, cias: AreaCiasDep, response: Response) -> dict[str, Any]:
    view = cias.record(staff, area, body.community_tension, body.risk_of_disorder, body.notes, body.new_actions(),
                       body.next_review_at)
    response.headers["Location"] = f"/v1/areas/{area}/cias/{view.cia.cia_id}"
    return view.as_json()


@api.get("/v1/areas/{area}/cias/{cia_id}", summary="One assessment with its reviews and actions",
         response_model=AreaCiaOut)
def get_cia(area: str, cia_id: str, staff: CurrentStaff, cias: AreaCiasDep) -> dict[str, Any]:
    return cias.get(staff, area, cia_id).as_json()


@api.post("/v1/areas/{area}/cias/{cia_id}/reviews", summary="Review it: the levels now, notes, new actions",
          response_model=AreaCiaOut)
def review(area: str, cia_id: str, body: AssessBody, staff: CurrentStaff, cias: AreaCiasDep) -> dict[str, Any]:
    return cias.review(staff, area, cia_id, body.community_tension, body.risk_of_disorder, body.notes,
                       body.new_actions(), body.next_review_at).as_json()


@api.post("/v1/areas/{area}/cias/{cia_id}/closure", summary="Close it, with a reason", response_model=AreaCiaOut)
def close(area: str, cia_id: str, body: CloseBody, staff: CurrentStaff, cias: AreaCiasDep) -> dict[str, Any]:
    return cias.close(staff, area, cia_id, body.reason).as_json()


@api.post("/v1/areas/{area}/cias/{cia_id}/actions/{action_id}/done",
          summary="Mark an action done (its owner, or a supervisor)", response_model=AreaCiaOut)
def action_done(area: str, cia_id: str, action_id: str, staff: CurrentStaff, cias: AreaCiasDep) -> dict[str, Any]:
    return cias.mark_done(staff, area, cia_id, action_id).as_json()


# --- the staff pages ---------------------------------------------------------------------------------

def _form_page(request: Request, staff: Staff, cias: AreaCias, area: str, status: int = 200, error: str = "",
               field: str = "", values: dict[str, str] | None = None) -> Response:
    """The form, below the area's assessments already recorded (open ones first), so one is found again."""
    return render(request, "area_cia/new.html", staff, status=status, area=area, levels=list(Level),
                  existing=cias.listed(staff, area),
                  page_title=f"Community impact assessment: {area_name(area)}", nav_current="tension",
                  error=error, error_field=field, values=values or {}, slots=range(1, SLOTS + 1))


def _cia_page(request: Request, staff: Staff, cias: AreaCias, area: str, cia_id: str, notice: str = "",
              status: int = 200, error: str = "", field: str = "", values: dict[str, str] | None = None) -> Response:
    try:
        view = cias.get(staff, area, cia_id)
    except NotPermitted as e:
        return refuse(request, staff, f"Refused: {e}.")
    except UnknownIncident:
        return refuse(request, staff, NO_CIA, 404)
    return render(request, "area_cia/cia.html", staff, status=status, v=view.as_json(), names=view.names,
                  levels=list(Level), page_title=f"Community impact assessment: {area_name(area)}",
                  nav_current="tension", notice=notice, error=error, error_field=field, values=values or {},
                  slots=range(1, SLOTS + 1), any_action=staff.can(Action.complete_cia_actions))


@pages.get("/areas/{area}/cias/new")
def new_page(request: Request, area: str, staff: PageStaff, cias: AreaCiasDep) -> Response:
    if staff is None:
        return to_login(request)
    try:
        staff.require(Action.record_cia)
        return _form_page(request, staff, cias, area)
    except NotPermitted as e:
        return refuse(request, staff, f"Refused: {e}.")
    except UnknownIncident:
        return refuse(request, staff, "There is no such area among yours.", 404)


@pages.post("/areas/{area}/cias")
def record_page(request: Request, area: str, staff: PageStaff, form: FormDep, cias: AreaCiasDep) -> Response:
    if staff is None:
        return to_login(request)
    if not csrf_matches(staff, form.get("csrf_token")):
        return refuse(request, staff, EXPIRED)
    try:
        tension, disorder, notes, next_review, actions = _assessment(form)
        view = cias.record(staff, area, tension, disorder, notes, actions, next_review)
    except NotPermitted as e:
        return refuse(request, staff, f"Refused: {e}.")
    except UnknownIncident:
        return refuse(request, staff, "There is no such area among yours.", 404)
    except (IncidentError, ValueError) as e:
        return _form_page(request, staff, cias, area, 422, sentence(e), getattr(e, "field", ""), form.fields)
    return RedirectResponse(f"/areas/{area}/cias/{view.cia.cia_id}?done=recorded", status_code=303)


@pages.get("/areas/{area}/cias/{cia_id}")
def cia_page(request: Request, area: str, cia_id: str, staff: PageStaff, cias: AreaCiasDep,
             done: str = "") -> Response:
    if staff is None:
        return to_login(request)
    return _cia_page(request, staff, cias, area, cia_id, notice=DONE.get(done, ""))


@pages.post("/areas/{area}/cias/{cia_id}")
def cia_action(request: Request, area: str, cia_id: str, staff: PageStaff, form: FormDep,
               cias: AreaCiasDep) -> Response:
    if staff is None:
        return to_login(request)
    if not csrf_matches(staff, form.get("csrf_token")):
        return refuse(request, staff, EXPIRED)
    op = form.get("op")
    try:
        if op == "review":
            tension, disorder, notes, next_review, actions = _assessment(form)
            cias.review(staff, area, cia_id, tension, disorder, notes, actions, next_review)
        elif op == "close":
            cias.close(staff, area, cia_id, form.get("reason"))
        elif op == "done":
            cias.mark_done(staff, area, cia_id, form.get("action_id"))
        else:
            return refuse(request, staff, "That is not something this page does.", 400)
    except NotPermitted as e:
        return refuse(request, staff, f"Refused: {e}.")
    except UnknownIncident:
        return refuse(request, staff, NO_CIA, 404)
    except AlreadyDone as e:
        return _cia_page(request, staff, cias, area, cia_id, status=409, error=sentence(e))
    except (IncidentError, ValueError) as e:
        return _cia_page(request, staff, cias, area, cia_id, status=422, error=sentence(e),
                         field=getattr(e, "field", ""), values=form.fields)
    done = {"review": "reviewed", "close": "closed"}.get(op, op)
    return RedirectResponse(f"/areas/{area}/cias/{cia_id}?done={done}", status_code=303)


def _assessment(form: SubmittedForm) -> tuple[Level, Level, str, datetime | None, list[NewAction]]:
    """The form's levels, notes, next review and the action rows filled in (a blank row is no action)."""
    levels = []
    for name, what in (("community_tension", "community tension"), ("risk_of_disorder", "risk of disorder")):
        try:
            levels.append(Level(form.get(name)))
        except ValueError:
            raise InvalidCommand(f"choose the level of {what}", name) from None
    actions = []
    for n in range(1, SLOTS + 1):
        description, owner, due = (form.get(f"action_{n}_{k}").strip() for k in ("description", "owner", "due_at"))
        if description or owner or due:
            if not due:
                raise InvalidCommand(f"give action {n}'s due time", f"action_{n}_due_at")
            actions.append(NewAction(description, owner, _time(due, f"action_{n}_due_at", f"action {n}'s due time")))
    review = form.get("next_review_at").strip()
    return (levels[0], levels[1], form.get("notes"),
            _time(review, "next_review_at", "next review time") if review else None, actions)


def _time(text: str, name: str, what: str) -> datetime:
    try:
        return from_london_input(text)
    except ValueError:
        raise InvalidCommand(f"enter the {what} as a date and time", name) from None
