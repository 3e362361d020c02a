"""Triage's own tables: its event log and the incident queue projection."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, String, Table

from shared.db import UTCDateTime, new_metadata
from shared.eventstore import event_tables

metadata = new_metadata()
event_tables(metadata)

incidents = Table(
    "incidents", metadata,
    Column("incident_id", String(36), primary_key=True),
    Column("reference", String(16), nullable=False),
    Column("area", String(20), nullable=False),
    Column("priority", String(2), nullable=False),
    Column("critical", Boolean, nullable=False),
    Column("state", String(20), nullable=False),
    Column("ack_deadline", UTCDateTime(), nullable=True),
    Column("triaged_at", UTCDateTime(), nullable=False),
)
