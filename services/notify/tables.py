"""Notify's own tables: its event log and the delivery ledger (one row per idempotency key)."""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table, Text

from shared.db import UTCDateTime, new_metadata
from shared.eventstore import event_tables

metadata = new_metadata()
event_tables(metadata)

deliveries = Table(
    "deliveries", metadata,
    Column("idempotency_key", String(36), primary_key=True),
    Column("notification_id", String(36), nullable=False),
    Column("incident_id", String(36), nullable=True),
    Column("purpose", String(40), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("recipient_role", String(40), nullable=False),
    Column("recipient", String(320), nullable=False),
    Column("payload", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)
