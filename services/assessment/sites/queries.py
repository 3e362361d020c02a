"""The register's read side: sites, who leads them, the reports linked to a site and those offered for it.

A report is linked to a site when its place fingerprint (the keyed hash of area and normalised place name
that intake computes) is the site's, or when staff linked it; staff may dismiss either. Reports at places
of worship in the site's area, targeting its faith, that no site claims are offered to staff to decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, delete, or_, select
from sqlalchemy.orm import Session

from services.assessment import queries as area_queries
from services.assessment import tables
from services.assessment.projection import IncidentFacts, ReportFacts, TensionFacts
from services.assessment.scoring import ScoringConfig
from services.assessment.sites.assess import HISTORY, PLACE_OF_WORSHIP, assess_site
from services.assessment.sites.facts import LinkFacts, OutcomeFacts, SiteFacts
from services.assessment.sites.matrix import NEAR_WINDOW, SiteRisk
from services.assessment.store import incident_of, link_of, outcome_of, report_of, site_of, tension_of
from shared.events.incidents import NATIONAL

CANDIDATE_WINDOW = timedelta(days=90)


@dataclass(frozen=True)
class Linked:
    report: ReportFacts
    by_staff: bool                  # linked by a person, not by the place fingerprint
    incidents: tuple[IncidentFacts, ...]


def site(s: Session, site_id: str) -> SiteFacts | None:
    row = s.execute(select(tables.sites).where(tables.sites.c.site_id == site_id)).mappings().first()
    return site_of(row) if row else None


def sites(s: Session, area: str | None = None) -> list[SiteFacts]:
    query = select(tables.sites).order_by(tables.sites.c.area, tables.sites.c.name, tables.sites.c.site_id)
    if area:
        query = query.where(tables.sites.c.area == area)
    return [site_of(r) for r in s.execute(query).mappings()]


def by_fingerprint(s: Session, place_fp: str) -> list[SiteFacts]:
    return [site_of(r) for r in s.execute(select(tables.sites).where(tables.sites.c.place_fp == place_fp)).mappings()]


def lead_sites(s: Session, username: str) -> frozenset[str]:
    return frozenset(s.execute(select(tables.site_leads.c.site_id)
                               .where(tables.site_leads.c.username == username)).scalars())


def set_lead_sites(s: Session, username: str, site_ids: list[str], by: str, now: datetime) -> None:
    s.execute(delete(tables.site_leads).where(tables.site_leads.c.username == username))
    for site_id in sorted(set(site_ids)):
        s.execute(tables.site_leads.insert().values(username=username, site_id=site_id, assigned_by=by,
                                                    assigned_at=now))


def leads_of(s: Session, site_id: str) -> list[str]:
    return list(s.execute(select(tables.site_leads.c.username).where(tables.site_leads.c.site_id == site_id)
                          .order_by(tables.site_leads.c.username)).scalars())


def decisions(s: Session, site_id: str) -> dict[str, LinkFacts]:
    rows = s.execute(select(tables.site_links).where(tables.site_links.c.site_id == site_id)).mappings()
    return {r["report_id"]: link_of(r) for r in rows}


def outcomes(s: Session, site_id: str) -> list[OutcomeFacts]:
    t = tables.site_outcomes
    rows = s.execute(select(t).where(t.c.site_id == site_id).order_by(t.c.performed_at, t.c.outcome_id)).mappings()
    return [outcome_of(r) for r in rows]


def linked(s: Session, site: SiteFacts, since: datetime) -> list[Linked]:
    """The reports about the site since `since`, oldest first, withdrawn ones left out."""
    decided = decisions(s, site.site_id)
    confirmed = [rid for rid, d in decided.items() if d.linked]
    r = tables.reports
    matches: list[ColumnElement[bool]] = [r.c.report_id.in_(confirmed)] if confirmed else []
    if site.place_fp:
        matches.append((r.c.place_fp == site.place_fp) & (r.c.area == site.area))
    if not matches:
        return []
    rows = s.execute(select(r).where(or_(*matches), r.c.occurred_at > since, r.c.withdrawn.is_(False))
                     .order_by(r.c.occurred_at, r.c.report_id)).mappings()
    reports = [report_of(row) for row in rows if row["report_id"] not in decided or decided[row["report_id"]].linked]
    return [Linked(rep, rep.report_id in confirmed, _incidents(s, rep.report_id)) for rep in reports]


def candidates(s: Session, site: SiteFacts, now: datetime) -> list[ReportFacts]:
    """Reports at places of worship in the site's area in the last 90 days, of its faith (or none named),
    that no site's fingerprint claims and no one has decided on: for staff to link or dismiss."""
    r = tables.reports
    rows = s.execute(select(r).where(
        r.c.area == site.area, r.c.place_type == PLACE_OF_WORSHIP, r.c.occurred_at > now - CANDIDATE_WINDOW,
        r.c.withdrawn.is_(False), or_(r.c.religion == site.faith, r.c.religion.is_(None)))
        .order_by(r.c.occurred_at.desc(), r.c.report_id)).mappings()
    claimed = {fp for fp in s.execute(select(tables.sites.c.place_fp).where(tables.sites.c.area == site.area))
               .scalars() if fp}
    decided = set(s.execute(select(tables.site_links.c.report_id).where(or_(
        tables.site_links.c.site_id == site.site_id, tables.site_links.c.linked.is_(True)))).scalars())
    return [rep for rep in map(report_of, rows) if rep.place_fp not in claimed and rep.report_id not in decided]


