"""Triage: event log, outbox position, inbox, incident queue.

Revision ID: triage_0001
Revises:
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime
from shared.migrate import create_backbone_v1, drop_backbone_v1

revision = "triage_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_backbone_v1(op)
    op.create_table(
        "incidents",
        sa.Column("incident_id", sa.String(36), primary_key=True),
        sa.Column("reference", sa.String(16), nullable=False),
        sa.Column("area", sa.String(20), nullable=False),
        sa.Column("priority", sa.String(2), nullable=False),
        sa.Column("critical", sa.Boolean, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("ack_deadline", UTCDateTime(), nullable=True),
        sa.Column("triaged_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("incidents")
    drop_backbone_v1(op)
