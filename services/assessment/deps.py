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
from shared.areas import AreaRegistry
from shared.clock import Clock
from shared.db import Database
from shared.problems import Forbidden, Unauthorized, prefers_html
from shared.staffaccess import Role, StaffAccess, bearer, session_cookie
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
    viewer = Viewer(caller.name, caller.roles, caller.csrf_token)
    request.state.viewer = viewer  # so an error page still shows who is signed in
    if not caller.service and not caller.roles & set(AREA_READERS):
        raise Forbidden(f"this needs one of the roles: {', '.join(sorted(AREA_READERS))}")
    return viewer


def may_read_strategic(viewer: Viewer) -> bool:
    return bool(viewer.roles & set(STRATEGIC_READERS))


DatabaseDep = Annotated[Database, Depends(database)]
RegistryDep = Annotated[AreaRegistry, Depends(area_registry)]
ScoringDep = Annotated[ScoringConfig, Depends(scoring_config)]
ClockDep = Annotated[Clock, Depends(clock)]
SiteDep = Annotated[StaffSite, Depends(staff_site)]
TemplatesDep = Annotated[Jinja2Templates, Depends(page_templates)]
PageViewer = Annotated[Viewer | None, Depends(page_viewer)]
