"""Intake's own tables. No other service reads them."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, LargeBinary, String, Table, Text, text

from shared.db import BigId, UTCDateTime, new_metadata
from shared.eventstore import event_tables

metadata = new_metadata()
event_tables(metadata)

report_keys = Table(
    "report_keys", metadata,
    Column("report_id", String(36), primary_key=True),
    Column("wrapped_key", LargeBinary, nullable=True),  # the row is deleted at erasure (NULL: an older erasure)
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
    Column("external_reference", String(100), nullable=True),  # cleared at erasure
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("idempotency_key", String(200), nullable=True),  # finds the report's idempotency entry at erasure
    Column("hate_crime", Boolean, nullable=True),  # triage's latest decision; NULL until it decides
    # the rule that shared a report kept from the police with them all the same (threat to life); NULL: none
    Column("safeguarding_override", String(40), nullable=True),
    Column("withdrawn_at", UTCDateTime(), nullable=True),
    Column("erase_due_at", UTCDateTime(), nullable=True),  # set at withdrawal: the date the reporter was told
    Column("erased_at", UTCDateTime(), nullable=True),
)
# The retention job's two questions, over reports not yet erased only (docs/retention.md).
Index("ix_reports_retention", reports.c.created_at, postgresql_where=text("erased_at IS NULL"),
      sqlite_where=text("erased_at IS NULL"))
Index("ix_reports_erase_due", reports.c.erase_due_at,
      postgresql_where=text("erased_at IS NULL AND erase_due_at IS NOT NULL"),
      sqlite_where=text("erased_at IS NULL AND erase_due_at IS NOT NULL"))

holds = Table(
    "holds", metadata,
    Column("hold_id", String(36), primary_key=True),
    Column("report_id", String(36), nullable=False, index=True),
    Column("kind", String(20), nullable=False),
    Column("placed_by", String(120), nullable=False),
    Column("placed_at", UTCDateTime(), nullable=False),
    Column("released_by", String(120), nullable=True),
    Column("released_at", UTCDateTime(), nullable=True),
)

# Every erasure, withdrawal and hold, for the data protection officer (GET /v1/erasures); the events are the
# record on Kafka. Reasons for holds are cleared at erasure; an erasure's reason stays (it names no one).
privacy_log = Table(
    "privacy_log", metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    Column("report_id", String(36), nullable=False, index=True),
    Column("reference", String(16), nullable=False, index=True),
    Column("action", String(20), nullable=False),
    Column("kind", String(20), nullable=True),  # a hold's kind, or an erasure's basis
    Column("hold_id", String(36), nullable=True),
    Column("actor", String(120), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("reason", Text, nullable=True),
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

# What intake compares reports by (services/intake/matching.py): keyed hashes under its own master key, never on
# a topic. A report's row goes at erasure, and with it its burst's token.
report_matches = Table(
    "report_matches", metadata,
    Column("report_id", String(36), primary_key=True),
    Column("submitted_at", UTCDateTime(), nullable=False, index=True),
    Column("contact_hash", String(64), nullable=True),
    Column("content_hash", String(64), nullable=True),
    Column("source_hash", String(64), nullable=True),
    Column("source_burst", String(64), nullable=True),
)
# Each matched within a time window, earliest first: with report_id last, the index gives the queries' whole order,
# so they stop at their limit instead of sorting every match (a flood from one contact is many; ADR 0058).
for _column in ("contact_hash", "content_hash", "source_hash"):
    Index(f"ix_report_matches_{_column}", report_matches.c[_column], report_matches.c.submitted_at,
          report_matches.c.report_id)

# Each source's current burst: the opaque token its reports carry while it keeps sending.
source_bursts = Table(
    "source_bursts", metadata,
    Column("source_hash", String(64), primary_key=True),
    Column("token", String(64), nullable=False, unique=True),
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("last_at", UTCDateTime(), nullable=False),
)
