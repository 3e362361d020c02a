"""What assessment's routes take from the composition root, as typed dependencies.

`main.py` builds the service and puts its parts on `app.state`; a route names the parts it needs
(`db: DatabaseDep`) and never imports `main.py`, so routers and the root do not import each other.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.templating import Jinja2Templates

from services.assessment.scoring import ScoringConfig
from services.assessment.sites.access import READERS, Scope, scope_of
from services.assessment.sites.guidance import Guidance
from services.assessment.sites.queries import lead_sites
from services.assessment.sites.service import SiteService
from shared.areas import AreaRegistry
from shared.clock import Clock
from shared.db import Database
from shared.problems import Forbidden, Unauthorized, prefers_html
from shared.settings import VigilSettings
from shared.staffaccess import Caller, Role, StaffAccess, bearer, requires, session_cookie
from shared.web.site import StaffSite, Viewer

# Who may read what (docs/design.md, "Privacy and access"; ADR 0046). Staff sign in at triage.
AREA_READERS = (Role.analyst, Role.supervisor, Role.duty_inspector)
STRATEGIC_READERS = (Role.analyst, Role.supervisor)


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def area_registry(request: Request) -> AreaRegistry:
    registry: AreaRegistry = request.app.state.registry
    return registry


def scoring_config(request: Request) -> ScoringConfig:
    scoring: ScoringConfig = request.app.state.scoring
    return scoring


def clock(request: Request) -> Clock:
    now: Clock = request.app.state.clock
    return now


def staff_site(request: Request) -> StaffSite:
    site: StaffSite = request.app.state.site
    return site


def page_templates(request: Request) -> Jinja2Templates:
    templates: Jinja2Templates = request.app.state.templates
    return templates


def page_viewer(request: Request, session: Annotated[str | None, Security(session_cookie)] = None,
                credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)] = None
                ) -> Viewer | None:
    """Who a page is for; None for a browser nobody has signed in on (the page sends it to sign in).

    A program without a session is answered 401, and a member of staff without a role that may read
    areas 403, as on the API.
    """
    access: StaffAccess = request.app.state.staff_access
    caller = access.caller(session, credentials.credentials if credentials else None)
    if caller is None:
        if prefers_html(request.headers.get("accept")):
            return None
        raise Unauthorized("sign in at triage first (POST /v1/session), then send its session cookie",
                           headers={"WWW-Authenticate": "Bearer"})
    viewer = Viewer(caller.name, caller.roles, caller.csrf_token, caller.areas)
    request.state.viewer = viewer  # so an error page still shows who is signed in
    if not caller.roles & set(AREA_READERS):
        raise Forbidden(f"this needs one of the roles: {', '.join(sorted(AREA_READERS))}")
    return viewer


def vigil_settings(request: Request) -> VigilSettings:
    vigil: VigilSettings = request.app.state.vigil
    return vigil


def site_service(request: Request) -> SiteService:
    sites: SiteService = request.app.state.sites
    return sites


def site_guidance(request: Request) -> Guidance:
    guidance: Guidance = request.app.state.guidance
    return guidance


def site_scope(db: Annotated[Database, Depends(database)], caller: Annotated[Caller, requires(*READERS)]) -> Scope:
    """The sites the caller may see: a site lead's own (as an administrator set them here), and their areas'."""
    own = frozenset[str]()
    if Role.site_lead.value in caller.roles:
        with db.snapshot() as s:
            own = lead_sites(s, caller.name)
    return scope_of(caller, own)


def may_read_strategic(viewer: Viewer) -> bool:
    return bool(viewer.roles & set(STRATEGIC_READERS))


DatabaseDep = Annotated[Database, Depends(database)]
RegistryDep = Annotated[AreaRegistry, Depends(area_registry)]
ScoringDep = Annotated[ScoringConfig, Depends(scoring_config)]
ClockDep = Annotated[Clock, Depends(clock)]
SiteDep = Annotated[StaffSite, Depends(staff_site)]
TemplatesDep = Annotated[Jinja2Templates, Depends(page_templates)]
PageViewer = Annotated[Viewer | None, Depends(page_viewer)]
SitesDep = Annotated[SiteService, Depends(site_service)]
ScopeDep = Annotated[Scope, Depends(site_scope)]
GuidanceDep = Annotated[Guidance, Depends(site_guidance)]
VigilDep = Annotated[VigilSettings, Depends(vigil_settings)]
