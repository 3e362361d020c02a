"""The staff site as one place: where each service's pages are, the one navigation, who is signed in.

Staff pages are served by several services on their own origins; the navigation, the identity bar and
the sign-in and sign-out links point across them from this one configuration (env `VIGIL_STAFF_*`),
so a person moves between the queue, notifications and analysis without noticing the boundary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.web.filters import humanise

# The staff roles (shared.staffaccess.Role), named here as strings: shared.staffaccess answers problems,
# whose HTML pages are rendered through this package.
OPERATIONAL = frozenset({"triage_officer", "duty_inspector", "supervisor", "neighbourhood_officer"})
ROLE_LABELS = {"admin": "Administrator"}


@dataclass(frozen=True)
class NavLink:
    """One item of the navigation; `roles` empty means everyone signed in sees it."""

    key: str
    text: str
    href: str
    roles: frozenset[str] = frozenset()

    def shown_to(self, roles: frozenset[str]) -> bool:
        return not self.roles or bool(self.roles & roles)


@dataclass(frozen=True)
class Viewer:
    """The signed-in person a page is for: the identity bar shows them, the navigation follows their roles."""

    name: str
    roles: frozenset[str] = field(default_factory=frozenset)
    csrf_token: str = ""
    areas: frozenset[str] = field(default_factory=frozenset)  # the person's force areas; empty: national

    def covers(self, area: str) -> bool:
        return not self.areas or area in self.areas

    @property
    def role_labels(self) -> list[str]:
        return [ROLE_LABELS.get(r) or humanise(r) for r in sorted(self.roles)]


class StaffSite(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIGIL_STAFF_", extra="ignore")

    service_name: str = "Vigil"
    triage_url: str = "http://127.0.0.1:8002"
    notify_url: str = "http://127.0.0.1:8003"
    assessment_url: str = "http://127.0.0.1:8004"

    @property
    def home_url(self) -> str:
        return f"{self.triage_url}/queue"

    @property
    def sign_out_url(self) -> str:
        return f"{self.triage_url}/logout"

    def sign_in_url(self, return_to: str | None = None) -> str:
        """Triage's sign-in page; `return_to` is where the person goes once signed in again."""
        query = f"?{urlencode({'next': return_to})}" if return_to else ""
        return f"{self.triage_url}/login{query}"

    def links(self) -> list[NavLink]:
        return [
            NavLink("queue", "Queue", f"{self.triage_url}/queue"),
            NavLink("incidents", "Incidents", f"{self.triage_url}/incidents", OPERATIONAL),
            NavLink("administration", "Administration", f"{self.triage_url}/admin",
                    frozenset({"admin", "supervisor"})),
            NavLink("notify", "Notifications", f"{self.notify_url}/",
                    frozenset({"duty_inspector", "supervisor", "admin"})),
            NavLink("analysts", "Analysis", f"{self.assessment_url}/",
                    frozenset({"analyst", "supervisor", "duty_inspector"})),
            NavLink("sites", "Places of worship", f"{self.assessment_url}/sites",
                    frozenset({"supervisor", "analyst", "neighbourhood_officer", "admin", "site_lead"})),
        ]

    def navigation(self, viewer: Viewer | None, current: str | None = None) -> list[dict[str, object]]:
        """The navigation items for govukServiceNavigation: the viewer's links, the current one marked."""
        if viewer is None:
            return []
        return [{"text": link.text, "href": link.href, "current": link.key == current}
                for link in self.links() if link.shown_to(viewer.roles)]

    def form_origins(self) -> list[str]:
        """Origins a staff page's forms may post to (the sign-out form goes to triage)."""
        return sorted({_origin(url) for url in (self.triage_url, self.notify_url, self.assessment_url)} - {""})


def _origin(url: str) -> str:
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}" if rest else ""
