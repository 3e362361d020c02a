"""Small builders for test data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


def report_body(**overrides: Any) -> dict[str, Any]:
    """A valid v1 report: a witness reports graffiti at a mosque in the Met's area."""
    body: dict[str, Any] = {
        "reporter": {"role": "witness", "anonymous": False, "name": "Amina Test",
                     "email": "amina@example.org", "preferred_language": "en"},
        "consent": {"contact": True, "share_with_police": True, "share_with_partners": True,
                    "refer_to_support": False},
        "incident": {
            "occurred_at": (datetime.now(UTC) - timedelta(hours=2)).isoformat(),
            "types": ["graffiti"],
            "targeted_characteristics": ["religion"],
            "religion_targeted": "muslim",
            "location": {"area": "E23000001", "postcode": "E1 6AN", "place_type": "place_of_worship",
                         "place_name": "East London Mosque"},
            "injuries": "none",
            "description": "Offensive graffiti sprayed on the front wall overnight.",
        },
    }
    for path, value in overrides.items():
        target = body
        *parents, leaf = path.split("__")
        for p in parents:
            target = target[p]
        target[leaf] = value
    return body
