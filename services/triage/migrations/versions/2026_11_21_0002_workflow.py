"""Triage: the incident workflow, report memory, rulesets, tension, staff sign-in and audit.

Revision ID: triage_0002
Revises: triage_0001
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op

from shared.db import BigId, UTCDateTime

revision = "triage_0002"
down_revision = "triage_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as b:
        b.add_column(sa.Column("report_id", sa.String(36), nullable=True))
        b.add_column(sa.Column("needs_duty_inspector", sa.Boolean, nullable=False, server_default="0"))
        b.add_column(sa.Column("matched", sa.Text, nullable=True))
        b.add_column(sa.Column("ruleset_version", sa.String(40), nullable=True))
        b.add_column(sa.Column("version", sa.Integer, nullable=False, server_default="0"))
        b.add_column(sa.Column("duty_inspector", sa.String(36), nullable=True))
        b.add_column(sa.Column("acknowledged_by", sa.String(36), nullable=True))
        b.add_column(sa.Column("acknowledged_at", UTCDateTime(), nullable=True))
        b.add_column(sa.Column("escalation_level", sa.Integer, nullable=False, server_default="0"))
        b.add_column(sa.Column("escalated_deadline", UTCDateTime(), nullable=True))
        b.add_column(sa.Column("cia", sa.String(20), nullable=False, server_default="none"))
        b.add_column(sa.Column("cia_due_at", UTCDateTime(), nullable=True))
        b.add_column(sa.Column("outcome", sa.String(40), nullable=True))
        b.add_column(sa.Column("closed_at", UTCDateTime(), nullable=True))
        b.add_column(sa.Column("updated_at", UTCDateTime(), nullable=True))
        b.create_index("ix_incidents_queue", ["state", "priority", "ack_deadline"])
    op.create_table(
        "report_memory",
        sa.Column("report_id", sa.String(36), nullable=False),
        sa.Column("area", sa.String(20), nullable=False),
        sa.Column("submitted_at", UTCDateTime(), nullable=False),
        sa.Column("contact_fp", sa.String(64), nullable=True),
        sa.Column("place_fp", sa.String(64), nullable=True),
        sa.Column("reporter_role", sa.String(20), nullable=True),
        sa.Column("facts", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("report_id", name="pk_report_memory"),
    )
    op.create_index("ix_report_memory_area_time", "report_memory", ["area", "submitted_at"])
    op.create_index("ix_report_memory_contact", "report_memory", ["contact_fp"])
    op.create_index("ix_report_memory_place", "report_memory", ["place_fp"])
    op.create_table(
        "rulesets",
        sa.Column("version", sa.String(40), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("published_by", sa.String(80), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("version", name="pk_rulesets"),
    )
    op.create_table(
        "tensions",
        sa.Column("tension_id", sa.String(36), nullable=False),
        sa.Column("area", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("starts_at", UTCDateTime(), nullable=False),
        sa.Column("ends_at", UTCDateTime(), nullable=True),
        sa.Column("declared_by", sa.String(36), nullable=False),
        sa.Column("declared_at", UTCDateTime(), nullable=False),
        sa.Column("proposal_id", sa.String(36), nullable=True),
        sa.Column("lifted_at", UTCDateTime(), nullable=True),
        sa.Column("lifted_by", sa.String(36), nullable=True),
        sa.Column("lift_reason", sa.Text, nullable=True),
        sa.PrimaryKeyConstraint("tension_id", name="pk_tensions"),
    )
    op.create_index("ix_tensions_area", "tensions", ["area"])
    op.create_table(
        "tension_proposals",
        sa.Column("proposal_id", sa.String(36), nullable=False),
        sa.Column("area", sa.String(20), nullable=False),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("raised_at", UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("decided_by", sa.String(36), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("proposal_id", name="pk_tension_proposals"),
    )
    op.create_table(
        "community_impact_assessments",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(36), nullable=False),
        sa.Column("community_tension", sa.String(20), nullable=False),
        sa.Column("risk_of_disorder", sa.String(20), nullable=False),
        sa.Column("communities", sa.Text, nullable=True),
        sa.Column("notes", sa.Text, nullable=True),
        sa.Column("actions", sa.Text, nullable=True),
        sa.Column("next_review_at", UTCDateTime(), nullable=True),
        sa.Column("completed_by", sa.String(36), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_community_impact_assessments"),
    )
    op.create_index("ix_community_impact_assessments_incident_id", "community_impact_assessments", ["incident_id"])
    op.create_table(
        "staff_users",
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("display_name", sa.String(120), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("roles", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_staff_users"),
        sa.UniqueConstraint("username", name="uq_staff_users_username"),
    )
    op.create_table(
        "staff_sessions",
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name="pk_staff_sessions"),
    )
    op.create_index("ix_staff_sessions_user_id", "staff_sessions", ["user_id"])
    op.create_table(
        "personal_data_views",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("incident_id", sa.String(36), nullable=False),
        sa.Column("report_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("viewed_at", UTCDateTime(), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_personal_data_views"),
    )
    op.create_index("ix_personal_data_views_incident_id", "personal_data_views", ["incident_id"])
    op.create_table(
        "incident_viewers",
        sa.Column("incident_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("incident_id", "user_id", name="pk_incident_viewers"),
    )


def downgrade() -> None:
    for table in ("incident_viewers", "personal_data_views", "staff_sessions", "staff_users",
                  "community_impact_assessments", "tension_proposals", "tensions", "rulesets", "report_memory"):
        op.drop_table(table)
    with op.batch_alter_table("incidents") as b:
        b.drop_index("ix_incidents_queue")
        for column in ("updated_at", "closed_at", "outcome", "cia_due_at", "cia", "escalated_deadline",
                       "escalation_level", "acknowledged_at", "acknowledged_by", "duty_inspector", "version",
                       "ruleset_version", "matched", "needs_duty_inspector", "report_id"):
            b.drop_column(column)
