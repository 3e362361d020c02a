"""Visits at places of worship as actions taken on an incident's community impact assessment (#17).

Assessment keeps the register of places of worship and the visits officers make there; on `vigil.sites.v1` it
says which reports a site is linked to (`vigil.site.report_linked.v1`; `vigil.site.link_dismissed.v1` undoes
it), what the site is called (registered, updated) and each visit made (`vigil.site.visit_recorded.v1`).
Triage keeps of these what the incident page needs: the links, the names, and of a visit who made it and when.
The visit's notes travel sealed with the site's key and are never kept here; the topic carries no personal
data (`visited_by` names staff).

An incident's actions taken are the visits at the sites linked to its report (an incident's id is its report's
id) made from the moment Vigil triaged it: a visit before the report is not an action on it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from services.triage import tables
from shared.db import insert_new
from shared.events.base import Envelope
from shared.events.handlers import HandlerTable
from shared.events.sites import (
    SiteLinkDismissed,
    SiteRegistered,
    SiteReportLinked,
    SiteUpdated,
    SiteVisitRecorded,
)

_links, _names, _visits = tables.site_reports, tables.site_names, tables.site_visits


class SiteVisits:
    """The consumer of `vigil.sites.v1`: every write is keyed, so a redelivered event changes nothing."""

    def __init__(self) -> None:
        self.on_site_event = HandlerTable({SiteRegistered: self.named, SiteUpdated: self.named,
                                           SiteReportLinked: self.linked, SiteLinkDismissed: self.unlinked,
                                           SiteVisitRecorded: self.visited})

    def named(self, s: Session, e: SiteRegistered | SiteUpdated, env: Envelope) -> None:
        if not insert_new(s, _names, site_id=e.site_id, name=e.entry.name):
            s.execute(update(_names).where(_names.c.site_id == e.site_id).values(name=e.entry.name))

    def linked(self, s: Session, e: SiteReportLinked, env: Envelope) -> None:
        insert_new(s, _links, site_id=e.site_id, report_id=e.report_id)

    def unlinked(self, s: Session, e: SiteLinkDismissed, env: Envelope) -> None:
        """Staff said the report was not about the site after all (a link can be undone so): its visits go."""
        s.execute(delete(_links).where(_links.c.site_id == e.site_id, _links.c.report_id == e.report_id))

    def visited(self, s: Session, e: SiteVisitRecorded, env: Envelope) -> None:
        insert_new(s, _visits, visit_id=e.visit_id, site_id=e.site_id, visited_at=e.visited_at,
                   visited_by=e.visited_by, recorded_at=e.recorded_at)


def actions_taken(s: Session, report_id: str, since: datetime | None) -> list[dict[str, Any]]:
    """The visits at the report's linked sites since `since` (all of them when None), oldest first: who, when
    and which site (its name, once assessment has said it)."""
    query = (select(_visits.c.visit_id, _visits.c.site_id, _visits.c.visited_at, _visits.c.visited_by,
                    _names.c.name.label("site_name"))
             .select_from(_visits.join(_links, _links.c.site_id == _visits.c.site_id)
                          .outerjoin(_names, _names.c.site_id == _visits.c.site_id))
             .where(_links.c.report_id == report_id)
             .order_by(_visits.c.visited_at, _visits.c.visit_id))
    if since is not None:
        query = query.where(_visits.c.visited_at >= since)
    return [dict(r) for r in s.execute(query).mappings()]
