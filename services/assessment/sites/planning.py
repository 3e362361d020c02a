"""A site's plan as the API and the pages give it: the periods of the days asked for, read from one snapshot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from services.assessment.calendar import faith_events
from services.assessment.scoring import ScoringConfig
from services.assessment.sites import queries
from services.assessment.sites.facts import SiteFacts
from services.assessment.sites.guidance import Guidance
from services.assessment.sites.matrix import SiteRisk
from services.assessment.sites.plan import PlanPeriod, build_plan, tension_span
from shared.problems import Unprocessable

DEFAULT_DAYS = 56          # eight weeks ahead
MAX_DAYS = 400
LOOK_PAST_END = timedelta(days=31)   # a festival just after the range still has its "before" period in it


def plan_days(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    first = start or today
    last = end or first + timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise Unprocessable("the plan ends before it starts", errors=[
            {"field": "from", "message": "must be on or before 'to'"}])
    if (last - first).days >= MAX_DAYS:
        raise Unprocessable("the plan is too long", errors=[
            {"field": "to", "message": f"choose at most {MAX_DAYS} days"}])
    return first, last


@dataclass(frozen=True)
class SitePlan:
    site: SiteFacts
    risk: SiteRisk
    first: date
    last: date
    guidance: Guidance
    periods: list[PlanPeriod]

    def document(self) -> dict[str, Any]:
        return {"site_id": self.site.site_id, "name": self.site.name, "faith": self.site.faith,
                "from": self.first.isoformat(), "to": self.last.isoformat(),
                "guidance": {"name": self.guidance.name, "version": self.guidance.version},
                "risk": self.risk.document(), "periods": [p.document() for p in self.periods]}


def site_plan(s: Session, site: SiteFacts, first: date, last: date, now: datetime, config: ScoringConfig,
              guidance: Guidance) -> SitePlan:
    risk = queries.site_risk(s, site, now, config)
    tensions = [tension_span(t) for t in queries.tensions_of(s, site)]
    events = faith_events(site.faith, first, last + LOOK_PAST_END, config.anniversaries)
    periods = build_plan(guidance, site.register(), risk.level, first, last, events, tensions)
    return SitePlan(site, risk, first, last, guidance, periods)
