"""The strategic assessment's section on places of worship: sites by level, overdue routines, recent incidents."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from services.assessment.scoring import LEVELS, ScoringConfig
from services.assessment.sites import queries
from services.assessment.sites.checks import site_checks
from services.assessment.sites.guidance import Guidance


@dataclass(frozen=True)
class SiteLine:
    name: str
    area: str
    faith: str
    level: str
    likelihood: int
    impact: int
    overdue: tuple[str, ...]        # routines overdue or never done
    incidents: int                  # linked to the site in the period


@dataclass(frozen=True)
class PlacesOfWorship:
    sites: list[SiteLine] = field(default_factory=list)

    @property
    def by_level(self) -> list[tuple[str, int]]:
        counts = Counter(s.level for s in self.sites)
        return [(level, counts[level]) for level in reversed(LEVELS)]

    @property
    def with_overdue(self) -> list[SiteLine]:
        return [s for s in self.sites if s.overdue]

    @property
    def with_incidents(self) -> list[SiteLine]:
        return sorted((s for s in self.sites if s.incidents), key=lambda s: (-s.incidents, s.name))


def places_of_worship(s: Session, area: str | None, start: datetime, end: datetime, as_of: datetime,
                      config: ScoringConfig, guidance: Guidance) -> PlacesOfWorship:
    levels: dict[str, str] = {}
    lines = []
    for site in queries.sites(s, area):
        risk = queries.site_risk(s, site, as_of, config, levels)
        checks = site_checks(s, site, guidance, as_of, config.anniversaries)
        late = tuple(r.routine.name for r in checks.routines if r.state in ("overdue", "never"))
        incidents = sum(1 for x in queries.linked(s, site, start) if x.report.occurred_at <= end)
        lines.append(SiteLine(site.name, site.area, site.faith, risk.level, risk.likelihood, risk.impact, late,
                              incidents))
    lines.sort(key=lambda x: (-LEVELS.index(x.level), -x.likelihood * x.impact, x.name))
    return PlacesOfWorship(lines)
