"""Types for the services' JSON answers (their response models).

`Instant`: a moment, written as `datetime.isoformat()` writes it (`+00:00`, as the services answered before their
answers were typed), documented as an RFC 3339 date-time.
`Given[T]`: a field left out of the answer when there is nothing to give, never null: its schema says only `T`,
and not required (the route leaves it out: an answer built without it, or `response_model_exclude_none`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, TypeAlias, TypeVar

from pydantic import PlainSerializer, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema

Instant = Annotated[datetime, PlainSerializer(lambda at: at.isoformat(), return_type=str, when_used="json"),
                    WithJsonSchema({"type": "string", "format": "date-time"})]

T = TypeVar("T")
Given: TypeAlias = T | SkipJsonSchema[None]
