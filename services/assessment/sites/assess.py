"""A site's risk from the fold's facts as of a moment: the same function for the live pages and the rebuild.

Which reports are about the site is decided here, once: staff's decision where there is one, else the
place fingerprint. The live read fetches only the reports that could matter; the rebuild hands in its area's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from services.assessment.calendar import DEFAULT_ANNIVERSARIES, Anniversary, faith_events
from services.assessment.projection import ReportFacts, TensionFacts
from services.assessment.sites.facts import OutcomeFacts, SiteFacts
from services.assessment.sites.matrix import NEAR_WINDOW, RiskInputs, SiteRisk, calendar_near, notice_window, site_risk
from shared.events.incidents import NATIONAL

HISTORY = timedelta(days=2 * 366)
PLACE_OF_WORSHIP = "place_of_worship"


def about_site(site: SiteFacts, report: ReportFacts, decided: Mapping[str, bool]) -> bool:
    if report.report_id in decided:
        return decided[report.report_id]
    return bool(site.place_fp) and report.place_fp == site.place_fp and report.area == site.area


def split_reports(site: SiteFacts, reports: Iterable[ReportFacts], decided: Mapping[str, bool],
                  as_of: datetime) -> tuple[list[ReportFacts], list[ReportFacts]]:
    """(at the site in the last two years, at other places of worship of its faith in its area in 28 days)."""
    at, near = [], []
    for r in reports:
        age = as_of - r.occurred_at
        if r.withdrawn or age < timedelta(0) or age >= HISTORY:
            continue
        if about_site(site, r, decided):
            at.append(r)
        elif (age < NEAR_WINDOW and r.area == site.area and r.place_type == PLACE_OF_WORSHIP
              and r.religion == site.faith):
            near.append(r)
    key = lambda r: (r.occurred_at, r.report_id)  # noqa: E731
    return sorted(at, key=key), sorted(near, key=key)


def tension_active(site: SiteFacts, tensions: Iterable[TensionFacts], as_of: datetime) -> bool:
    return any(t.active(as_of) and t.area in (site.area, NATIONAL) for t in tensions)


def assess_site(site: SiteFacts, reports: Iterable[ReportFacts], decided: Mapping[str, bool], area_level: str,
                tensions: Iterable[TensionFacts], outcomes: Iterable[OutcomeFacts], as_of: datetime,
                anniversaries: Iterable[Anniversary] = DEFAULT_ANNIVERSARIES) -> SiteRisk:
    at, near = split_reports(site, reports, decided, as_of)
    first, last = notice_window(as_of)
    calendar = calendar_near(faith_events(site.faith, first, last, tuple(anniversaries)), as_of)
    inputs = RiskInputs(site.register(), at, near, area_level, tension_active(site, tensions, as_of), calendar,
                        sum(1 for o in outcomes if o.site_id == site.site_id and o.open_issue))
    return site_risk(inputs, as_of)
