"""Intake's own tables. No other service reads them."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, LargeBinary, String, Table, Text

from shared.db import UTCDateTime, new_metadata
from shared.eventstore import event_tables

metadata = new_metadata()
event_tables(metadata)

report_keys = Table(
    "report_keys", metadata,
    Column("report_id", String(36), primary_key=True),
    Column("wrapped_key", LargeBinary, nullable=True),  # NULL once destroyed (erasure)
    Column("created_at", UTCDateTime(), nullable=False),
    Column("destroyed_at", UTCDateTime(), nullable=True),
)

reports = Table(
    "reports", metadata,
    Column("report_id", String(36), primary_key=True),
    Column("reference", String(16), nullable=False, unique=True),
    Column("token_hash", String(64), nullable=False),
    Column("status", String(20), nullable=False),
    Column("area", String(20), nullable=False),
    Column("centre_id", String(64), nullable=True),
    Column("external_reference", String(100), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

idempotency = Table(
    "idempotency", metadata,
    Column("scope", String(64), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("response", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

api_keys = Table(
    "api_keys", metadata,
    Column("key_id", String(32), primary_key=True),
    Column("centre_id", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("key_hash", String(64), nullable=False),
    Column("trusted", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime(), nullable=True),
)
