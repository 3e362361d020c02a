"""Assessment: an incident keeps the grading triage staff last regraded its report to (#15).

Revision ID: assessment_0005
Revises: assessment_0004
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "assessment_0005"
down_revision = "assessment_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("proj_incidents") as batch:
        batch.add_column(sa.Column("regraded", sa.String(3), nullable=True))
        batch.add_column(sa.Column("regraded_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("proj_incidents") as batch:
        batch.drop_column("regraded_at")
        batch.drop_column("regraded")
