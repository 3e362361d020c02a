"""A small client for intake's staff-text routes: what staff write about a report, sealed with its data key.

Triage seals a reason or a note before the event that carries it is appended, and opens what it shows while the
report's key exists (ADR 0055). Errors are those of the personal-data client: `ReportErased` once the key is
gone (410), `UnknownReport` (404), `PersonalDataUnavailable` when intake cannot be asked.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.events.reports import Sealed
from shared.personal import IntakeClient, PersonalDataUnavailable, ReportErased, UnknownReport

__all__ = ["PersonalDataUnavailable", "ReportErased", "StaffTextClient", "UnknownReport"]


class StaffTextClient(IntakeClient):
    """Triage only; intake refuses the others."""

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
        return self._call("POST", report_id, f"staff-text:{action}", json=body)
