"""docs/design.md is the next engineer's map: its event catalogue names every registered type and its
topic table every topic, so a new one cannot land without a line saying who writes and reads it."""

from __future__ import annotations

from pathlib import Path

import shared.events  # noqa: F401  (registers every type)
from shared import topics
from shared.events.base import registry

DESIGN = (Path(__file__).resolve().parents[2] / "docs" / "design.md").read_text()


def test_the_event_catalogue_names_every_registered_type() -> None:
    missing = sorted(name for name in registry() if f"`{name}`" not in DESIGN)
    assert missing == []


def test_the_topic_table_names_every_topic() -> None:
    missing = sorted(name for name in topics.CONFIGS if f"`{name}`" not in DESIGN)
    assert missing == []
