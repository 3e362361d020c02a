"""Assessment: daily counts imported from a force's own records, to seed areas' normals.

Revision ID: assessment_0004
Revises: assessment_0003
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "assessment_0004"
down_revision = "assessment_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "area_history",
        sa.Column("area", sa.String(20), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("strand", sa.String(30), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("area", "day", "strand"),
    )


def downgrade() -> None:
    op.drop_table("area_history")
