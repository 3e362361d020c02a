"""A small client for intake's staff-text routes: what staff write about a report, sealed with its data key.

Triage seals a reason or a note before the event that carries it is appended, and opens what it shows while the
report's key exists (ADR 0055). Errors are those of the personal-data client: `ReportErased` once the key is
gone (410), `UnknownReport` (404), `PersonalDataUnavailable` when intake cannot be asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import httpx

from shared.events.reports import Sealed
from shared.personal import PersonalDataUnavailable, ReportErased, UnknownReport
from shared.servicecalls import service_headers
from shared.settings import VigilSettings

__all__ = ["PersonalDataUnavailable", "ReportErased", "StaffTextClient", "UnknownReport"]


class StaffTextClient:
    def __init__(self, base_url: str, headers: dict[str, str], timeout: float = 5.0,
                 client: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = headers
        self.client = client or httpx.Client(timeout=timeout)

    @classmethod
    def from_settings(cls, settings: VigilSettings, caller: str, timeout: float = 5.0) -> StaffTextClient:
        """`caller`: the service asking (intake answers triage only)."""
        return cls(settings.intake_internal_url, service_headers(settings, caller), timeout)

    def seal(self, report_id: str, fields: dict[str, str]) -> Sealed:
        return Sealed.model_validate(self._post(report_id, "seal", {"fields": fields})["sealed"])

    def open(self, report_id: str, sealed: Sequence[Sealed]) -> list[dict[str, str]]:
        """Each value's fields, in order."""
        if not sealed:
            return []
        body = {"sealed": [s.model_dump(mode="json") for s in sealed]}
        opened: list[dict[str, str]] = self._post(report_id, "open", body)["fields"]
        return opened

    def _post(self, report_id: str, action: str, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.base_url}/internal/v1/reports/{quote(report_id, safe='')}/staff-text:{action}"
        try:
            response = self.client.post(url, json=body, headers=self.headers)
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
