"""Intake's internal API, the only place triage gets personal data from. Used, shown, never kept."""

from __future__ import annotations

from typing import Any

import httpx


class PersonalDataErased(LookupError):
    """Intake answered 410: the report's key was destroyed."""


class PersonalDataUnavailable(RuntimeError):
    pass


class IntakeClient:
    def __init__(self, base_url: str, service_token: str, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = service_token
        self.timeout = timeout

    def personal(self, report_id: str) -> dict[str, Any]:
        try:
            answer = httpx.get(f"{self.base_url}/internal/v1/reports/{report_id}/personal", timeout=self.timeout,
                               headers={"Authorization": f"Bearer {self._token}"})
        except httpx.HTTPError as e:
            raise PersonalDataUnavailable("intake did not answer") from e
        if answer.status_code == 410:
            raise PersonalDataErased(report_id)
        if answer.status_code != 200:
            raise PersonalDataUnavailable(f"intake answered {answer.status_code}")
        data: dict[str, Any] = answer.json()
        return data
