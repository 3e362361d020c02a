"""Triage: places of worship's links to reports, their names and the visits made there (#17), so a visit
shows as an action taken on the linked incident's community impact assessment. No visit notes.

Revision ID: triage_0008
Revises: triage_0007
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "triage_0008"
down_revision = "triage_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site_reports",
        sa.Column("site_id", sa.String(36), primary_key=True),
        sa.Column("report_id", sa.String(36), primary_key=True, index=True),
    )
    op.create_table(
        "site_names",
        sa.Column("site_id", sa.String(36), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
    )
    op.create_table(
        "site_visits",
        sa.Column("visit_id", sa.String(36), primary_key=True),
        sa.Column("site_id", sa.String(36), nullable=False, index=True),
        sa.Column("visited_at", UTCDateTime(), nullable=False),
        sa.Column("visited_by", sa.String(200), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("site_visits")
    op.drop_table("site_names")
    op.drop_table("site_reports")
