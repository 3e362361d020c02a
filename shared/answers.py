"""Types for the services' JSON answers (their response models).

`Instant`: a moment, written as `datetime.isoformat()` writes it (`+00:00`, as the services answered before their
answers were typed), documented as an RFC 3339 date-time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import PlainSerializer, WithJsonSchema

Instant = Annotated[datetime, PlainSerializer(lambda at: at.isoformat(), return_type=str, when_used="json"),
                    WithJsonSchema({"type": "string", "format": "date-time"})]
