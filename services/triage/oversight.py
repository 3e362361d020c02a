"""What administrators and supervisors read to oversee triage: who viewed which reporter's personal details,
and the rulesets in force. Read-only; each view was recorded by the workflow (workflow.py) as it happened,
each ruleset by publishing (publishing.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select

from services.triage import staff_store, tables
from services.triage.access import Action, Staff
from services.triage.publishing import RulesetStore
from services.triage.rules import Ruleset
from shared.clock import Clock
from shared.db import Database

MAX_PER_PAGE = 1000


@dataclass(frozen=True)
class ViewFilter:
    user_id: str | None = None
    incident: str | None = None  # a reference ("AC3D4F6G7H") or an incident id
    since: datetime | None = None
    until: datetime | None = None  # exclusive


@dataclass(frozen=True)
class Views:
    rows: list[dict[str, Any]]
    total: int


@dataclass(frozen=True)
class RulesetsInForce:
    published: list[dict[str, Any]]
    in_force: Ruleset


class Oversight:
    def __init__(self, db: Database, clock: Clock, rulesets: RulesetStore) -> None:
        self.db = db
        self.clock = clock
        self.rulesets = rulesets

    def personal_data_views(self, staff: Staff, wanted: ViewFilter, offset: int = 0, limit: int = 50) -> Views:
        """Newest first, each with the incident's reference and the viewer's name; `total` counts every match.
        Views of incidents outside the person's areas are left out."""
        staff.require(Action.view_audit)
        query = _views(wanted)
        if staff.areas:
            query = query.where(tables.incidents.c.area.in_(sorted(staff.areas)))
        with self.db.snapshot() as s:
            total = s.execute(select(func.count()).select_from(query.subquery())).scalar_one()
            v = tables.personal_data_views
            rows = s.execute(query.order_by(v.c.viewed_at.desc(), v.c.id.desc())
                             .offset(max(offset, 0)).limit(min(max(limit, 1), MAX_PER_PAGE))).mappings()
            names = staff_store.display_names(s)
            found = [dict(r) | {"display_name": names.get(r["user_id"])} for r in rows]
        return Views(found, int(total))

    def staff_names(self, staff: Staff) -> dict[str, str]:
        """Everyone who has an account, to choose whose views to see."""
        staff.require(Action.view_audit)
        with self.db.sessions() as s:
            return {k: v for k, v in staff_store.display_names(s).items() if k not in staff_store.SYSTEM_NAMES}

    def rulesets_in_force(self, staff: Staff) -> RulesetsInForce:
        """Every published version, newest (in force) first, and the one in force read in full."""
        staff.require(Action.view_audit)
        with self.db.transaction() as s:  # on a new install the configured ruleset is published first
            in_force = self.rulesets.current(s, self.clock.now())
            return RulesetsInForce(self.rulesets.listing(s), in_force)


def _views(wanted: ViewFilter) -> Select[Any]:
    v, i = tables.personal_data_views, tables.incidents
    query = select(v, i.c.reference).outerjoin(i, i.c.incident_id == v.c.incident_id)
    if wanted.user_id:
        query = query.where(v.c.user_id == wanted.user_id)
    if wanted.incident:
        given = wanted.incident.strip()
        query = query.where(or_(i.c.reference == given.upper(), i.c.reference == given, v.c.incident_id == given))
    if wanted.since is not None:
        query = query.where(v.c.viewed_at >= wanted.since)
    if wanted.until is not None:
        query = query.where(v.c.viewed_at < wanted.until)
    return query
