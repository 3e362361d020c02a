"""Intake: contact and flood matching in intake's own tables; only results travel (#15).

- report_matches: each report's keyed hashes (contact, normalised description, source) under intake's own
  key, and the burst token it was given; deleted at erasure.
- source_bursts: each source's current burst token; deleted when any report of the burst is erased.

Revision ID: intake_0005
Revises: intake_0004
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "intake_0005"
down_revision = "intake_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_matches",
        sa.Column("report_id", sa.String(36), primary_key=True),
        sa.Column("submitted_at", UTCDateTime(), nullable=False),
        sa.Column("contact_hash", sa.String(64), nullable=True),
        sa.Column("content_hash", sa.String(64), nullable=True),
        sa.Column("source_hash", sa.String(64), nullable=True),
        sa.Column("source_burst", sa.String(64), nullable=True),
    )
    op.create_index("ix_report_matches_submitted_at", "report_matches", ["submitted_at"])
    for column in ("contact_hash", "content_hash", "source_hash"):  # each matched within a time window
        op.create_index(f"ix_report_matches_{column}", "report_matches", [column, "submitted_at"])
    op.create_table(
        "source_bursts",
        sa.Column("source_hash", sa.String(64), primary_key=True),
        sa.Column("token", sa.String(64), nullable=False, unique=True),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("last_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("source_bursts")
    op.drop_table("report_matches")