def _incidents(s: Session, report_id: str) -> tuple[IncidentFacts, ...]:
    i = tables.incidents
    rows = s.execute(select(i).where(i.c.report_id == report_id).order_by(i.c.triaged_at, i.c.incident_id))
    return tuple(incident_of(row) for row in rows.mappings())


def report_exists(s: Session, report_id: str) -> ReportFacts | None:
    row = s.execute(select(tables.reports).where(tables.reports.c.report_id == report_id)).mappings().first()
    return report_of(row) if row else None


def risk_reports(s: Session, site: SiteFacts, decided: dict[str, bool], as_of: datetime) -> list[ReportFacts]:
    """The reports that could bear on the site's likelihood: its own (by fingerprint or staff's link) in two
    years, and places of worship in its area in the last 28 days."""
    r = tables.reports
    could: list[ColumnElement[bool]] = [(r.c.area == site.area) & (r.c.place_type == PLACE_OF_WORSHIP)
                                        & (r.c.occurred_at > as_of - NEAR_WINDOW)]
    if site.place_fp:
        could.append(r.c.place_fp == site.place_fp)
    confirmed = [rid for rid, linked in decided.items() if linked]
    if confirmed:
        could.append(r.c.report_id.in_(confirmed))
    rows = s.execute(select(r).where(or_(*could), r.c.occurred_at > as_of - HISTORY)).mappings()
    return [report_of(row) for row in rows]


def tensions_of(s: Session, site: SiteFacts) -> list[TensionFacts]:
    t = tables.tensions
    return [tension_of(row) for row in s.execute(select(t).where(t.c.area.in_([site.area, NATIONAL]))
                                                 .order_by(t.c.starts_at, t.c.tension_id)).mappings()]


def site_risk(s: Session, site: SiteFacts, as_of: datetime, config: ScoringConfig,
              area_levels: dict[str, str] | None = None) -> SiteRisk:
    """The site's risk now; `area_levels` carries area levels already worked out (a list of many sites)."""
    levels = area_levels if area_levels is not None else {}
    if site.area not in levels:
        levels[site.area] = area_queries.area_picture(s, site.area, as_of, config).level
    decided = {rid: d.linked for rid, d in decisions(s, site.site_id).items()}
    return assess_site(site, risk_reports(s, site, decided, as_of), decided, levels[site.area], tensions_of(s, site),
                       outcomes(s, site.site_id), as_of, config.anniversaries)
