"""Assessment: event log, outbox position, inbox, per-area counts.

Revision ID: assessment_0001
Revises:
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime
from shared.migrate import create_backbone_v1, drop_backbone_v1

revision = "assessment_0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_backbone_v1(op)
    op.create_table(
        "area_counts",
        sa.Column("area", sa.String(20), primary_key=True),
        sa.Column("reports", sa.Integer, nullable=False),
        sa.Column("last_report_at", UTCDateTime(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("area_counts")
    drop_backbone_v1(op)
