"""A small client for intake's internal personal-data API.

A service that must contact a reporter asks at the moment it needs the details, uses them
and keeps nothing: no cache, no copy in its own tables (docs/design.md, "Privacy and access"). It calls with
its own credential and says why (`ReadPurpose`, and for which member of staff): intake records every read.
"""

from __future__ import annotations

from typing import Any, Self
from urllib.parse import quote

import httpx
from pydantic import BaseModel, Field

from shared.answers import Given, Instant
from shared.events.reports import ReadPurpose
from shared.servicecalls import service_headers
from shared.settings import VigilSettings


class PersonalDataUnavailable(Exception):
    """Intake could not answer now (down, timeout, 5xx): try again later."""


class UnknownReport(LookupError):
    """Intake has no such report (404)."""


class ReportErased(LookupError):
    """The report was erased (410): its personal data is gone for good."""


class PersonalUpdate(BaseModel):
    at: Instant = Field(description="when the reporter added it")
    information: str


class PersonalData(BaseModel):
    """A report's personal data as intake answers it to triage and notify (and triage to a member of staff): only
    the fields the reporter gave, so each may be absent (never null); the latest value wins."""

    name: Given[str] = None
    email: Given[str] = None
    phone: Given[str] = None
    organisation: Given[str] = None
    postcode: Given[str] = None
    place_name: Given[str] = None
    online_platform: Given[str] = None
    url: Given[str] = None
    description: Given[str] = Field(None, description="the reporter's own words")
    external_reference: Given[str] = Field(None, description="a reporting centre's case reference")
    updates: Given[list[PersonalUpdate]] = Field(None, description="what the reporter added later, oldest first")


class IntakeClient:
    """What the clients of intake's internal report routes share: the calling service's credential, one
    connection pool, and what intake's answers mean (404 unknown, 410 erased, anything else not 200: try later)."""

    def __init__(self, base_url: str, headers: dict[str, str], timeout: float = 5.0,
                 client: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = headers
        self.client = client or httpx.Client(timeout=timeout)

    @classmethod
    def from_settings(cls, settings: VigilSettings, caller: str, timeout: float = 5.0) -> Self:
        """`caller`: the service asking (intake names the services each route answers)."""
        return cls(settings.intake_internal_url, service_headers(settings, caller), timeout)

    def _call(self, method: str, report_id: str, route: str, **request: Any) -> dict[str, Any]:
        url = f"{self.base_url}/internal/v1/reports/{quote(report_id, safe='')}/{route}"
        try:
            response = self.client.request(method, url, headers=self.headers, **request)
        except httpx.HTTPError as e:
            raise PersonalDataUnavailable(f"intake unreachable: {type(e).__name__}") from e
        if response.status_code == 404:
            raise UnknownReport(report_id)
        if response.status_code == 410:
            raise ReportErased(report_id)
        if response.status_code != 200:
            raise PersonalDataUnavailable(f"intake answered HTTP {response.status_code}")
        answer: dict[str, Any] = response.json()
        return answer

    def close(self) -> None:
        self.client.close()


class PersonalDataClient(IntakeClient):
    """Triage and notify only; intake refuses the others."""

    def get(self, report_id: str, purpose: ReadPurpose, on_behalf_of: str | None = None) -> dict[str, Any]:
        params = {"purpose": purpose.value} | ({"on_behalf_of": on_behalf_of} if on_behalf_of else {})
        return self._call("GET", report_id, "personal", params=params)
