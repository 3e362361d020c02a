"""Notify's use cases: decide who must be told what, put it on the ledger, and chase on durable timers.

Every handler runs inside the consumer's inbox transaction (or a timer's firing transaction), so
what it queues and schedules commits together with the fact that the event was handled: a
redelivered event or a re-fired timer finds its work done. Idempotency keys are deterministic
in (cause, recipient, purpose), so even a second event for the same incident queues nothing new.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.notify import tables, timers
from services.notify.dispatch import cancel_pending, queue
from services.notify.policy import (
    CIA_QUESTIONS,
    FIRST_PAGE,
    AssessmentSchedule,
    Directory,
    Page,
    next_page,
    parse_page,
)
from shared.areas import AreaRegistry, default_registry
from shared.clock import Clock, utc
from shared.db import insert_new
from shared.events.base import Envelope
from shared.events.incidents import NATIONAL
from shared.events.notifications import EscalationExhausted
from shared.eventstore import EventStore
from shared.ids import deterministic_id

log = logging.getLogger(__name__)
LONDON = ZoneInfo("Europe/London")
STAFF_CHANNELS = ("email", "sms", "log")


def _when(dt: datetime | None) -> str:
    return dt.astimezone(LONDON).strftime("%H:%M %d %b %Y (UK time)") if dt else "-"


def _dt(value: Any) -> datetime | None:
    return utc(datetime.fromisoformat(value)) if isinstance(value, str) and value else None


class NotifyApp:
    def __init__(self, store: EventStore, clock: Clock, directory: Directory, staff_ui_url: str,
                 schedule: AssessmentSchedule | None = None, channels: tuple[str, ...] = STAFF_CHANNELS,
                 areas: AreaRegistry | None = None) -> None:
        self.store = store
        self.clock = clock
        self.directory = directory
        self.staff_ui_url = staff_ui_url.rstrip("/")
        self.schedule = schedule or AssessmentSchedule()
        self.channels = channels
        self.areas = areas or default_registry()
        self._incident_handlers: dict[str, Callable[[Session, Envelope], None]] = {
            "vigil.incident.triaged.v1": self._on_triaged,
            "vigil.incident.criteria_overridden.v1": self._on_overridden,
            "vigil.incident.acknowledged.v1": self._on_acknowledged,
            "vigil.incident.escalated.v1": self._on_escalated,
            "vigil.incident.closed.v1": self._on_closed,
            "vigil.incident.heightened_tension_declared.v1": self._on_tension_declared,
            "vigil.incident.community_impact_assessment_requested.v1": self._on_cia_requested,
            "vigil.incident.community_impact_assessment_completed.v1": self._on_cia_completed,
        }

    # ---- consumers -------------------------------------------------------------------------

    def on_incident_event(self, s: Session, env: Envelope) -> None:
        handler = self._incident_handlers.get(env.type)
        if handler is not None:
            handler(s, env)

    def on_report_event(self, s: Session, env: Envelope) -> None:
        if env.type == "vigil.report.submitted.v1":
            self._on_report_submitted(s, env)
        elif env.type == "vigil.report.erased.v1":
            self._on_report_erased(s, env)

    def on_area_event(self, s: Session, env: Envelope) -> None:
        if env.type == "vigil.area.tension_raised.v1":
            d = env.data
            area = str(d.get("area") or env.key)
            self.open_assessment(s, deterministic_id("cia", "tension", area, env.id), "tension_rise", area,
                                 start=_dt(d.get("raised_at")) or self.clock.now(), level=d.get("level"))

    def on_partner_event(self, s: Session, env: Envelope) -> None:
        area = str(env.data.get("area") or "")
        grading = str(env.data.get("grading") or "")
        handling = grading[-1] if grading else None
        body = {"id": env.id, "type": env.type, "time": env.time.isoformat(), "data": env.data}
        for partner_id, subscription in sorted(self.directory.partners.items()):
            if subscription.entitled(area, env.type, handling):
                queue(s, self.clock, key=deterministic_id(env.id, f"partner:{partner_id}", "partner_webhook"),
                      incident_id=None, purpose="partner_webhook", channel="webhook", recipient_role="partner",
                      recipient=f"partner:{partner_id}", payload={"body": body})

    # ---- reporters -------------------------------------------------------------------------

    def _on_report_submitted(self, s: Session, env: Envelope) -> None:
        d = env.data
        reporter, consent = d.get("reporter") or {}, d.get("consent") or {}
        report_id = str(d["report_id"])
        if insert_new(s, tables.reporters, report_id=report_id, reference=str(d["reference"]),
                      language=str(reporter.get("preferred_language") or "en"),
                      contact_consent=bool(consent.get("contact")), has_contact=bool(reporter.get("has_contact")),
                      erased=False, created_at=self.clock.now()):
            self.tell_reporter(s, report_id, "reporter_receipt", cause=report_id, incident_id=None)

    def _on_report_erased(self, s: Session, env: Envelope) -> None:
        report_id = str(env.data["report_id"])
        s.execute(tables.reporters.update().where(tables.reporters.c.report_id == report_id).values(erased=True))
        cancel_pending(s, self.clock, self.store, tables.deliveries.c.report_id == report_id)

    def tell_reporter(self, s: Session, report_id: str | None, template: str, cause: str, incident_id: str | None,
                      **context: Any) -> bool:
        """Only with contact consent and a way to reach them; the address is looked up at send time."""
        if not report_id:
            return False
        r = s.execute(select(tables.reporters).where(tables.reporters.c.report_id == report_id)).mappings().first()
        if r is None or not r["contact_consent"] or not r["has_contact"] or r["erased"]:
            return False
        return queue(s, self.clock, key=deterministic_id(cause, f"reporter:{report_id}", template),
                     incident_id=incident_id, purpose=template, channel="reporter", recipient_role="reporter",
                     recipient=f"reporter:{report_id}", report_id=report_id,
                     payload={"template": template, "language": r["language"],
                              "context": {"reference": r["reference"], **context}})

    # ---- the Duty Inspector chase -------------------------------------------------------------

    def _on_triaged(self, s: Session, env: Envelope) -> None:
        d = env.data
        incident_id = str(d["incident_id"])
        chase = self._chase(s, incident_id)
        matched = [f"{m.get('code')}: {m.get('explanation')}" for m in d.get("matched") or []]
        values = {"report_id": d.get("report_id"), "reference": str(d.get("reference") or incident_id[:8]),
                  "area": str(d["area"]), "priority": str(d.get("priority") or "P2"),
                  "ack_deadline": _dt(d.get("ack_deadline")), "matched": json.dumps(matched),
                  "updated_at": self.clock.now()}
        needed = bool(d.get("needs_duty_inspector"))
        if chase is None:
            now = self.clock.now()
            row = {"incident_id": incident_id, "state": "paging" if needed else "not_needed", "page": "-",
                   "started_at": now, **values}
            if insert_new(s, tables.chases, **row):
                chase = row
                if needed:
                    self.page(s, row, FIRST_PAGE, now)
        elif chase["state"] == "not_needed":
            s.execute(tables.chases.update().where(tables.chases.c.incident_id == incident_id).values(**values))
            chase = {**chase, **values}
            if needed:
                self.start_chase(s, incident_id)
        if d.get("critical"):
            self.open_assessment(s, deterministic_id("cia", "incident", incident_id), "critical_incident",
                                 str(d["area"]), start=self.clock.now(), incident_id=incident_id, chase=chase)

    def _on_overridden(self, s: Session, env: Envelope) -> None:
        d = env.data
        incident_id = str(d["incident_id"])
        if self._chase(s, incident_id) is None:
            return
        s.execute(tables.chases.update().where(tables.chases.c.incident_id == incident_id).values(
            priority=str(d.get("priority") or "P2"), ack_deadline=_dt(d.get("ack_deadline")),
            updated_at=self.clock.now()))
        if d.get("needs_duty_inspector"):
            self.start_chase(s, incident_id)
        else:
            self.stop_chase(s, incident_id, "stood_down")

    def start_chase(self, s: Session, incident_id: str) -> None:
        chase = self._chase(s, incident_id)
        if chase is None or chase["state"] != "not_needed":
            return
        now = self.clock.now()
        s.execute(tables.chases.update().where(tables.chases.c.incident_id == incident_id).values(
            state="paging", started_at=now, updated_at=now))
        self.page(s, {**chase, "state": "paging"}, FIRST_PAGE, now)

    def page(self, s: Session, chase: dict[str, Any], page: Page, at: datetime) -> None:
        """Page one level (or re-send to it), then schedule what comes next on a durable timer."""
        incident_id, area = str(chase["incident_id"]), str(chase["area"])
        people = self.directory.level_people(area, page.level, at, self.rota_override(s, area, at))
        context = {"reference": chase["reference"], "priority": chase["priority"], "area": area,
                   "area_name": self._area_name(area), "deadline": _when(chase["ack_deadline"]),
                   "matched": json.loads(str(chase["matched"])), "link": f"{self.staff_ui_url}/incidents/{incident_id}",
                   "page": {"level": page.level, "loop": page.loop, "repeat": page.repeat}}
        for person_id in people:
            for channel in self._person_channels(person_id):
                queue(s, self.clock, key=deterministic_id(incident_id, page.label, f"person:{person_id}", channel,
                                                          "duty_inspector_alert"),
                      incident_id=incident_id, purpose="duty_inspector_alert", channel=channel,
                      recipient_role="duty_inspector" if page.level == 0 else f"escalation_level_{page.level + 1}",
                      recipient=f"person:{person_id}", report_id=chase.get("report_id"),
                      payload={"template": "duty_inspector_alert", "context": context})
        s.execute(tables.chases.update().where(tables.chases.c.incident_id == incident_id)
                  .values(page=page.label, updated_at=self.clock.now()))
        following, wait = next_page(self.directory.policy_for(area), page)
        payload = {"incident_id": incident_id, "after": page.label}
        if following is None:
            timers.schedule(s, self.clock, "chase_exhausted", at + wait, payload, incident_id, page.label)
        else:
            timers.schedule(s, self.clock, "chase", at + wait, {**payload, "page": following.label},
                            incident_id, following.label)

    def _person_channels(self, person_id: str) -> list[str]:
        wanted: list[str] = [c for c in self.directory.people[person_id].channels if c in self.channels]
        return wanted or ["log"]

    def _on_acknowledged(self, s: Session, env: Envelope) -> None:
        d = env.data
        incident_id = str(d["incident_id"])
        chase = self._chase(s, incident_id)
        if chase is None or chase["state"] not in ("paging", "exhausted"):
            return
        s.execute(tables.chases.update().where(tables.chases.c.incident_id == incident_id).values(
            state="acknowledged", acknowledged_at=_dt(d.get("acknowledged_at")) or self.clock.now(),
            acknowledged_by=str(d.get("acknowledged_by") or "")[:120], updated_at=self.clock.now()))
        self._cancel_alerts(s, incident_id)
        self.tell_reporter(s, chase["report_id"], "reporter_update", cause=env.id, incident_id=incident_id,
                           status="overseen")

    def _on_escalated(self, s: Session, env: Envelope) -> None:
        """Triage saw the acknowledgement deadline pass: page the next level now, unless already beyond it."""
        d = env.data
        chase = self._chase(s, str(d["incident_id"]))
        if chase is None or chase["state"] != "paging":
            return
        current = parse_page(str(chase["page"]))
        levels = len(self.directory.policy_for(str(chase["area"])).levels)
        target = min(int(d.get("level") or 1), levels - 1)
        if current.level < target:
            self.page(s, chase, Page(target, current.loop, 0), self.clock.now())

    def _on_closed(self, s: Session, env: Envelope) -> None:
        incident_id = str(env.data["incident_id"])
        chase = self._chase(s, incident_id)
        if chase is None:
            return
        self.stop_chase(s, incident_id, "closed")
        self.tell_reporter(s, chase["report_id"], "reporter_update", cause=env.id, incident_id=incident_id,
                           status="closed")

    def stop_chase(self, s: Session, incident_id: str, state: str) -> None:
        s.execute(tables.chases.update().where(tables.chases.c.incident_id == incident_id,
                                               tables.chases.c.state.in_(("paging", "exhausted", "not_needed")))
                  .values(state=state, updated_at=self.clock.now()))
        self._cancel_alerts(s, incident_id)

    def _cancel_alerts(self, s: Session, incident_id: str) -> None:
        d = tables.deliveries
        cancel_pending(s, self.clock, self.store, d.c.incident_id == incident_id, d.c.purpose == "duty_inspector_alert")

    def _chase(self, s: Session, incident_id: str) -> dict[str, Any] | None:
        row = s.execute(select(tables.chases).where(tables.chases.c.incident_id == incident_id)).mappings().first()
        return dict(row) if row else None

    def rota_override(self, s: Session, area: str, at: datetime) -> str | None:
        o = tables.rota_overrides
        return s.execute(select(o.c.person_id).where(o.c.area == area, o.c.starts_at <= at, o.c.ends_at > at)
                         .order_by(o.c.created_at.desc()).limit(1)).scalar()

    # ---- community impact assessments --------------------------------------------------------

    def open_assessment(self, s: Session, assessment_id: str, trigger: str, area: str, start: datetime,
                        incident_id: str | None = None, level: Any = None, due_at: datetime | None = None,
                        chase: Mapping[str, Any] | None = None) -> bool:
        """`chase`: the incident's chase as the caller has just read or written it (else it is read here)."""
        if incident_id and chase is None:
            chase = self._chase(s, incident_id)
        due = due_at or self.schedule.due(start)
        now = self.clock.now()
        row = {"assessment_id": assessment_id, "trigger": trigger, "incident_id": incident_id, "area": area,
               "reference": chase["reference"] if chase else None, "priority": chase["priority"] if chase else None,
               "level": str(level) if level else None, "due_at": due, "state": "open", "completed_at": None,
               "created_at": now, "updated_at": now}
        if not insert_new(s, tables.assessments, **row):
            return False
        self.prompt(s, assessment_id, "prompt", assessment_id, row)
        self._schedule_reminder(s, assessment_id, due, 1)
        return True

    def prompt(self, s: Session, assessment_id: str, stage: str, cause: str,
               written: Mapping[str, Any] | None = None) -> None:
        """`written`: the assessment as just written, when the caller has it (else it is read here)."""
        row = written if written is not None else s.execute(select(tables.assessments).where(
            tables.assessments.c.assessment_id == assessment_id)).mappings().one()
        areas = list(self.directory.areas) if row["area"] == NATIONAL else [str(row["area"])]
        people = list(dict.fromkeys(p for area in areas for p in self.directory.cia_people(area)))
        context = {"stage": stage, "area": row["area"], "area_name": self._area_name(str(row["area"])),
                   "reference": row["reference"], "priority": row["priority"], "level": row["level"],
                   "due": _when(row["due_at"]), "questions": [list(q) for q in CIA_QUESTIONS],
                   "link": f"{self.staff_ui_url}/assessments/{assessment_id}"}
        for person_id in people:
            for channel in self._person_channels(person_id):
                if channel == "sms":
                    continue  # ten questions do not belong in a text message
                queue(s, self.clock, key=deterministic_id(cause, stage, f"person:{person_id}", channel, "cia"),
                      incident_id=row["incident_id"], purpose=f"cia_{stage}", channel=channel,
                      recipient_role="community_impact", recipient=f"person:{person_id}",
                      payload={"template": "cia_prompt", "context": context})

    def _schedule_reminder(self, s: Session, assessment_id: str, due: datetime, n: int) -> None:
        when = self.schedule.reminder_at(due, n)
        if when is not None:
            timers.schedule(s, self.clock, "cia_reminder", max(when, self.clock.now()),
                            {"assessment_id": assessment_id, "n": n, "due": due.isoformat()},
                            assessment_id, due.isoformat(), str(n))

    def _schedule_review(self, s: Session, assessment_id: str, completed: datetime, n: int,
                         first: datetime | None = None) -> None:
        when = first if (first and n == 1) else self.schedule.review_at(completed, n)
        if when is not None:
            timers.schedule(s, self.clock, "cia_review", when,
                            {"assessment_id": assessment_id, "n": n, "completed": completed.isoformat()},
                            assessment_id, completed.isoformat(), str(n))

    def _on_tension_declared(self, s: Session, env: Envelope) -> None:
        d = env.data
        area = str(d.get("area") or NATIONAL)
        self.open_assessment(s, deterministic_id("cia", "tension", area, str(d.get("tension_id") or env.id)),
                             "tension_rise", area, start=_dt(d.get("declared_at")) or self.clock.now(),
                             level="heightened")

    def _on_cia_requested(self, s: Session, env: Envelope) -> None:
        d = env.data
        incident_id, area, due = d.get("incident_id"), str(d.get("area")), _dt(d.get("due_at"))
        existing = self._open_assessment_for(s, incident_id, area)
        if existing is None:
            aid = deterministic_id("cia", "incident", incident_id) if incident_id else deterministic_id("cia", env.id)
            if not self.open_assessment(s, aid, "requested", area, start=self.clock.now(), incident_id=incident_id,
                                        due_at=due):
                self._reopen(s, aid, due)
        elif due is not None:
            self._reopen(s, existing, due)

    def _reopen(self, s: Session, assessment_id: str, due: datetime | None) -> None:
        due = due or self.schedule.due(self.clock.now())
        s.execute(tables.assessments.update().where(tables.assessments.c.assessment_id == assessment_id)
                  .values(due_at=due, state="open", updated_at=self.clock.now()))
        self._schedule_reminder(s, assessment_id, due, 1)

    def _open_assessment_for(self, s: Session, incident_id: Any, area: str) -> str | None:
        a = tables.assessments
        where = [a.c.incident_id == incident_id] if incident_id else [a.c.incident_id.is_(None), a.c.area == area]
        return s.execute(select(a.c.assessment_id).where(a.c.state == "open", *where)
                         .order_by(a.c.created_at.desc()).limit(1)).scalar()

    def _on_cia_completed(self, s: Session, env: Envelope) -> None:
        d = env.data
        aid = self._open_assessment_for(s, d.get("incident_id"), str(d.get("area")))
        if aid is None:
            return
        completed = _dt(d.get("completed_at")) or self.clock.now()
        s.execute(tables.assessments.update().where(tables.assessments.c.assessment_id == aid)
                  .values(state="completed", completed_at=completed, updated_at=self.clock.now()))
        self._schedule_review(s, aid, completed, 1, first=_dt(d.get("next_review_at")))

    # ---- timers -------------------------------------------------------------------------------

    def on_timer(self, s: Session, kind: str, payload: dict[str, Any], due_at: datetime) -> None:
        if kind in ("chase", "chase_exhausted"):
            self._chase_timer(s, kind, payload, due_at)
        elif kind == "cia_reminder":
            self._cia_timer(s, payload, "open", "due", "reminder", due_at)
        elif kind == "cia_review":
            self._cia_timer(s, payload, "completed", "completed", "review", due_at)

    def _chase_timer(self, s: Session, kind: str, payload: dict[str, Any], due_at: datetime) -> None:
        chase = self._chase(s, str(payload["incident_id"]))
        if chase is None or chase["state"] != "paging" or chase["page"] != payload["after"]:
            return  # acknowledged, closed, or already moved on by an escalation
        if kind == "chase":
            self.page(s, chase, parse_page(str(payload["page"])), due_at)
            return
        now = self.clock.now()
        s.execute(tables.chases.update().where(tables.chases.c.incident_id == chase["incident_id"])
                  .values(state="exhausted", updated_at=now))
        sent = s.execute(select(tables.deliveries.c.idempotency_key).where(
            tables.deliveries.c.incident_id == chase["incident_id"],
            tables.deliveries.c.purpose == "duty_inspector_alert")).all()
        self.store.extend(s, f"chase-{chase['incident_id']}",
                          [EscalationExhausted(incident_id=chase["incident_id"], area=chase["area"],
                                               priority=chase["priority"], pages=len(sent), exhausted_at=now)],
                          key=str(chase["incident_id"]))
        log.error("escalation policy exhausted without acknowledgement", extra={"incident_id": chase["incident_id"]})

    def _cia_timer(self, s: Session, payload: dict[str, Any], state: str, field: str, stage: str,
                   due_at: datetime) -> None:
        aid, n = str(payload["assessment_id"]), int(payload["n"])
        row = s.execute(select(tables.assessments).where(tables.assessments.c.assessment_id == aid)).mappings().first()
        generation = _dt(payload.get(field))
        if row is None or row["state"] != state or generation is None:
            return
        if generation != (row["due_at"] if field == "due" else row["completed_at"]):
            return  # re-planned, or recorded again, since this timer was set
        self.prompt(s, aid, stage, deterministic_id(aid, stage, generation.isoformat(), str(n)))
        if stage == "reminder":
            self._schedule_reminder(s, aid, generation, n + 1)
        else:
            self._schedule_review(s, aid, generation, n + 1)

    def _area_name(self, code: str) -> str:
        if code == NATIONAL:
            return "all areas (national)"
        area = self.areas.get(code)
        return area.name if area else code


def assessment_schedule(due_hours: float, remind_every_hours: float, review_days: float) -> AssessmentSchedule:
    return AssessmentSchedule(due_after=timedelta(hours=due_hours), remind_every=timedelta(hours=remind_every_hours),
                              review_after=timedelta(days=review_days))
