"""Notify: the routines at places of worship it reminded site leads of, for the pages their links open.

Revision ID: notify_0006
Revises: notify_0005
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "notify_0006"
down_revision = "notify_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site_reminders",
        sa.Column("reminder_id", sa.String(36), primary_key=True),
        sa.Column("site_id", sa.String(40), nullable=False),
        sa.Column("site_name", sa.Text(), nullable=False),
        sa.Column("area", sa.String(20), nullable=False),
        sa.Column("routine", sa.String(40), nullable=False),
        sa.Column("routine_name", sa.Text(), nullable=False),
        sa.Column("service", sa.Text(), nullable=True),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("announced_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_site_reminders_site", "site_reminders", ["site_id", "routine"])


def downgrade() -> None:
    op.drop_index("ix_site_reminders_site", table_name="site_reminders")
    op.drop_table("site_reminders")
