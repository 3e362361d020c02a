"""Area-level community impact assessments (#17, ADR 0059): after a rise in tension, an assessment of an area
tied to no one incident. A supervisor, duty inspector or neighbourhood officer covering the area records it,
reviews it (a later assessment with changed levels and notes) and closes it with a reason. Its actions are
tasks with an owner (a staff username) and a due time; the owner, or a supervisor, marks each done, and notify
chases each open one until then (services/notify/area_cia/).

The assessment is an event stream (`area-cia-<id>`, keyed by area on `vigil.incidents.v1`) folded into
`AreaCia`; what staff wrote stays in `area_cia_texts` and never in an event, and `area_cias` keeps a row for
the lists. An assessment outside the person's areas is, to them, unknown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from services.triage import tables
from services.triage.access import Action, NotPermitted, Staff
from services.triage.incident import AlreadyDone, InvalidCommand, Level, UnknownIncident
from services.triage.staff_store import account_details, display_names
from shared.aggregate import Aggregate
from shared.areas import AreaRegistry
from shared.clock import Clock
from shared.db import Database
from shared.events.area_cias import AreaCiaAction, AreaCiaActionDone, AreaCiaClosed, AreaCiaRecorded, AreaCiaReviewed
from shared.events.base import Event
from shared.eventstore import ConcurrencyError, EventStore
from shared.ids import new_id

MAX_NOTES = 10000
MAX_DESCRIPTION = 1000
MAX_REASON = 500
MAX_ACTIONS = 20
UNKNOWN = "no such community impact assessment"


@dataclass(frozen=True)
class NewAction:
    """An action as staff set it: what to do (kept by triage only), whose it is, by when."""

    description: str
    owner: str
    due_at: datetime


@dataclass
class ActionState:
    action_id: str
    owner: str
    due_at: datetime
    added_by_review: int
    done_by: str | None = None
    done_at: datetime | None = None


@dataclass(frozen=True)
class Assessment:
    """The first assessment (n = 0) or a review (n = 1, 2, ...)."""

    n: int
    community_tension: str
    risk_of_disorder: str
    next_review_at: datetime | None
    by: str
    at: datetime


@dataclass
class AreaCia(Aggregate[Event]):
    """The aggregate, folded from its events; commands check, then record the event they decided on."""

    cia_id: str
    area: str = ""
    assessments: list[Assessment] = field(default_factory=list)
    actions: dict[str, ActionState] = field(default_factory=dict)
    closed_by: str | None = None
    closed_at: datetime | None = None

    @property
    def closed(self) -> bool:
        return self.closed_at is not None

    @property
    def latest(self) -> Assessment:
        return self.assessments[-1]

    def open_actions(self) -> list[ActionState]:
        return [a for a in self.actions.values() if a.done_at is None]

    def when(self, e: Event) -> None:
        if isinstance(e, AreaCiaRecorded | AreaCiaReviewed):
            n, by, at = ((0, e.recorded_by, e.recorded_at) if isinstance(e, AreaCiaRecorded)
                         else (e.review, e.reviewed_by, e.reviewed_at))
            self.area = e.area
            self.assessments.append(Assessment(n, e.community_tension, e.risk_of_disorder, e.next_review_at, by, at))
            for a in e.actions:
                self.actions[a.action_id] = ActionState(a.action_id, a.owner, a.due_at, n)
        elif isinstance(e, AreaCiaActionDone):
            action = self.actions[e.action_id]
            action.done_by, action.done_at = e.done_by, e.done_at
        elif isinstance(e, AreaCiaClosed):
            self.closed_by, self.closed_at = e.closed_by, e.closed_at

    # ---- commands -------------------------------------------------------------------------------------

    def open(self, area: str, tension: Level, disorder: Level, next_review_at: datetime | None,
             actions: list[AreaCiaAction], by: str, now: datetime) -> Event:
        if self.version:
            raise AlreadyDone("this assessment was already recorded")
        _review_time(next_review_at, now)
        return self.record(AreaCiaRecorded(
            cia_id=self.cia_id, area=area, community_tension=tension.value, risk_of_disorder=disorder.value,
            next_review_at=next_review_at, actions=tuple(actions), recorded_by=by, recorded_at=now))

    def review(self, tension: Level, disorder: Level, next_review_at: datetime | None,
               actions: list[AreaCiaAction], by: str, now: datetime) -> Event:
        self._not_closed()
        _review_time(next_review_at, now)
        if len(self.actions) + len(actions) > MAX_ACTIONS:
            raise InvalidCommand(f"an assessment has at most {MAX_ACTIONS} actions", "actions")
        return self.record(AreaCiaReviewed(
            cia_id=self.cia_id, area=self.area, review=len(self.assessments), community_tension=tension.value,
            risk_of_disorder=disorder.value, next_review_at=next_review_at, actions=tuple(actions), reviewed_by=by,
            reviewed_at=now))

    def mark_done(self, action_id: str, username: str, user_id: str, any_action: bool, now: datetime) -> Event:
        action = self.actions.get(action_id)
        if action is None:
            raise UnknownIncident("no such action")
        self._not_closed()
        if action.done_at is not None:
            raise AlreadyDone("this action was already marked done")
        if action.owner != username and not any_action:
            raise NotPermitted("only the action's owner or a supervisor may mark it done")
        return self.record(AreaCiaActionDone(cia_id=self.cia_id, area=self.area, action_id=action_id,
                                             owner=action.owner, done_by=user_id, done_at=now))

    def close(self, reason: str, by: str, now: datetime) -> Event:
        self._not_closed()
        if not reason:
            raise InvalidCommand("give the reason for closing the assessment", "reason")
        if len(reason) > MAX_REASON:
            raise InvalidCommand(f"keep the reason under {MAX_REASON} characters", "reason")
        return self.record(AreaCiaClosed(cia_id=self.cia_id, area=self.area, closed_by=by, closed_at=now))

    def _not_closed(self) -> None:
        if self.closed:
            raise AlreadyDone("this assessment was closed")


def _review_time(next_review_at: datetime | None, now: datetime) -> None:
    if next_review_at is not None and next_review_at <= now:
        raise InvalidCommand("the next review must be in the future", "next_review_at")


def tidy(text: str | None, limit: int, what: str, name: str) -> str:
    text = (text or "").strip()
    if len(text) > limit:
        raise InvalidCommand(f"keep the {what} under {limit} characters", name)
    return text


class AreaCiaStore:
    """The stream, the row for the lists and the texts, written in the same transaction."""

    t, texts = tables.area_cias, tables.area_cia_texts

    def __init__(self, events: EventStore) -> None:
        self.events = events

    def get(self, s: Session, cia_id: str) -> AreaCia | None:
        history = [env.event() for env in self.events.load(s, stream(cia_id))]
        return AreaCia.replay(cia_id, history) if history else None

    def save(self, s: Session, cia: AreaCia, texts: dict[str, str], now: datetime) -> None:
        before = cia.version - len(cia.pending)
        self.events.append(s, stream(cia.cia_id), before, cia.pending, key=cia.area)
        row = {"state": "closed" if cia.closed else "open", "community_tension": cia.latest.community_tension,
               "risk_of_disorder": cia.latest.risk_of_disorder, "next_review_at": cia.latest.next_review_at,
               "open_actions": len(cia.open_actions()), "updated_at": now, "closed_at": cia.closed_at}
        if before == 0:
            first = cia.assessments[0]
            s.execute(insert(self.t).values(cia_id=cia.cia_id, area=cia.area, recorded_by=first.by,
                                            recorded_at=first.at, **row))
        else:
            s.execute(update(self.t).where(self.t.c.cia_id == cia.cia_id).values(**row))
        rows = [{"cia_id": cia.cia_id, "ref": ref, "text": text} for ref, text in texts.items() if text]
        if rows:
            s.execute(insert(self.texts), rows)
        cia.pending = []

    def texts_of(self, s: Session, cia_id: str) -> dict[str, str]:
        rows = s.execute(select(self.texts.c.ref, self.texts.c.text).where(self.texts.c.cia_id == cia_id))
        return {str(r.ref): str(r.text) for r in rows}

    def listed(self, s: Session, area: str) -> list[dict[str, Any]]:
        t = self.t
        return [dict(r) for r in s.execute(select(t).where(t.c.area == area)
                                           .order_by(t.c.state.desc(), t.c.recorded_at.desc())).mappings()]


def stream(cia_id: str) -> str:
    return f"area-cia-{cia_id}"


@dataclass(frozen=True)
class AreaCiaView:
    """An assessment as its page and the API show it: the aggregate, what staff wrote, and who is who."""

    cia: AreaCia
    texts: dict[str, str]
    names: dict[str, str]

    def as_json(self) -> dict[str, Any]:
        c = self.cia
        return {
            "cia_id": c.cia_id, "area": c.area, "state": "closed" if c.closed else "open",
            "closed_at": c.closed_at, "closed_by": c.closed_by, "close_reason": self.texts.get("closed"),
            "assessments": [{"n": a.n, "community_tension": a.community_tension,
                             "risk_of_disorder": a.risk_of_disorder, "next_review_at": a.next_review_at,
                             "by": a.by, "at": a.at, "notes": self.texts.get(f"assessment-{a.n}", "")}
                            for a in c.assessments],
            "actions": [{"action_id": a.action_id, "description": self.texts.get(f"action-{a.action_id}", ""),
                         "owner": a.owner, "due_at": a.due_at, "done": a.done_at is not None, "done_at": a.done_at,
                         "done_by": a.done_by, "set_by_review": a.added_by_review} for a in c.actions.values()],
        }


class AreaCias:
    """The use cases: each checks who is asking, loads the assessment, asks it, and saves what it decided."""

    def __init__(self, db: Database, store: AreaCiaStore, clock: Clock, areas: AreaRegistry) -> None:
        self.db, self.store, self.clock, self.areas = db, store, clock, areas

    def record(self, staff: Staff, area: str, tension: Level, disorder: Level, notes: str,
               actions: list[NewAction], next_review_at: datetime | None = None) -> AreaCiaView:
        staff.require(Action.record_cia)
        if self.areas.get(area) is None or not staff.covers(area):
            raise UnknownIncident("no such area among yours")
        notes = tidy(notes, MAX_NOTES, "notes", "notes")
        cia, now = AreaCia(new_id()), self.clock.now()
        with self.db.transaction() as s:
            planned, texts = self._actions(s, area, actions, now)
            cia.open(area, tension, disorder, next_review_at, planned, staff.user_id, now)
            self.store.save(s, cia, {"assessment-0": notes, **texts}, now)
            return self._view(s, cia)

    def review(self, staff: Staff, area: str, cia_id: str, tension: Level, disorder: Level, notes: str,
               actions: list[NewAction], next_review_at: datetime | None = None) -> AreaCiaView:
        staff.require(Action.record_cia)
        notes = tidy(notes, MAX_NOTES, "notes", "notes")

        def run(s: Session, cia: AreaCia, now: datetime) -> dict[str, str]:
            planned, texts = self._actions(s, cia.area, actions, now)
            cia.review(tension, disorder, next_review_at, planned, staff.user_id, now)
            return {f"assessment-{cia.latest.n}": notes, **texts}

        return self._act(staff, area, cia_id, run)

    def close(self, staff: Staff, area: str, cia_id: str, reason: str) -> AreaCiaView:
        staff.require(Action.record_cia)
        reason = " ".join((reason or "").split())

        def run(s: Session, cia: AreaCia, now: datetime) -> dict[str, str]:
            cia.close(reason, staff.user_id, now)
            return {"closed": reason}

        return self._act(staff, area, cia_id, run)

    def mark_done(self, staff: Staff, area: str, cia_id: str, action_id: str) -> AreaCiaView:
        staff.require(Action.view_queue)

        def run(s: Session, cia: AreaCia, now: datetime) -> dict[str, str]:
            cia.mark_done(action_id, staff.username, staff.user_id, staff.can(Action.complete_cia_actions), now)
            return {}

        return self._act(staff, area, cia_id, run)

    def get(self, staff: Staff, area: str, cia_id: str) -> AreaCiaView:
        staff.require(Action.view_queue)
        with self.db.sessions() as s:
            return self._view(s, self._for(staff, area, self.store.get(s, cia_id)))

    def listed(self, staff: Staff, area: str) -> list[dict[str, Any]]:
        staff.require(Action.view_queue)
        if self.areas.get(area) is None or not staff.covers(area):
            raise UnknownIncident("no such area among yours")
        with self.db.sessions() as s:
            return self.store.listed(s, area)

    def _act(self, staff: Staff, area: str, cia_id: str, command: Any) -> AreaCiaView:
        for attempt in (1, 2):
            try:
                with self.db.transaction() as s:
                    cia, now = self._for(staff, area, self.store.get(s, cia_id)), self.clock.now()
                    texts = command(s, cia, now)
                    self.store.save(s, cia, texts, now)
                    return self._view(s, cia)
            except ConcurrencyError:
                if attempt == 2:
                    raise AlreadyDone("someone else changed this assessment at the same moment: reload") from None
        raise AssertionError("unreachable")

    def _actions(self, s: Session, area: str, actions: list[NewAction],
                 now: datetime) -> tuple[list[AreaCiaAction], dict[str, str]]:
        if len(actions) > MAX_ACTIONS:
            raise InvalidCommand(f"an assessment has at most {MAX_ACTIONS} actions", "actions")
        planned, texts = [], {}
        for n, a in enumerate(actions, start=1):
            description = tidy(a.description, MAX_DESCRIPTION, "action's description", f"action_{n}_description")
            if not description:
                raise InvalidCommand(f"say what action {n} is", f"action_{n}_description")
            if a.due_at <= now:
                raise InvalidCommand(f"action {n} must fall due in the future", f"action_{n}_due_at")
            owner = a.owner.strip()
            account = next(iter(account_details(s, username=owner)), None) if owner else None
            if account is None or not account.enabled or not (account.national or area in account.areas):
                raise InvalidCommand(f"action {n}'s owner must be the username of an enabled account covering "
                                     "this area", f"action_{n}_owner")
            action = AreaCiaAction(action_id=new_id(), owner=owner, due_at=a.due_at)
            planned.append(action)
            texts[f"action-{action.action_id}"] = description
        return planned, texts

    def _for(self, staff: Staff, area: str, cia: AreaCia | None) -> AreaCia:
        """Another area's assessment, or one outside the person's areas, is unknown to them."""
        if cia is None or cia.area != area or not staff.covers(cia.area):
            raise UnknownIncident(UNKNOWN)
        return cia

    def _view(self, s: Session, cia: AreaCia) -> AreaCiaView:
        return AreaCiaView(cia, self.store.texts_of(s, cia.cia_id), display_names(s))
