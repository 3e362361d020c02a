"""Triage: the report memory keeps the postcode district and the source and content fingerprints (the cluster
rule's baselines, flood grouping); suspected flood groups.

Revision ID: triage_0004
Revises: triage_0003
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = "triage_0004"
down_revision = "triage_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("report_memory") as b:
        b.add_column(sa.Column("district", sa.String(64), nullable=True))
        b.add_column(sa.Column("source_fp", sa.String(64), nullable=True))
        b.add_column(sa.Column("content_fp", sa.String(64), nullable=True))
    op.create_index("ix_report_memory_district_time", "report_memory", ["district", "submitted_at"])
    op.create_index("ix_report_memory_source_time", "report_memory", ["source_fp", "submitted_at"])
    op.create_table(
        "incident_groups",
        sa.Column("group_id", sa.String(36), nullable=False),
        sa.Column("flood_key", sa.String(80), nullable=False),
        sa.Column("area", sa.String(20), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("paged_by", sa.String(36), nullable=True),
        sa.Column("members", sa.Integer, nullable=False),
        sa.Column("formed_at", UTCDateTime(), nullable=False),
        sa.Column("last_member_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("group_id", name="pk_incident_groups"),
    )
    op.create_index("ix_incident_groups_key_time", "incident_groups", ["flood_key", "last_member_at"])


def downgrade() -> None:
    op.drop_index("ix_incident_groups_key_time", table_name="incident_groups")
    op.drop_table("incident_groups")
    op.drop_index("ix_report_memory_source_time", table_name="report_memory")
    op.drop_index("ix_report_memory_district_time", table_name="report_memory")
    with op.batch_alter_table("report_memory") as b:
        for column in ("content_fp", "source_fp", "district"):
            b.drop_column(column)
