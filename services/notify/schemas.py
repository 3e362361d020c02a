"""The bodies staff send to notify, shared by the JSON API and the pages' forms, so both meet the same checks."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.notify.ledger import MAX_REASON


class StaffNote(BaseModel):
    """Why, for the record (optional)."""

    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=MAX_REASON)


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person_id: str = Field(min_length=1, max_length=80)
    starts_at: datetime
    ends_at: datetime
    reason: str | None = Field(None, max_length=MAX_REASON)

    @model_validator(mode="after")
    def _ordered(self) -> OverrideIn:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("starts_at and ends_at need a time zone (e.g. Z)")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self
