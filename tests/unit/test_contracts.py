from __future__ import annotations

import re
from pathlib import Path

import pytest

from shared.contracts import check_contracts
from shared.events import UnknownEventType, decode, registry, upcaster

ROOT = Path(__file__).resolve().parents[2]


def test_checked_in_schemas_and_asyncapi_match_the_event_models() -> None:
    assert check_contracts(ROOT / "docs") == []


def test_every_event_type_is_a_stable_past_tense_versioned_name() -> None:
    for type_name, cls in registry().items():
        assert re.fullmatch(r"vigil\.[a-z_]+\.[a-z_]+\.v[0-9]+", type_name), type_name
        assert cls.TOPIC.startswith("vigil.") and cls.TOPIC.endswith(".v1")


def test_an_old_version_is_read_through_its_upcaster() -> None:
    @upcaster("vigil.report.retracted.v0", "vigil.report.withdrawn.v1")
    def _v0_to_v1(data: dict[str, object]) -> dict[str, object]:
        return {"report_id": data["id"], "withdrawn_at": data["at"], "reason": None}

    event = decode("vigil.report.retracted.v0", {"id": "r-1", "at": "2026-01-01T00:00:00Z"})
    assert type(event).__name__ == "ReportWithdrawn"
    assert event.model_dump()["report_id"] == "r-1"


def test_an_unknown_type_is_refused_by_name() -> None:
    with pytest.raises(UnknownEventType, match=r"vigil\.nothing\.happened\.v1"):
        decode("vigil.nothing.happened.v1", {})
