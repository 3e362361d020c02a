"""Notify: the actions of areas' community impact assessments, chased on their owners until done (ADR 0059).

Revision ID: notify_0008
Revises: notify_0007
Create Date: 2026-12-09
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "notify_0008"
down_revision = "notify_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "area_cia_actions",
        sa.Column("action_id", sa.String(36), primary_key=True),
        sa.Column("cia_id", sa.String(36), nullable=False, index=True),
        sa.Column("area", sa.String(20), nullable=False),
        sa.Column("owner", sa.String(80), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("area_cia_actions")
