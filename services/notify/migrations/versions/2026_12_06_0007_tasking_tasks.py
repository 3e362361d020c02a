"""Notify: the tasks of each morning's tasking list it sent, for the pages their visit links open.

Revision ID: notify_0007
Revises: notify_0006
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "notify_0007"
down_revision = "notify_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tasking_tasks",
        sa.Column("task_id", sa.String(36), primary_key=True),
        sa.Column("site_id", sa.String(40), nullable=False),
        sa.Column("site_name", sa.Text(), nullable=False),
        sa.Column("area", sa.String(20), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("windows", sa.Text(), nullable=False),
        sa.Column("announced_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("tasking_tasks")
