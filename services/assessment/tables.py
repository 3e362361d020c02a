"""Assessment's own tables: its event log and the per-area projection."""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table

from shared.db import UTCDateTime, new_metadata
from shared.eventstore import event_tables

metadata = new_metadata()
event_tables(metadata)

area_counts = Table(
    "area_counts", metadata,
    Column("area", String(20), primary_key=True),
    Column("reports", Integer, nullable=False),
    Column("last_report_at", UTCDateTime(), nullable=True),
)
