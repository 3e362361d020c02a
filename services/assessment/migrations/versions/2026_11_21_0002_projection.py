"""Assessment: the fold's facts replace area_counts; published risk per area; snapshots.

Revision ID: assessment_0002
Revises: assessment_0001
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op

from shared.db import BigId, UTCDateTime

revision = "assessment_0002"
down_revision = "assessment_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("area_counts")
    op.create_table(
        "proj_reports",
        sa.Column("report_id", sa.String(40), nullable=False),
        sa.Column("reference", sa.String(40), nullable=False),
        sa.Column("area", sa.String(20), nullable=False),
        sa.Column("district", sa.String(40), nullable=True),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("submitted_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("types", sa.String(400), nullable=False),
        sa.Column("strands", sa.String(200), nullable=False),
        sa.Column("religion", sa.String(20), nullable=True),
        sa.Column("place_type", sa.String(30), nullable=False),
        sa.Column("place_fp", sa.String(100), nullable=True),
        sa.Column("injuries", sa.String(10), nullable=False),
        sa.Column("weapon", sa.Boolean, nullable=False),
        sa.Column("ongoing", sa.Boolean, nullable=False),
        sa.Column("vulnerable", sa.Boolean, nullable=False),
        sa.Column("repeat", sa.Boolean, nullable=False),
        sa.Column("grading", sa.String(3), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("withdrawn", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("report_id", name="pk_proj_reports"),
    )
    op.create_index("ix_proj_reports_area_occurred", "proj_reports", ["area", "occurred_at"])
    op.create_table(
        "proj_erasures",
        sa.Column("report_id", sa.String(40), nullable=False),
        sa.Column("erased_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("report_id", name="pk_proj_erasures"),
    )
    op.create_table(
        "proj_incidents",
        sa.Column("incident_id", sa.String(40), nullable=False),
        sa.Column("report_id", sa.String(40), nullable=False),
        sa.Column("area", sa.String(20), nullable=False),
        sa.Column("priority", sa.String(4), nullable=False),
        sa.Column("critical", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("triaged_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("matched", sa.String(400), nullable=False),
        sa.Column("escalation_level", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("incident_id", name="pk_proj_incidents"),
    )
    op.create_index("ix_proj_incidents_report_id", "proj_incidents", ["report_id"])
    op.create_index("ix_proj_incidents_area", "proj_incidents", ["area"])
    op.create_table(
        "proj_tensions",
        sa.Column("tension_id", sa.String(40), nullable=False),
        sa.Column("area", sa.String(20), nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=True),
        sa.Column("declared_at", UTCDateTime(), nullable=False),
        sa.Column("lifted_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("tension_id", name="pk_proj_tensions"),
    )
    op.create_table(
        "proj_meta",
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_proj_meta"),
    )
    op.create_table(
        "area_risk",
        sa.Column("area", sa.String(20), nullable=False),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("changed_at", UTCDateTime(), nullable=False),
        sa.Column("tension_raised", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("area", name="pk_area_risk"),
    )
    op.create_table(
        "snapshots",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("offsets", sa.Text, nullable=False),
        sa.Column("events", BigId, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("state", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_snapshots"),
    )


def downgrade() -> None:
    for table in ("snapshots", "area_risk", "proj_meta", "proj_tensions", "proj_incidents", "proj_erasures",
                  "proj_reports"):
        op.drop_table(table)
    op.create_table(
        "area_counts",
        sa.Column("area", sa.String(20), primary_key=True),
        sa.Column("reports", sa.Integer, nullable=False),
        sa.Column("last_report_at", UTCDateTime(), nullable=True),
    )
