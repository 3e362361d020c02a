"""Who sees which sites: a site lead its own sites, other staff the sites of their areas.

A site someone may not see answers exactly as a site that does not exist (404), so the register's
contents are not revealed by probing ids.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.assessment.sites.facts import SiteFacts
from shared.staffaccess import Caller, Role

# Staff who see the sites of their areas (all areas for an account without areas).
AREA_STAFF = frozenset({Role.supervisor.value, Role.analyst.value, Role.neighbourhood_officer.value,
                        Role.admin.value})
READERS = AREA_STAFF | {Role.site_lead.value}
EDITORS = frozenset({Role.supervisor.value, Role.neighbourhood_officer.value, Role.admin.value})  # the register
RECORDERS = frozenset({Role.site_lead.value, Role.neighbourhood_officer.value, Role.supervisor.value})
LINKERS = frozenset({Role.supervisor.value, Role.analyst.value, Role.neighbourhood_officer.value})
CONTACT_READERS = frozenset({Role.site_lead.value, Role.neighbourhood_officer.value, Role.supervisor.value,
                             Role.admin.value})
LEAD_ADMINS = frozenset({Role.admin.value})


@dataclass(frozen=True)
class Scope:
    """The sites one caller may see: every site in `areas` (None: every area; empty: none) and every site in
    `own` (a site lead's). `name` is who is asking, as events record them."""

    name: str
    areas: frozenset[str] | None
    own: frozenset[str]
    roles: frozenset[str]
    display_name: str = ""
    csrf_token: str = ""

    def sees(self, site: SiteFacts) -> bool:
        return site.site_id in self.own or self._in_areas(site)

    def may(self, roles: frozenset[str], site: SiteFacts) -> bool:
        """Whether the caller may act on `site` in one of `roles`: a site lead only on its own sites."""
        lead = Role.site_lead.value
        by_area = bool(self.roles & roles - {lead}) and self._in_areas(site)
        return by_area or (lead in self.roles & roles and site.site_id in self.own)

    def _in_areas(self, site: SiteFacts) -> bool:
        return self.areas is None or site.area in self.areas


def scope_of(caller: Caller, own: frozenset[str]) -> Scope:
    """A member of staff sees by area through an area role, and its own sites as a site lead."""
    areas = frozenset(caller.areas) or None if caller.roles & AREA_STAFF else frozenset[str]()
    return Scope(caller.name, areas, own, frozenset(caller.roles), caller.display_name or caller.name,
                 caller.csrf_token)
