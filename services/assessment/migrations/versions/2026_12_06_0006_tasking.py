"""Assessment: patrol and visit tasking (a supervisor's changes to a day's list, visits, morning announcements).

Revision ID: assessment_0006
Revises: assessment_0005
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "assessment_0006"
down_revision = "assessment_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site_task_changes",
        sa.Column("change_id", sa.String(40), primary_key=True),
        sa.Column("area", sa.String(20), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("site_id", sa.String(40), nullable=False),
        sa.Column("added", sa.Boolean, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("changed_by", sa.String(120), nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_site_task_changes_area_day", "site_task_changes", ["area", "day"])
    op.create_table(
        "site_visits",
        sa.Column("visit_id", sa.String(40), primary_key=True),
        sa.Column("site_id", sa.String(40), nullable=False),
        sa.Column("area", sa.String(20), nullable=False),
        sa.Column("task_id", sa.String(40), nullable=True),
        sa.Column("visited_at", UTCDateTime(), nullable=False),
        sa.Column("visited_by", sa.String(200), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(120), nullable=False),
        sa.Column("via", sa.String(10), nullable=False),
        sa.Column("notes", sa.Text, nullable=True),
    )
    op.create_index("ix_site_visits_site_id", "site_visits", ["site_id"])
    op.create_table(
        "tasking_announcements",
        sa.Column("area", sa.String(20), nullable=False),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("announced_at", UTCDateTime(), nullable=False),
        sa.Column("tasks", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("area", "day"),
    )


def downgrade() -> None:
    op.drop_table("tasking_announcements")
    op.drop_index("ix_site_visits_site_id", "site_visits")
    op.drop_table("site_visits")
    op.drop_index("ix_site_task_changes_area_day", "site_task_changes")
    op.drop_table("site_task_changes")
